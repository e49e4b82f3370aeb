"""Round trips: one position's life from flat to flat, with its gross P&L and fee cost in bps.

A round trip opens with the fill that takes a position away from flat and closes with the fill
that brings it back to flat. A fill that flips the position through zero closes one round trip and
opens the next; its fee is split between them (see `split_fee`).
"""

from __future__ import annotations

import enum
from decimal import Decimal, Inexact

import attrs

from domain.currency import currency_validator
from domain.errors import InvalidValueError
from domain.instrument import InstrumentId
from domain.numbers import BPS, ZERO, exact, ratio


class Direction(enum.Enum):
    """Which way a position (or a round trip) faces."""

    LONG = "LONG"
    SHORT = "SHORT"

    @property
    def sign(self) -> int:
        """+1 for long, -1 for short: the sign of the position quantity."""
        return 1 if self is Direction.LONG else -1

    @classmethod
    def of(cls, quantity: Decimal) -> Direction:
        """The direction of a non-zero signed quantity."""
        if quantity == 0:
            raise InvalidValueError("a flat quantity has no direction")
        return cls.LONG if quantity > 0 else cls.SHORT


def split_fee(fee: Decimal, part: Decimal, whole: Decimal) -> Decimal:
    """The share of `fee` that belongs to `part` of a fill of quantity `whole`, pro rata by quantity.

    The share is `fee × part / whole` when that division is exact. When it is not, the share is
    rounded toward zero at the fee's own quantum (the finest unit the venue charged in), so the
    caller gives the exact remainder `fee - share` to the other part and the total is preserved.
    For a flip, `part` is the opening part: the closing part receives the remainder.
    """
    if not ZERO < part <= whole:
        raise InvalidValueError(f"part {part} must be positive and at most the whole {whole}")
    try:
        with exact():
            return fee * part / whole
    except Inexact:
        pass
    exponent = fee.as_tuple().exponent
    if not isinstance(exponent, int):  # pragma: no cover - Fill refuses non-finite fees
        raise InvalidValueError(f"fee must be finite, got {fee}")
    quantum = Decimal((0, (1,), exponent))
    with exact():
        # Decimal // truncates toward zero and is exact: whole quanta of the true share.
        return (fee * part) // (whole * quantum) * quantum


def _frozen_fees(
    fees: dict[str, Decimal] | tuple[tuple[str, Decimal], ...],
) -> tuple[tuple[str, Decimal], ...]:
    items = fees.items() if isinstance(fees, dict) else fees
    return tuple(sorted(items))


@attrs.frozen
class RoundTrip:
    """A closed round trip: a position opened from flat and closed back to flat.

    Amounts are in `currency`, the instrument's settlement (quote) currency, and exact:
    `entry_notional` is the sum of the opening fills' notionals (of the opening part of a flip),
    `exit_notional` that of the closing fills, `gross_pnl` the realized P&L, equal to
    `(exit_notional - entry_notional) × direction.sign`. `fees` are the fees paid in `currency`
    (negative for a net rebate); fees charged in other currencies cannot be added without a rate
    and are kept apart in `foreign_fees` (currency, amount), not counted in `net_pnl` or `fee_bps`.
    """

    instrument_id: InstrumentId
    currency: str = attrs.field(validator=currency_validator)
    direction: Direction
    opened_ts_ns: int
    closed_ts_ns: int
    quantity: Decimal
    max_quantity: Decimal
    entry_notional: Decimal
    exit_notional: Decimal
    gross_pnl: Decimal
    fees: Decimal
    foreign_fees: tuple[tuple[str, Decimal], ...] = attrs.field(default=(), converter=_frozen_fees)

    def __attrs_post_init__(self) -> None:
        if self.quantity <= 0 or self.entry_notional <= 0 or self.exit_notional <= 0:
            raise InvalidValueError("a round trip needs a positive quantity and positive notionals")
        with exact():
            expected = (self.exit_notional - self.entry_notional) * self.direction.sign
        if self.gross_pnl != expected:
            raise InvalidValueError(
                f"round trip gross P&L {self.gross_pnl} does not match its notionals ({expected})"
            )

    @property
    def net_pnl(self) -> Decimal:
        """Gross P&L less the fees paid in the settlement currency (exact)."""
        with exact():
            return self.gross_pnl - self.fees

    @property
    def gross_bps(self) -> Decimal:
        """Gross P&L in basis points of the entry notional (a report: 40 digits, half-even)."""
        return ratio(self.gross_pnl * BPS, self.entry_notional)

    @property
    def fee_bps(self) -> Decimal:
        """Settlement-currency fees in basis points of the entry notional (a report: 40 digits)."""
        return ratio(self.fees * BPS, self.entry_notional)

    @property
    def net_bps(self) -> Decimal:
        """Net P&L in basis points of the entry notional (a report: 40 digits, half-even)."""
        return ratio(self.net_pnl * BPS, self.entry_notional)


@attrs.define
class RoundTripBuilder:
    """The round trip in progress on a position: accumulates its fills until it closes."""

    instrument_id: InstrumentId
    currency: str
    direction: Direction
    opened_ts_ns: int
    quantity: Decimal = ZERO
    max_quantity: Decimal = ZERO
    entry_notional: Decimal = ZERO
    exit_notional: Decimal = ZERO
    gross_pnl: Decimal = ZERO
    fees: Decimal = ZERO
    foreign_fees: dict[str, Decimal] = attrs.field(factory=dict)

    def record_open(self, quantity: Decimal, price: Decimal, open_quantity: Decimal) -> None:
        """Record `quantity` opened at `price`; `open_quantity` is the position's size afterwards."""
        with exact():
            self.quantity += quantity
            self.entry_notional += quantity * price
        self.max_quantity = max(self.max_quantity, open_quantity)

    def record_close(self, quantity: Decimal, price: Decimal, realized_pnl: Decimal) -> None:
        """Record `quantity` closed at `price`, realizing `realized_pnl`."""
        with exact():
            self.exit_notional += quantity * price
            self.gross_pnl += realized_pnl

    def record_fee(self, currency: str, amount: Decimal) -> None:
        """Record a fee (positive) or rebate (negative) charged in `currency`."""
        with exact():
            if currency == self.currency:
                self.fees += amount
            else:
                self.foreign_fees[currency] = self.foreign_fees.get(currency, ZERO) + amount

    def build(self, closed_ts_ns: int) -> RoundTrip:
        """The closed round trip, ending at `closed_ts_ns`."""
        return RoundTrip(
            instrument_id=self.instrument_id,
            currency=self.currency,
            direction=self.direction,
            opened_ts_ns=self.opened_ts_ns,
            closed_ts_ns=closed_ts_ns,
            quantity=self.quantity,
            max_quantity=self.max_quantity,
            entry_notional=self.entry_notional,
            exit_notional=self.exit_notional,
            gross_pnl=self.gross_pnl,
            fees=self.fees,
            foreign_fees=dict(self.foreign_fees),
        )
