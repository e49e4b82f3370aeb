"""The risk context: a plain snapshot of everything the pre-trade rules read.

The application builds it from the portfolio, the order book and the market data before each
check; the rules never reach anywhere else, so a check is a pure function of (order, context).
"""

from __future__ import annotations

import types
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import TypeVar

import attrs

from domain.errors import InvalidValueError
from domain.instrument import InstrumentId
from domain.numbers import ONE, ZERO, to_decimal
from domain.risk.exposure import Exposure
from domain.risk.trading_state import TradingState

_FLAT = Exposure()
_K = TypeVar("_K")
_V = TypeVar("_V")


@attrs.frozen
class ReferencePrice:
    """A reference mid price of an instrument and when it was observed (ns since the epoch)."""

    mid: Decimal = attrs.field(converter=to_decimal)
    ts_ns: int

    def __attrs_post_init__(self) -> None:
        if self.mid <= 0:
            raise InvalidValueError(f"reference mid must be positive, got {self.mid}")

    def age_ns(self, now_ns: int) -> int:
        """How old the reference is at `now_ns`; one stamped after `now_ns` counts as age 0."""
        return max(0, now_ns - self.ts_ns)


@attrs.frozen
class CurrencyBalance:
    """A balance in one currency and the part of it reserved by open orders."""

    total: Decimal = attrs.field(converter=to_decimal)
    reserved: Decimal = attrs.field(default=ZERO, converter=to_decimal)

    def __attrs_post_init__(self) -> None:
        if self.reserved < 0:
            raise InvalidValueError(f"reserved must not be negative, got {self.reserved}")

    @property
    def available(self) -> Decimal:
        """What a new order may still use: the total less what open orders reserve."""
        return self.total - self.reserved


def _frozen_map(mapping: Mapping[_K, _V]) -> Mapping[_K, _V]:
    # A private copy behind a read-only view: the snapshot cannot change after the check starts.
    return types.MappingProxyType(dict(mapping))


# One concrete converter per field: attrs' mypy plugin cannot resolve a generic converter's types.
def _balances(mapping: Mapping[str, CurrencyBalance]) -> Mapping[str, CurrencyBalance]:
    return _frozen_map(mapping)


def _rates(mapping: Mapping[str, Decimal]) -> Mapping[str, Decimal]:
    return _frozen_map(mapping)


def _exposures(mapping: Mapping[InstrumentId, Exposure]) -> Mapping[InstrumentId, Exposure]:
    return _frozen_map(mapping)


def _references(mapping: Mapping[InstrumentId, ReferencePrice]) -> Mapping[InstrumentId, ReferencePrice]:
    return _frozen_map(mapping)


def _timestamps(values: Iterable[int]) -> tuple[int, ...]:
    return tuple(values)


@attrs.frozen(kw_only=True)
class RiskContext:
    """A snapshot of the account, positions, orders and market data at `now_ns`.

    - `equity`, `high_water_mark`, `daily_pnl` (since the start of the trading day) and
      `gross_notional` are in `reporting_currency`.
    - `gross_notional` is the worst-case gross notional of all instruments: for each, the larger
      of |position + open buys| and |position - open sells|, at its mark, converted; the
      application computes it the same way `Exposure.worst_case` does.
    - `balances` per currency count reservations: a new order may use only `available`.
    - `rates[c]` is the value of one unit of currency `c` in the reporting currency (the
      reporting currency itself is always 1). Notional limits convert an order's quote notional
      with it; an order whose quote has no rate cannot be valued and is denied.
    - `exposures` per instrument (absent = flat, no resting orders); `references` are the
      reference mids, also used as marks; `open_order_count` counts every open order.
    - `recent_order_ts_ns` are the send times of recent orders (e.g. `OrderThrottle.snapshot()`);
      the order-rate rule counts those inside its window ending at `now_ns`.
    """

    now_ns: int
    equity: Decimal = attrs.field(converter=to_decimal)
    high_water_mark: Decimal = attrs.field(converter=to_decimal)
    daily_pnl: Decimal = attrs.field(converter=to_decimal)
    reporting_currency: str
    trading_state: TradingState = TradingState.ACTIVE
    balances: Mapping[str, CurrencyBalance] = attrs.field(factory=dict, converter=_balances)
    rates: Mapping[str, Decimal] = attrs.field(factory=dict, converter=_rates)
    exposures: Mapping[InstrumentId, Exposure] = attrs.field(factory=dict, converter=_exposures)
    references: Mapping[InstrumentId, ReferencePrice] = attrs.field(factory=dict, converter=_references)
    open_order_count: int = 0
    gross_notional: Decimal = attrs.field(default=ZERO, converter=to_decimal)
    recent_order_ts_ns: tuple[int, ...] = attrs.field(default=(), converter=_timestamps)

    def __attrs_post_init__(self) -> None:
        if not self.reporting_currency:
            raise InvalidValueError("reporting_currency must not be empty")
        if self.high_water_mark < 0:
            raise InvalidValueError(f"high_water_mark must not be negative, got {self.high_water_mark}")
        if self.open_order_count < 0:
            raise InvalidValueError(f"open_order_count must not be negative, got {self.open_order_count}")
        if self.gross_notional < 0:
            raise InvalidValueError(f"gross_notional must not be negative, got {self.gross_notional}")
        for currency, rate in self.rates.items():
            if not isinstance(rate, Decimal) or not rate.is_finite() or rate <= 0:
                raise InvalidValueError(f"rate of {currency} must be a positive Decimal, got {rate!r}")

    def exposure(self, instrument_id: InstrumentId) -> Exposure:
        """The exposure on an instrument; flat when the snapshot has none."""
        return self.exposures.get(instrument_id, _FLAT)

    def reference(self, instrument_id: InstrumentId) -> ReferencePrice | None:
        """The reference mid of an instrument, or None when there is none."""
        return self.references.get(instrument_id)

    def rate(self, currency: str) -> Decimal | None:
        """Value of one unit of `currency` in the reporting currency, or None when unknown."""
        if currency == self.reporting_currency:
            return ONE
        return self.rates.get(currency)

    def available(self, currency: str) -> Decimal:
        """The balance of `currency` free for a new order (zero when there is none)."""
        balance = self.balances.get(currency)
        return ZERO if balance is None else balance.available

    @property
    def drawdown(self) -> Decimal | None:
        """(high-water mark - equity) / high-water mark, floored at 0; None without a positive mark."""
        if self.high_water_mark <= 0:
            return None
        return max(ZERO, (self.high_water_mark - self.equity) / self.high_water_mark)

    @property
    def exposed_instruments(self) -> frozenset[InstrumentId]:
        """Instruments with a position or a resting order: positions that exist or may open."""
        return frozenset(iid for iid, exposure in self.exposures.items() if exposure.is_exposed)
