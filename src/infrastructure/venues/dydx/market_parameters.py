"""A dYdX perpetual market's protocol parameters and the exact size and price conversions they define.

The chain does not know decimal sizes and prices. An order carries:
- `quantums`, an integer number of base quantums: size = quantums * 10^atomicResolution,
  a multiple of `stepBaseQuantums`;
- `subticks`, an integer price: a base quantum trades for subticks * 10^quantumConversionExponent
  quote quantums, and a quote quantum is 10^-6 USDC, so
  price = subticks * 10^(quantumConversionExponent - atomicResolution - 6),
  a multiple of `subticksPerTick`.
Hence the increments the indexer also reports as strings: step size = stepBaseQuantums *
10^atomicResolution and tick size = subticksPerTick * 10^(quantumConversionExponent -
atomicResolution - 6). BTC-USD (atomicResolution -10, quantumConversionExponent -9,
stepBaseQuantums 1,000,000, subticksPerTick 100,000) has step 0.0001 BTC and tick 1 USD.

These are the inverse of the formulas in the official clients (v4-clients `calculate_quantums`
and `calculate_subticks`), done here in exact Decimal and integer arithmetic: the official Python
client uses floats and can sign one step less than asked (size 1.001 ETH becomes 1.000).
"""

from __future__ import annotations

from decimal import Context, Decimal, Inexact, Rounded

import attrs

from domain.errors import InvalidValueError
from domain.numbers import Rounding, round_to_increment
from infrastructure.venues.dydx.messages import PerpetualMarket

#: The atomic resolution of the quote asset (USDC): a quote quantum is 10^-6 USDC.
QUOTE_ATOMIC_RESOLUTION = -6

#: Quantums and subticks are uint64 on the chain.
MAX_UNITS = 2**64 - 1

# Shifting a decimal point must never round: any rounding would be a bug, so it traps.
_EXACT = Context(prec=200, traps=[Inexact, Rounded])


def _shift(value: Decimal, places: int) -> Decimal:
    try:
        return value.scaleb(places, context=_EXACT)
    except ArithmeticError:
        raise InvalidValueError(f"{value} shifted by {places} places is not exact") from None


def _canonical(value: Decimal) -> Decimal:
    """The value without trailing zeros, written in plain digits (1, not 1.00000 or 1E+1)."""
    if value == value.to_integral_value():
        return Decimal(int(value))
    return value.normalize(context=_EXACT)


@attrs.frozen
class DydxMarketParameters:
    """The protocol parameters of one perpetual market (what orders are signed with)."""

    ticker: str
    clob_pair_id: int
    atomic_resolution: int
    quantum_conversion_exponent: int
    step_base_quantums: int = attrs.field()
    subticks_per_tick: int = attrs.field()

    @step_base_quantums.validator
    @subticks_per_tick.validator
    def _positive(self, attribute: attrs.Attribute[int], value: int) -> None:
        if value <= 0:
            raise InvalidValueError(f"{self.ticker}: {attribute.name} must be positive, got {value}")

    @classmethod
    def from_market(cls, ticker: str, market: PerpetualMarket) -> DydxMarketParameters | None:
        """The parameters in an indexer market record; None if it lacks one (a partial update)."""
        if (
            market.clob_pair_id is None
            or market.atomic_resolution is None
            or market.quantum_conversion_exponent is None
            or market.step_base_quantums is None
            or market.subticks_per_tick is None
        ):
            return None
        if not market.clob_pair_id.isdecimal():
            raise InvalidValueError(
                f"{ticker}: clobPairId must be a decimal integer, got {market.clob_pair_id!r}"
            )
        return cls(
            ticker=ticker,
            clob_pair_id=int(market.clob_pair_id),
            atomic_resolution=market.atomic_resolution,
            quantum_conversion_exponent=market.quantum_conversion_exponent,
            step_base_quantums=market.step_base_quantums,
            subticks_per_tick=market.subticks_per_tick,
        )

    @property
    def _price_exponent(self) -> int:
        return self.quantum_conversion_exponent - self.atomic_resolution + QUOTE_ATOMIC_RESOLUTION

    @property
    def step_size(self) -> Decimal:
        """The size increment (and minimum order size), in base units."""
        return _canonical(self.quantums_to_size(self.step_base_quantums))

    @property
    def tick_size(self) -> Decimal:
        """The price increment, in USD per base unit."""
        return _canonical(self.subticks_to_price(self.subticks_per_tick))

    def quantums_to_size(self, quantums: int) -> Decimal:
        """The size of a number of base quantums (exact)."""
        return _shift(Decimal(quantums), self.atomic_resolution)

    def subticks_to_price(self, subticks: int) -> Decimal:
        """The price of a number of subticks (exact)."""
        return _shift(Decimal(subticks), self._price_exponent)

    def size_to_quantums(self, size: Decimal, rounding: Rounding | None = None) -> int:
        """The quantums of `size` (a step multiple); off-grid is refused unless `rounding` is given."""
        return self._to_units(size, self.atomic_resolution, self.step_base_quantums, rounding, "size")

    def price_to_subticks(self, price: Decimal, rounding: Rounding | None = None) -> int:
        """The subticks of `price` (a tick multiple); off-grid is refused unless `rounding` is given."""
        return self._to_units(price, self._price_exponent, self.subticks_per_tick, rounding, "price")

    def _to_units(
        self, value: Decimal, exponent: int, increment: int, rounding: Rounding | None, what: str
    ) -> int:
        if not value.is_finite() or value <= 0:
            raise InvalidValueError(f"{self.ticker}: {what} must be positive, got {value}")
        units = _shift(value, -exponent)
        if units > MAX_UNITS:
            raise InvalidValueError(f"{self.ticker}: {what} {value} is too large for the chain (uint64)")
        on_grid = round_to_increment(units, Decimal(increment), rounding or Rounding.DOWN)
        if rounding is None and on_grid != units:
            step = self.step_size if what == "size" else self.tick_size
            raise InvalidValueError(f"{self.ticker}: {what} {value} is not a multiple of {step}")
        if on_grid <= 0:
            raise InvalidValueError(f"{self.ticker}: {what} {value} rounds to zero")
        return int(on_grid)
