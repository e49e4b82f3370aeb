"""The market-data pipeline: books applied per whole frame, staleness and crossing tracked."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from application.market_data_pipeline import MarketDataPipeline
from domain.instrument import InstrumentId
from domain.market_data import (
    BookSide,
    BookStale,
    FeedIssue,
    FeedIssueKind,
    OrderBookUpdate,
    TradeTick,
)
from domain.order_book import OrderBook
from domain.order_terms import OrderSide

BTC = InstrumentId("TEST", "BTC-USD")
D = Decimal


class FakeCodec:
    """A codec that returns, for each frame text, the events it was scripted with."""

    def __init__(self, script: dict[str, list[object]]) -> None:
        self.script = script
        self.fed: list[tuple[str, int, str]] = []

    def feed_safe(self, text: str | bytes, receive_ts_ns: int, connection_id: str) -> Sequence[object]:
        key = text if isinstance(text, str) else text.decode()
        self.fed.append((key, receive_ts_ns, connection_id))
        return self.script.get(key, [])


def snapshot(bid: str, ask: str) -> OrderBookUpdate:
    return OrderBookUpdate(BTC, True, ((D(bid), D(1)),), ((D(ask), D(1)),), 0)


def delta(bids: tuple[tuple[str, str], ...] = (), asks: tuple[tuple[str, str], ...] = ()) -> OrderBookUpdate:
    return OrderBookUpdate(
        BTC,
        False,
        tuple((D(p), D(s)) for p, s in bids),
        tuple((D(p), D(s)) for p, s in asks),
        0,
    )


def test_a_frame_is_applied_whole_before_the_book_is_checked_for_crossing() -> None:
    # Mid-frame the bid at 101 crosses the ask at 100; after the whole frame the ask has moved.
    codec = FakeCodec(
        {
            "snap": [snapshot("99", "100")],
            "move": [delta(bids=(("101", "1"),)), delta(asks=(("100", "0"), ("102", "1")))],
        }
    )
    pipeline = MarketDataPipeline(codec)
    pipeline.on_frame("snap", 1, "c1")
    pipeline.on_frame("move", 2, "c1")
    assert pipeline.stats.crossed_after_frame == 0
    assert pipeline.books[BTC].best_bid() == (D(101), D(1))
    assert pipeline.books[BTC].best_ask() == (D(102), D(1))


def test_a_crossed_book_after_a_frame_is_counted_and_offered_to_the_resolver() -> None:
    calls: list[int] = []

    def resolve(book: OrderBook, updates: Sequence[OrderBookUpdate]) -> FeedIssue | None:
        calls.append(len(updates))
        book.remove_crossed_levels(BookSide.BID)
        return FeedIssue(FeedIssueKind.CROSSED_BOOK, "c1", "resolved", 0)

    codec = FakeCodec({"snap": [snapshot("99", "100")], "cross": [delta(bids=(("101", "1"),))]})
    pipeline = MarketDataPipeline(codec, resolve_crossing=resolve)
    pipeline.on_frame("snap", 1, "c1")
    pipeline.on_frame("cross", 2, "c1")
    assert calls == [1]
    assert pipeline.stats.crossed_after_frame == 1
    assert pipeline.stats.crossed_resolved == 1
    assert pipeline.stats.issues[FeedIssueKind.CROSSED_BOOK] == 1
    assert not pipeline.books[BTC].is_crossed()


def test_without_a_resolver_a_crossed_book_is_counted_and_left_alone() -> None:
    codec = FakeCodec({"snap": [snapshot("99", "100")], "cross": [delta(bids=(("101", "1"),))]})
    pipeline = MarketDataPipeline(codec)
    pipeline.on_frame("snap", 1, "c1")
    pipeline.on_frame("cross", 2, "c1")
    assert pipeline.stats.crossed_after_frame == 1
    assert pipeline.stats.crossed_resolved == 0
    assert pipeline.books[BTC].is_crossed()


def test_a_stale_interval_runs_from_the_stale_event_to_the_next_snapshot() -> None:
    codec = FakeCodec(
        {
            "snap": [snapshot("99", "100")],
            "gap": [
                FeedIssue(FeedIssueKind.GAP, "c1", "expected 5 got 7", 0, 5, 7, (BTC,)),
                BookStale(BTC, "sequence gap", 0),
            ],
            "again": [BookStale(BTC, "still", 0)],
        }
    )
    pipeline = MarketDataPipeline(codec)
    pipeline.on_frame("snap", 10, "c1")
    pipeline.on_frame("gap", 20, "c1")
    pipeline.on_frame("again", 25, "c1")
    assert pipeline.books[BTC].stale
    assert len(pipeline.stale_intervals) == 1
    assert pipeline.stale_intervals[0].end_ns is None
    pipeline.on_frame("snap", 30, "c1")
    assert not pipeline.books[BTC].stale
    assert (pipeline.stale_intervals[0].start_ns, pipeline.stale_intervals[0].end_ns) == (20, 30)
    assert pipeline.stats.issues[FeedIssueKind.GAP] == 1


def test_stats_count_frames_updates_levels_trades_and_time_span() -> None:
    trade = TradeTick(BTC, "t1", D(100), D("0.5"), OrderSide.BUY, 0)
    codec = FakeCodec(
        {
            "snap": [snapshot("99", "100")],
            "upd": [delta(bids=(("98", "2"), ("97", "1")), asks=(("101", "1"),)), trade, "other"],
        }
    )
    pipeline = MarketDataPipeline(codec)
    for ts, text in [(5, "snap"), (6, "upd"), (9, "unknown")]:
        pipeline.on_frame(text, ts, "c1")
    stats = pipeline.stats
    assert (stats.frames, stats.book_updates, stats.level_changes, stats.trades) == (3, 2, 5, 1)
    assert (stats.first_ts_ns, stats.last_ts_ns) == (5, 9)
    assert stats.events_by_type["str"] == 1
    assert codec.fed[1] == ("upd", 6, "c1")
