"""Property tests: random snapshots, deltas and crossed-level removals keep the book equal to a naive model.

The model is deliberately simple (a dict per side keyed by Decimal value, sorted on every query,
arithmetic in a huge-precision local context) so that it is obviously right; the book is compared
with it after every step. Prices sit on a small grid so that levels collide, are deleted, re-added
and crossed often, and are written with varying trailing zeros ("100.5", "100.50") so that the same
price arrives in different texts.
"""

from __future__ import annotations

from decimal import Decimal, localcontext

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.errors import InvalidValueError
from domain.instrument import InstrumentId
from domain.market_data import BookSide, LevelChange, OrderBookUpdate
from domain.order_book import OrderBook
from domain.order_terms import OrderSide

BTC = InstrumentId("DYDX", "BTC-USD")
BIG = 200  # precision of the model's context: far beyond any value drawn here


class NaiveBook:
    """The reference: a plain dict per side, sorted on every query."""

    def __init__(self) -> None:
        self.bids: dict[Decimal, Decimal] = {}
        self.asks: dict[Decimal, Decimal] = {}

    def apply(self, update: OrderBookUpdate) -> None:
        if update.is_snapshot:
            self.bids, self.asks = {}, {}
        for side, changes in ((self.bids, update.bids), (self.asks, update.asks)):
            for price, size in changes:
                if size == 0:
                    side.pop(price, None)
                else:
                    side[price] = size

    def sorted_bids(self) -> list[tuple[Decimal, Decimal]]:
        return sorted(self.bids.items(), reverse=True)

    def sorted_asks(self) -> list[tuple[Decimal, Decimal]]:
        return sorted(self.asks.items())

    def remove_crossed(self, keep: BookSide) -> int:
        if not self.bids or not self.asks:
            return 0
        if keep is BookSide.BID:
            best_bid = max(self.bids)
            doomed = [price for price in self.asks if price <= best_bid]
            side = self.asks
        else:
            best_ask = min(self.asks)
            doomed = [price for price in self.bids if price >= best_ask]
            side = self.bids
        for price in doomed:
            del side[price]
        return len(doomed)

    def vwap(self, side: OrderSide, size: Decimal) -> Decimal | None:
        levels = self.sorted_asks() if side is OrderSide.BUY else self.sorted_bids()
        with localcontext() as context:
            context.prec = BIG
            remaining, notional = size, Decimal(0)
            for price, available in levels:
                take = min(available, remaining)
                notional += price * take
                remaining -= take
                if remaining == 0:
                    break
            if remaining > 0:
                return None
            context.prec = 50
            return notional / size


def price_text(tick: int, trailing_zeros: int) -> Decimal:
    """Tick t on a 0.5 grid around 100, written with extra trailing zeros: 100.5, 100.50, 100.500."""
    whole, half = divmod(200 + tick, 2)
    text = f"{whole}.{5 if half else 0}" + "0" * trailing_zeros
    return Decimal(text)


prices = st.builds(price_text, st.integers(-12, 12), st.integers(0, 2))
sizes = st.one_of(
    st.just(Decimal(0)),  # deletes, often of absent levels
    st.decimals(min_value=Decimal("0.001"), max_value=Decimal("50"), places=3, allow_nan=False),
)
changes = st.lists(st.tuples(prices, sizes), max_size=8).map(tuple)


@st.composite
def steps(draw: st.DrawFn) -> tuple[str, object]:
    kind = draw(st.sampled_from(["delta"] * 8 + ["snapshot", "remove_crossed", "negative"]))
    if kind == "remove_crossed":
        return kind, draw(st.sampled_from(BookSide))
    if kind == "negative":
        bids, asks = draw(changes), draw(changes)
        bad = (draw(prices), -draw(st.decimals(min_value=Decimal("0.001"), max_value=10, places=3)))
        if draw(st.booleans()):
            return kind, OrderBookUpdate(BTC, draw(st.booleans()), (*bids, bad), asks, 0)
        return kind, OrderBookUpdate(BTC, draw(st.booleans()), bids, (bad, *asks), 0)
    return kind, OrderBookUpdate(BTC, kind == "snapshot", draw(changes), draw(changes), 0)


def assert_same(book: OrderBook, model: NaiveBook) -> None:
    bids, asks = model.sorted_bids(), model.sorted_asks()
    assert book.bids() == bids
    assert book.asks() == asks
    assert book.bids(3) == bids[:3]
    assert book.asks(3) == asks[:3]
    assert book.top(3) == (tuple(bids[:3]), tuple(asks[:3]))
    assert book.top(0) == ((), ())
    assert list(book.levels_best_first(BookSide.BID)) == bids
    assert list(book.levels_best_first(BookSide.ASK)) == asks
    for price, size in bids:
        assert book.size_at(BookSide.BID, price) == size
        assert book.size_at(BookSide.BID, price + Decimal("0.000000")) == size  # written differently
        assert book.size_at(BookSide.ASK, price) == dict(asks).get(price)
    for price, size in asks:
        assert book.size_at(BookSide.ASK, price) == size
    assert book.top(len(bids) + len(asks) + 1) == (tuple(bids), tuple(asks))
    assert (book.bid_level_count, book.ask_level_count) == (len(bids), len(asks))
    assert book.best_bid() == (bids[0] if bids else None)
    assert book.best_ask() == (asks[0] if asks else None)
    assert book.depth_size(BookSide.BID, 2) == sum((size for _, size in bids[:2]), Decimal(0))
    assert book.depth_size(BookSide.ASK, 2) == sum((size for _, size in asks[:2]), Decimal(0))
    if bids and asks:
        (bid, bid_size), (ask, ask_size) = bids[0], asks[0]
        assert book.mid() == (bid + ask) / 2
        assert book.spread() == ask - bid
        assert book.is_crossed() == (bid >= ask)
        with localcontext() as context:
            context.prec = 50
            assert book.microprice() == (bid * ask_size + ask * bid_size) / (bid_size + ask_size)
    else:
        assert (book.mid(), book.spread(), book.microprice(), book.is_crossed()) == (None, None, None, False)


@given(st.lists(steps(), max_size=30), st.sampled_from([Decimal("0.5"), Decimal("7.25"), Decimal("40")]))
def test_the_book_matches_the_naive_model_after_every_step(
    script: list[tuple[str, object]], vwap_size: Decimal
) -> None:
    book, model = OrderBook(BTC), NaiveBook()
    level_changes = 0
    for kind, argument in script:
        if kind == "remove_crossed":
            assert isinstance(argument, BookSide)
            assert book.remove_crossed_levels(argument) == model.remove_crossed(argument)
            assert not book.is_crossed()
        elif kind == "negative":
            assert isinstance(argument, OrderBookUpdate)
            with pytest.raises(InvalidValueError):
                book.apply(argument)
        else:
            assert isinstance(argument, OrderBookUpdate)
            book.apply(argument)
            model.apply(argument)
            level_changes += argument.level_count
            if argument.is_snapshot:
                assert book.has_snapshot
        assert book.update_count == level_changes
        assert_same(book, model)
        assert book.vwap(OrderSide.BUY, vwap_size) == model.vwap(OrderSide.BUY, vwap_size)
        assert book.vwap(OrderSide.SELL, vwap_size) == model.vwap(OrderSide.SELL, vwap_size)


@given(st.lists(st.sampled_from(["delta", "snapshot", "mark_stale"]), max_size=20))
def test_stale_is_set_by_mark_stale_and_cleared_only_by_a_snapshot(script: list[str]) -> None:
    book = OrderBook(BTC)
    expected_reason: str | None = None
    for number, kind in enumerate(script):
        if kind == "mark_stale":
            book.mark_stale(f"gap {number}")
            expected_reason = expected_reason or f"gap {number}"
        else:
            level = ((Decimal(100 + number), Decimal(number % 3)),)
            book.apply(OrderBookUpdate(BTC, kind == "snapshot", level, level, number))
            if kind == "snapshot":
                expected_reason = None
        assert book.stale == (expected_reason is not None)
        assert book.stale_reason == expected_reason
        assert book.has_snapshot == ("snapshot" in script[: number + 1])


@given(
    st.lists(st.tuples(prices, sizes), max_size=12),
    st.lists(st.tuples(prices, sizes), max_size=12),
    st.decimals(min_value=Decimal("0.001"), max_value=Decimal("200"), places=3),
)
def test_vwap_lies_between_the_best_and_the_worst_level_it_touches(
    bid_changes: list[LevelChange], ask_changes: list[LevelChange], size: Decimal
) -> None:
    book = OrderBook(BTC)
    book.apply(OrderBookUpdate(BTC, True, tuple(bid_changes), tuple(ask_changes), 0))
    for side, levels in ((OrderSide.BUY, book.asks()), (OrderSide.SELL, book.bids())):
        price = book.vwap(side, size)
        if sum((s for _, s in levels), Decimal(0)) < size:
            assert price is None
        else:
            assert price is not None
            worst = levels[-1][0]
            assert min(levels[0][0], worst) <= price <= max(levels[0][0], worst)
