"""Instruments: what can be traded where, with the grid its prices and sizes must sit on."""

from __future__ import annotations

from decimal import Decimal

import attrs

from domain.errors import InvalidValueError
from domain.numbers import ZERO, Rounding, is_multiple_of, round_to_increment, to_decimal
from domain.order_terms import OrderSide


def _non_empty(_inst: object, attribute: attrs.Attribute[str], value: str) -> None:
    if not value or value != value.strip():
        raise InvalidValueError(f"{attribute.name} must be a non-empty trimmed string, got {value!r}")


@attrs.frozen(order=True, cache_hash=True)  # looked up per frame by books, engines and the venue
class InstrumentId:
    """An instrument's identity: its symbol on a venue, e.g. BTC-USD on COINBASE."""

    venue: str = attrs.field(validator=_non_empty)
    symbol: str = attrs.field(validator=_non_empty)

    def __str__(self) -> str:
        return f"{self.symbol}.{self.venue}"

    @classmethod
    def parse(cls, text: str) -> InstrumentId:
        """Parse the `SYMBOL.VENUE` form produced by `str()`."""
        symbol, dot, venue = text.rpartition(".")
        if not dot:
            raise InvalidValueError(f"instrument id must look like SYMBOL.VENUE, got {text!r}")
        return cls(venue=venue, symbol=symbol)


@attrs.frozen
class Instrument:
    """A tradable instrument and its exchange rules (increments, minimums, maximum size).

    Prices are in `quote` per unit of `base`; sizes are in `base`. Every number is exact.
    """

    id: InstrumentId
    base: str = attrs.field(validator=_non_empty)
    quote: str = attrs.field(validator=_non_empty)
    price_increment: Decimal = attrs.field(converter=to_decimal)
    size_increment: Decimal = attrs.field(converter=to_decimal)
    min_size: Decimal = attrs.field(converter=to_decimal, default=ZERO)
    min_notional: Decimal = attrs.field(converter=to_decimal, default=ZERO)
    max_size: Decimal | None = attrs.field(default=None, converter=attrs.converters.optional(to_decimal))

    def __attrs_post_init__(self) -> None:
        if self.price_increment <= 0:
            raise InvalidValueError(f"{self.id}: price_increment must be positive")
        if self.size_increment <= 0:
            raise InvalidValueError(f"{self.id}: size_increment must be positive")
        if self.min_size < 0:
            raise InvalidValueError(f"{self.id}: min_size must not be negative")
        if self.min_notional < 0:
            raise InvalidValueError(f"{self.id}: min_notional must not be negative")
        if self.max_size is not None and self.max_size < max(self.min_size, self.size_increment):
            raise InvalidValueError(f"{self.id}: max_size must be at least min_size and one increment")

    def round_price(self, price: Decimal, side: OrderSide) -> Decimal:
        """Snap a limit price to the grid: a bid rounds down, an ask rounds up (never more aggressive)."""
        rounding = Rounding.DOWN if side is OrderSide.BUY else Rounding.UP
        return round_to_increment(price, self.price_increment, rounding)

    def round_size(self, size: Decimal) -> Decimal:
        """Snap a size down to the grid (never trade more than asked)."""
        return round_to_increment(size, self.size_increment, Rounding.DOWN)

    def is_price_on_grid(self, price: Decimal) -> bool:
        """True when `price` is a multiple of the price increment."""
        return is_multiple_of(price, self.price_increment)

    def is_size_on_grid(self, size: Decimal) -> bool:
        """True when `size` is a multiple of the size increment."""
        return is_multiple_of(size, self.size_increment)

    def price_to_ticks(self, price: Decimal) -> int:
        """The price as a whole number of price increments; off-grid prices are refused."""
        if not self.is_price_on_grid(price):
            raise InvalidValueError(f"{self.id}: price {price} is not on the {self.price_increment} grid")
        return int(price / self.price_increment)

    def ticks_to_price(self, ticks: int) -> Decimal:
        """The price of a whole number of price increments."""
        return ticks * self.price_increment

    def size_violations(self, size: Decimal, price: Decimal | None) -> list[str]:
        """Reasons why `size` (at `price`, if known) breaks this instrument's rules; empty if none."""
        reasons: list[str] = []
        if size <= 0:
            reasons.append(f"size {size} must be positive")
        if not self.is_size_on_grid(size):
            reasons.append(f"size {size} is not on the {self.size_increment} grid")
        if size < self.min_size:
            reasons.append(f"size {size} is below the minimum {self.min_size}")
        if self.max_size is not None and size > self.max_size:
            reasons.append(f"size {size} is above the maximum {self.max_size}")
        if price is not None:
            if price <= 0:
                reasons.append(f"price {price} must be positive")
            elif not self.is_price_on_grid(price):
                reasons.append(f"price {price} is not on the {self.price_increment} grid")
            if size * price < self.min_notional:
                reasons.append(f"notional {size * price} is below the minimum {self.min_notional}")
        return reasons
