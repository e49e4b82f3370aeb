"""Positions: the net holding of one instrument, kept as FIFO lots so every P&L figure is exact.

A position holds its open inventory as lots (price, signed quantity), all on the same side,
oldest first. A fill on the same side (or on a flat position) appends a lot; a fill on the other
side consumes lots oldest first (FIFO), realizing for each `closed × (exit - lot price) × sign`,
and whatever is left of the fill once the position is flat opens a lot on the other side at the
fill price (a flip through zero). Realized and unrealized P&L are therefore sums of products of
exact Decimals, with no division anywhere; the average entry price is derived from the lots for
display and reports only.

Amounts are in the settlement currency, the instrument's quote currency (margin-style
accounting: the position holds no cash; the account books each fill's realized P&L less its fee).
"""

from __future__ import annotations

from collections import deque
from decimal import Decimal

import attrs

from domain.currency import check_currency, currency_validator
from domain.errors import InvalidValueError
from domain.fill import Fill
from domain.instrument import InstrumentId
from domain.numbers import EXACT_CONTEXT, ZERO, exact, ratio
from domain.numbers import check_positive_price as check_mark
from domain.order_terms import OrderSide
from domain.portfolio.round_trip import Direction, RoundTrip, RoundTripBuilder, split_fee


@attrs.frozen
class Lot:
    """Open inventory bought (or sold short) at one price: `quantity` is signed (+ long, - short)."""

    price: Decimal
    quantity: Decimal
    ts_ns: int


@attrs.frozen
class PositionChange:
    """What one fill did to a position: quantities closed and opened, realized P&L and fee.

    `realized_pnl` is in the settlement currency; `fee` is in `fee_currency` (positive cost,
    negative rebate). `round_trip` is the round trip this fill closed, if it brought the position
    to flat or through it.
    """

    instrument_id: InstrumentId
    quantity_before: Decimal
    quantity_after: Decimal
    closed_quantity: Decimal
    opened_quantity: Decimal
    realized_pnl: Decimal
    fee: Decimal
    fee_currency: str
    round_trip: RoundTrip | None


@attrs.define
class Position:
    """The netted position in one instrument, settled in `currency` (the instrument's quote).

    Mutable aggregate: apply fills through `Portfolio.apply_fill`, which also books the account;
    applying them here directly leaves the account behind.
    """

    instrument_id: InstrumentId
    currency: str = attrs.field(validator=currency_validator)
    _lots: deque[Lot] = attrs.field(factory=deque, init=False)
    _realized_pnl: Decimal = attrs.field(default=ZERO, init=False)
    _fees: dict[str, Decimal] = attrs.field(factory=dict, init=False)
    _trip: RoundTripBuilder | None = attrs.field(default=None, init=False)
    _round_trips: int = attrs.field(default=0, init=False)

    @property
    def quantity(self) -> Decimal:
        """The signed net quantity: positive long, negative short, zero flat."""
        with exact():
            return sum((lot.quantity for lot in self._lots), ZERO)

    @property
    def is_flat(self) -> bool:
        """True when nothing is open."""
        return not self._lots

    @property
    def direction(self) -> Direction | None:
        """LONG or SHORT, or None when flat."""
        return Direction.of(self._lots[0].quantity) if self._lots else None

    @property
    def lots(self) -> tuple[Lot, ...]:
        """The open lots, oldest first."""
        return tuple(self._lots)

    @property
    def cost_basis(self) -> Decimal:
        """Σ |lot quantity| × lot price: what the open inventory cost (exact, not signed)."""
        with exact():
            return sum((abs(lot.quantity) * lot.price for lot in self._lots), ZERO)

    @property
    def average_entry_price(self) -> Decimal | None:
        """Σ |q|·p / Σ |q| over the open lots, or None when flat (a report: 40 digits, half-even)."""
        if not self._lots:
            return None
        with exact():
            size = abs(self.quantity)
        return ratio(self.cost_basis, size)

    @property
    def realized_pnl(self) -> Decimal:
        """All P&L realized on this instrument since the position was created (exact)."""
        return self._realized_pnl

    @property
    def round_trips_closed(self) -> int:
        """How many round trips (flat to flat) this position has completed."""
        return self._round_trips

    @property
    def open_since_ns(self) -> int | None:
        """When the round trip in progress opened, or None when flat."""
        return None if self._trip is None else self._trip.opened_ts_ns

    def fees(self, currency: str | None = None) -> Decimal:
        """Total fees paid in `currency` (default: the settlement currency); rebates count negative."""
        return self._fees.get(self.currency if currency is None else currency, ZERO)

    def fees_by_currency(self) -> dict[str, Decimal]:
        """Total fees per currency they were charged in."""
        return dict(self._fees)

    def unrealized_pnl(self, mark: Decimal) -> Decimal:
        """Σ lot quantity × (mark - lot price): the P&L of closing everything at `mark` (exact)."""
        price = check_mark(mark)
        total = ZERO
        for lot in self._lots:  # valued after every mark: context methods, not a local context
            total = EXACT_CONTEXT.add(
                total, EXACT_CONTEXT.multiply(lot.quantity, EXACT_CONTEXT.subtract(price, lot.price))
            )
        return total

    def notional(self, mark: Decimal) -> Decimal:
        """Gross exposure at `mark`: |quantity| × mark, in the settlement currency."""
        price = check_mark(mark)
        with exact():
            return abs(self.quantity) * price

    def signed_notional(self, mark: Decimal) -> Decimal:
        """Net exposure at `mark`: quantity × mark (negative when short)."""
        price = check_mark(mark)
        with exact():
            return self.quantity * price

    def fee_currency_of(self, fill: Fill) -> str:
        """The currency `fill`'s fee is charged in: its fee currency, or the settlement one if blank."""
        if not fill.fee_currency.strip():
            return self.currency
        return check_currency(fill.fee_currency)

    def apply(self, fill: Fill) -> PositionChange:
        """Apply one fill: close against the oldest lots first, open the rest, book realized P&L and fee."""
        if fill.instrument_id != self.instrument_id:
            raise InvalidValueError(
                f"fill {fill.fill_id} is for {fill.instrument_id}, not {self.instrument_id}"
            )
        fee_currency = self.fee_currency_of(fill)  # validated before anything changes
        before = self.quantity
        with exact():
            closing = before != 0 and (before > 0) != (fill.side is OrderSide.BUY)
            closed = min(fill.quantity, abs(before)) if closing else ZERO
            opened = fill.quantity - closed
            realized = self._consume(closed, fill.price) if closed else ZERO
            if opened:
                # Only reached with no lots left or lots on the fill's side: lots never mix sides.
                self._lots.append(Lot(price=fill.price, quantity=opened * fill.side.sign, ts_ns=fill.ts_ns))
            self._realized_pnl += realized
            self._fees[fee_currency] = self._fees.get(fee_currency, ZERO) + fill.fee
            round_trip = self._record_trip(fill, fee_currency, closed, opened, realized)
        return PositionChange(
            instrument_id=self.instrument_id,
            quantity_before=before,
            quantity_after=self.quantity,
            closed_quantity=closed,
            opened_quantity=opened,
            realized_pnl=realized,
            fee=fill.fee,
            fee_currency=fee_currency,
            round_trip=round_trip,
        )

    def _consume(self, quantity: Decimal, price: Decimal) -> Decimal:
        """Close `quantity` against the lots oldest first at `price`; return the P&L realized."""
        realized = ZERO
        remaining = quantity
        while remaining:
            lot = self._lots[0]
            size = abs(lot.quantity)
            take = min(remaining, size)
            sign = 1 if lot.quantity > 0 else -1
            realized += take * (price - lot.price) * sign
            remaining -= take
            if take == size:
                self._lots.popleft()
            else:
                self._lots[0] = attrs.evolve(lot, quantity=lot.quantity - take * sign)
        return realized

    def _record_trip(
        self, fill: Fill, fee_currency: str, closed: Decimal, opened: Decimal, realized: Decimal
    ) -> RoundTrip | None:
        """Update the round trip in progress (lots already updated); return it if this fill closed it.

        A fill that only opens or only closes carries its whole fee into the current round trip. A
        flip splits its fee pro rata by quantity: the opening part's share goes to the new round
        trip and the exact remainder to the closing one (see `split_fee`), so nothing is lost.
        """
        finished: RoundTrip | None = None
        opening_fee = ZERO if closed else fill.fee
        if closed:
            trip = self._trip
            assert trip is not None  # closing implies an open position, hence a round trip in progress
            if opened:
                opening_fee = split_fee(fill.fee, opened, fill.quantity)
            trip.record_close(closed, fill.price, realized)
            trip.record_fee(fee_currency, fill.fee - opening_fee)
            if opened or self.is_flat:
                finished = trip.build(fill.ts_ns)
                self._trip = None
                self._round_trips += 1
        if opened:
            if self._trip is None:
                self._trip = RoundTripBuilder(
                    instrument_id=self.instrument_id,
                    currency=self.currency,
                    direction=Direction.of(fill.signed_quantity),
                    opened_ts_ns=fill.ts_ns,
                )
            self._trip.record_open(opened, fill.price, abs(self.quantity))
            self._trip.record_fee(fee_currency, opening_fee)
        return finished
