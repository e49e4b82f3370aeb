"""Rules on the account and the kernel: trading state, order rate, daily loss and drawdown.

The daily loss and drawdown rules stop new risk once a limit is reached but still admit orders
that reduce exposure, so positions can be closed; the circuit breaker, which trips on the same
limits, halts everything.
"""

from __future__ import annotations

from decimal import Decimal

import attrs

from domain.instrument import Instrument
from domain.risk.risk_context import RiskContext
from domain.risk.risk_decision import Denial, ReasonCode
from domain.risk.risk_rule import RiskRule
from domain.risk.sliding_window import count_in_window
from domain.signals import OrderIntent


@attrs.frozen
class TradingStateRule(RiskRule):
    """HALTED admits nothing; REDUCING admits only orders that reduce exposure."""

    def check(self, intent: OrderIntent, instrument: Instrument, ctx: RiskContext) -> Denial | None:
        """Deny what the context's trading state does not admit."""
        reduces = ctx.exposure(intent.instrument_id).reduces(intent.side, intent.quantity)
        reason = ctx.trading_state.denial_reason(reduces)
        if reason is None:
            return None
        return self.deny(reason, f"trading state is {ctx.trading_state.value}")


@attrs.frozen
class OrderRateLimit(RiskRule):
    """At most `max_orders` orders in the window of `window_ns` ending now, this one included."""

    max_orders: int
    window_ns: int

    def check(self, intent: OrderIntent, instrument: Instrument, ctx: RiskContext) -> Denial | None:
        """Deny an order when the window already holds `max_orders` orders."""
        sent = count_in_window(ctx.recent_order_ts_ns, ctx.now_ns, self.window_ns)
        if sent >= self.max_orders:
            return self.deny(
                ReasonCode.ORDER_RATE,
                f"{sent} orders in the last {self.window_ns} ns, the limit is {self.max_orders}",
            )
        return None


@attrs.frozen
class DailyLossLimit(RiskRule):
    """Once the day's P&L is at or below -`limit`, only orders that reduce exposure pass."""

    limit: Decimal

    def check(self, intent: OrderIntent, instrument: Instrument, ctx: RiskContext) -> Denial | None:
        """Deny a non-reducing order after the daily loss limit is reached."""
        if ctx.daily_pnl > -self.limit:
            return None
        if ctx.exposure(intent.instrument_id).reduces(intent.side, intent.quantity):
            return None
        return self.deny(
            ReasonCode.DAILY_LOSS_LIMIT, f"daily P&L {ctx.daily_pnl} is at or below -{self.limit}"
        )


@attrs.frozen
class MaxDrawdown(RiskRule):
    """Once equity is `fraction` or more below the high-water mark, only reducing orders pass.

    Without a positive high-water mark the drawdown is unknown, and non-reducing orders are denied.
    """

    fraction: Decimal

    def check(self, intent: OrderIntent, instrument: Instrument, ctx: RiskContext) -> Denial | None:
        """Deny a non-reducing order once the drawdown limit is reached."""
        if ctx.exposure(intent.instrument_id).reduces(intent.side, intent.quantity):
            return None
        mark = ctx.high_water_mark
        if mark <= 0:
            return self.deny(ReasonCode.MAX_DRAWDOWN, "no positive high-water mark: drawdown unknown")
        # (mark - equity) / mark >= fraction, without a division.
        if mark - ctx.equity >= self.fraction * mark:
            return self.deny(
                ReasonCode.MAX_DRAWDOWN,
                f"equity {ctx.equity} is {self.fraction} or more below the high-water mark {mark}",
            )
        return None
