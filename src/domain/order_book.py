"""A level-2 order book for one instrument: exact prices, built for a fast update path.

Layout, chosen by measurement (adr/0004-order-book-structure.md, bench/bench_order_book.py). Each
side holds three structures:

- `order`: the side's prices as Decimals in a list sorted with `bisect`, arranged so that the BEST
  price is the LAST element. Bids are kept ascending; asks are kept as negated prices ascending
  (`copy_negate` is exact). Most changes happen near the top of the book, and inserting into or
  deleting from the end of a list moves almost nothing; at the front it moves the whole list.
- `keys`: parallel to `order`, the text (`str`) of the price that created each level.
- `levels`: a dict from that text to the level's size.

The dict is keyed by text, not by Decimal, because hashing a Decimal with a fractional part is
slow (about 300 ns: CPython computes it with modular exponentiation) and every price arriving from
a codec is a fresh object whose hash is not yet cached; `str()` costs about 50 ns. The text is only
a fast-path cache key: a price that misses the dict is looked up by VALUE in `order`, so the same
price written differently ("100.1" and "100.10") still finds its level, and correctness never
depends on how a venue formats numbers. A size change of an existing level (most updates) is one
`str()` and two dict operations; the lists are touched only when a level appears or disappears.

Arithmetic never uses the caller's thread decimal context. Sums, differences and products run in
`_EXACT` (precision `MAX_PREC`, so they are exact: Decimal addition and multiplication produce only
the digits the result needs). The only rounding is the final division of `mid`, `microprice` and
`vwap`, done in `_DIVISION`: 50 significant digits, ROUND_HALF_EVEN. A mid is a halving, exact
whenever the sum of the two prices has fewer than 50 significant digits (any real price).

Prices and sizes must be finite Decimals (codecs build them with `domain.numbers.to_decimal`). A
frame holding a negative size is refused with the book unchanged.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator
from decimal import (
    MAX_EMAX,
    MAX_PREC,
    MIN_EMIN,
    ROUND_HALF_EVEN,
    Context,
    Decimal,
    DivisionByZero,
    InvalidOperation,
    Overflow,
)
from itertools import islice
from operator import gt, itemgetter, lt
from typing import NoReturn

from domain.errors import DomainError, InvalidValueError
from domain.instrument import InstrumentId
from domain.market_data import BookSide, LevelChange, OrderBookUpdate
from domain.numbers import ZERO
from domain.order_terms import OrderSide

__all__ = ["OrderBook"]

#: Exact context: with MAX_PREC, +, - and * never round (they yield only the digits they need).
_EXACT = Context(
    prec=MAX_PREC,
    Emax=MAX_EMAX,
    Emin=MIN_EMIN,
    rounding=ROUND_HALF_EVEN,
    traps=[InvalidOperation, DivisionByZero, Overflow],
)
#: Division context: 50 significant digits, far beyond any venue's price or size precision.
_DIVISION = Context(prec=50, rounding=ROUND_HALF_EVEN, traps=[InvalidOperation, DivisionByZero, Overflow])
# Both are used through their methods (_EXACT.add(a, b)), never installed as the thread's context;
# the methods set the contexts' flags, which nothing reads, so sharing them between threads is safe.
_TWO = Decimal(2)
_PRICE = itemgetter(0)
_SIZE = itemgetter(1)
_IS_SIGNED = Decimal.is_signed
_NEGATE = Decimal.copy_negate


class OrderBook:
    """The bids and asks of one instrument, kept from a venue's snapshots and level updates."""

    __slots__ = (
        "_ask_keys",
        "_ask_order",
        "_asks",
        "_bid_keys",
        "_bid_order",
        "_bids",
        "_has_snapshot",
        "_instrument_id",
        "_stale",
        "_stale_reason",
        "_update_count",
    )

    def __init__(self, instrument_id: InstrumentId) -> None:
        """An empty book, without a snapshot and not stale."""
        self._instrument_id = instrument_id
        self._bids: dict[str, Decimal] = {}  # price text -> size
        self._bid_order: list[Decimal] = []  # prices ascending: the best bid is last
        self._bid_keys: list[str] = []  # parallel to _bid_order: the dict key of each level
        self._asks: dict[str, Decimal] = {}
        self._ask_order: list[Decimal] = []  # NEGATED prices ascending: the best ask is last
        self._ask_keys: list[str] = []
        self._has_snapshot = False
        self._stale = False
        self._stale_reason: str | None = None
        self._update_count = 0

    def __repr__(self) -> str:
        return (
            f"OrderBook({self._instrument_id}, bids={len(self._bids)}, asks={len(self._asks)}, "
            f"best_bid={self.best_bid()}, best_ask={self.best_ask()}, stale={self._stale})"
        )

    # -- state -------------------------------------------------------------------------------

    @property
    def instrument_id(self) -> InstrumentId:
        """The instrument this book is for."""
        return self._instrument_id

    @property
    def has_snapshot(self) -> bool:
        """True once a snapshot has been applied."""
        return self._has_snapshot

    @property
    def stale(self) -> bool:
        """True when the book can no longer be trusted; only the next snapshot clears it."""
        return self._stale

    @property
    def stale_reason(self) -> str | None:
        """Why the book went stale (the first reason given), or None when it is not stale."""
        return self._stale_reason

    @property
    def update_count(self) -> int:
        """Level changes applied so far, snapshot levels included (for statistics)."""
        return self._update_count

    @property
    def bid_level_count(self) -> int:
        """The number of bid price levels."""
        return len(self._bids)

    @property
    def ask_level_count(self) -> int:
        """The number of ask price levels."""
        return len(self._asks)

    def mark_stale(self, reason: str) -> None:
        """Flag the book as untrustworthy (a gap, a silence); the first reason is kept."""
        # The first reason is the root cause; later ones (a silence after a gap) follow from it.
        if not self._stale:
            self._stale = True
            self._stale_reason = reason

    # -- updates -----------------------------------------------------------------------------

    def apply(self, update: OrderBookUpdate) -> None:
        """Apply one frame: a snapshot replaces both sides, a delta sets or deletes (size 0) levels."""
        instrument_id = update.instrument_id
        # Identity first: codecs reuse one InstrumentId, and attrs equality costs far more.
        if instrument_id is not self._instrument_id and instrument_id != self._instrument_id:
            raise DomainError(f"book of {self._instrument_id} refuses an update for {instrument_id}")
        bid_changes = update.bids
        ask_changes = update.asks
        if update.is_snapshot:
            self._replace(update)
            return
        # Validate the whole frame before touching anything, so a refused frame leaves no trace.
        # Two inline loops: measured 5 % faster overall than a loop over the sides or a helper call.
        for _, size in bid_changes:
            if size.is_signed() and size:  # a negative zero is a zero: a delete
                self._refuse(update)
        for _, size in ask_changes:
            if size.is_signed() and size:
                self._refuse(update)
        self._update_count += len(bid_changes) + len(ask_changes)

        # The hot path: a known price text is a size change or a delete; a new price is inserted
        # in place. Anything else (a price written differently, a delete of an absent level) goes
        # to _miss. The two sides are written out (inlined): measured faster than a shared helper.
        levels = self._bids
        order = self._bid_order
        keys = self._bid_keys
        for price, size in bid_changes:
            key = str(price)
            if key in levels:
                if size:
                    levels[key] = size
                else:
                    del levels[key]
                    index = bisect_left(order, price)
                    del order[index]
                    del keys[index]
                continue
            index = bisect_left(order, price)
            if size and (index == len(order) or order[index] != price):
                order.insert(index, price)
                keys.insert(index, key)
                levels[key] = size
            else:
                _miss(levels, order, keys, index, price, size)
        levels = self._asks
        order = self._ask_order
        keys = self._ask_keys
        for price, size in ask_changes:
            key = str(price)
            if key in levels:
                if size:
                    levels[key] = size
                else:
                    del levels[key]
                    index = bisect_left(order, price.copy_negate())
                    del order[index]
                    del keys[index]
                continue
            negated = price.copy_negate()
            index = bisect_left(order, negated)
            if size and (index == len(order) or order[index] != negated):
                order.insert(index, negated)
                keys.insert(index, key)
                levels[key] = size
            else:
                _miss(levels, order, keys, index, negated, size)

    def _refuse(self, update: OrderBookUpdate) -> NoReturn:
        """Raise for a frame holding a negative size, naming the first one."""
        side, price, size = next(
            (side, price, size)
            for side, changes in (("bid", update.bids), ("ask", update.asks))
            for price, size in changes
            if size.is_signed() and size
        )
        raise InvalidValueError(f"{self._instrument_id}: negative {side} size {size} at price {price}")

    def _replace(self, update: OrderBookUpdate) -> None:
        """Replace both sides with a snapshot's levels; set has_snapshot and clear the stale flag.

        Snapshots are large (tens of thousands of levels), so the work is done by whole-list
        operations in C where possible (map, all, dict(zip)), not by a Python loop per level.
        """
        bid_changes = update.bids
        ask_changes = update.asks
        bid_sizes = list(map(_SIZE, bid_changes))
        ask_sizes = list(map(_SIZE, ask_changes))
        # Validate before touching anything. A negative zero is a zero (dropped), not negative.
        if (any(map(_IS_SIGNED, bid_sizes)) or any(map(_IS_SIGNED, ask_sizes))) and any(
            size for size in (*bid_sizes, *ask_sizes) if size.is_signed()
        ):
            self._refuse(update)
        self._update_count += len(bid_changes) + len(ask_changes)
        prices, sizes = _ascending_side(bid_changes, bid_sizes)
        self._bid_order = prices
        self._bid_keys = keys = list(map(str, prices))
        self._bids = dict(zip(keys, sizes, strict=True))
        prices, sizes = _ascending_side(ask_changes, ask_sizes)
        prices.reverse()  # best (lowest) ask last
        sizes.reverse()
        self._ask_order = list(map(_NEGATE, prices))
        self._ask_keys = keys = list(map(str, prices))
        self._asks = dict(zip(keys, sizes, strict=True))
        self._has_snapshot = True
        self._stale = False
        self._stale_reason = None

    def remove_crossed_levels(self, keep: BookSide) -> int:
        """Drop the levels of the side other than `keep` that cross keep's best price; return how many.

        After this the book is not crossed. Used where a venue's book can cross (the dYdX indexer):
        the side just updated is kept and the crossing levels of the other side are stale.
        """
        if not self._bids or not self._asks:
            return 0
        if keep is BookSide.BID:
            # Asks at or below the best bid have negated prices >= -best bid: the end of the list.
            levels, order, keys = self._asks, self._ask_order, self._ask_keys
            cut = bisect_left(order, self._bid_order[-1].copy_negate())
        else:
            # Bids at or above the best ask: the end of the ascending list.
            levels, order, keys = self._bids, self._bid_order, self._bid_keys
            cut = bisect_left(order, self._ask_order[-1].copy_negate())
        for key in keys[cut:]:
            del levels[key]
        removed = len(order) - cut
        del order[cut:]
        del keys[cut:]
        return removed

    # -- queries -----------------------------------------------------------------------------

    def best_bid(self) -> tuple[Decimal, Decimal] | None:
        """The highest bid as (price, size), or None when there are no bids."""
        if not self._bid_order:
            return None
        return self._bid_order[-1], self._bids[self._bid_keys[-1]]

    def best_ask(self) -> tuple[Decimal, Decimal] | None:
        """The lowest ask as (price, size), or None when there are no asks."""
        if not self._ask_order:
            return None
        return self._ask_order[-1].copy_negate(), self._asks[self._ask_keys[-1]]

    def spread(self) -> Decimal | None:
        """Best ask minus best bid (exact; zero or negative when crossed), or None if a side is empty."""
        if not self._bid_order or not self._ask_order:
            return None
        return _EXACT.subtract(self._ask_order[-1].copy_negate(), self._bid_order[-1])

    def mid(self) -> Decimal | None:
        """(best bid + best ask) / 2, exact for any real price, or None when a side is empty."""
        if not self._bid_order or not self._ask_order:
            return None
        total = _EXACT.add(self._bid_order[-1], self._ask_order[-1].copy_negate())
        return _DIVISION.divide(total, _TWO)

    def microprice(self) -> Decimal | None:
        """Size-weighted mid: (bid * ask_size + ask * bid_size) / (bid_size + ask_size), or None."""
        best_bid = self.best_bid()
        best_ask = self.best_ask()
        if best_bid is None or best_ask is None:
            return None
        bid, bid_size = best_bid
        ask, ask_size = best_ask
        numerator = _EXACT.add(_EXACT.multiply(bid, ask_size), _EXACT.multiply(ask, bid_size))
        return _DIVISION.divide(numerator, _EXACT.add(bid_size, ask_size))

    def bids(self, depth: int | None = None) -> list[tuple[Decimal, Decimal]]:
        """The best `depth` bids (all when None) as (price, size), best (highest) first."""
        return list(self._walk_bids(_slice_stop(depth)))

    def asks(self, depth: int | None = None) -> list[tuple[Decimal, Decimal]]:
        """The best `depth` asks (all when None) as (price, size), best (lowest) first."""
        return list(self._walk_asks(_slice_stop(depth)))

    def top(self, depth: int) -> tuple[tuple[LevelChange, ...], tuple[LevelChange, ...]]:
        """The best `depth` bids and asks as tuples of (price, size), best first: one call per frame.

        The same levels as `bids(depth)` and `asks(depth)`, built without a generator per side (a
        data engine takes this picture after every frame).
        """
        if depth < 0:
            raise InvalidValueError(f"depth must not be negative, got {depth}")
        stop = -depth - 1
        sizes = self._bids
        bids = tuple(
            [
                (price, sizes[key])
                for price, key in zip(self._bid_order[:stop:-1], self._bid_keys[:stop:-1], strict=True)
            ]
        )
        sizes = self._asks
        asks = tuple(
            [
                (negated.copy_negate(), sizes[key])
                for negated, key in zip(self._ask_order[:stop:-1], self._ask_keys[:stop:-1], strict=True)
            ]
        )
        return bids, asks

    def size_at(self, side: BookSide, price: Decimal) -> Decimal | None:
        """The size of the level at `price` (compared by value) on `side`, or None when there is none."""
        if side is BookSide.BID:
            sizes, order, keys, at = self._bids, self._bid_order, self._bid_keys, price
        else:
            sizes, order, keys, at = self._asks, self._ask_order, self._ask_keys, price.copy_negate()
        size = sizes.get(str(price))
        if size is not None:
            return size
        index = bisect_left(order, at)  # the same price written differently ("100.1", "100.10")
        if index < len(order) and order[index] == at:
            return sizes[keys[index]]
        return None

    def levels_best_first(self, side: BookSide) -> Iterator[tuple[Decimal, Decimal]]:
        """The levels of `side` as (price, size), best first, lazily (nothing is copied).

        For walks that usually stop near the top (matching). The book must not change during the walk.
        """
        if side is BookSide.BID:
            order, keys, sizes = self._bid_order, self._bid_keys, self._bids
            for index in range(len(order) - 1, -1, -1):
                yield order[index], sizes[keys[index]]
        else:
            order, keys, sizes = self._ask_order, self._ask_keys, self._asks
            for index in range(len(order) - 1, -1, -1):
                yield order[index].copy_negate(), sizes[keys[index]]

    def depth_size(self, side: BookSide, levels: int) -> Decimal:
        """The total size (exact) resting in the best `levels` levels of `side`."""
        if levels < 0:
            raise InvalidValueError(f"levels must not be negative, got {levels}")
        sizes = self._bids if side is BookSide.BID else self._asks
        keys = self._bid_keys if side is BookSide.BID else self._ask_keys
        total = ZERO
        for key in keys[: -levels - 1 : -1]:
            total = _EXACT.add(total, sizes[key])
        return total

    def vwap(self, side: OrderSide, size: Decimal) -> Decimal | None:
        """The average price to BUY `size` (walking the asks) or SELL it (walking the bids).

        None when the book is too thin to fill `size`. The notional is summed exactly and divided
        once, in `_DIVISION` (50 significant digits).
        """
        if not size > ZERO:
            raise InvalidValueError(f"vwap size must be positive, got {size}")
        remaining = size
        notional = ZERO
        for price, available in self._walk_asks(None) if side is OrderSide.BUY else self._walk_bids(None):
            if available >= remaining:
                notional = _EXACT.add(notional, _EXACT.multiply(price, remaining))
                return _DIVISION.divide(notional, size)
            notional = _EXACT.add(notional, _EXACT.multiply(price, available))
            remaining = _EXACT.subtract(remaining, available)
        return None

    def is_crossed(self) -> bool:
        """True when both sides exist and the best bid is at or above the best ask."""
        if not self._bid_order or not self._ask_order:
            return False
        return self._bid_order[-1] >= self._ask_order[-1].copy_negate()

    def _walk_bids(self, stop: int | None) -> Iterator[tuple[Decimal, Decimal]]:
        """Bids best first, as (price, size), up to the slice `stop` of a backwards walk."""
        sizes = self._bids
        for price, key in zip(self._bid_order[:stop:-1], self._bid_keys[:stop:-1], strict=True):
            yield price, sizes[key]

    def _walk_asks(self, stop: int | None) -> Iterator[tuple[Decimal, Decimal]]:
        """Asks best first, as (price, size), up to the slice `stop` of a backwards walk."""
        sizes = self._asks
        for negated, key in zip(self._ask_order[:stop:-1], self._ask_keys[:stop:-1], strict=True):
            yield negated.copy_negate(), sizes[key]


def _miss(  # noqa: PLR0917 - positional arguments: it is called from the hot loop
    levels: dict[str, Decimal], order: list[Decimal], keys: list[str], index: int, at: Decimal, size: Decimal
) -> None:
    """A change whose price text is not a key, other than the insert of a new price.

    `at` is the price as kept in `order` (negated for asks) and `index` its `bisect_left` place.
    Either the level exists under another text of the same price ("100.1" against "100.10"), or
    the change deletes a level the book does not have (venues send these: nothing to do).
    """
    if index < len(order) and order[index] == at:
        if size:
            levels[keys[index]] = size
        else:
            del levels[keys[index]]
            del order[index]
            del keys[index]


def _ascending_side(
    changes: tuple[LevelChange, ...], sizes: list[Decimal]
) -> tuple[list[Decimal], list[Decimal]]:
    """A snapshot side as ascending prices and their sizes: the last change of a price wins, 0 drops it.

    `sizes` are the changes' sizes (a list this function may reorder). Fast path, checked in
    O(n): the prices are strictly monotonic (a venue's snapshot lists a side best first: bids
    descending, asks ascending) and no size is zero; then the lists are used as they are
    (reversed if descending) and nothing is sorted or merged.
    """
    prices = list(map(_PRICE, changes))
    if all(sizes):
        following = islice(prices, 1, None)
        if all(map(lt, prices, following)):
            return prices, sizes
        following = islice(prices, 1, None)
        if all(map(gt, prices, following)):
            prices.reverse()
            sizes.reverse()
            return prices, sizes
    return _last_change_per_price(changes)


def _last_change_per_price(changes: tuple[LevelChange, ...]) -> tuple[list[Decimal], list[Decimal]]:
    """A snapshot side as ascending prices and their sizes: the last change of a price wins, 0 drops it."""
    prices: list[Decimal] = []
    sizes: list[Decimal] = []
    # sorted() is stable, so among equal prices the later change stays later; snapshots arrive
    # sorted (bids descending, asks ascending), which Timsort handles in linear time.
    for price, size in sorted(changes, key=_PRICE):
        if prices and prices[-1] == price:
            prices[-1] = price
            sizes[-1] = size
        else:
            prices.append(price)
            sizes.append(size)
    kept = [index for index, size in enumerate(sizes) if size]
    if len(kept) == len(sizes):
        return prices, sizes
    return [prices[index] for index in kept], [sizes[index] for index in kept]


def _slice_stop(depth: int | None) -> int | None:
    """The stop of a backwards slice that takes the last `depth` elements of a list (None: all)."""
    if depth is None:
        return None
    if depth < 0:
        raise InvalidValueError(f"depth must not be negative, got {depth}")
    return -depth - 1
