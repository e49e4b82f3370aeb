"""Fills: one execution of (part of) an order at the venue."""

from __future__ import annotations

from decimal import Decimal

import attrs

from domain.errors import InvalidValueError
from domain.identifiers import ClientOrderId, FillId, VenueOrderId
from domain.instrument import InstrumentId
from domain.numbers import ZERO, to_decimal
from domain.order_terms import LiquiditySide, OrderSide


@attrs.frozen
class Fill:
    """An execution: `quantity` of `instrument_id` at `price`, paying `fee` in `fee_currency`.

    `fee` is positive for a cost and negative for a rebate. `ts_ns` is the venue's event time
    in nanoseconds since the Unix epoch (UTC).
    """

    fill_id: FillId
    client_order_id: ClientOrderId
    instrument_id: InstrumentId
    side: OrderSide
    price: Decimal = attrs.field(converter=to_decimal)
    quantity: Decimal = attrs.field(converter=to_decimal)
    fee: Decimal = attrs.field(converter=to_decimal, default=ZERO)
    fee_currency: str = ""
    liquidity: LiquiditySide = LiquiditySide.TAKER
    ts_ns: int = 0
    venue_order_id: VenueOrderId | None = None

    def __attrs_post_init__(self) -> None:
        if self.price <= 0:
            raise InvalidValueError(f"fill {self.fill_id}: price must be positive, got {self.price}")
        if self.quantity <= 0:
            raise InvalidValueError(f"fill {self.fill_id}: quantity must be positive, got {self.quantity}")

    @property
    def notional(self) -> Decimal:
        """Price times quantity, in the quote currency."""
        return self.price * self.quantity

    @property
    def signed_quantity(self) -> Decimal:
        """Quantity with the sign the fill adds to a position (+ buy, - sell)."""
        return self.quantity * self.side.sign
