"""The pre-trade check: every configured risk rule applied to an order, all denials collected."""

from __future__ import annotations

import decimal

from domain.instrument import Instrument
from domain.numbers import EXACT_CONTEXT
from domain.risk.account_rules import DailyLossLimit, MaxDrawdown, OrderRateLimit, TradingStateRule
from domain.risk.exposure_rules import (
    MaxGrossNotional,
    MaxOpenOrders,
    MaxOpenPositions,
    MaxPositionNotional,
    ReduceOnly,
    SufficientBalance,
)
from domain.risk.order_rules import InstrumentRules, MaxOrderEquityFraction, MaxOrderNotional, PriceBand
from domain.risk.risk_context import RiskContext
from domain.risk.risk_decision import Denial, RiskDecision
from domain.risk.risk_limits import LimitIssue, RiskLimits
from domain.risk.risk_rule import RiskRule
from domain.signals import OrderIntent

_APPROVED = RiskDecision()

# The rules run in the exact context (domain.numbers): no rounding can ever nudge an amount under
# a limit; a computation that would round raises instead, and the order is not approved.
EXACT = EXACT_CONTEXT


def rules_for(limits: RiskLimits) -> tuple[RiskRule, ...]:
    """The rules `limits` configure: the always-on ones plus one per limit that is set.

    Always on: trading state, instrument rules, reduce-only and sufficient balance. The price
    band rule (with its stale-data guard) runs when either `price_band_bps` or
    `max_reference_age_ns` is set. Limits must be valid (`RiskLimits.ensure_valid`).
    """
    rules: list[RiskRule] = [TradingStateRule(), InstrumentRules(), ReduceOnly()]
    if limits.price_band_bps is not None or limits.max_reference_age_ns is not None:
        rules.append(PriceBand(limits.price_band_bps, limits.max_reference_age_ns))
    if limits.max_order_notional is not None:
        rules.append(MaxOrderNotional(limits.max_order_notional))
    if limits.max_order_equity_fraction is not None:
        rules.append(MaxOrderEquityFraction(limits.max_order_equity_fraction))
    if limits.max_position_notional is not None:
        rules.append(MaxPositionNotional(limits.max_position_notional))
    if limits.max_gross_notional is not None:
        rules.append(MaxGrossNotional(limits.max_gross_notional))
    if limits.max_open_orders is not None:
        rules.append(MaxOpenOrders(limits.max_open_orders))
    if limits.max_open_positions is not None:
        rules.append(MaxOpenPositions(limits.max_open_positions))
    if limits.max_orders_per_window is not None and limits.order_window_ns is not None:
        rules.append(OrderRateLimit(limits.max_orders_per_window, limits.order_window_ns))
    rules.append(SufficientBalance())
    if limits.daily_loss_limit is not None:
        rules.append(DailyLossLimit(limits.daily_loss_limit))
    if limits.max_drawdown_fraction is not None:
        rules.append(MaxDrawdown(limits.max_drawdown_fraction))
    return tuple(rules)


class PreTradeCheck:
    """Applies every configured rule to an order; approves only when none denies.

    Built from limits that must be valid (raises `InvalidRiskLimitsError` otherwise). The limits'
    warnings are kept in `warnings` for the caller to surface (log, alert, show the operator).
    Rules run in the exact decimal context `EXACT` (see there).
    """

    def __init__(self, limits: RiskLimits) -> None:
        report = limits.ensure_valid()
        self._limits = limits
        self._warnings = report.warnings
        self._rules = rules_for(limits)

    @property
    def limits(self) -> RiskLimits:
        """The limits the rules were built from."""
        return self._limits

    @property
    def warnings(self) -> tuple[LimitIssue, ...]:
        """Dangerous or missing limits the caller must surface."""
        return self._warnings

    @property
    def rules(self) -> tuple[RiskRule, ...]:
        """The rules applied, in order."""
        return self._rules

    def check(self, intent: OrderIntent, instrument: Instrument, ctx: RiskContext) -> RiskDecision:
        """Approve `intent` on `instrument` in `ctx`, or deny it citing every rule that refuses it."""
        denials: list[Denial] = []
        with decimal.localcontext(EXACT):
            for rule in self._rules:
                denial = rule.check(intent, instrument, ctx)
                if denial is not None:
                    denials.append(denial)
        return RiskDecision(tuple(denials)) if denials else _APPROVED
