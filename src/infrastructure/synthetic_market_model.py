"""The synthetic market's configuration and model: seeded mid-price walks and order books.

`SyntheticMarket` is the state behind the synthetic Coinbase feed (`synthetic_market.py` renders
its events as frames). One `random.Random(seed)` drives everything, so a configuration always
yields the same market.

Numbers. Prices and sizes are exact: the configuration gives them as Decimals (validated on the
grid with Decimal arithmetic), and the model holds every emitted price and size as an integer
multiple of the instrument's increment (the integer ticks ADR 0002 allows on hot paths);
`Grid.text` formats such a multiple as exact decimal text with integer arithmetic, so nothing
emitted ever passes through a float. Floats appear only inside the walk: the fair value (in
ticks) moves by a first-order log-return draw, `fair *= 1 + sigma * sqrt(dt) * shock`, and book
levels are placed at integer ticks derived from it (floor/ceil). The shock is an Irwin-Hall sum
of four `Random.random()` draws (variance 1, tails bounded at ±3.5 sigma; fat tails come from
the regimes). Only + - * /, `math.sqrt`, floor and ceil touch floats (all exact or correctly
rounded in IEEE 754), never a libm function such as `exp` or `log`, so the output is identical
on every platform.

Model. Per instrument a fair value follows a random walk whose volatility is the current
market-wide regime's (e.g. calm/volatile, switched once per simulated second with the regime's
switch probability). Each book update first removes the levels at or through the fair value
(bids stay below it and asks above it, and removals are listed first, so the book is never
crossed, not even between two changes of one update); improves a best level left more than
`quote_width_ticks` from the fair value (and requotes once inside a wide gap); changes 1 to
`max_changes_per_update` levels chosen mostly near the top (resize, cancel, insert into a gap);
then trims or extends each side at its deep end to exactly `levels_per_side` levels (a depth-N
window, so the deep end follows the top). Level sizes grow away from the top (`depth_growth`)
with a uniform ±70 % jitter. A trade takes 1 unit up to all of the best level of a random side
(the maker side), which shrinks or goes.
"""

from __future__ import annotations

import math
import random
from bisect import bisect_left, insort
from dataclasses import dataclass
from decimal import Decimal
from typing import Final, NamedTuple

_NS_PER_S: Final = 1_000_000_000
_SECONDS_PER_DAY: Final = 86_400.0
_SQRT3: Final = math.sqrt(3.0)


class Grid:
    """An increment (price or size) and exact text for integer multiples of it."""

    __slots__ = ("_base", "_cache", "_factor", "_pattern", "_scale", "increment")

    def __init__(self, increment: Decimal) -> None:
        """Grid of `increment` (a positive finite Decimal)."""
        if not isinstance(increment, Decimal) or not increment.is_finite() or increment <= 0:
            raise ValueError(f"increment must be a positive finite Decimal, got {increment!r}")
        self.increment = increment
        _sign, digits, exponent = increment.as_tuple()
        assert isinstance(exponent, int)  # finite
        self._scale = max(0, -exponent)
        self._factor = int("".join(map(str, digits))) * 10 ** max(0, exponent)
        self._base = 10**self._scale
        self._pattern = f"%d.%0{self._scale}d"
        self._cache: dict[int, str] = {}

    def steps(self, value: Decimal) -> int:
        """`value` as a whole number of increments; ValueError when off the grid."""
        steps, remainder = divmod(value, self.increment)
        if remainder != 0:
            raise ValueError(f"{value} is not a multiple of {self.increment}")
        return int(steps)

    def text(self, steps: int) -> str:
        """Exact decimal text of `steps` × increment, trailing zeros trimmed (as Coinbase sends)."""
        value = steps * self._factor
        if value < 0:
            return "-" + self.text(-steps)
        if self._scale == 0:
            return str(value)
        whole, fraction = divmod(value, self._base)
        return (self._pattern % (whole, fraction)).rstrip("0") if fraction else str(whole)

    def cached_text(self, steps: int) -> str:
        """`text(steps)`, memoized (at most 65536 entries): for prices, which recur."""
        text = self._cache.get(steps)
        if text is None:
            if len(self._cache) >= 65_536:
                self._cache.clear()
            text = self._cache[steps] = self.text(steps)
        return text


@dataclass(frozen=True, slots=True, kw_only=True)
class SyntheticInstrument:
    """One synthetic product: where its price starts, its grids, and the shape of its book."""

    product_id: str
    start_price: Decimal
    price_increment: Decimal
    size_increment: Decimal
    top_size: Decimal = Decimal(1)  # typical quantity at the best level
    level_spacing_ticks: int = 3  # mean gap between adjacent levels, in price increments
    quote_width_ticks: int = 2  # each best level stays within this many ticks of the fair value

    def __post_init__(self) -> None:
        """Refuse an unusable instrument (off-grid start, non-positive sizes, bad id)."""
        for name in ("start_price", "price_increment", "size_increment", "top_size"):
            if not isinstance(getattr(self, name), Decimal):
                raise TypeError(f"{name} must be a Decimal (exact), got {getattr(self, name)!r}")
        if (
            not self.product_id
            or any(c in self.product_id for c in '"\\')
            or not self.product_id.isprintable()
        ):
            raise ValueError(f"bad product id {self.product_id!r}")
        price_grid, size_grid = Grid(self.price_increment), Grid(self.size_increment)
        if price_grid.steps(self.start_price) <= 0:
            raise ValueError(f"{self.product_id}: start price must be positive")
        if self.top_size < self.size_increment:
            raise ValueError(f"{self.product_id}: top size {self.top_size} below {self.size_increment}")
        size_grid.steps(self.top_size)
        if self.level_spacing_ticks < 1 or self.quote_width_ticks < 1:
            raise ValueError(f"{self.product_id}: level spacing and quote width must be >= 1 tick")


@dataclass(frozen=True, slots=True, kw_only=True)
class VolatilityRegime:
    """A volatility state of the market and how readily it ends."""

    name: str
    daily_volatility: float  # standard deviation of the 24 h log return (0.02 = 2 %)
    switch_probability: float  # chance per simulated second of moving to another regime

    def __post_init__(self) -> None:
        """Refuse negative volatility and probabilities outside [0, 1]."""
        if not self.daily_volatility >= 0 or not 0 <= self.switch_probability <= 1:
            raise ValueError(f"bad regime {self}")


CALM: Final = VolatilityRegime(name="calm", daily_volatility=0.02, switch_probability=1 / 600)
VOLATILE: Final = VolatilityRegime(name="volatile", daily_volatility=0.08, switch_probability=1 / 120)

DEFAULT_INSTRUMENTS: Final = (
    SyntheticInstrument(
        product_id="BTC-USD",
        start_price=Decimal("65000.00"),
        price_increment=Decimal("0.01"),
        size_increment=Decimal("0.00000001"),
        top_size=Decimal("0.25"),
        level_spacing_ticks=5,
        quote_width_ticks=1,
    ),
    SyntheticInstrument(
        product_id="ETH-USD",
        start_price=Decimal("1900.00"),
        price_increment=Decimal("0.01"),
        size_increment=Decimal("0.00000001"),
        top_size=Decimal("2.5"),
        level_spacing_ticks=2,
        quote_width_ticks=3,
    ),
)


@dataclass(frozen=True, slots=True, kw_only=True)
class SyntheticMarketConfig:
    """Everything that determines a synthetic feed; equal configs give byte-identical feeds.

    Times are integer nanoseconds (UTC epoch). Stop after `duration_ns` of simulated time or
    `frame_count` frames, whichever comes first (both None: endless). `message_rate_per_s` is
    the rate of market frames (subscriptions, l2_data, market_trades, ticker), evenly spaced;
    heartbeats come on their own clock every `heartbeat_interval_ns` (None: no heartbeats).
    """

    seed: int
    instruments: tuple[SyntheticInstrument, ...] = DEFAULT_INSTRUMENTS
    start_ns: int = 1_786_309_548_000_000_000  # 2026-08-09T21:05:48Z
    duration_ns: int | None = None
    frame_count: int | None = None
    message_rate_per_s: int = 100
    levels_per_side: int = 50
    depth_growth: float = 0.1  # expected size grows by this many top sizes per level of depth
    max_changes_per_update: int = 6  # random level changes per book update: 1..this, near the top
    regimes: tuple[VolatilityRegime, ...] = (CALM, VOLATILE)
    trade_probability: float = 0.1  # chance that a market frame slot starts a trade
    heartbeat_interval_ns: int | None = _NS_PER_S
    latency_ns: int = 1_000_000  # receive time minus the venue's frame timestamp
    connection_id: str = "COINBASE.ws.1"

    def __post_init__(self) -> None:
        """Refuse an inconsistent configuration."""
        ids = [instrument.product_id for instrument in self.instruments]
        if not ids or len(set(ids)) != len(ids):
            raise ValueError(f"need at least one instrument and unique product ids, got {ids}")
        if self.message_rate_per_s < 1 or self.levels_per_side < 1 or self.max_changes_per_update < 1:
            raise ValueError("message rate, levels per side and changes per update must be >= 1")
        if (self.duration_ns is not None and self.duration_ns < 0) or (
            self.frame_count is not None and self.frame_count < 0
        ):
            raise ValueError("duration and frame count must not be negative")
        if not self.regimes or not 0 <= self.trade_probability <= 1 or not self.depth_growth >= 0:
            raise ValueError("need a regime, a trade probability in [0, 1] and a depth growth >= 0")
        if self.heartbeat_interval_ns is not None and self.heartbeat_interval_ns < 1:
            raise ValueError("heartbeat interval must be positive or None")
        if self.start_ns < 0 or self.latency_ns < 0 or self.start_ns < self.latency_ns:
            raise ValueError("start and latency must be non-negative, latency not beyond the start")


class Trade(NamedTuple):
    """A trade against the best level of the maker side."""

    trade_id: int
    maker_is_bid: bool  # True: a resting buy was hit (Coinbase side "BUY")
    price_ticks: int
    size_units: int


LevelChange = tuple[bool, int, int]  # (is_bid, price in ticks, new size in units; 0 removes)


class _Side:
    """One side of a book: keys sorted best first (asks: ticks, bids: -ticks) and sizes by key."""

    __slots__ = ("keys", "units")

    def __init__(self) -> None:
        self.keys: list[int] = []
        self.units: dict[int, int] = {}

    def set(self, key: int, units: int, before: dict[int, int]) -> None:
        old = self.units.get(key, 0)
        if key not in before:
            before[key] = old
        if units:
            if not old:
                insort(self.keys, key)
            self.units[key] = units
        elif old:
            del self.units[key]
            del self.keys[bisect_left(self.keys, key)]


class InstrumentBook:
    """One instrument's fair-value walk, synthetic order book and 24 h statistics."""

    def __init__(self, spec: SyntheticInstrument, config: SyntheticMarketConfig, rng: random.Random) -> None:
        """Build the opening book around the start price."""
        self.spec = spec
        self.prices = Grid(spec.price_increment)
        self.sizes = Grid(spec.size_increment)
        self._random = rng.random
        self._levels = config.levels_per_side
        self._growth = config.depth_growth
        self._max_changes = config.max_changes_per_update
        self._top_units = self.sizes.steps(spec.top_size)
        self._gap_span = 2 * spec.level_spacing_ticks - 1  # gap = 1 + int(r * span): mean ≈ spacing
        self.open_ticks = self.prices.steps(spec.start_price)
        self._floor = float(2 * spec.quote_width_ticks + 2)  # keeps every bid above price zero
        self.fair = max(float(self.open_ticks), self._floor)
        self.last_ns = config.start_ns
        self.asks = _Side()
        self.bids = _Side()
        self.last_ticks = self.open_ticks
        self.low_ticks = self.high_ticks = self.open_ticks
        self.volume_units = 0
        self.next_trade_id = 1 + int(self._random() * 1_000_000_000)
        self.bids.set(1 - math.ceil(self.fair), self._profile(0), {})  # bids < fair < asks
        self.asks.set(math.floor(self.fair) + 1, self._profile(0), {})
        self._refill(self.bids, {})
        self._refill(self.asks, {})

    def snapshot(self) -> list[LevelChange]:
        """The whole book: bids best first, then asks best first."""
        bids = [(True, -key, self.bids.units[key]) for key in self.bids.keys]
        return bids + [(False, key, self.asks.units[key]) for key in self.asks.keys]

    def best(self, is_bid: bool) -> tuple[int, int]:
        """(price ticks, size units) of the best level on one side; (0, 0) when empty."""
        side = self.bids if is_bid else self.asks
        if not side.keys:
            return 0, 0
        key = side.keys[0]
        return abs(key), side.units[key]

    def _profile(self, depth: int) -> int:
        """A level size in units: around the top size, growing with depth."""
        scale = self._top_units * (1.0 + self._growth * depth) * (0.3 + 1.4 * self._random())
        return max(1, int(scale))

    def _refill(self, side: _Side, before: dict[int, int], origin: int = 0) -> None:
        """Trim or extend a side at its deep end to the configured number of levels.

        An emptied side grows again from `origin` (the key of the level that was last removed).
        """
        keys, r = side.keys, self._random
        while len(keys) > self._levels:
            side.set(keys[-1], 0, before)
        while len(keys) < self._levels:
            key = (keys[-1] if keys else origin) + 1 + int(r() * self._gap_span)
            if side is self.bids and key >= 0:  # no bid at or below price zero
                return
            side.set(key, self._profile(len(keys)), before)

    def _changes(self, before: dict[int, int]) -> list[LevelChange]:
        """The net changes since `before` was started, removals first (no crossing in between)."""
        removals: list[LevelChange] = []
        others: list[LevelChange] = []
        for key, old in before.items():
            new = (self.asks if key > 0 else self.bids).units.get(key, 0)
            if new != old:
                (others if new else removals).append((key < 0, abs(key), new))
        return removals + others

    def book_update(self, ts_ns: int, sigma_per_sqrt_s: float) -> list[LevelChange]:
        """Walk the fair value to `ts_ns`, re-anchor the top, change a few levels; return changes."""
        r = self._random
        elapsed = ts_ns - self.last_ns
        self.last_ns = ts_ns
        if elapsed > 0 and sigma_per_sqrt_s > 0:
            shock = (r() + r() + r() + r() - 2.0) * _SQRT3  # mean 0, variance 1 (Irwin-Hall)
            self.fair *= 1.0 + sigma_per_sqrt_s * math.sqrt(elapsed / _NS_PER_S) * shock
            self.fair = max(self.fair, self._floor)
        # Levels at or through the fair value are gone (taken or pulled): bids < fair < asks, so
        # the book cannot cross. A best level left more than the quote width away is improved.
        width, spacing = self.spec.quote_width_ticks, self.spec.level_spacing_ticks
        before: dict[int, int] = {}
        for side, limit in ((self.asks, math.floor(self.fair) + 1), (self.bids, 1 - math.ceil(self.fair))):
            keys = side.keys
            while keys and keys[0] < limit:
                side.set(keys[0], 0, before)
            if not keys or keys[0] - limit >= width:
                if keys and keys[0] - limit > 2 * spacing:  # the price ran away: requote inside the gap
                    side.set(limit + 1 + int(r() * (keys[0] - limit - 1)), self._profile(1), before)
                side.set(limit + int(r() * r() * width), self._profile(0), before)
        for _ in range(1 + int(r() * self._max_changes)):
            side = self.asks if r() < 0.5 else self.bids
            keys = side.keys
            depth = int(len(keys) * r() * r() * r())  # mostly the first few levels
            action = r()
            if action < 0.55:
                side.set(keys[depth], self._profile(depth), before)
            elif action < 0.8:
                if len(keys) > 1:
                    side.set(keys[depth], 0, before)
            else:
                low = keys[depth]
                high = keys[depth + 1] if depth + 1 < len(keys) else low + 1 + self._gap_span
                key = low + 1 + int(r() * (high - low - 1))
                if key < high and (side is self.asks or key < 0):
                    side.set(key, self._profile(depth + 1), before)
        self._refill(self.asks, before)
        self._refill(self.bids, before)
        changes = self._changes(before)
        if not changes:  # every change cancelled out: resize the best bid so the frame says something
            key = self.bids.keys[0]
            self.bids.set(key, self.bids.units[key] + 1, before)
            changes = self._changes(before)
        return changes

    def trade(self) -> tuple[Trade, list[LevelChange]]:
        """Trade part of the best level of a random side; return the trade and the book changes."""
        r = self._random
        maker_is_bid = r() < 0.5
        side = self.bids if maker_is_bid else self.asks
        key = side.keys[0]
        level = side.units[key]
        size = 1 + int(level * r() * r() * r())  # 1..level, mostly small
        before: dict[int, int] = {}
        side.set(key, level - size, before)
        self._refill(side, before, origin=key)
        price = abs(key)
        trade = Trade(self.next_trade_id, maker_is_bid, price, size)
        self.next_trade_id += 1
        self.last_ticks = price
        self.low_ticks = min(self.low_ticks, price)
        self.high_ticks = max(self.high_ticks, price)
        self.volume_units += size
        return trade, self._changes(before)


class SyntheticMarket:
    """All instruments of a synthetic market and its volatility regime, driven by one seed."""

    def __init__(self, config: SyntheticMarketConfig) -> None:
        """Open every instrument's book; the market starts in the first regime."""
        self.config = config
        self._rng = random.Random(config.seed)
        self.books = [InstrumentBook(spec, config, self._rng) for spec in config.instruments]
        self.regime_index = 0
        self._regime_second = 0
        self._sigmas = [regime.daily_volatility / math.sqrt(_SECONDS_PER_DAY) for regime in config.regimes]

    @property
    def regime(self) -> VolatilityRegime:
        """The volatility regime in force."""
        return self.config.regimes[self.regime_index]

    def _advance_regime(self, ts_ns: int) -> None:
        """Draw the regime switch of every simulated second that ended by `ts_ns`."""
        second = (ts_ns - self.config.start_ns) // _NS_PER_S
        regimes, r = self.config.regimes, self._rng.random
        while self._regime_second < second:
            self._regime_second += 1
            if len(regimes) > 1 and r() < regimes[self.regime_index].switch_probability:
                step = 1 + int(r() * (len(regimes) - 1))  # any other regime, uniformly
                self.regime_index = (self.regime_index + step) % len(regimes)

    def step(self, ts_ns: int) -> tuple[int, list[LevelChange], Trade | None]:
        """Advance to `ts_ns` and act on one random instrument: a book update or a trade.

        Returns (instrument index, book changes, the trade that caused them or None).
        """
        self._advance_regime(ts_ns)
        r = self._rng.random
        index = int(r() * len(self.books))
        book = self.books[index]
        if r() < self.config.trade_probability:
            trade, changes = book.trade()
            return index, changes, trade
        return index, book.book_update(ts_ns, self._sigmas[self.regime_index]), None
