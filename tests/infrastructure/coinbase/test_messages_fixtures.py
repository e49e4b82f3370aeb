"""Every hand-written WebSocket fixture decodes into its typed message, fields intact."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec
import pytest

from infrastructure.venues.coinbase.messages import (
    KNOWN_CHANNELS,
    CandlesMessage,
    DecodeError,
    ErrorMessage,
    HeartbeatsMessage,
    L2DataMessage,
    MarketTradesMessage,
    SubscriptionsMessage,
    TickerBatchMessage,
    TickerMessage,
    UnknownChannelMessage,
    UserMessage,
    decode_message,
    find_unknown_fields,
)

EXPECTED_TYPES = {
    "ws_candles.json": CandlesMessage,
    "ws_heartbeats.json": HeartbeatsMessage,
    "ws_l2_data_snapshot.json": L2DataMessage,
    "ws_l2_data_update.json": L2DataMessage,
    "ws_market_trades.json": MarketTradesMessage,
    "ws_subscriptions.json": SubscriptionsMessage,
    "ws_ticker.json": TickerMessage,
    "ws_user.json": UserMessage,
}


def test_every_ws_fixture_is_expected(fixtures_dir: Path) -> None:
    assert sorted(path.name for path in fixtures_dir.glob("ws_*.json")) == sorted(EXPECTED_TYPES)


@pytest.mark.parametrize("name", sorted(EXPECTED_TYPES))
def test_ws_fixture_decodes_with_no_unknown_field(fixtures_dir: Path, name: str) -> None:
    text = (fixtures_dir / name).read_text()
    message = decode_message(text)
    assert type(message) is EXPECTED_TYPES[name]
    assert find_unknown_fields(json.loads(text)) == set()
    assert decode_message(text.encode()) == message  # bytes and str decode alike


def test_l2_snapshot_fields(ws_fixture: Any) -> None:
    message = decode_message(json.dumps(ws_fixture("ws_l2_data_snapshot.json")))
    assert isinstance(message, L2DataMessage)
    assert message.sequence_num == 0
    (event,) = message.events
    assert (event.type, event.product_id) == ("snapshot", "BTC-USD")
    assert [level.side for level in event.updates] == ["bid"] * 3 + ["offer"] * 3
    first = event.updates[0]
    assert first.price_level == Decimal("68900.00")
    assert type(first.price_level) is Decimal
    assert first.new_quantity == Decimal("1.50000000")
    assert first.event_time == "2026-04-07T14:30:00.123456Z"


def test_l2_update_fields(ws_fixture: Any) -> None:
    message = decode_message(json.dumps(ws_fixture("ws_l2_data_update.json")))
    assert isinstance(message, L2DataMessage)
    (event,) = message.events
    assert event.type == "update"
    assert [(level.side, level.price_level, level.new_quantity) for level in event.updates] == [
        ("bid", Decimal("68900.00"), Decimal("2.00000000")),
        ("offer", Decimal("68901.00"), Decimal("0E-8")),
    ]


def test_market_trades_fields(ws_fixture: Any) -> None:
    message = decode_message(json.dumps(ws_fixture("ws_market_trades.json")))
    assert isinstance(message, MarketTradesMessage)
    trades = message.events[0].trades
    assert [(t.trade_id, t.side, t.price, t.size) for t in trades] == [
        ("995098700", "BUY", Decimal("68900.50"), Decimal("0.00150000")),
        ("995098701", "SELL", Decimal("68900.00"), Decimal("0.05000000")),
    ]


def test_ticker_fields(ws_fixture: Any) -> None:
    message = decode_message(json.dumps(ws_fixture("ws_ticker.json")))
    assert isinstance(message, TickerMessage)
    (ticker,) = message.events[0].tickers
    assert ticker.product_id == "BTC-USD"
    assert (ticker.price, ticker.best_bid, ticker.best_bid_quantity) == (
        Decimal("68900.50"),
        Decimal("68900.00"),
        Decimal("1.50000000"),
    )
    assert (ticker.best_ask, ticker.best_ask_quantity) == (Decimal("68901.00"), Decimal("0.50000000"))
    assert ticker.price_percent_chg_24_h == Decimal("1.85")


def test_ticker_batch_shares_the_ticker_schema(ws_fixture: Any) -> None:
    frame = ws_fixture("ws_ticker.json")
    frame["channel"] = "ticker_batch"
    message = decode_message(json.dumps(frame))
    assert isinstance(message, TickerBatchMessage)
    assert message.events[0].tickers[0].best_bid == Decimal("68900.00")


def test_candles_heartbeats_subscriptions_fields(ws_fixture: Any) -> None:
    candles = decode_message(json.dumps(ws_fixture("ws_candles.json")))
    assert isinstance(candles, CandlesMessage)
    (candle,) = candles.events[0].candles
    assert (candle.start, candle.open, candle.close, candle.volume) == (
        "1775521800",
        Decimal("68900.00"),
        Decimal("68920.50"),
        Decimal("42.15000000"),
    )
    heartbeats = decode_message(json.dumps(ws_fixture("ws_heartbeats.json")))
    assert isinstance(heartbeats, HeartbeatsMessage)
    assert heartbeats.events[0].heartbeat_counter == 42
    subscriptions = decode_message(json.dumps(ws_fixture("ws_subscriptions.json")))
    assert isinstance(subscriptions, SubscriptionsMessage)
    assert subscriptions.events[0].subscriptions == {
        "level2": ["BTC-USD"],
        "market_trades": ["BTC-USD", "ETH-USD"],
    }


def test_user_channel_order_fields(ws_fixture: Any) -> None:
    message = decode_message(json.dumps(ws_fixture("ws_user.json")))
    assert isinstance(message, UserMessage)
    assert message.sequence_num == 1
    (event,) = message.events
    assert event.type == "snapshot"
    (order,) = event.orders
    assert order.order_id == "a1b2c3d4-e5f6-7890-abcd-ef1234567890"
    assert order.client_order_id == "11111-000000-000001"
    assert (order.status, order.product_id, order.order_side, order.order_type) == (
        "OPEN",
        "BTC-USD",
        "BUY",
        "Limit",
    )
    assert order.cumulative_quantity == Decimal(0)
    assert order.leaves_quantity == Decimal("0.001")
    assert order.avg_price == Decimal(0)
    assert order.total_fees == Decimal(0)
    assert order.total_value_after_fees == Decimal("68.90050000")
    assert order.creation_time == "2026-04-07T14:29:55.123456Z"
    assert (order.cancel_reason, order.reject_reason) == ("", "")
    assert order.time_in_force == "GOOD_UNTIL_CANCELLED"
    assert order.product_type == "SPOT"
    assert order.contract_expiry_type == "UNKNOWN_CONTRACT_EXPIRY_TYPE"
    assert order.risk_managed_by == "UNKNOWN_RISK_MANAGEMENT_TYPE"
    assert order.trigger_status == "INVALID_ORDER_TYPE"


def test_user_order_without_optional_fields(ws_fixture: Any) -> None:
    frame = ws_fixture("ws_user.json")
    order = frame["events"][0]["orders"][0]
    for optional in ("cancel_reason", "reject_reason", "total_value_after_fees", "trigger_status"):
        del order[optional]
    message = decode_message(json.dumps(frame))
    assert isinstance(message, UserMessage)
    assert message.events[0].orders[0].total_value_after_fees is None


def test_known_channels() -> None:
    assert {
        "l2_data",
        "market_trades",
        "ticker",
        "ticker_batch",
        "candles",
        "heartbeats",
        "subscriptions",
        "user",
    } == KNOWN_CHANNELS


def test_error_frame() -> None:
    message = decode_message(b'{"type":"error","message":"failure to subscribe","reason":"bad product"}')
    assert message == ErrorMessage(message="failure to subscribe", reason="bad product")


def test_unknown_channel_keeps_its_envelope() -> None:
    message = decode_message('{"channel":"status","timestamp":"t","sequence_num":7,"events":[{"x":1}]}')
    assert message == UnknownChannelMessage("status", 7, "t")


@pytest.mark.parametrize(
    "text",
    [
        "",
        "{",
        "[]",
        "42",
        '"l2_data"',
        "{}",
        '{"type":"subscriptions"}',
        '{"channel":"l2_data"}',
        '{"channel":"l2_data","timestamp":"t","sequence_num":"1","events":[]}',
        '{"channel":"l2_data","timestamp":"t","sequence_num":1,"events":[{"type":"replace"}]}',
        '{"channel":"ticker","timestamp":"t","sequence_num":1,"events":[{"type":"update","tickers":[{}]}]}',
        '{"channel":"status","sequence_num":"x"}',
        '{"channel":7,"sequence_num":1}',
        "\ud800",
    ],
)
def test_malformed_frames_raise_decode_error(text: str) -> None:
    with pytest.raises(DecodeError):
        decode_message(text)


def test_invalid_utf8_bytes_raise_decode_error() -> None:
    with pytest.raises(DecodeError):
        decode_message(b'{"channel":"l2_data\xff"}')


def test_deep_nesting_raises_decode_error() -> None:
    with pytest.raises(DecodeError):
        decode_message("[" * 100_000)


def test_find_unknown_fields_at_every_level(ws_fixture: Any) -> None:
    frame = ws_fixture("ws_l2_data_update.json")
    frame["new_envelope_field"] = 1
    frame["events"][0]["new_event_field"] = True
    frame["events"][0]["updates"][1]["new_level_field"] = "x"
    assert find_unknown_fields(frame) == {
        "l2_data.new_envelope_field",
        "l2_data.events.new_event_field",
        "l2_data.events.updates.new_level_field",
    }
    assert type(decode_message(msgspec.json.encode(frame))) is L2DataMessage  # still decodes


@pytest.mark.parametrize(
    "frame",
    [None, [], {"channel": "status", "x": 1}, {"channel": 3}, {"channel": "ticker", "events": {}}],
)
def test_find_unknown_fields_ignores_odd_shapes(frame: object) -> None:
    assert find_unknown_fields(frame) == set()


def test_find_unknown_fields_skips_non_dict_items() -> None:
    frame = {"channel": "user", "events": [1, {"type": "update", "orders": [2, {"order_id": "a", "new": 1}]}]}
    assert find_unknown_fields(frame) == {"user.events.orders.new"}
