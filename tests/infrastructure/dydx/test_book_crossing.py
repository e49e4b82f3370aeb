"""The dYdX crossed-book rule, on the domain OrderBook: the side a frame changed is fresh, the
crossing levels of the other side are stale and dropped; a tie (both or neither best level changed)
keeps the larger best level, as the venue's guide does for levels written by the same message.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pytest

from application.market_data_pipeline import CrossingResolver, MarketDataPipeline
from domain.instrument import InstrumentId
from domain.market_data import FeedIssueKind, LevelChange, OrderBookUpdate
from domain.order_book import OrderBook
from infrastructure.venues.dydx.book_crossing import DydxCrossingResolver
from infrastructure.venues.dydx.market_data_codec import DydxMarketDataCodec

ETH = InstrumentId("DYDX", "ETH-USD")


def levels(*pairs: tuple[str, str]) -> tuple[LevelChange, ...]:
    return tuple((Decimal(price), Decimal(size)) for price, size in pairs)


def update(
    bids: tuple[LevelChange, ...] = (), asks: tuple[LevelChange, ...] = (), *, snapshot: bool = False
) -> OrderBookUpdate:
    return OrderBookUpdate(ETH, snapshot, bids, asks, 7)


def book_with(*updates: OrderBookUpdate) -> OrderBook:
    book = OrderBook(ETH)
    book.apply(update(levels(("100", "1"), ("99", "2")), levels(("101", "1"), ("102", "2")), snapshot=True))
    for each in updates:
        book.apply(each)
    return book


def prices(book: OrderBook) -> tuple[list[str], list[str]]:
    return [str(p) for p, _ in book.bids()], [str(p) for p, _ in book.asks()]


def test_an_uncrossed_book_is_left_alone() -> None:
    resolver = DydxCrossingResolver()
    frame = update(levels(("100.5", "1")))
    book = book_with(frame)
    assert resolver(book, [frame]) is None
    assert resolver.stats.resolutions == 0


def test_a_bid_update_that_crosses_drops_the_stale_asks_it_crosses() -> None:
    resolver = DydxCrossingResolver()
    frame = update(levels(("101.5", "3")))
    book = book_with(frame)
    issue = resolver(book, [frame])
    assert prices(book) == (["101.5", "100", "99"], ["102"])
    assert issue is not None
    assert (issue.kind, issue.instrument_ids, issue.stream, issue.ts_ns) == (
        FeedIssueKind.CROSSED_BOOK, (ETH,), "ETH-USD.DYDX", 7,
    )  # fmt: skip
    assert "rule stale_asks: 1 level(s) dropped" in issue.detail
    assert (resolver.stats.resolutions, resolver.stats.levels_removed) == (1, 1)


def test_an_ask_update_that_crosses_drops_the_stale_bids_it_crosses() -> None:
    resolver = DydxCrossingResolver()
    frame = update(asks=levels(("98", "1")))
    book = book_with(frame)
    resolver(book, [frame])
    assert prices(book) == ([], ["98", "101", "102"])
    assert resolver.stats.by_rule == {"stale_bids": 1}


def test_the_change_is_matched_by_value_not_by_how_the_price_is_written() -> None:
    resolver = DydxCrossingResolver()
    book = book_with(update(levels(("101.50", "3"))))
    resolver(book, [update(levels(("101.5", "3")))])
    assert prices(book) == (["101.50", "100", "99"], ["102"])


def test_a_frame_changing_both_best_levels_keeps_the_larger_one() -> None:
    resolver = DydxCrossingResolver()
    frame = update(levels(("101.5", "1")), levels(("100.5", "4")))
    book = book_with(frame)
    resolver(book, [frame])
    assert prices(book) == (["100", "99"], ["100.5", "101", "102"])
    assert resolver.stats.by_rule == {"larger_ask": 1}


def test_a_crossed_snapshot_keeps_the_larger_best_level() -> None:
    resolver = DydxCrossingResolver()
    book = OrderBook(ETH)
    frame = update(levels(("101", "5"), ("100", "1")), levels(("100.5", "2"), ("102", "1")), snapshot=True)
    book.apply(frame)
    resolver(book, [frame])
    assert prices(book) == (["101", "100"], ["102"])
    assert resolver.stats.by_rule == {"larger_bid": 1}


def test_equal_best_levels_of_the_same_frame_both_go() -> None:
    resolver = DydxCrossingResolver()
    frame = update(levels(("101.5", "2")), levels(("100.5", "2")))
    book = book_with(frame)
    issue = resolver(book, [frame])
    assert prices(book) == (["100", "99"], ["101", "102"])  # the next levels do not cross: done
    assert issue is not None
    assert "rule equal_sizes: 2 level(s) dropped" in issue.detail


def test_a_book_already_crossed_before_the_frame_is_resolved_by_size() -> None:
    resolver = DydxCrossingResolver()
    book = book_with(update(levels(("101.5", "3"))))  # crossed, and the rule was not run
    frame = update(levels(("99", "5")))
    resolver(book, [frame])
    assert prices(book) == (["101.5", "100", "99"], ["102"])
    assert resolver.stats.by_rule == {"larger_bid": 1}


def test_the_rule_repeats_until_the_book_is_not_crossed() -> None:
    resolver = DydxCrossingResolver()
    frame = update(levels(("103", "2"), ("102.5", "1")), levels(("100.5", "2")))
    book = book_with(frame)
    issue = resolver(book, [frame])
    # 103 x 2 against 100.5 x 2: both go; then 102.5 (changed) against 101 (not): stale asks.
    assert prices(book) == (["102.5", "100", "99"], [])
    assert resolver.stats.by_rule == {"equal_sizes": 1, "stale_asks": 1}
    assert issue is not None
    assert "rule equal_sizes, stale_asks: 4 level(s) dropped" in issue.detail


@pytest.mark.parametrize("make", [DydxCrossingResolver])
def test_the_resolver_is_the_pipelines_crossing_rule(make: Callable[[], CrossingResolver]) -> None:
    # Through the real pipeline and codec: a snapshot, then a bid update crossing the asks.
    pipeline = MarketDataPipeline(DydxMarketDataCodec(), resolve_crossing=make())
    snapshot = (
        '{"type":"subscribed","message_id":1,"channel":"v4_orderbook","id":"ETH-USD",'
        '"contents":{"bids":[{"price":"100","size":"1"}],"asks":[{"price":"101","size":"1"},'
        '{"price":"102","size":"1"}]}}'
    )
    crossing = (
        '{"type":"channel_data","message_id":2,"channel":"v4_orderbook","id":"ETH-USD",'
        '"contents":{"bids":[["101.5","2"]]}}'
    )
    pipeline.on_frame(snapshot, 1, "c1")
    pipeline.on_frame(crossing, 2, "c1")
    book = pipeline.books[ETH]
    assert prices(book) == (["101.5", "100"], ["102"])
    assert (pipeline.stats.crossed_after_frame, pipeline.stats.crossed_resolved) == (1, 1)
    assert pipeline.stats.issues[FeedIssueKind.CROSSED_BOOK] == 1
