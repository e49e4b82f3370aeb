"""The shape of a pre-trade risk rule, and how rules value an order.

Valuation is deliberately conservative: an order's size is valued at the *higher* of its limit
price and the reference mid, so neither a bid far above the market nor an offer far below it
can understate how much it risks. A market order has no price and is valued at the mid; without
a mid it cannot be valued and every rule that needs a value denies it (`no_reference`).
"""

from __future__ import annotations

import abc
from decimal import Decimal

import attrs

from domain.instrument import Instrument
from domain.risk.risk_context import RiskContext
from domain.risk.risk_decision import Denial, ReasonCode
from domain.signals import OrderIntent


class RiskRule(abc.ABC):
    """A small object that approves an order (None) or denies it with a reason (a `Denial`)."""

    __slots__ = ()

    @property
    def name(self) -> str:
        """The rule's name in denials: its class name."""
        return type(self).__name__

    @abc.abstractmethod
    def check(self, intent: OrderIntent, instrument: Instrument, ctx: RiskContext) -> Denial | None:
        """None to approve `intent` on `instrument` in `ctx`, or the reason it is denied."""

    def deny(self, reason_code: ReasonCode, message: str) -> Denial:
        """A denial by this rule."""
        return Denial(self.name, reason_code, message)


@attrs.frozen
class Valuation:
    """The price an order is valued at (quote per base) and the quote-to-reporting rate."""

    price: Decimal
    rate: Decimal

    def notional(self, quantity: Decimal) -> Decimal:
        """`quantity` (base units) valued in the reporting currency."""
        return quantity * self.price * self.rate


def valuation_price(intent: OrderIntent, ctx: RiskContext) -> Decimal | None:
    """The higher of the order's limit price and the reference mid (either alone if only one exists)."""
    reference = ctx.reference(intent.instrument_id)
    if intent.price is None:
        return None if reference is None else reference.mid
    if reference is None:
        return intent.price
    return max(intent.price, reference.mid)


def value_order(
    rule: RiskRule, intent: OrderIntent, instrument: Instrument, ctx: RiskContext
) -> Valuation | Denial:
    """The order's valuation in the reporting currency, or `rule`'s denial when it cannot be valued."""
    price = valuation_price(intent, ctx)
    if price is None:
        return rule.deny(
            ReasonCode.NO_REFERENCE, f"no reference price to value a market order on {instrument.id}"
        )
    rate = ctx.rate(instrument.quote)
    if rate is None:
        return rule.deny(
            ReasonCode.NO_CONVERSION_RATE,
            f"no rate from {instrument.quote} to {ctx.reporting_currency} to value the order",
        )
    return Valuation(price, rate)
