"""Rules on the order alone: instrument grid and minimums, price band and stale data, order size."""

from __future__ import annotations

from decimal import Decimal

import attrs

from domain.instrument import Instrument
from domain.numbers import BPS
from domain.risk.risk_context import RiskContext
from domain.risk.risk_decision import Denial, ReasonCode
from domain.risk.risk_rule import RiskRule, value_order
from domain.signals import OrderIntent


@attrs.frozen
class InstrumentRules(RiskRule):
    """The order fits its instrument: the right instrument, sizes and prices on the grid, minimums met.

    A market order's minimum notional is checked at the reference mid; without one, an
    instrument with a minimum notional denies it, since the check cannot be made.
    """

    def check(self, intent: OrderIntent, instrument: Instrument, ctx: RiskContext) -> Denial | None:
        """Deny an order for another instrument, or one that breaks the instrument's rules."""
        if intent.instrument_id != instrument.id:
            return self.deny(
                ReasonCode.INSTRUMENT_MISMATCH,
                f"an order for {intent.instrument_id} was checked against {instrument.id}",
            )
        reasons = instrument.size_violations(intent.quantity, intent.price)
        if intent.trigger_price is not None and not instrument.is_price_on_grid(intent.trigger_price):
            reasons.append(
                f"trigger price {intent.trigger_price} is not on the {instrument.price_increment} grid"
            )
        if intent.price is None and instrument.min_notional > 0:
            reference = ctx.reference(intent.instrument_id)
            if reference is None:
                reasons.append("no reference price to check the minimum notional of a market order")
            elif intent.quantity * reference.mid < instrument.min_notional:
                reasons.append(
                    f"notional {intent.quantity * reference.mid} at the mid is below the minimum "
                    f"{instrument.min_notional}"
                )
        if reasons:
            return self.deny(ReasonCode.INSTRUMENT_RULES, f"{instrument.id}: " + "; ".join(reasons))
        return None


@attrs.frozen
class PriceBand(RiskRule):
    """The stale-data guard and the price band, against the instrument's reference mid.

    No reference denies (`no_reference`); one older than `max_age_ns` denies (`stale_reference`);
    a limit price more than `band_bps` from the mid denies (`price_band`; exactly at the band is
    allowed). A market order has no price to band; it trades at whatever the book offers.
    Either parameter may be None (off), but the rule requires a reference whenever it runs.
    """

    band_bps: Decimal | None
    max_age_ns: int | None

    def check(self, intent: OrderIntent, instrument: Instrument, ctx: RiskContext) -> Denial | None:
        """Deny without a fresh reference, or with a limit price outside the band."""
        reference = ctx.reference(intent.instrument_id)
        if reference is None:
            return self.deny(ReasonCode.NO_REFERENCE, f"no reference price for {intent.instrument_id}")
        age_ns = reference.age_ns(ctx.now_ns)
        if self.max_age_ns is not None and age_ns > self.max_age_ns:
            return self.deny(
                ReasonCode.STALE_REFERENCE,
                f"reference for {intent.instrument_id} is {age_ns} ns old, over {self.max_age_ns} ns",
            )
        # Compare |price - mid| * 10000 with band * mid: exact, no division.
        if (
            self.band_bps is not None
            and intent.price is not None
            and abs(intent.price - reference.mid) * BPS > self.band_bps * reference.mid
        ):
            return self.deny(
                ReasonCode.PRICE_BAND,
                f"price {intent.price} is more than {self.band_bps} bps from the mid {reference.mid}",
            )
        return None


@attrs.frozen
class MaxOrderNotional(RiskRule):
    """One order's notional (reporting currency, conservative valuation) is at most `limit`."""

    limit: Decimal

    def check(self, intent: OrderIntent, instrument: Instrument, ctx: RiskContext) -> Denial | None:
        """Deny an order whose notional is over the limit (or that cannot be valued)."""
        valuation = value_order(self, intent, instrument, ctx)
        if isinstance(valuation, Denial):
            return valuation
        notional = valuation.notional(intent.quantity)
        if notional > self.limit:
            return self.deny(ReasonCode.MAX_ORDER_NOTIONAL, f"order notional {notional} is over {self.limit}")
        return None


@attrs.frozen
class MaxOrderEquityFraction(RiskRule):
    """One order's notional is at most `fraction` of equity; with no positive equity, nothing passes."""

    fraction: Decimal

    def check(self, intent: OrderIntent, instrument: Instrument, ctx: RiskContext) -> Denial | None:
        """Deny an order larger than the allowed share of equity (or that cannot be valued)."""
        valuation = value_order(self, intent, instrument, ctx)
        if isinstance(valuation, Denial):
            return valuation
        notional = valuation.notional(intent.quantity)
        allowed = self.fraction * ctx.equity
        if notional > allowed:
            return self.deny(
                ReasonCode.MAX_ORDER_EQUITY_FRACTION,
                f"order notional {notional} is over {self.fraction} of equity {ctx.equity} ({allowed})",
            )
        return None
