"""Rules on exposure: reduce-only, position and gross notional, open orders and positions, balance.

Exposure is judged in the worst case (see `Exposure`): an order counts together with every
resting order on its side. An order that reduces exposure (`Exposure.reduces`) is never denied
by the position, gross or balance rules, so risk can always be brought down.
"""

from __future__ import annotations

from decimal import Decimal

import attrs

from domain.instrument import Instrument
from domain.numbers import ZERO
from domain.risk.risk_context import RiskContext
from domain.risk.risk_decision import Denial, ReasonCode
from domain.risk.risk_rule import RiskRule, valuation_price, value_order
from domain.signals import OrderIntent


@attrs.frozen
class ReduceOnly(RiskRule):
    """A reduce-only order must reduce exposure: never add to it, never flip the position."""

    def check(self, intent: OrderIntent, instrument: Instrument, ctx: RiskContext) -> Denial | None:
        """Deny a reduce-only order that could increase |position| or flip it."""
        exposure = ctx.exposure(intent.instrument_id)
        if intent.reduce_only and not exposure.reduces(intent.side, intent.quantity):
            return self.deny(
                ReasonCode.REDUCE_ONLY_INCREASES_EXPOSURE,
                f"reduce-only {intent.side.value} {intent.quantity} against position {exposure.position} "
                f"(resting buys {exposure.open_buy}, sells {exposure.open_sell}) could increase exposure",
            )
        return None


@attrs.frozen
class MaxPositionNotional(RiskRule):
    """The worst-case position on the order's side, valued at the order's price, is at most `limit`.

    Worst case: the position plus every resting order on the order's side plus the order.
    """

    limit: Decimal

    def check(self, intent: OrderIntent, instrument: Instrument, ctx: RiskContext) -> Denial | None:
        """Deny an order that could take the position on one instrument over the limit."""
        exposure = ctx.exposure(intent.instrument_id)
        if exposure.reduces(intent.side, intent.quantity):
            return None
        valuation = value_order(self, intent, instrument, ctx)
        if isinstance(valuation, Denial):
            return valuation
        worst = abs(exposure.extreme_after(intent.side, intent.quantity))
        notional = valuation.notional(worst)
        if notional > self.limit:
            return self.deny(
                ReasonCode.MAX_POSITION_NOTIONAL,
                f"worst-case position {worst} on {intent.instrument_id} is worth {notional}, "
                f"over {self.limit}",
            )
        return None


@attrs.frozen
class MaxGrossNotional(RiskRule):
    """The context's worst-case gross notional plus what the order adds to it is at most `limit`.

    What the order adds is the growth of its instrument's worst-case |position|, valued at the
    order's price. An order that reduces exposure is never denied; once the gross is over the
    limit (prices moved, limits lowered), every other order is, even one that adds nothing.
    """

    limit: Decimal

    def check(self, intent: OrderIntent, instrument: Instrument, ctx: RiskContext) -> Denial | None:
        """Deny an order that could take total gross exposure over the limit."""
        exposure = ctx.exposure(intent.instrument_id)
        if exposure.reduces(intent.side, intent.quantity):
            return None
        valuation = value_order(self, intent, instrument, ctx)
        if isinstance(valuation, Denial):
            return valuation
        growth = max(ZERO, exposure.worst_case_after(intent.side, intent.quantity) - exposure.worst_case())
        gross = ctx.gross_notional + valuation.notional(growth)
        if gross > self.limit:
            return self.deny(
                ReasonCode.MAX_GROSS_NOTIONAL, f"worst-case gross notional {gross} is over {self.limit}"
            )
        return None


@attrs.frozen
class MaxOpenOrders(RiskRule):
    """At most `limit` open orders, this one included (every order counts, even IOC: it is open briefly)."""

    limit: int

    def check(self, intent: OrderIntent, instrument: Instrument, ctx: RiskContext) -> Denial | None:
        """Deny an order when `limit` orders are already open."""
        if ctx.open_order_count >= self.limit:
            return self.deny(
                ReasonCode.MAX_OPEN_ORDERS, f"{ctx.open_order_count} orders open, the limit is {self.limit}"
            )
        return None


@attrs.frozen
class MaxOpenPositions(RiskRule):
    """At most `limit` instruments with a position or a resting order that could open one.

    An order on an instrument already counted adds none; but once the count is over the limit
    (limits lowered, resting orders filled) only orders that reduce exposure pass.
    """

    limit: int

    def check(self, intent: OrderIntent, instrument: Instrument, ctx: RiskContext) -> Denial | None:
        """Deny an order that could leave more than `limit` instruments exposed."""
        exposure = ctx.exposure(intent.instrument_id)
        if exposure.reduces(intent.side, intent.quantity):
            return None
        exposed = ctx.exposed_instruments
        after = len(exposed) if exposure.is_exposed else len(exposed) + 1
        if after > self.limit:
            return self.deny(
                ReasonCode.MAX_OPEN_POSITIONS,
                f"the order could leave {after} instruments exposed, the limit is {self.limit}",
            )
        return None


@attrs.frozen
class SufficientBalance(RiskRule):
    """The order's quote notional is covered by the available (unreserved) quote balance.

    Margin-style for both sides: a buy or a sell needs its notional (valued conservatively) in
    the instrument's quote currency, since on a margin venue a sell opens a short that needs
    collateral too. An order that reduces exposure needs none: it frees collateral.
    """

    def check(self, intent: OrderIntent, instrument: Instrument, ctx: RiskContext) -> Denial | None:
        """Deny an order the available balance does not cover."""
        if ctx.exposure(intent.instrument_id).reduces(intent.side, intent.quantity):
            return None
        price = valuation_price(intent, ctx)
        if price is None:
            return self.deny(
                ReasonCode.NO_REFERENCE, f"no reference price to value a market order on {instrument.id}"
            )
        required = intent.quantity * price
        available = ctx.available(instrument.quote)
        if required > available:
            return self.deny(
                ReasonCode.INSUFFICIENT_BALANCE,
                f"order needs {required} {instrument.quote}, {available} available",
            )
        return None
