"""Specifications of the Coinbase market-data codec, frame by frame, on hand-written frames."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from domain.instrument import InstrumentId
from domain.market_data import BookStale, FeedIssue, FeedIssueKind, OrderBookUpdate, Ticker, TradeTick
from domain.order_terms import OrderSide
from infrastructure.venues.coinbase import market_data_codec
from infrastructure.venues.coinbase.market_data_codec import CoinbaseMarketDataCodec, DecodeError
from infrastructure.venues.coinbase.messages import UserOrder
from infrastructure.venues.coinbase.timestamps import parse_timestamp_ns
from infrastructure.venues.coinbase.user_order_update import UserOrderUpdate

BTC = InstrumentId("COINBASE", "BTC-USD")
ETH = InstrumentId("COINBASE", "ETH-USD")
S = 1_000_000_000
CONN = "ws-1"


def frame(template: dict[str, Any], sequence_num: int, **changes: Any) -> str:
    data = json.loads(json.dumps(template))
    data["sequence_num"] = sequence_num
    data.update(changes)
    return json.dumps(data)


def l2(sequence_num: int, kind: str, product: str, levels: list[tuple[str, str, str]], **changes: Any) -> str:
    """An l2_data frame: levels are (side, price, size)."""
    event_time = "2026-04-07T14:30:01.456789Z"
    updates = [
        {"side": side, "event_time": event_time, "price_level": price, "new_quantity": size}
        for side, price, size in levels
    ]
    data: dict[str, Any] = {
        "channel": "l2_data",
        "client_id": "",
        "timestamp": "2026-04-07T14:30:01.500000001Z",
        "sequence_num": sequence_num,
        "events": [{"type": kind, "product_id": product, "updates": updates}],
    }
    data.update(changes)
    return json.dumps(data)


def heartbeat(sequence_num: int) -> str:
    return json.dumps(
        {
            "channel": "heartbeats",
            "timestamp": "2026-04-07T14:30:10.000000000Z",
            "sequence_num": sequence_num,
            "events": [{"current_time": "2026-04-07 14:30:10 +0000 UTC", "heartbeat_counter": sequence_num}],
        }
    )


SNAPSHOT_LEVELS = [("bid", "100.00", "1"), ("bid", "99.50", "2"), ("offer", "100.50", "3")]


@pytest.fixture
def codec() -> CoinbaseMarketDataCodec:
    return CoinbaseMarketDataCodec(max_silence_ns=5 * S)


def live_codec(products: tuple[str, ...] = ("BTC-USD",)) -> CoinbaseMarketDataCodec:
    """A codec whose connection CONN has delivered frames 0.. and a snapshot of each product."""
    codec = CoinbaseMarketDataCodec(max_silence_ns=5 * S)
    for number, product in enumerate(products):
        codec.feed(l2(number, "snapshot", product, SNAPSHOT_LEVELS), number, CONN)
    return codec


# --- l2_data -------------------------------------------------------------------------------------


def test_snapshot_then_update(codec: CoinbaseMarketDataCodec, ws_fixture: Any) -> None:
    (snapshot,) = codec.feed(json.dumps(ws_fixture("ws_l2_data_snapshot.json")), 1, CONN)
    assert snapshot == OrderBookUpdate(
        BTC,
        is_snapshot=True,
        bids=(
            (Decimal("68900.00"), Decimal("1.50000000")),
            (Decimal("68899.50"), Decimal("0.75000000")),
            (Decimal("68899.00"), Decimal("2.30000000")),
        ),
        asks=(
            (Decimal("68901.00"), Decimal("0.50000000")),
            (Decimal("68901.50"), Decimal("1.20000000")),
            (Decimal("68902.00"), Decimal("0.80000000")),
        ),
        ts_ns=parse_timestamp_ns("2026-04-07T14:30:00.123456Z"),
    )
    (update,) = codec.feed(json.dumps(ws_fixture("ws_l2_data_update.json")), 2, CONN)
    assert update == OrderBookUpdate(
        BTC,
        is_snapshot=False,
        bids=((Decimal("68900.00"), Decimal("2.00000000")),),
        asks=((Decimal("68901.00"), Decimal(0)),),
        ts_ns=parse_timestamp_ns("2026-04-07T14:30:01.456789Z"),
    )
    assert type(update.bids[0][0]) is Decimal
    stats = codec.stats
    assert stats.frames == 2
    assert stats.frames_by_channel["l2_data"] == 2
    assert stats.events_by_type["l2_data.snapshot"] == 1
    assert stats.events_by_type["l2_data.update"] == 1
    assert stats.level_changes == 8
    assert stats.book_updates_emitted == 2


def test_event_time_is_the_update_timestamp_and_frame_time_when_empty(codec: CoinbaseMarketDataCodec) -> None:
    (update,) = codec.feed(l2(0, "snapshot", "BTC-USD", []), 0, CONN)
    assert update.ts_ns == parse_timestamp_ns("2026-04-07T14:30:01.500000001Z")
    assert update.bids == update.asks == ()


def test_updates_before_any_snapshot_are_withheld(codec: CoinbaseMarketDataCodec) -> None:
    assert codec.feed(l2(0, "update", "BTC-USD", [("bid", "1", "1")]), 0, CONN) == []
    assert codec.stats.suppressed_book_updates == 1
    assert codec.stats.suppressed_level_changes == 1
    assert codec.stats.level_changes == 1
    (snapshot,) = codec.feed(l2(1, "snapshot", "BTC-USD", SNAPSHOT_LEVELS), 1, CONN)
    assert snapshot.is_snapshot
    (update,) = codec.feed(l2(2, "update", "BTC-USD", [("bid", "1", "1")]), 2, CONN)
    assert not update.is_snapshot


def test_one_update_per_product_per_frame(codec: CoinbaseMarketDataCodec) -> None:
    codec.feed(l2(0, "snapshot", "BTC-USD", SNAPSHOT_LEVELS), 0, CONN)
    codec.feed(l2(1, "snapshot", "ETH-USD", SNAPSHOT_LEVELS), 0, CONN)
    data = json.loads(l2(2, "update", "BTC-USD", [("bid", "100.00", "5")]))
    events = data["events"]
    events.append(
        {**events[0], "updates": [{**events[0]["updates"][0], "side": "offer", "price_level": "101"}]}
    )
    events.append({**events[0], "product_id": "ETH-USD"})
    out = codec.feed(json.dumps(data), 2, CONN)
    assert [(u.instrument_id, u.is_snapshot, u.level_count) for u in out] == [
        (BTC, False, 2),
        (ETH, False, 1),
    ]
    assert isinstance(out[0], OrderBookUpdate)
    assert out[0].bids == ((Decimal("100.00"), Decimal(5)),)
    assert out[0].asks == ((Decimal(101), Decimal(5)),)
    assert codec.stats.events_by_type["l2_data.update"] == 3


def test_a_snapshot_event_replaces_earlier_updates_of_the_frame(codec: CoinbaseMarketDataCodec) -> None:
    data = json.loads(l2(0, "update", "BTC-USD", [("bid", "1", "1")]))
    snapshot = json.loads(l2(0, "snapshot", "BTC-USD", SNAPSHOT_LEVELS))["events"][0]
    data["events"].append(snapshot)
    data["events"].append(json.loads(l2(0, "update", "BTC-USD", [("offer", "100.50", "0")]))["events"][0])
    (update,) = codec.feed(json.dumps(data), 0, CONN)
    assert update.is_snapshot
    assert update.asks == ((Decimal("100.50"), Decimal(3)), (Decimal("100.50"), Decimal(0)))
    assert len(update.bids) == 2


# --- trades, tickers, heartbeats, candles, subscriptions, user ------------------------------------


def test_trade_aggressor_is_opposite_of_maker_side(codec: CoinbaseMarketDataCodec, ws_fixture: Any) -> None:
    ticks = codec.feed(frame(ws_fixture("ws_market_trades.json"), 0), 0, CONN)
    # Coinbase lists trades newest first; ticks come oldest first.
    assert ticks == [
        TradeTick(
            BTC,
            "995098701",
            Decimal("68900.00"),
            Decimal("0.05000000"),
            OrderSide.BUY,  # maker SELL: a buyer took the offer
            parse_timestamp_ns("2026-04-07T14:30:02.800000Z"),
        ),
        TradeTick(
            BTC,
            "995098700",
            Decimal("68900.50"),
            Decimal("0.00150000"),
            OrderSide.SELL,  # maker BUY: a seller hit the bid
            parse_timestamp_ns("2026-04-07T14:30:02.789012Z"),
        ),
    ]
    assert codec.stats.trades == 2
    assert codec.stats.events_by_type["market_trades.update"] == 1


def test_trade_with_unknown_side_has_no_aggressor(codec: CoinbaseMarketDataCodec, ws_fixture: Any) -> None:
    data = ws_fixture("ws_market_trades.json")
    data["events"][0]["trades"] = data["events"][0]["trades"][:1]
    data["events"][0]["trades"][0]["side"] = "UNKNOWN_ORDER_SIDE"
    (tick,) = codec.feed(frame(data, 0), 0, CONN)
    assert isinstance(tick, TradeTick)
    assert tick.aggressor_side is None


def test_ticker(codec: CoinbaseMarketDataCodec, ws_fixture: Any) -> None:
    (ticker,) = codec.feed(frame(ws_fixture("ws_ticker.json"), 0), 0, CONN)
    assert ticker == Ticker(
        BTC,
        last_price=Decimal("68900.50"),
        best_bid=Decimal("68900.00"),
        best_bid_size=Decimal("1.50000000"),
        best_ask=Decimal("68901.00"),
        best_ask_size=Decimal("0.50000000"),
        ts_ns=parse_timestamp_ns("2026-04-07T14:30:03.000000Z"),
    )
    assert codec.stats.tickers == 1
    assert codec.stats.events_by_type["ticker.snapshot"] == 1


def test_ticker_batch_and_missing_ticker_fields(codec: CoinbaseMarketDataCodec, ws_fixture: Any) -> None:
    data = ws_fixture("ws_ticker.json")
    ticker = data["events"][0]["tickers"][0]
    for name in ("best_bid", "best_bid_quantity", "price"):
        del ticker[name]
    (event,) = codec.feed(frame(data, 0, channel="ticker_batch"), 0, CONN)
    assert isinstance(event, Ticker)
    assert (event.last_price, event.best_bid, event.best_bid_size) == (None, None, None)
    assert event.best_ask == Decimal("68901.00")
    assert codec.stats.frames_by_channel["ticker_batch"] == 1


def test_heartbeats_candles_subscriptions_are_counted_only(
    codec: CoinbaseMarketDataCodec, ws_fixture: Any
) -> None:
    assert codec.feed(frame(ws_fixture("ws_heartbeats.json"), 0), 0, CONN) == []
    assert codec.feed(frame(ws_fixture("ws_candles.json"), 1), 0, CONN) == []
    assert codec.feed(frame(ws_fixture("ws_subscriptions.json"), 2), 0, CONN) == []
    stats = codec.stats
    assert (stats.heartbeats, stats.candles) == (1, 1)
    assert stats.frames_by_channel == {"heartbeats": 1, "candles": 1, "subscriptions": 1}
    assert stats.events_by_type == {"candles.update": 1}


def test_user_channel_orders(codec: CoinbaseMarketDataCodec, ws_fixture: Any) -> None:
    (update,) = codec.feed(frame(ws_fixture("ws_user.json"), 0), 0, CONN)
    assert isinstance(update, UserOrderUpdate)
    assert update.connection_id == CONN
    assert update.is_snapshot
    assert update.ts_ns == parse_timestamp_ns("2026-04-07T14:30:06.000000Z")
    assert isinstance(update.order, UserOrder)
    assert update.order.client_order_id == "11111-000000-000001"
    assert update.order.leaves_quantity == Decimal("0.001")
    assert codec.stats.user_orders == 1
    assert codec.stats.events_by_type["user.snapshot"] == 1


def test_user_channel_with_no_orders(codec: CoinbaseMarketDataCodec) -> None:
    event = {"type": "update"}
    text = json.dumps(
        {"channel": "user", "timestamp": "2026-04-07T14:30:06Z", "sequence_num": 0, "events": [event]}
    )
    assert codec.feed(text, 0, CONN) == []
    assert codec.stats.events_by_type["user.update"] == 1


# --- sequencing ----------------------------------------------------------------------------------


def test_gap_marks_books_stale_and_withholds_updates_until_snapshot() -> None:
    codec = live_codec(("BTC-USD", "ETH-USD"))
    events = codec.feed(heartbeat(5), 7 * S, CONN)  # 2, 3, 4 are missing
    issue, *stale = events
    assert issue == FeedIssue(
        FeedIssueKind.GAP,
        CONN,
        "sequence gap: 3 frame(s) missing",
        7 * S,
        expected=2,
        received=5,
        instrument_ids=(BTC, ETH),
    )
    reason = f"sequence gap on {CONN}: expected 2, got 5"
    assert stale == [BookStale(BTC, reason, 7 * S), BookStale(ETH, reason, 7 * S)]
    assert codec.feed(l2(6, "update", "BTC-USD", [("bid", "1", "1")]), 0, CONN) == []
    assert codec.stats.suppressed_book_updates == 1
    (snapshot,) = codec.feed(l2(7, "snapshot", "BTC-USD", SNAPSHOT_LEVELS), 0, CONN)
    assert snapshot.is_snapshot
    (update,) = codec.feed(l2(8, "update", "BTC-USD", [("bid", "1", "1")]), 0, CONN)
    assert update.instrument_id == BTC
    assert codec.feed(l2(9, "update", "ETH-USD", [("bid", "1", "1")]), 0, CONN) == []  # ETH still stale
    assert (codec.stats.gaps, codec.stats.missing_frames) == (1, 3)


def test_a_gap_frame_is_processed(codec: CoinbaseMarketDataCodec) -> None:
    codec.feed(heartbeat(0), 0, CONN)
    issue, snapshot = codec.feed(l2(3, "snapshot", "BTC-USD", SNAPSHOT_LEVELS), 0, CONN)
    assert isinstance(issue, FeedIssue)
    assert issue.kind is FeedIssueKind.GAP
    assert issue.instrument_ids == ()
    assert isinstance(snapshot, OrderBookUpdate)
    assert codec.tracker.is_live(BTC)


def test_duplicate_is_dropped_and_reported() -> None:
    codec = live_codec()
    text = l2(1, "update", "BTC-USD", [("bid", "1", "1")])
    assert len(codec.feed(text, 0, CONN)) == 1
    (issue,) = codec.feed(text, 5, CONN)
    assert issue == FeedIssue(
        FeedIssueKind.DUPLICATE, CONN, "duplicate frame dropped", 5, expected=2, received=1
    )
    assert codec.stats.duplicates == 1
    assert codec.stats.level_changes == 4  # the duplicate's levels are not counted
    assert codec.stats.frames_by_channel["l2_data"] == 3


def test_out_of_order_is_dropped_and_reported() -> None:
    codec = live_codec()
    gap = codec.feed(heartbeat(3), 0, CONN)
    assert [type(event) for event in gap] == [FeedIssue, BookStale]
    (issue,) = codec.feed(l2(2, "update", "BTC-USD", [("bid", "1", "1")]), 9, CONN)
    assert issue == FeedIssue(
        FeedIssueKind.OUT_OF_ORDER, CONN, "out-of-order frame dropped", 9, expected=4, received=2
    )
    assert codec.stats.out_of_order == 1


def test_every_channel_counts_in_the_sequence() -> None:
    codec = live_codec()
    assert codec.feed(heartbeat(1), 0, CONN) == []
    assert codec.feed('{"channel":"status","sequence_num":2,"events":[]}', 0, CONN) == []
    assert len(codec.feed(l2(3, "update", "BTC-USD", [("bid", "1", "1")]), 0, CONN)) == 1
    assert codec.stats.gaps == 0


def test_expected_first_sequence_detects_a_lost_first_frame() -> None:
    codec = CoinbaseMarketDataCodec(expected_first_sequence=0)
    (issue,) = codec.feed(heartbeat(1), 0, CONN)
    assert isinstance(issue, FeedIssue)
    assert (issue.kind, issue.expected, issue.received) == (FeedIssueKind.GAP, 0, 1)


# --- silence and closed connections --------------------------------------------------------------


def test_silence_marks_the_connection_stale() -> None:
    codec = live_codec()
    codec.feed(heartbeat(1), 10 * S, CONN)
    assert codec.check_silence(15 * S) == []
    issue, stale = codec.check_silence(16 * S)
    assert issue == FeedIssue(
        FeedIssueKind.SILENCE, CONN, "no frame for 6.000 s (limit 5 s)", 16 * S, instrument_ids=(BTC,)
    )
    assert stale == BookStale(BTC, f"silence on {CONN}", 16 * S)
    assert codec.check_silence(17 * S) == []
    assert codec.stats.silences == 1
    # Frames resume without a gap: the book still waits for a snapshot.
    assert codec.feed(l2(2, "update", "BTC-USD", [("bid", "1", "1")]), 18 * S, CONN) == []
    assert len(codec.feed(l2(3, "snapshot", "BTC-USD", SNAPSHOT_LEVELS), 18 * S, CONN)) == 1
    assert len(codec.feed(l2(4, "update", "BTC-USD", [("bid", "1", "1")]), 18 * S, CONN)) == 1


def test_heartbeats_keep_a_connection_alive() -> None:
    codec = live_codec()
    for second in range(1, 30):
        codec.feed(heartbeat(second), second * S, CONN)
        assert codec.check_silence(second * S + S // 2) == []


def test_connection_closed_makes_its_books_stale() -> None:
    codec = live_codec(("BTC-USD", "ETH-USD"))
    reason = f"connection {CONN} closed"
    assert codec.connection_closed(CONN, 3) == [BookStale(BTC, reason, 3), BookStale(ETH, reason, 3)]
    assert codec.connection_closed(CONN, 4) == []
    assert codec.feed(l2(0, "update", "BTC-USD", [("bid", "1", "1")]), 0, "ws-2") == []
    assert len(codec.feed(l2(1, "snapshot", "BTC-USD", SNAPSHOT_LEVELS), 0, "ws-2")) == 1


# --- tolerance: unknown channels and fields, error frames ----------------------------------------


def test_unknown_channel_is_counted_not_fatal(codec: CoinbaseMarketDataCodec) -> None:
    text = '{"channel":"futures_balance_summary","timestamp":"x","sequence_num":0,"events":[{"a":1}]}'
    assert codec.feed(text, 0, CONN) == []
    assert codec.feed('{"channel":"status","sequence_num":1}', 0, CONN) == []
    assert codec.stats.unknown_channels == {"futures_balance_summary": 1, "status": 1}
    assert codec.stats.decode_errors == 0
    assert codec.feed(heartbeat(2), 0, CONN) == []
    assert codec.stats.gaps == 0


def test_unknown_channel_frames_are_sequenced_too(codec: CoinbaseMarketDataCodec) -> None:
    codec.feed(heartbeat(0), 0, CONN)
    (issue,) = codec.feed('{"channel":"status","sequence_num":0}', 0, CONN)
    assert isinstance(issue, FeedIssue)
    assert issue.kind is FeedIssueKind.DUPLICATE
    (gap,) = codec.feed('{"channel":"status"}', 0, CONN) + codec.feed(heartbeat(4), 0, CONN)
    assert isinstance(gap, FeedIssue)
    assert gap.kind is FeedIssueKind.GAP


def test_unknown_fields_are_counted_on_sampled_frames(ws_fixture: Any) -> None:
    codec = CoinbaseMarketDataCodec(unknown_field_sample_every=3)
    data = ws_fixture("ws_ticker.json")
    data["new_top"] = 1
    data["events"][0]["tickers"][0]["new_ticker_field"] = "x"
    for number in range(7):
        assert len(codec.feed(frame(data, number), 0, CONN)) == 1
    # Sampled: frames 0, 3 and 6 of (ticker, snapshot).
    assert codec.stats.unknown_field_checks == 3
    assert codec.stats.unknown_fields == {"ticker.new_top": 3, "ticker.events.tickers.new_ticker_field": 3}
    assert codec.stats.decode_errors == 0


def test_unknown_fields_sampling_can_be_first_frame_only(ws_fixture: Any) -> None:
    codec = CoinbaseMarketDataCodec(unknown_field_sample_every=0)
    data = ws_fixture("ws_heartbeats.json")
    data["events"][0]["extra"] = 1
    for number in range(5):
        codec.feed(frame(data, number), 0, CONN)
    assert codec.stats.unknown_fields == {"heartbeats.events.extra": 1}
    with pytest.raises(ValueError, match="unknown_field_sample_every"):
        CoinbaseMarketDataCodec(unknown_field_sample_every=-1)


def test_error_frame_is_a_venue_error(codec: CoinbaseMarketDataCodec) -> None:
    text = '{"type":"error","message":"failure to subscribe","reason":"GIBBERISH-USD is not a valid product"}'
    (issue,) = codec.feed(text, 42, CONN)
    assert issue == FeedIssue(
        FeedIssueKind.VENUE_ERROR, CONN, "failure to subscribe; GIBBERISH-USD is not a valid product", 42
    )
    (bare,) = codec.feed('{"type":"error"}', 43, CONN)
    assert isinstance(bare, FeedIssue)
    assert bare.detail == "error frame"
    assert codec.stats.venue_errors == 2
    assert codec.stats.frames_by_channel["error"] == 2


# --- malformed frames ----------------------------------------------------------------------------


MALFORMED = [
    pytest.param("not json", id="not-json"),
    pytest.param('{"channel":"l2_data","sequence_num":1', id="truncated"),
    pytest.param("[1,2]", id="array"),
    pytest.param('{"type":"subscriptions"}', id="no-channel"),
    pytest.param(l2(1, "update", "BTC-USD", [("bid", "NaN", "1")]), id="nan-price"),
    pytest.param(l2(1, "update", "BTC-USD", [("bid", "1", "Infinity")]), id="infinite-size"),
    pytest.param(l2(1, "update", "BTC-USD", [("bid", "1", "-1")]), id="negative-size"),
    pytest.param(l2(1, "update", "BTC-USD", [("bid", "0", "1")]), id="zero-price"),
    pytest.param(l2(1, "update", "BTC-USD", [("buy", "1", "1")]), id="bad-side"),
    pytest.param(l2(1, "update", "BTC-USD", [("bid", "1.0.0", "1")]), id="bad-number"),
    pytest.param(l2(1, "update", "", [("bid", "1", "1")]), id="empty-product"),
    pytest.param(l2(1, "update", " BTC-USD", [("bid", "1", "1")]), id="untrimmed-product"),
    pytest.param(l2(1, "delta", "BTC-USD", [("bid", "1", "1")]), id="unknown-l2-type"),
    pytest.param(
        l2(1, "update", "BTC-USD", [("bid", "1", "1")]).replace("2026-04-07T14:30:01.456789Z", "yesterday"),
        id="bad-event-time",
    ),
    pytest.param(
        l2(1, "update", "BTC-USD", [("bid", "1", "1")]).replace('"sequence_num": 1', '"sequence_num": "1"'),
        id="string-sequence",
    ),
    pytest.param(
        '{"channel":"market_trades","timestamp":"t","sequence_num":1,"events":[{"type":"update","trades":'
        '[{"trade_id":"1","product_id":"BTC-USD","price":"1","size":"0","side":"BUY","time":"2026-04-07T14:30:01Z"}]}]}',
        id="zero-trade-size",
    ),
    pytest.param(
        '{"channel":"market_trades","timestamp":"t","sequence_num":1,"events":[{"type":"update","trades":'
        '[{"trade_id":"1","product_id":"BTC-USD","price":"1","size":"1","side":"BUY","time":"noon"}]}]}',
        id="bad-trade-time",
    ),
    pytest.param(
        '{"channel":"ticker","timestamp":"2026-04-07T14:30:01Z","sequence_num":1,"events":[{"type":"update",'
        '"tickers":[{"product_id":"BTC-USD","best_bid":"-5"}]}]}',
        id="negative-ticker",
    ),
    pytest.param(
        '{"channel":"ticker","timestamp":"later","sequence_num":1,"events":[{"type":"update",'
        '"tickers":[{"product_id":"BTC-USD"}]}]}',
        id="bad-ticker-time",
    ),
]


@pytest.mark.parametrize("text", MALFORMED)
def test_malformed_frame_raises_decode_error_and_is_counted(text: str) -> None:
    codec = live_codec()
    with pytest.raises(DecodeError):
        codec.feed(text, 0, CONN)
    assert codec.stats.decode_errors == 1
    assert codec.feed_safe(text, 0, CONN) == []
    assert codec.stats.decode_errors == 2
    assert codec.stats.frames == 3


@pytest.mark.parametrize(
    "change",
    [
        ("cumulative_quantity", "NaN"),
        ("leaves_quantity", "-1"),
        ("total_fees", "Infinity"),
        ("product_id", ""),
        ("cumulative_quantity", 1.5e400),
    ],
)
def test_malformed_user_order(ws_fixture: Any, change: tuple[str, Any]) -> None:
    data = ws_fixture("ws_user.json")
    name, value = change
    data["events"][0]["orders"][0][name] = value
    codec = CoinbaseMarketDataCodec()
    text = frame(data, 0).replace("Infinity", '"Infinity"') if isinstance(value, float) else frame(data, 0)
    with pytest.raises(DecodeError):
        codec.feed(text, 0, CONN)


def test_a_malformed_frame_is_a_lost_frame() -> None:
    codec = live_codec()
    bad = l2(1, "update", "BTC-USD", [("bid", "NaN", "1")])
    assert codec.feed_safe(bad, 0, CONN) == []
    assert codec.tracker.last_sequence(CONN) == 0  # nothing about the bad frame was recorded
    issue, stale = codec.feed(l2(2, "update", "BTC-USD", [("bid", "1", "1")]), 0, CONN)
    assert isinstance(issue, FeedIssue)
    assert (issue.kind, issue.expected, issue.received) == (FeedIssueKind.GAP, 1, 2)
    assert stale == BookStale(BTC, f"sequence gap on {CONN}: expected 1, got 2", 0)


def test_bytes_frames_are_accepted() -> None:
    codec = live_codec()
    (update,) = codec.feed(l2(1, "update", "BTC-USD", [("offer", "101", "2")]).encode(), 0, CONN)
    assert isinstance(update, OrderBookUpdate)
    assert update.asks == ((Decimal(101), Decimal(2)),)
    with pytest.raises(DecodeError):
        codec.feed(b"\xff\xfe", 0, CONN)


def test_instrument_id_cache_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(market_data_codec, "_MAX_CACHED_INSTRUMENTS", 2)
    codec = CoinbaseMarketDataCodec()
    ids = [codec.instrument_id(symbol) for symbol in ("A-USD", "B-USD", "C-USD", "A-USD")]
    assert [instrument_id.symbol for instrument_id in ids] == ["A-USD", "B-USD", "C-USD", "A-USD"]
    assert ids[0] == ids[3]
    assert ids[0] is not ids[3]  # evicted and rebuilt


def test_instrument_ids_are_cached_and_validated(codec: CoinbaseMarketDataCodec) -> None:
    assert codec.instrument_id("BTC-USD") is codec.instrument_id("BTC-USD")
    assert codec.instrument_id("BTC-USD") == BTC
    with pytest.raises(DecodeError, match="bad product id"):
        codec.instrument_id("")
