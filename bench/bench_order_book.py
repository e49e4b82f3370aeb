"""Benchmark: price-level updates per second of the order book, against alternative structures.

Generates a deterministic, update-heavy L2 stream (most changes are size changes near the top of
the book, some level inserts and deletes, a few deletes of absent levels; frames of 1 to N changes)
and applies it to `domain.order_book.OrderBook` and to alternatives implemented here, so the choice
recorded in adr/0004-order-book-structure.md is shown by measurement. Every implementation does the
same per-frame work as the real book (instrument check, negative-size check before mutating), and
the final states are compared so that a fast but wrong alternative cannot win.

    .venv/bin/python bench/bench_order_book.py                      # 500 and 5,000 levels per side
    .venv/bin/python bench/bench_order_book.py --levels 2000 --changes 1000000 --repeat 5

Decoding is not measured here: before each run the stream's prices are made into fresh Decimal
objects from text (as a codec makes them), outside the clock. The default clock is this process's
CPU time, so that other work on a shared machine does not count; `--clock wall` uses perf_counter.
"""

from __future__ import annotations

import argparse
import gc
import heapq
import random
import sys
import time
from bisect import bisect_left, insort
from collections import Counter
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Protocol

from domain.errors import DomainError, InvalidValueError
from domain.instrument import InstrumentId
from domain.market_data import OrderBookUpdate
from domain.order_book import OrderBook

INSTRUMENT = InstrumentId(venue="BENCH", symbol="BTC-USD")
PRICE_DECIMALS = 2  # tick 0.01
BASE_TICK = 5_000_000  # 50,000.00
TOP_DEPTH_MEAN = 8.0  # mean distance from the top, in levels, of a changed level


class Book(Protocol):
    """What the benchmark needs of a book implementation."""

    def apply(self, update: OrderBookUpdate) -> None:
        """Apply one frame."""

    def best_bid(self) -> tuple[Decimal, Decimal] | None:
        """The best bid as (price, size)."""

    def best_ask(self) -> tuple[Decimal, Decimal] | None:
        """The best ask as (price, size)."""

    def bids(self, depth: int | None = None) -> list[tuple[Decimal, Decimal]]:
        """The best bids, best first."""

    def asks(self, depth: int | None = None) -> list[tuple[Decimal, Decimal]]:
        """The best asks, best first."""


def _check_frame(instrument_id: InstrumentId, update: OrderBookUpdate) -> None:
    """The per-frame checks every implementation pays, as the real book does."""
    if update.instrument_id is not instrument_id and update.instrument_id != instrument_id:
        raise DomainError("wrong instrument")
    for changes in (update.bids, update.asks):
        for _, size in changes:
            if size.is_signed() and size:
                raise InvalidValueError("negative size")


class DecimalKeyBook:
    """Alternative: the chosen layout, but the dicts keyed by the Decimal price itself."""

    def __init__(self, instrument_id: InstrumentId) -> None:
        """An empty book."""
        self.instrument_id = instrument_id
        self._bids: dict[Decimal, Decimal] = {}
        self._asks: dict[Decimal, Decimal] = {}
        self._bid_prices: list[Decimal] = []  # ascending, best last
        self._ask_negated: list[Decimal] = []  # negated ascending, best last

    def apply(self, update: OrderBookUpdate) -> None:
        """Apply one frame."""
        _check_frame(self.instrument_id, update)
        if update.is_snapshot:
            self._bids = {p: s for p, s in dict(update.bids).items() if s}
            self._asks = {p: s for p, s in dict(update.asks).items() if s}
            self._bid_prices = sorted(self._bids)
            self._ask_negated = sorted(p.copy_negate() for p in self._asks)
            return
        levels, keys = self._bids, self._bid_prices
        for price, size in update.bids:
            if size:
                if price not in levels:
                    insort(keys, price)
                levels[price] = size
            elif price in levels:
                del levels[price]
                del keys[bisect_left(keys, price)]
        levels, keys = self._asks, self._ask_negated
        for price, size in update.asks:
            if size:
                if price not in levels:
                    insort(keys, price.copy_negate())
                levels[price] = size
            elif price in levels:
                del levels[price]
                del keys[bisect_left(keys, price.copy_negate())]

    def best_bid(self) -> tuple[Decimal, Decimal] | None:
        """The best bid."""
        if not self._bid_prices:
            return None
        price = self._bid_prices[-1]
        return price, self._bids[price]

    def best_ask(self) -> tuple[Decimal, Decimal] | None:
        """The best ask (its dict lookup hashes a fresh negation: no cached hash)."""
        if not self._ask_negated:
            return None
        price = self._ask_negated[-1].copy_negate()
        return price, self._asks[price]

    def bids(self, depth: int | None = None) -> list[tuple[Decimal, Decimal]]:
        """The best bids."""
        prices = self._bid_prices[::-1] if depth is None else self._bid_prices[: -depth - 1 : -1]
        return [(p, self._bids[p]) for p in prices]

    def asks(self, depth: int | None = None) -> list[tuple[Decimal, Decimal]]:
        """The best asks."""
        negated = self._ask_negated[::-1] if depth is None else self._ask_negated[: -depth - 1 : -1]
        prices = [n.copy_negate() for n in negated]
        return [(p, self._asks[p]) for p in prices]


class AscendingListsBook:
    """Alternative: the chosen text-keyed dicts, but both sorted lists ascending (best ask FIRST)."""

    def __init__(self, instrument_id: InstrumentId) -> None:
        """An empty book."""
        self.instrument_id = instrument_id
        self._bids: dict[str, Decimal] = {}
        self._asks: dict[str, Decimal] = {}
        self._bid_prices: list[Decimal] = []
        self._bid_keys: list[str] = []
        self._ask_prices: list[Decimal] = []
        self._ask_keys: list[str] = []

    def apply(self, update: OrderBookUpdate) -> None:
        """Apply one frame."""
        _check_frame(self.instrument_id, update)
        if update.is_snapshot:
            for changes, is_bid in ((update.bids, True), (update.asks, False)):
                by_price = {p: s for p, s in dict(changes).items() if s}
                prices = sorted(by_price)
                keys = [str(p) for p in prices]
                levels = dict(zip(keys, (by_price[p] for p in prices), strict=True))
                if is_bid:
                    self._bids, self._bid_prices, self._bid_keys = levels, prices, keys
                else:
                    self._asks, self._ask_prices, self._ask_keys = levels, prices, keys
            return
        for levels, prices, keys, changes in (
            (self._bids, self._bid_prices, self._bid_keys, update.bids),
            (self._asks, self._ask_prices, self._ask_keys, update.asks),
        ):
            for price, size in changes:
                key = str(price)
                if key in levels:
                    if size:
                        levels[key] = size
                    else:
                        del levels[key]
                        index = bisect_left(prices, price)
                        del prices[index]
                        del keys[index]
                    continue
                index = bisect_left(prices, price)
                if index < len(prices) and prices[index] == price:
                    if size:
                        levels[keys[index]] = size
                    else:
                        del levels[keys[index]]
                        del prices[index]
                        del keys[index]
                elif size:
                    prices.insert(index, price)
                    keys.insert(index, key)
                    levels[key] = size

    def best_bid(self) -> tuple[Decimal, Decimal] | None:
        """The best bid."""
        if not self._bid_prices:
            return None
        return self._bid_prices[-1], self._bids[self._bid_keys[-1]]

    def best_ask(self) -> tuple[Decimal, Decimal] | None:
        """The best ask."""
        if not self._ask_prices:
            return None
        return self._ask_prices[0], self._asks[self._ask_keys[0]]

    def bids(self, depth: int | None = None) -> list[tuple[Decimal, Decimal]]:
        """The best bids."""
        stop = None if depth is None else -depth - 1
        pairs = zip(self._bid_prices[:stop:-1], self._bid_keys[:stop:-1], strict=True)
        return [(p, self._bids[k]) for p, k in pairs]

    def asks(self, depth: int | None = None) -> list[tuple[Decimal, Decimal]]:
        """The best asks."""
        pairs = zip(self._ask_prices[:depth], self._ask_keys[:depth], strict=True)
        return [(p, self._asks[k]) for p, k in pairs]


class ParallelListsBook:
    """Alternative: no dict; sorted price and size lists (best last), every change found by bisect.

    The search first tries the top WINDOW levels (where most changes land), then the whole list.
    """

    WINDOW = 32

    def __init__(self, instrument_id: InstrumentId) -> None:
        """An empty book."""
        self.instrument_id = instrument_id
        self._bid_prices: list[Decimal] = []  # ascending, best last
        self._bid_sizes: list[Decimal] = []
        self._ask_negated: list[Decimal] = []  # negated ascending, best last
        self._ask_sizes: list[Decimal] = []

    def apply(self, update: OrderBookUpdate) -> None:
        """Apply one frame."""
        _check_frame(self.instrument_id, update)
        if update.is_snapshot:
            bids = sorted((p, s) for p, s in dict(update.bids).items() if s)
            asks = sorted((p.copy_negate(), s) for p, s in dict(update.asks).items() if s)
            self._bid_prices, self._bid_sizes = [p for p, _ in bids], [s for _, s in bids]
            self._ask_negated, self._ask_sizes = [p for p, _ in asks], [s for _, s in asks]
            return
        window = self.WINDOW
        for keys, sizes, changes, negate in (
            (self._bid_prices, self._bid_sizes, update.bids, False),
            (self._ask_negated, self._ask_sizes, update.asks, True),
        ):
            for price, size in changes:
                key = price.copy_negate() if negate else price
                count = len(keys)
                if count > window and key >= keys[-window]:
                    index = bisect_left(keys, key, count - window)
                else:
                    index = bisect_left(keys, key)
                if index < count and keys[index] == key:
                    if size:
                        sizes[index] = size
                    else:
                        del keys[index]
                        del sizes[index]
                elif size:
                    keys.insert(index, key)
                    sizes.insert(index, size)

    def best_bid(self) -> tuple[Decimal, Decimal] | None:
        """The best bid."""
        return (self._bid_prices[-1], self._bid_sizes[-1]) if self._bid_prices else None

    def best_ask(self) -> tuple[Decimal, Decimal] | None:
        """The best ask."""
        return (self._ask_negated[-1].copy_negate(), self._ask_sizes[-1]) if self._ask_negated else None

    def bids(self, depth: int | None = None) -> list[tuple[Decimal, Decimal]]:
        """The best bids."""
        stop = None if depth is None else -depth - 1
        return list(zip(self._bid_prices[:stop:-1], self._bid_sizes[:stop:-1], strict=True))

    def asks(self, depth: int | None = None) -> list[tuple[Decimal, Decimal]]:
        """The best asks."""
        stop = None if depth is None else -depth - 1
        pairs = zip(self._ask_negated[:stop:-1], self._ask_sizes[:stop:-1], strict=True)
        return [(n.copy_negate(), s) for n, s in pairs]


class HeapBook:
    """Alternative: text-keyed dict + heap per side with lazy deletion (bids as negated prices).

    A delete only leaves the dict; its heap entry is dropped when it reaches the top. (The chosen
    book's fallback lookup by value for a price written differently is left out: the stream is
    written consistently, and leaving it out only flatters this alternative.)
    """

    def __init__(self, instrument_id: InstrumentId) -> None:
        """An empty book."""
        self.instrument_id = instrument_id
        self._bids: dict[str, Decimal] = {}
        self._asks: dict[str, Decimal] = {}
        self._bid_heap: list[Decimal] = []  # negated prices; may hold deleted levels
        self._ask_heap: list[Decimal] = []
        self._bid_in_heap: set[str] = set()  # keys with an entry in the heap (live or not)
        self._ask_in_heap: set[str] = set()

    def apply(self, update: OrderBookUpdate) -> None:
        """Apply one frame."""
        _check_frame(self.instrument_id, update)
        if update.is_snapshot:
            bids = {p: s for p, s in dict(update.bids).items() if s}
            asks = {p: s for p, s in dict(update.asks).items() if s}
            self._bids = {str(p): s for p, s in bids.items()}
            self._asks = {str(p): s for p, s in asks.items()}
            self._bid_heap = [p.copy_negate() for p in bids]
            self._ask_heap = list(asks)
            heapq.heapify(self._bid_heap)
            heapq.heapify(self._ask_heap)
            self._bid_in_heap = set(self._bids)
            self._ask_in_heap = set(self._asks)
            return
        levels, heap, in_heap = self._bids, self._bid_heap, self._bid_in_heap
        for price, size in update.bids:
            key = str(price)
            if size:
                if key not in in_heap:
                    in_heap.add(key)
                    heapq.heappush(heap, price.copy_negate())
                levels[key] = size
            else:
                levels.pop(key, None)  # lazy: the heap entry is dropped when it reaches the top
        if len(heap) > 2 * len(levels) + 64:
            self._bid_heap = [Decimal(k).copy_negate() for k in levels]
            heapq.heapify(self._bid_heap)
            self._bid_in_heap = set(levels)
        levels, heap, in_heap = self._asks, self._ask_heap, self._ask_in_heap
        for price, size in update.asks:
            key = str(price)
            if size:
                if key not in in_heap:
                    in_heap.add(key)
                    heapq.heappush(heap, price)
                levels[key] = size
            else:
                levels.pop(key, None)
        if len(heap) > 2 * len(levels) + 64:
            self._ask_heap = [Decimal(k) for k in levels]
            heapq.heapify(self._ask_heap)
            self._ask_in_heap = set(levels)

    def best_bid(self) -> tuple[Decimal, Decimal] | None:
        """The best bid (pops deleted entries off the top)."""
        heap, levels = self._bid_heap, self._bids
        while heap:
            price = heap[0].copy_negate()
            key = str(price)
            size = levels.get(key)
            if size is not None:
                return price, size
            heapq.heappop(heap)
            self._bid_in_heap.discard(key)
        return None

    def best_ask(self) -> tuple[Decimal, Decimal] | None:
        """The best ask (pops deleted entries off the top)."""
        heap, levels = self._ask_heap, self._asks
        while heap:
            price = heap[0]
            key = str(price)
            size = levels.get(key)
            if size is not None:
                return price, size
            heapq.heappop(heap)
            self._ask_in_heap.discard(key)
        return None

    def bids(self, depth: int | None = None) -> list[tuple[Decimal, Decimal]]:
        """The best bids: the smallest heap entries, skipping deleted ones."""
        top = _heap_top(self._bid_heap, self._bids, depth, negated=True)
        return [(price.copy_negate(), size) for price, size in top]

    def asks(self, depth: int | None = None) -> list[tuple[Decimal, Decimal]]:
        """The best asks: the smallest heap entries, skipping deleted ones."""
        return _heap_top(self._ask_heap, self._asks, depth, negated=False)


def _heap_top(
    heap: list[Decimal], levels: dict[str, Decimal], depth: int | None, *, negated: bool
) -> list[tuple[Decimal, Decimal]]:
    """The `depth` smallest live entries of a lazily deleted heap (all when None), smallest first."""
    wanted = len(heap) if depth is None else depth
    while True:
        candidates = heapq.nsmallest(wanted, heap)
        live = []
        for entry in candidates:
            size = levels.get(str(entry.copy_negate() if negated else entry))
            if size is not None:
                live.append((entry, size))
        if depth is None or len(live) >= depth or len(candidates) == len(heap):
            return live[:depth]
        wanted *= 2


class SortOnQueryBook:
    """Alternative: a plain dict per side; best prices found by scanning on every query."""

    def __init__(self, instrument_id: InstrumentId) -> None:
        """An empty book."""
        self.instrument_id = instrument_id
        self._bids: dict[Decimal, Decimal] = {}
        self._asks: dict[Decimal, Decimal] = {}

    def apply(self, update: OrderBookUpdate) -> None:
        """Apply one frame."""
        _check_frame(self.instrument_id, update)
        if update.is_snapshot:
            self._bids = {p: s for p, s in dict(update.bids).items() if s}
            self._asks = {p: s for p, s in dict(update.asks).items() if s}
            return
        for levels, changes in ((self._bids, update.bids), (self._asks, update.asks)):
            for price, size in changes:
                if size:
                    levels[price] = size
                else:
                    levels.pop(price, None)

    def best_bid(self) -> tuple[Decimal, Decimal] | None:
        """The best bid (a full scan)."""
        if not self._bids:
            return None
        price = max(self._bids)
        return price, self._bids[price]

    def best_ask(self) -> tuple[Decimal, Decimal] | None:
        """The best ask (a full scan)."""
        if not self._asks:
            return None
        price = min(self._asks)
        return price, self._asks[price]

    def bids(self, depth: int | None = None) -> list[tuple[Decimal, Decimal]]:
        """The best bids."""
        return sorted(self._bids.items(), reverse=True)[:depth]

    def asks(self, depth: int | None = None) -> list[tuple[Decimal, Decimal]]:
        """The best asks."""
        return sorted(self._asks.items())[:depth]


class TicksBook:
    """Alternative: integer ticks as keys (best-last int lists); the price is converted per change.

    The public API takes only an InstrumentId (no increment), and updates carry Decimals, so the
    conversion would be paid inside the book on every change; it is measured here that way.
    """

    def __init__(self, instrument_id: InstrumentId, decimals: int = PRICE_DECIMALS) -> None:
        """An empty book whose prices have at most `decimals` decimal places."""
        self.instrument_id = instrument_id
        self._decimals = decimals
        self._bids: dict[int, Decimal] = {}
        self._asks: dict[int, Decimal] = {}
        self._bid_ticks: list[int] = []  # ascending, best last
        self._ask_negated: list[int] = []  # negated ticks ascending, best last

    def apply(self, update: OrderBookUpdate) -> None:
        """Apply one frame."""
        _check_frame(self.instrument_id, update)
        decimals = self._decimals
        if update.is_snapshot:
            self._bids = {int(p.scaleb(decimals)): s for p, s in dict(update.bids).items() if s}
            self._asks = {int(p.scaleb(decimals)): s for p, s in dict(update.asks).items() if s}
            self._bid_ticks = sorted(self._bids)
            self._ask_negated = sorted(-t for t in self._asks)
            return
        levels, keys = self._bids, self._bid_ticks
        for price, size in update.bids:
            tick = int(price.scaleb(decimals))
            if size:
                if tick not in levels:
                    insort(keys, tick)
                levels[tick] = size
            elif tick in levels:
                del levels[tick]
                del keys[bisect_left(keys, tick)]
        levels, keys = self._asks, self._ask_negated
        for price, size in update.asks:
            tick = int(price.scaleb(decimals))
            if size:
                if tick not in levels:
                    insort(keys, -tick)
                levels[tick] = size
            elif tick in levels:
                del levels[tick]
                del keys[bisect_left(keys, -tick)]

    def _price(self, tick: int) -> Decimal:
        return Decimal(tick).scaleb(-self._decimals)

    def best_bid(self) -> tuple[Decimal, Decimal] | None:
        """The best bid."""
        if not self._bid_ticks:
            return None
        tick = self._bid_ticks[-1]
        return self._price(tick), self._bids[tick]

    def best_ask(self) -> tuple[Decimal, Decimal] | None:
        """The best ask."""
        if not self._ask_negated:
            return None
        tick = -self._ask_negated[-1]
        return self._price(tick), self._asks[tick]

    def bids(self, depth: int | None = None) -> list[tuple[Decimal, Decimal]]:
        """The best bids."""
        ticks = self._bid_ticks[::-1] if depth is None else self._bid_ticks[: -depth - 1 : -1]
        return [(self._price(t), self._bids[t]) for t in ticks]

    def asks(self, depth: int | None = None) -> list[tuple[Decimal, Decimal]]:
        """The best asks."""
        negated = self._ask_negated[::-1] if depth is None else self._ask_negated[: -depth - 1 : -1]
        return [(self._price(-n), self._asks[-n]) for n in negated]


def _sorted_dict_book() -> Callable[[InstrumentId], Book] | None:
    """Alternative: sortedcontainers.SortedDict per side (a third-party B-tree-like list of lists)."""
    try:
        from sortedcontainers import SortedDict  # type: ignore[import-untyped]
    except ImportError:  # not a project dependency; measured when present (hypothesis brings it)
        return None

    class SortedDictBook:
        """Alternative: a SortedDict per side."""

        def __init__(self, instrument_id: InstrumentId) -> None:
            """An empty book."""
            self.instrument_id = instrument_id
            self._bids = SortedDict()
            self._asks = SortedDict()

        def apply(self, update: OrderBookUpdate) -> None:
            """Apply one frame."""
            _check_frame(self.instrument_id, update)
            if update.is_snapshot:
                self._bids = SortedDict({p: s for p, s in dict(update.bids).items() if s})
                self._asks = SortedDict({p: s for p, s in dict(update.asks).items() if s})
                return
            for levels, changes in ((self._bids, update.bids), (self._asks, update.asks)):
                for price, size in changes:
                    if size:
                        levels[price] = size
                    else:
                        levels.pop(price, None)

        def best_bid(self) -> tuple[Decimal, Decimal] | None:
            """The best bid."""
            return self._bids.peekitem(-1) if self._bids else None

        def best_ask(self) -> tuple[Decimal, Decimal] | None:
            """The best ask."""
            return self._asks.peekitem(0) if self._asks else None

        def bids(self, depth: int | None = None) -> list[tuple[Decimal, Decimal]]:
            """The best bids."""
            count = len(self._bids)
            start = 0 if depth is None else max(0, count - depth)
            return [(p, self._bids[p]) for p in self._bids.islice(start, count, reverse=True)]

        def asks(self, depth: int | None = None) -> list[tuple[Decimal, Decimal]]:
            """The best asks."""
            keys = list(self._asks.islice(0, depth))
            return [(p, self._asks[p]) for p in keys]

    return SortedDictBook


# -- the stream ------------------------------------------------------------------------------

#: A level change before materialization: (price text, size). Prices become fresh Decimals per run.
RawChange = tuple[str, Decimal]
RawFrame = tuple[tuple[RawChange, ...], tuple[RawChange, ...]]


def _price_text(tick: int) -> str:
    return f"{tick // 100}.{tick % 100:02d}"


def _size(rng: random.Random) -> Decimal:
    """A positive size with up to 8 decimals."""
    units = rng.randint(1, 5 * 10**8)
    return Decimal(f"{units // 10**8}.{units % 10**8:08d}")


def _depth(rng: random.Random, count: int) -> int:
    """A distance from the top of the book, most often within a few levels."""
    return min(int(rng.expovariate(1.0 / TOP_DEPTH_MEAN)), count - 1)


def generate_stream(
    levels: int, changes: int, seed: int, max_frame: int
) -> tuple[RawFrame, list[RawFrame], Counter[str]]:
    """A snapshot of `levels` levels per side, then delta frames holding `changes` level changes."""
    rng = random.Random(seed)
    span = levels * 5 // 4  # 80 % of the ticks near the top are occupied
    bid_ticks = sorted(rng.sample(range(BASE_TICK - span, BASE_TICK), levels))  # ascending, best last
    ask_ticks = sorted(rng.sample(range(BASE_TICK + 1, BASE_TICK + 1 + span), levels))  # best first
    snapshot = (
        tuple((_price_text(t), _size(rng)) for t in reversed(bid_ticks)),
        tuple((_price_text(t), _size(rng)) for t in ask_ticks),
    )
    kinds: Counter[str] = Counter()
    frames: list[RawFrame] = []
    made = 0
    low, high = levels * 9 // 10, levels * 11 // 10
    zero = Decimal("0")
    while made < changes:
        frame_bids: list[RawChange] = []
        frame_asks: list[RawChange] = []
        for _ in range(min(rng.randint(1, max_frame), changes - made)):
            is_bid = rng.random() < 0.5
            ticks = bid_ticks if is_bid else ask_ticks
            out = frame_bids if is_bid else frame_asks
            roll = rng.random()
            kind = "size change"
            if roll >= 0.80:
                kind = "insert" if roll < 0.90 else "delete"
                if len(ticks) <= low:
                    kind = "insert"
                elif len(ticks) >= high:
                    kind = "delete"
                if roll >= 0.995:
                    kind = "delete absent"
            if kind == "insert":
                tick = _new_tick(rng, bid_ticks, ask_ticks, is_bid)
                if tick is None:
                    kind = "size change"
                else:
                    insort(ticks, tick)
                    out.append((_price_text(tick), _size(rng)))
            elif kind == "delete":
                index = _depth(rng, len(ticks))
                tick = ticks.pop(-1 - index if is_bid else index)
                out.append((_price_text(tick), zero))
            elif kind == "delete absent":
                top = bid_ticks[-1] if is_bid else ask_ticks[0]
                out.append((_price_text(top - 10 * levels if is_bid else top + 10 * levels), zero))
            if kind == "size change":
                index = _depth(rng, len(ticks))
                out.append((_price_text(ticks[-1 - index if is_bid else index]), _size(rng)))
            kinds[kind] += 1
            made += 1
        frames.append((tuple(frame_bids), tuple(frame_asks)))
    return snapshot, frames, kinds


def _new_tick(rng: random.Random, bid_ticks: list[int], ask_ticks: list[int], is_bid: bool) -> int | None:
    """A free tick near the top of one side that does not cross the other side, or None."""
    for _ in range(8):
        offset = int(rng.expovariate(1.0 / TOP_DEPTH_MEAN)) - 1  # -1: one tick better than the top
        tick = bid_ticks[-1] - offset if is_bid else ask_ticks[0] + offset
        crosses = tick >= ask_ticks[0] if is_bid else tick <= bid_ticks[-1]
        occupied = bid_ticks if is_bid else ask_ticks
        index = bisect_left(occupied, tick)
        if not crosses and (index == len(occupied) or occupied[index] != tick):
            return tick
    return None


def materialize(frame: RawFrame, is_snapshot: bool, ts_ns: int) -> OrderBookUpdate:
    """An update whose prices are FRESH Decimals, as a codec makes them.

    Fresh matters: CPython caches a Decimal's hash in the object, so a stream replayed with the same
    objects would hide the hashing cost that a live feed pays on every change.
    """
    bids, asks = frame
    return OrderBookUpdate(
        INSTRUMENT,
        is_snapshot,
        tuple((Decimal(price), size) for price, size in bids),
        tuple((Decimal(price), size) for price, size in asks),
        ts_ns,
    )


# -- measurement -----------------------------------------------------------------------------

CLOCKS = {"cpu": time.process_time, "wall": time.perf_counter}


def measure(
    factory: Callable[[InstrumentId], Book],
    snapshot: RawFrame,
    frames: Sequence[RawFrame],
    *,
    with_top: bool,
    repeat: int,
    clock: Callable[[], float],
) -> tuple[float, Book]:
    """The best time of `repeat` runs, each on freshly materialized updates, and the last book."""
    best = float("inf")
    book = factory(INSTRUMENT)
    for _ in range(repeat):
        updates = [materialize(frame, False, number) for number, frame in enumerate(frames)]
        book = factory(INSTRUMENT)
        book.apply(materialize(snapshot, True, 0))
        gc.collect()
        gc.disable()  # as timeit does: a collection of the stream's objects is not the book's cost
        try:
            elapsed = _run(book, updates, with_top, clock)
        finally:
            gc.enable()
        best = min(best, elapsed)
    return best, book


def _run(
    book: Book,
    updates: Sequence[OrderBookUpdate],
    with_top: bool,
    clock: Callable[[], float],
) -> float:
    """The time to apply every update (then read the top of book after each, when `with_top`)."""
    apply = book.apply
    if with_top:
        best_bid, best_ask = book.best_bid, book.best_ask
        start = clock()
        for update in updates:
            apply(update)
            best_bid()
            best_ask()
        return clock() - start
    start = clock()
    for update in updates:
        apply(update)
    return clock() - start


def query_cost(book: Book, clock: Callable[[], float], depth: int = 10) -> float:
    """Seconds for one bids(depth) + asks(depth) pair on `book` (the best of a few timed batches)."""
    best = float("inf")
    calls = 1
    while True:
        start = clock()
        for _ in range(calls):
            book.bids(depth)
            book.asks(depth)
        elapsed = clock() - start
        if elapsed >= 0.05:
            best = min(best, elapsed / calls)
            if calls >= 4 or elapsed >= 0.2:
                return best
        calls *= 2


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print a table of level updates per second."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--levels", default="500,5000", help="levels per side, comma separated")
    parser.add_argument("--changes", type=int, default=300_000, help="level changes per stream")
    parser.add_argument("--max-frame", type=int, default=10, help="most level changes in one frame")
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement; the best is kept")
    parser.add_argument("--seed", type=int, default=20261121)
    parser.add_argument(
        "--clock",
        choices=sorted(CLOCKS),
        default="cpu",
        help="cpu: this process's CPU time (robust on a shared machine); wall: perf_counter",
    )
    parser.add_argument("--only", default="", help="run only structures whose name contains this text")
    args = parser.parse_args(argv)

    implementations: list[tuple[str, Callable[[InstrumentId], Book]]] = [
        ("OrderBook: text-keyed dict + best-last lists [chosen]", OrderBook),
        ("Decimal-keyed dict + best-last lists", DecimalKeyBook),
        ("text-keyed dict + ascending lists (best ask first)", AscendingListsBook),
        ("parallel price/size lists, bisect (no dict)", ParallelListsBook),
        ("text-keyed dict + heapq, lazy deletion", HeapBook),
        ("integer ticks, converted per change", TicksBook),
        ("Decimal-keyed dict only, scan on query", SortOnQueryBook),
    ]
    sorted_dict = _sorted_dict_book()
    if sorted_dict is not None:
        implementations.append(("sortedcontainers.SortedDict", sorted_dict))
    implementations = [item for item in implementations if args.only in item[0]]

    print(f"python {sys.version.split()[0]}, {args.changes:,} level changes per stream, ", end="")
    print(f"frames of 1-{args.max_frame} changes, best of {args.repeat}, ", end="")
    print(f"{args.clock} clock, seed {args.seed}")
    clock = CLOCKS[args.clock]
    header = (
        f"{'levels':>6}  {'structure':<54} {'apply M/s':>9} {'ns/chg':>6} {'+top M/s':>8} {'top10 us':>8}"
    )
    for levels in (int(text) for text in args.levels.split(",")):
        snapshot, frames, kinds = generate_stream(levels, args.changes, args.seed, args.max_frame)
        mix = ", ".join(f"{kind} {count / args.changes:.1%}" for kind, count in kinds.most_common())
        print(f"\n{levels} levels per side, {len(frames):,} frames; mix: {mix}")
        print(header)
        print("-" * len(header))
        reference: list[tuple[Decimal, Decimal]] | None = None
        for name, factory in implementations:
            timing = {"repeat": args.repeat, "clock": clock}
            apply_time, book = measure(factory, snapshot, frames, with_top=False, **timing)
            top_time, _ = measure(factory, snapshot, frames, with_top=True, **timing)
            state = book.bids() + book.asks()
            if reference is None:
                reference = state
            elif state != reference:
                raise SystemExit(f"{name}: final book differs from the first structure's")
            top10 = query_cost(book, clock)
            print(
                f"{levels:>6}  {name:<54} {args.changes / apply_time / 1e6:>9.2f} "
                f"{apply_time / args.changes * 1e9:>6.0f} {args.changes / top_time / 1e6:>8.2f} "
                f"{top10 * 1e6:>8.1f}"
            )
    print("\napply: level changes per second, apply() only; +top: apply() then best_bid() and best_ask()")
    print("after every frame; top10: microseconds for one bids(10) + asks(10) on the final book.")
    print("Prices are fresh Decimals in every run (a codec makes new ones).")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
