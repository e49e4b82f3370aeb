"""Indicators: small stateful objects, each fed one value at a time, each able to snapshot itself.

Statistics are not money. The EMA and the ATR are in price units and kept as Decimals under the
report context (40 significant digits, half-even), so comparing them with prices stays exact and a
snapshot writes them as strings. The volatility of log returns is a float (it needs `math.log`);
it is recomputed from the stored window of prices each time, never from running sums, so a
restored estimator gives bit-for-bit the values the original would have.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Mapping
from decimal import Decimal

import attrs

from application.strategies import state as st
from application.strategies.strategy import StrategyStateError
from domain.errors import InvalidValueError
from domain.numbers import EXACT_CONTEXT, REPORT_CONTEXT, ZERO, ratio

_CTX = REPORT_CONTEXT


def _check_period(name: str, period: int, minimum: int = 1) -> int:
    if isinstance(period, bool) or not isinstance(period, int) or period < minimum:
        raise InvalidValueError(f"{name} must be an int of at least {minimum}, got {period!r}")
    return period


class Ema:
    """Exponential moving average with alpha = 2 / (period + 1).

    Seeded with the simple average of the first `period` values (so it is not dominated by the
    first one); `value` is None until then.
    """

    def __init__(self, period: int) -> None:
        self.period = _check_period("EMA period", period)
        self.alpha = _CTX.divide(Decimal(2), Decimal(period + 1))
        self._count = 0
        self._seed_sum = ZERO
        self._value: Decimal | None = None

    @property
    def value(self) -> Decimal | None:
        """The current average, or None while seeding."""
        return self._value

    @property
    def ready(self) -> bool:
        """True once `period` values were seen."""
        return self._value is not None

    def update(self, x: Decimal) -> Decimal | None:
        """Add one value; returns the new average (None while seeding)."""
        if self._value is None:
            self._seed_sum = EXACT_CONTEXT.add(self._seed_sum, x)
            self._count += 1
            if self._count == self.period:
                self._value = ratio(self._seed_sum, Decimal(self.period))
            return self._value
        # value + alpha * (x - value), the usual form with one rounding fewer than a*x + (1-a)*v.
        self._value = _CTX.add(self._value, _CTX.multiply(self.alpha, _CTX.subtract(x, self._value)))
        return self._value

    def snapshot(self) -> dict[str, object]:
        """The state as JSON-friendly values."""
        return {"count": self._count, "seed_sum": str(self._seed_sum), "value": st.dec_text(self._value)}

    def restore(self, state: Mapping[str, object]) -> None:
        """Take back a state from `snapshot`."""
        self._count = st.integer(state, "count")
        self._seed_sum = st.decimal(state, "seed_sum")
        self._value = st.optional_decimal(state, "value")


class AverageTrueRange:
    """Wilder's average true range over `period` bars.

    True range = max(high - low, |high - previous close|, |low - previous close|); the first bar,
    with no previous close, uses high - low. The ATR is seeded with the simple average of the
    first `period` true ranges, then ATR = (ATR * (period - 1) + TR) / period.
    """

    def __init__(self, period: int) -> None:
        self.period = _check_period("ATR period", period)
        self._count = 0
        self._seed_sum = ZERO
        self._value: Decimal | None = None
        self._previous_close: Decimal | None = None

    @property
    def value(self) -> Decimal | None:
        """The current ATR, or None while seeding."""
        return self._value

    @property
    def ready(self) -> bool:
        """True once `period` bars were seen."""
        return self._value is not None

    def true_range(self, high: Decimal, low: Decimal) -> Decimal:
        """The true range of a bar with this high and low, given the previous close seen."""
        span = EXACT_CONTEXT.subtract(high, low)
        if self._previous_close is None:
            return span
        return max(
            span,
            abs(EXACT_CONTEXT.subtract(high, self._previous_close)),
            abs(EXACT_CONTEXT.subtract(low, self._previous_close)),
        )

    def update(self, high: Decimal, low: Decimal, close: Decimal) -> Decimal | None:
        """Add one bar; returns the new ATR (None while seeding)."""
        if high < low:
            raise InvalidValueError(f"a bar's high {high} is below its low {low}")
        tr = self.true_range(high, low)
        self._previous_close = close
        if self._value is None:
            self._seed_sum = EXACT_CONTEXT.add(self._seed_sum, tr)
            self._count += 1
            if self._count == self.period:
                self._value = ratio(self._seed_sum, Decimal(self.period))
            return self._value
        weighted = _CTX.add(_CTX.multiply(self._value, Decimal(self.period - 1)), tr)
        self._value = _CTX.divide(weighted, Decimal(self.period))
        return self._value

    def snapshot(self) -> dict[str, object]:
        """The state as JSON-friendly values."""
        return {
            "count": self._count,
            "seed_sum": str(self._seed_sum),
            "value": st.dec_text(self._value),
            "previous_close": st.dec_text(self._previous_close),
        }

    def restore(self, state: Mapping[str, object]) -> None:
        """Take back a state from `snapshot`."""
        self._count = st.integer(state, "count")
        self._seed_sum = st.decimal(state, "seed_sum")
        self._value = st.optional_decimal(state, "value")
        self._previous_close = st.optional_decimal(state, "previous_close")


def log_return(previous: Decimal, current: Decimal) -> float:
    """ln(current / previous): the ratio is taken exactly (40 digits), the logarithm in floats."""
    if previous <= 0 or current <= 0:
        raise InvalidValueError(f"log return needs positive prices, got {previous} and {current}")
    return math.log(float(ratio(current, previous)))


def sample_std(values: list[float]) -> float:
    """The sample standard deviation (n - 1); needs two values or more."""
    n = len(values)
    if n < 2:
        raise InvalidValueError("a sample standard deviation needs two values or more")
    mean = math.fsum(values) / n
    return math.sqrt(math.fsum((v - mean) ** 2 for v in values) / (n - 1))


_VOL_QUANTUM = Decimal("0.000001")
_VOL_CAP_BPS = 1e12  # far beyond any spread or filter; keeps the conversion within 40 digits


def vol_as_decimal(vol_bps: float) -> Decimal:
    """A float volatility (bps) as a Decimal to 6 decimal places, half-even: deterministic.

    Values above 1e12 bps are capped there (any spread cap or filter band is far below).
    """
    if not vol_bps >= 0.0:  # also refuses NaN
        raise InvalidValueError(f"volatility must be a non-negative number, got {vol_bps!r}")
    return Decimal(min(vol_bps, _VOL_CAP_BPS)).quantize(_VOL_QUANTUM, context=_CTX)


class RollingVolatility:
    """The sample standard deviation of the last `window` log returns, in basis points.

    Per sample, not annualised: the caller decides what a sample is (a book update, a bar).
    `value_bps` is None until `window` returns (window + 1 prices) were seen.
    """

    def __init__(self, window: int) -> None:
        self.window = _check_period("volatility window", window, minimum=2)
        self._prices: deque[Decimal] = deque(maxlen=window + 1)
        self._returns: deque[float] = deque(maxlen=window)

    @property
    def ready(self) -> bool:
        """True once the window is full."""
        return len(self._returns) == self.window

    @property
    def last_price(self) -> Decimal | None:
        """The last price added."""
        return self._prices[-1] if self._prices else None

    def update(self, price: Decimal) -> float | None:
        """Add one price; returns the volatility in bps (None until the window is full)."""
        if price <= 0:
            raise InvalidValueError(f"volatility needs positive prices, got {price}")
        if self._prices:
            self._returns.append(log_return(self._prices[-1], price))
        self._prices.append(price)
        return self.value_bps

    @property
    def value_bps(self) -> float | None:
        """The volatility of the window's log returns in bps, or None until the window is full."""
        if not self.ready:
            return None
        return sample_std(list(self._returns)) * 10_000.0

    def snapshot(self) -> dict[str, object]:
        """The state: the window's prices, as strings."""
        return {"prices": [str(price) for price in self._prices]}

    def restore(self, state: Mapping[str, object]) -> None:
        """Take back a state from `snapshot` (the returns are recomputed from the prices)."""
        prices = [st.as_decimal(value, "volatility price") for value in st.sequence(state, "prices")]
        if len(prices) > self.window + 1:
            raise StrategyStateError(f"{len(prices)} prices do not fit a window of {self.window}")
        self._prices.clear()
        self._returns.clear()
        for price in prices:
            self.update(price)


@attrs.frozen
class Bar:
    """Open, high, low and close of the prices sampled in one interval [start_ns, end_ns)."""

    index: int  # start_ns // interval_ns
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal

    def with_price(self, price: Decimal) -> Bar:
        """The bar after one more price."""
        return Bar(self.index, self.open, max(self.high, price), min(self.low, price), price)


class BarBuilder:
    """Cuts a stream of (ts_ns, price) samples into bars of `interval_ns`.

    A sample in a later interval closes the current bar; so does a timer past its end. Intervals
    without a sample make no bar (no synthetic flat bars). A sample for an interval already closed
    (it arrived late) is dropped: a closed bar never changes.
    """

    def __init__(self, interval_ns: int) -> None:
        self.interval_ns = _check_period("bar interval (ns)", interval_ns)
        self._current: Bar | None = None
        self._last_closed_index: int | None = None

    @property
    def current(self) -> Bar | None:
        """The bar being built."""
        return self._current

    def add(self, ts_ns: int, price: Decimal) -> Bar | None:
        """Add one sample; returns the bar it closed, if any."""
        index = ts_ns // self.interval_ns
        if self._last_closed_index is not None and index <= self._last_closed_index:
            return None
        current = self._current
        if current is not None and index <= current.index:
            self._current = current.with_price(price)
            return None
        self._current = Bar(index, price, price, price, price)
        if current is not None:
            self._last_closed_index = current.index
        return current

    def close_until(self, ts_ns: int) -> Bar | None:
        """Close the current bar if `ts_ns` is at or past its end; returns it, if so."""
        current = self._current
        if current is None or ts_ns < (current.index + 1) * self.interval_ns:
            return None
        self._current = None
        self._last_closed_index = current.index
        return current

    def snapshot(self) -> dict[str, object]:
        """The state as JSON-friendly values."""
        bar = self._current
        return {
            "last_closed_index": self._last_closed_index,
            "current": None
            if bar is None
            else {
                "index": bar.index,
                "open": str(bar.open),
                "high": str(bar.high),
                "low": str(bar.low),
                "close": str(bar.close),
            },
        }

    def restore(self, state: Mapping[str, object]) -> None:
        """Take back a state from `snapshot`."""
        self._last_closed_index = st.optional_integer(state, "last_closed_index")
        bar = st.optional_mapping(state, "current")
        self._current = (
            None
            if bar is None
            else Bar(
                st.integer(bar, "index"),
                st.decimal(bar, "open"),
                st.decimal(bar, "high"),
                st.decimal(bar, "low"),
                st.decimal(bar, "close"),
            )
        )
