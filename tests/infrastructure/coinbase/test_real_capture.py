"""The real Coinbase capture, end to end: exact counts, and books equal to a naive reference."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest

from domain.instrument import InstrumentId
from domain.market_data import BookStale, FeedIssue, OrderBookUpdate, Ticker, TradeTick
from domain.order_book import OrderBook
from domain.order_terms import OrderSide
from infrastructure.recorded_feed import RecordedFrame
from infrastructure.venues.coinbase.market_data_codec import CoinbaseEvent, CoinbaseMarketDataCodec

BTC = InstrumentId("COINBASE", "BTC-USD")
ETH = InstrumentId("COINBASE", "ETH-USD")


@dataclass
class Run:
    codec: CoinbaseMarketDataCodec
    books: dict[InstrumentId, OrderBook]
    events: list[CoinbaseEvent] = field(default_factory=list)
    crossed_after: list[int] = field(
        default_factory=list
    )  # sequence numbers of frames leaving a crossed book


@pytest.fixture(scope="module")
def run(capture_frames: list[RecordedFrame]) -> Run:
    codec = CoinbaseMarketDataCodec(expected_first_sequence=0)
    result = Run(codec, {})
    for frame in capture_frames:
        events = codec.feed(frame.text, frame.receive_ts_ns, frame.connection_id)
        result.events.extend(events)
        for event in events:
            if isinstance(event, OrderBookUpdate):
                book = result.books.setdefault(event.instrument_id, OrderBook(event.instrument_id))
                book.apply(event)
        # Crossing is only meaningful after a whole frame.
        if any(book.is_crossed() for book in result.books.values()):
            result.crossed_after.append(json.loads(frame.text)["sequence_num"])
    return result


def naive_books(frames: list[RecordedFrame]) -> dict[str, dict[str, dict[Decimal, Decimal]]]:
    """Books rebuilt from the raw JSON with plain dicts: product -> {"bid"/"offer": {price: size}}."""
    books: dict[str, dict[str, dict[Decimal, Decimal]]] = {}
    for frame in frames:
        data = json.loads(frame.text)
        if data.get("channel") != "l2_data":
            continue
        for event in data["events"]:
            if event["type"] == "snapshot":
                books[event["product_id"]] = {"bid": {}, "offer": {}}
            book = books[event["product_id"]]
            for level in event["updates"]:
                side = book[level["side"]]
                price, size = Decimal(level["price_level"]), Decimal(level["new_quantity"])
                if size == 0:
                    side.pop(price, None)
                else:
                    side[price] = size
    return books


def test_frame_counts_per_channel(run: Run) -> None:
    stats = run.codec.stats
    assert stats.frames == 1030
    assert stats.frames_by_channel == {
        "l2_data": 775,
        "ticker": 160,
        "market_trades": 59,
        "heartbeats": 25,
        "candles": 6,
        "subscriptions": 5,
    }
    assert stats.decode_errors == 0
    assert stats.unknown_channels == Counter()
    assert stats.unknown_fields == Counter()
    assert stats.venue_errors == 0


def test_book_counts(run: Run) -> None:
    stats = run.codec.stats
    assert stats.events_by_type["l2_data.snapshot"] == 2
    assert stats.events_by_type["l2_data.update"] == 773
    assert stats.level_changes == 74_193
    assert stats.book_updates_emitted == 775
    assert stats.suppressed_book_updates == 0
    updates = [event for event in run.events if isinstance(event, OrderBookUpdate)]
    assert len(updates) == 775
    assert sum(update.is_snapshot for update in updates) == 2
    assert sum(update.level_count for update in updates) == 74_193


def test_trade_and_ticker_counts(run: Run) -> None:
    stats = run.codec.stats
    assert stats.trades == 279
    assert sum(isinstance(event, TradeTick) for event in run.events) == 279
    assert stats.tickers == 160
    assert sum(isinstance(event, Ticker) for event in run.events) == 160
    assert stats.heartbeats == 25


def test_sequence_runs_from_0_to_1029_without_gap(run: Run, capture_frames: list[RecordedFrame]) -> None:
    stats = run.codec.stats
    assert (stats.gaps, stats.duplicates, stats.out_of_order, stats.missing_frames) == (0, 0, 0, 0)
    assert {frame.connection_id for frame in capture_frames} == {"COINBASE.ws.2"}
    assert run.codec.tracker.last_sequence("COINBASE.ws.2") == 1029
    assert not any(isinstance(event, (FeedIssue, BookStale)) for event in run.events)


def test_books_are_never_crossed_after_a_frame(run: Run) -> None:
    assert run.crossed_after == []
    assert set(run.books) == {BTC, ETH}
    assert not any(book.stale for book in run.books.values())


def test_final_books_equal_a_naive_reference(run: Run, capture_frames: list[RecordedFrame]) -> None:
    reference = naive_books(capture_frames)
    assert set(reference) == {"BTC-USD", "ETH-USD"}
    for product, sides in reference.items():
        book = run.books[InstrumentId("COINBASE", product)]
        assert book.bids() == sorted(sides["bid"].items(), reverse=True)
        assert book.asks() == sorted(sides["offer"].items())
        assert book.bid_level_count == len(sides["bid"]) > 1000
        assert book.ask_level_count == len(sides["offer"]) > 1000


def test_trades_match_the_raw_frames(run: Run, capture_frames: list[RecordedFrame]) -> None:
    raw: list[dict[str, Any]] = []
    for frame in capture_frames:
        data = json.loads(frame.text)
        if data["channel"] == "market_trades":
            for event in data["events"]:
                raw.extend(reversed(event["trades"]))  # emitted oldest first
    ticks = [event for event in run.events if isinstance(event, TradeTick)]
    assert len(ticks) == len(raw) == 279
    for tick, trade in zip(ticks, raw, strict=True):
        assert tick.trade_id == trade["trade_id"]
        assert tick.instrument_id.symbol == trade["product_id"]
        assert (tick.price, tick.size) == (Decimal(trade["price"]), Decimal(trade["size"]))
        assert tick.aggressor_side is OrderSide(trade["side"]).opposite
    assert {tick.aggressor_side for tick in ticks} == {OrderSide.BUY, OrderSide.SELL}


def test_tickers_match_the_raw_frames(run: Run, capture_frames: list[RecordedFrame]) -> None:
    raw = [
        ticker
        for frame in capture_frames
        if (data := json.loads(frame.text))["channel"] == "ticker"
        for event in data["events"]
        for ticker in event["tickers"]
    ]
    tickers = [event for event in run.events if isinstance(event, Ticker)]
    assert len(tickers) == len(raw) == 160
    for ticker, item in zip(tickers, raw, strict=True):
        assert ticker.instrument_id.symbol == item["product_id"]
        assert ticker.best_bid == Decimal(item["best_bid"])
        assert ticker.best_ask == Decimal(item["best_ask"])
        assert ticker.last_price == Decimal(item["price"])


def test_event_times_never_go_backwards_per_book(run: Run) -> None:
    last: dict[InstrumentId, int] = {}
    for event in run.events:
        if isinstance(event, OrderBookUpdate):
            assert event.ts_ns >= last.get(event.instrument_id, 0)
            last[event.instrument_id] = event.ts_ns
    assert min(last.values()) > 1_786_000_000 * 10**9  # 2026-08-09, in ns


def test_the_codec_drives_the_market_data_pipeline(capture_frames: list[RecordedFrame]) -> None:
    from application.market_data_pipeline import MarketDataCodec, MarketDataPipeline

    codec: MarketDataCodec = CoinbaseMarketDataCodec()  # the codec implements the port
    pipeline = MarketDataPipeline(codec)
    for frame in capture_frames:
        pipeline.on_frame(frame.text, frame.receive_ts_ns, frame.connection_id)
    assert pipeline.stats.frames == 1030
    assert pipeline.stats.level_changes == 74_193
    assert pipeline.stats.trades == 279
    assert pipeline.stats.crossed_after_frame == 0
    assert pipeline.stale_intervals == []
    assert set(pipeline.books) == {BTC, ETH}
