"""The dYdX market data codec, as a specification: real frames in, exact events out.

Frames are the real ones of ../shared/data/dydx-v4/indexer-real where one exists; sequences (gaps,
duplicates) are built from real frames with their message_id and id rewritten.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from domain.instrument import InstrumentId
from domain.market_data import BookStale, FeedIssue, FeedIssueKind, OrderBookUpdate, TradeTick
from domain.order_terms import OrderSide
from infrastructure.venues.dydx.events import (
    DydxBlockHeight,
    DydxCandles,
    DydxMarketsUpdate,
    DydxSubaccountUpdate,
    DydxTradeHistory,
)
from infrastructure.venues.dydx.market_data_codec import DecodeError, DydxMarketDataCodec, Event

TS = 1_723_000_000_123_456_789
ETH = InstrumentId("DYDX", "ETH-USD")
BTC = InstrumentId("DYDX", "BTC-USD")

RealFrame = Callable[[str], str]


def d(text: str) -> Decimal:
    return Decimal(text)


def only(events: list[Event], kind: type[Any]) -> Any:
    matching = [event for event in events if isinstance(event, kind)]
    assert len(matching) == 1, events
    return matching[0]


def trade_ticks(events: list[Event]) -> list[TradeTick]:
    assert all(isinstance(event, TradeTick) for event in events), events
    return [event for event in events if isinstance(event, TradeTick)]


def rewrite(text: str, **changes: Any) -> str:
    frame = json.loads(text)
    frame.update(changes)
    return json.dumps(frame)


def book_frame(kind: str, message_id: int, symbol: str, contents: Any) -> str:
    return json.dumps(
        {"type": kind, "connection_id": "x", "message_id": message_id, "channel": "v4_orderbook",
         "id": symbol, "contents": contents}
    )  # fmt: skip


@pytest.fixture
def codec() -> DydxMarketDataCodec:
    return DydxMarketDataCodec()


# --- order books ------------------------------------------------------------------------------


def test_subscribed_orderbook_is_a_snapshot_of_both_sides(
    codec: DydxMarketDataCodec, real_ws: RealFrame
) -> None:
    update = only(codec.feed(real_ws("v4_orderbook_snapshot"), TS, "c1"), OrderBookUpdate)
    assert update.instrument_id == ETH
    assert update.is_snapshot
    assert (len(update.bids), len(update.asks)) == (100, 100)
    assert update.bids[0] == (d("3393.2"), d("7.795"))
    assert update.asks[0] == (d("3393.5"), d("4.946"))
    assert update.ts_ns == TS  # book frames carry no venue time: the receive time


def test_channel_data_levels_arrive_as_price_size_arrays(
    codec: DydxMarketDataCodec, real_ws: RealFrame
) -> None:
    update = only(codec.feed(real_ws("v4_orderbook"), TS, "c1"), OrderBookUpdate)
    assert update == OrderBookUpdate(BTC, False, ((d("65920"), d("0")),), (), TS)


def test_a_batch_is_one_update_holding_every_change_in_order(
    codec: DydxMarketDataCodec, real_ws: RealFrame
) -> None:
    text = real_ws("v4_orderbook_batched_data")
    contents = json.loads(text)["contents"]
    update = only(codec.feed(text, TS, "c1"), OrderBookUpdate)
    expected_bids = tuple((d(p), d(s)) for item in contents for p, s in item.get("bids", []))
    expected_asks = tuple((d(p), d(s)) for item in contents for p, s in item.get("asks", []))
    assert (update.bids, update.asks) == (expected_bids, expected_asks)
    assert update.bids[:3] == ((d("2396.1"), d("3.123")), (d("2396"), d("2.664")), (d("2396.3"), d("2.299")))
    assert len(contents) == 41
    assert update.level_count >= 41


def test_levels_are_accepted_as_objects_or_arrays_in_every_frame_kind(codec: DydxMarketDataCodec) -> None:
    as_objects = {"bids": [{"price": "10.5", "size": "2"}], "asks": [{"price": "11", "size": "0"}]}
    as_arrays = {"bids": [["10.5", "2"]], "asks": [["11", "0"]]}
    for kind in ("subscribed", "channel_data"):
        a = only(
            codec.feed(book_frame(kind, 1, "ETH-USD", as_objects), TS, f"{kind}-objects"), OrderBookUpdate
        )
        b = only(codec.feed(book_frame(kind, 1, "ETH-USD", as_arrays), TS, f"{kind}-arrays"), OrderBookUpdate)
        assert a == b
        assert a.bids == ((d("10.5"), d("2")),)


def test_a_book_update_without_levels_yields_no_event(codec: DydxMarketDataCodec) -> None:
    assert codec.feed(book_frame("channel_data", 1, "ETH-USD", {}), TS, "c1") == []


@pytest.mark.parametrize(
    "level",
    [
        ["0", "1"],
        ["-1", "1"],
        ["1", "-0.5"],
        ["NaN", "1"],
        ["1", "Infinity"],
        ["1", "1", "7"],
        ["x", "1"],
        [1.5],
    ],
)
def test_a_level_that_is_not_a_positive_price_and_a_size_is_malformed(
    codec: DydxMarketDataCodec, level: list[Any]
) -> None:
    with pytest.raises(DecodeError):
        codec.feed(book_frame("channel_data", 1, "ETH-USD", {"bids": [level]}), TS, "c1")


# --- trades -----------------------------------------------------------------------------------


def test_a_trade_side_is_the_taker_side_and_its_time_is_the_venue_time(
    codec: DydxMarketDataCodec, real_ws: RealFrame
) -> None:
    ticks = codec.feed(real_ws("v4_trades"), TS, "c1")
    assert ticks == [
        TradeTick(
            ETH, "014206cf0000000200000002", d("3392.9"), d("0.01"), OrderSide.BUY, 1_721_848_355_705_000_000
        ),
        TradeTick(
            ETH, "014206cf000000020000000e", d("3392.9"), d("1.738"), OrderSide.BUY, 1_721_848_355_705_000_000
        ),
    ]


def test_a_deleveraging_trade_keeps_its_exact_price(codec: DydxMarketDataCodec, real_ws: RealFrame) -> None:
    ticks = trade_ticks(codec.feed(real_ws("trade_deleveraged"), TS, "c1"))
    assert [tick.aggressor_side for tick in ticks] == [OrderSide.BUY, OrderSide.BUY, OrderSide.SELL]
    assert ticks[2].price == d("2340.7442700369913687")


def test_the_trades_a_subscription_starts_with_are_history_oldest_first(
    codec: DydxMarketDataCodec, dydx_dir: Path
) -> None:
    # The subscription's initial trades are GET /v4/trades: a real body, newest first.
    body = json.loads((dydx_dir / "indexer-fixtures" / "http_get_trades.json").read_text())["result"]
    frame = {"type": "subscribed", "message_id": 1, "channel": "v4_trades", "id": "BTC-USD", "contents": body}
    history = only(codec.feed(json.dumps(frame), TS, "c1"), DydxTradeHistory)
    assert [tick.trade_id for tick in history.trades] == [trade["id"] for trade in reversed(body["trades"])]
    assert [tick.ts_ns for tick in history.trades] == sorted(tick.ts_ns for tick in history.trades)
    assert [type(event) for event in codec.feed(json.dumps(frame), TS, "c2")] == [
        DydxTradeHistory
    ]  # no live prints


def test_a_trade_batch_yields_every_trade_in_order(codec: DydxMarketDataCodec, real_ws: RealFrame) -> None:
    frame = json.loads(real_ws("trade_deleveraged"))
    frame["type"] = "channel_batch_data"
    frame["contents"] = [{"trades": [trade]} for trade in frame["contents"]["trades"]]
    ticks = trade_ticks(codec.feed(json.dumps(frame), TS, "c1"))
    assert [tick.trade_id for tick in ticks] == [
        t["id"] for item in frame["contents"] for t in item["trades"]
    ]


# --- markets ----------------------------------------------------------------------------------


def test_the_markets_snapshot_carries_every_markets_protocol_parameters(
    codec: DydxMarketDataCodec, real_ws: RealFrame
) -> None:
    update = only(codec.feed(real_ws("v4_markets_subscribed"), TS, "c1"), DydxMarketsUpdate)
    assert update.is_snapshot
    assert len(update.markets) == len(update.parameters) == 98
    btc = next(p for p in update.parameters if p.ticker == "BTC-USD")
    assert (btc.clob_pair_id, btc.atomic_resolution, btc.quantum_conversion_exponent) == (0, -10, -9)
    assert (btc.step_base_quantums, btc.subticks_per_tick) == (1_000_000, 100_000)


def test_an_oracle_price_update_carries_no_market(codec: DydxMarketDataCodec, real_ws: RealFrame) -> None:
    update = only(codec.feed(real_ws("v4_markets_oracle_price"), TS, "c1"), DydxMarketsUpdate)
    assert not update.is_snapshot
    assert (update.markets, update.parameters) == ((), ())
    [(ticker, price)] = update.oracle_prices
    assert (ticker, price.oracle_price, price.market_id) == ("FTM-USD", d("0.3866273177"), 82)


def test_a_partial_trading_update_has_no_parameters(codec: DydxMarketDataCodec, real_ws: RealFrame) -> None:
    update = only(codec.feed(real_ws("v4_markets_trading_data"), TS, "c1"), DydxMarketsUpdate)
    [(ticker, market)] = update.markets
    assert (ticker, market.base_open_interest, update.parameters) == ("CRO-USD", d("5100"), ())


def test_a_new_listing_in_a_trading_update_carries_its_parameters(
    codec: DydxMarketDataCodec, real_ws: RealFrame
) -> None:
    update = only(codec.feed(real_ws("v4_markets_channel_data_v8"), TS, "c1"), DydxMarketsUpdate)
    [parameters] = update.parameters
    assert (parameters.ticker, parameters.tick_size, parameters.step_size) == (
        "TRY-USD",
        d("0.00001"),
        d("100"),
    )


def test_a_market_record_naming_another_ticker_is_malformed(
    codec: DydxMarketDataCodec, real_ws: RealFrame
) -> None:
    frame = json.loads(real_ws("v4_markets_channel_data_v8"))
    frame["contents"]["trading"]["TRY-USD"]["ticker"] = "EUR-USD"
    with pytest.raises(DecodeError, match="names itself"):
        codec.feed(json.dumps(frame), TS, "c1")


# --- subaccounts, candles, block height -------------------------------------------------------


def test_the_subscribed_subaccount_is_its_state(codec: DydxMarketDataCodec, real_ws: RealFrame) -> None:
    update = only(codec.feed(real_ws("v4_accounts_subscribed"), TS, "c1"), DydxSubaccountUpdate)
    assert update.is_snapshot
    assert update.subaccount_id == "dydx1m5kup0427wptegfed9k4kygtu0avm76a034q/0"
    assert update.block_height == 22_079_023
    assert update.contents.subaccount is not None
    assert update.contents.subaccount.equity == d("11.623325")
    assert [position.size for position in update.asset_positions] == [d("11.623325")]
    [order] = update.orders
    assert (order.side, order.price, order.status) == ("BUY", d("3335.3"), "OPEN")


def test_fills_are_typed_and_exact(codec: DydxMarketDataCodec, real_ws: RealFrame) -> None:
    update = only(codec.feed(real_ws("v4_accounts_fills"), TS, "c1"), DydxSubaccountUpdate)
    assert update.block_height == 18_794_557
    fill = update.fills[0]
    assert (fill.side, fill.liquidity, fill.price, fill.size, fill.fee) == (
        "BUY", "TAKER", d("2620.1"), d("0.001"), d("0.001311"),
    )  # fmt: skip
    assert fill.event_id == "011ec83d000000020000000b"


def test_order_updates_may_be_partial(codec: DydxMarketDataCodec, real_ws: RealFrame) -> None:
    update = only(
        codec.feed(real_ws("v4_accounts_channel_data_order_expired"), TS, "c1"), DydxSubaccountUpdate
    )
    [order] = update.orders
    assert (order.status, order.removal_reason, order.price, order.size) == (
        "CANCELED", "ORDER_REMOVAL_REASON_EXPIRED", None, None,
    )  # fmt: skip


def test_a_transfer_names_both_ends(codec: DydxMarketDataCodec, real_ws: RealFrame) -> None:
    update = only(codec.feed(real_ws("v4_accounts_channel_data_transfers"), TS, "c1"), DydxSubaccountUpdate)
    [transfer] = update.transfers
    assert (transfer.type, transfer.size, transfer.symbol) == ("WITHDRAWAL", d("10"), "USDC")
    assert (transfer.sender.subaccount_number, transfer.recipient.subaccount_number) == (0, None)


def test_a_subaccount_batch_yields_one_update_per_message(
    codec: DydxMarketDataCodec, real_ws: RealFrame
) -> None:
    fills = json.loads(real_ws("v4_accounts_fills"))
    rewards = json.loads(real_ws("v4_accounts_rewards"))
    fills["type"] = "channel_batch_data"
    fills["contents"] = [fills["contents"], rewards["contents"]]
    first, second = codec.feed(json.dumps(fills), TS, "c1")
    assert isinstance(first, DydxSubaccountUpdate)
    assert isinstance(second, DydxSubaccountUpdate)
    assert first.fills
    assert not second.fills
    assert second.contents.trading_reward is not None
    assert second.contents.trading_reward.trading_reward == d("0.000406735266535702")


def test_candles_and_block_heights(codec: DydxMarketDataCodec, real_ws: RealFrame) -> None:
    candles = only(codec.feed(real_ws("v4_candles_channel_data"), TS, "c1"), DydxCandles)
    assert (candles.stream_id, candles.is_snapshot, candles.candles[0].close) == (
        "ETH-USD/1MIN",
        False,
        d("3247.6"),
    )
    subscribed = only(codec.feed(real_ws("v4_block_height_subscribed"), TS, "c2"), DydxBlockHeight)
    update = only(codec.feed(real_ws("v4_block_height_channel_data"), TS, "c2"), DydxBlockHeight)
    assert (subscribed.height, update.height) == (26_543_048, 26_543_049)
    assert update.time_ns == 1_733_165_133_548_000_000


# --- the connection: errors, subscriptions, message ids ----------------------------------------


def test_an_error_frame_is_a_venue_error(codec: DydxMarketDataCodec, real_ws: RealFrame) -> None:
    issue = only(codec.feed(real_ws("error"), TS, "c1"), FeedIssue)
    assert issue.kind is FeedIssueKind.VENUE_ERROR
    assert "could not fetch data for subscription: v4_orderbook" in issue.detail


def test_unsubscribing_from_a_book_marks_it_stale(codec: DydxMarketDataCodec) -> None:
    codec.feed(book_frame("subscribed", 1, "ETH-USD", {"bids": [], "asks": []}), TS, "c1")
    stale = only(codec.feed(book_frame("unsubscribed", 2, "ETH-USD", None), TS + 1, "c1"), BookStale)
    assert (stale.instrument_id, stale.reason) == (ETH, "unsubscribed")


def test_a_gap_on_the_connection_makes_every_book_of_it_stale(codec: DydxMarketDataCodec) -> None:
    codec.feed('{"type": "connected", "connection_id": "x", "message_id": 0}', TS, "c1")
    codec.feed(book_frame("subscribed", 1, "ETH-USD", {"bids": [["1", "1"]]}), TS, "c1")
    codec.feed(book_frame("subscribed", 2, "BTC-USD", {"bids": [["1", "1"]]}), TS, "c1")
    codec.feed(book_frame("channel_data", 3, "ETH-USD", {"bids": [["1", "2"]]}), TS, "c1")
    events = codec.feed(book_frame("channel_data", 5, "BTC-USD", {"bids": [["1", "3"]]}), TS, "c1")
    gap = only(events, FeedIssue)
    assert (gap.kind, gap.expected, gap.received, gap.stream) == (FeedIssueKind.GAP, 4, 5, "c1")
    assert set(gap.instrument_ids) == {ETH, BTC}
    assert {event.instrument_id for event in events if isinstance(event, BookStale)} == {ETH, BTC}
    assert isinstance(events[-1], OrderBookUpdate)  # the frame itself is good and still applied


def test_a_reply_overtaken_by_later_ids_is_no_gap_when_its_subscribe_was_announced(
    codec: DydxMarketDataCodec,
) -> None:
    codec.feed('{"type": "connected", "connection_id": "x", "message_id": 0}', TS, "c1")
    codec.subscribe_sent("c1", TS)
    codec.subscribe_sent("c1", TS)
    frames = [
        book_frame("subscribed", 1, "ETH-USD", {"bids": [["1", "1"]]}),
        book_frame("channel_data", 3, "ETH-USD", {"bids": [["1", "2"]]}),  # id 2 is BTC's reply, late
        book_frame("channel_data", 4, "ETH-USD", {"bids": [["1", "3"]]}),
        book_frame("subscribed", 2, "BTC-USD", {"bids": [["1", "1"]]}),
        book_frame("channel_data", 5, "BTC-USD", {"bids": [["1", "2"]]}),
    ]
    events = [event for text in frames for event in codec.feed(text, TS, "c1")]
    assert [type(event) for event in events] == [OrderBookUpdate] * 5
    unannounced = DydxMarketDataCodec()
    unannounced.feed('{"type": "connected", "connection_id": "x", "message_id": 0}', TS, "c1")
    issues = [
        event for text in frames for event in unannounced.feed(text, TS, "c1") if isinstance(event, FeedIssue)
    ]
    assert [issue.kind for issue in issues] == [FeedIssueKind.GAP]


def test_a_duplicate_frame_is_dropped(codec: DydxMarketDataCodec, real_ws: RealFrame) -> None:
    text = real_ws("v4_orderbook")
    assert isinstance(codec.feed(text, TS, "c1")[0], OrderBookUpdate)
    issue = only(codec.feed(text, TS, "c1"), FeedIssue)
    assert (issue.kind, issue.instrument_ids) == (FeedIssueKind.DUPLICATE, (BTC,))
    assert codec.feed(rewrite(text, message_id=3000), TS, "c1") == [
        FeedIssue(
            FeedIssueKind.OUT_OF_ORDER, "c1:v4_orderbook:BTC-USD",
            "message_id 3000 after 3219 in the same stream: dropped", TS, 3220, 3000, (BTC,),
        )
    ]  # fmt: skip
    assert codec.stats.dropped_frames == 2


def test_a_frame_that_fails_to_decode_consumes_no_id_so_the_next_frame_reveals_the_gap(
    codec: DydxMarketDataCodec,
) -> None:
    codec.feed(book_frame("subscribed", 1, "ETH-USD", {"bids": [["1", "1"]]}), TS, "c1")
    with pytest.raises(DecodeError):
        codec.feed(book_frame("channel_data", 2, "ETH-USD", {"bids": [["1", "-1"]]}), TS, "c1")
    events = codec.feed(book_frame("channel_data", 3, "ETH-USD", {"bids": [["1", "2"]]}), TS, "c1")
    assert [type(event) for event in events] == [FeedIssue, BookStale, OrderBookUpdate]


def test_a_new_connection_makes_the_books_of_the_old_one_stale(codec: DydxMarketDataCodec) -> None:
    codec.feed(book_frame("subscribed", 1, "ETH-USD", {"bids": [["1", "1"]]}), TS, "c1")
    stale = only(
        codec.feed('{"type": "connected", "connection_id": "y", "message_id": 0}', TS, "c1"), BookStale
    )
    assert (stale.instrument_id, stale.reason) == (ETH, "new connection")


# --- decode policy ----------------------------------------------------------------------------


def test_an_unknown_channel_is_counted_and_keeps_its_place_in_the_sequence(
    codec: DydxMarketDataCodec,
) -> None:
    codec.feed(book_frame("subscribed", 1, "ETH-USD", {}), TS, "c1")
    unknown = {"type": "channel_data", "message_id": 2, "channel": "v5_new", "id": "x", "contents": {"a": 1}}
    assert codec.feed(json.dumps(unknown), TS, "c1") == []
    assert [
        type(e)
        for e in codec.feed(book_frame("channel_data", 3, "ETH-USD", {"bids": [["1", "1"]]}), TS, "c1")
    ] == [OrderBookUpdate]
    assert codec.stats.unknown_channels == {"v5_new": 1}


def test_an_unknown_frame_type_is_counted(codec: DydxMarketDataCodec) -> None:
    assert codec.feed('{"type": "pong", "message_id": 4}', TS, "c1") == []
    assert codec.stats.unknown_types == {"pong": 1}


def test_unknown_fields_are_ignored_and_counted_by_path(
    codec: DydxMarketDataCodec, real_ws: RealFrame
) -> None:
    frame = json.loads(real_ws("v4_accounts_fills"))
    frame["shard"] = 7
    for fill in frame["contents"]["fills"]:
        fill["builderFee"] = "0.1"
    update = only(codec.feed(json.dumps(frame), TS, "c1"), DydxSubaccountUpdate)
    assert len(update.fills) == len(frame["contents"]["fills"]) == 2
    assert codec.stats.unknown_fields == {
        "v4_subaccounts:$.shard": 1,
        "v4_subaccounts:$.contents.fills[].builderFee": 1,
    }


TRADES = {"type": "channel_data", "message_id": 1, "channel": "v4_trades", "id": "ETH-USD"}
GOOD_TRADE = {"id": "t", "side": "BUY", "size": "1", "price": "1", "createdAt": "2024-01-01T00:00:00Z"}


def _with(frame: dict[str, Any], **fields: Any) -> str:
    return json.dumps({**frame, **fields})


def _trade(**fields: Any) -> str:
    trade = {key: value for key, value in {**GOOD_TRADE, **fields}.items() if value is not None}
    return _with(TRADES, contents={"trades": [trade]})


MALFORMED: dict[str, str | bytes] = {
    "not json": b"{not json",
    "invalid utf-8": b'{"type": "connected", "message_id": 0, "x": "\xff"}',
    "not an object": "[1, 2]",
    "no type": '{"message_id": 1}',
    "no message id": '{"type": "channel_data", "channel": "v4_trades", "id": "ETH-USD", "contents": {}}',
    "no channel": '{"type": "channel_data", "message_id": 1, "contents": {}}',
    "book without id": '{"type": "channel_data", "message_id": 1, "channel": "v4_orderbook", "contents": {}}',
    "batch not a list": _with(TRADES, type="channel_batch_data", contents={"trades": []}),
    "trade without id": _trade(id=None),
    "naive timestamp": _trade(createdAt="2024-01-01T00:00:00"),
    "unknown side": _trade(side="HOLD"),
    "zero size": _trade(size="0"),
    "NaN fill price": _with(
        TRADES, channel="v4_subaccounts", id="a/0",
        contents={"fills": [{"id": "f", "side": "BUY", "size": "1", "price": "NaN"}]},
    ),
    "block height not a number": _with(
        TRADES, channel="v4_block_height", id="v4_block_height",
        contents={"blockHeight": "12a", "time": "2024-01-01T00:00:00Z"},
    ),
}  # fmt: skip


@pytest.mark.parametrize("text", MALFORMED.values(), ids=MALFORMED.keys())
def test_a_malformed_frame_raises_decode_error_and_feed_safe_counts_it(text: str | bytes) -> None:
    codec = DydxMarketDataCodec()
    with pytest.raises(DecodeError):
        codec.feed(text, TS, "c1")
    assert codec.feed_safe(text, TS, "c1") == []
    assert (codec.stats.frames, codec.stats.decode_errors, codec.stats.unexpected_errors) == (2, 2, 0)


def test_a_bug_inside_the_codec_still_leaves_it_as_a_decode_error(
    codec: DydxMarketDataCodec, real_ws: RealFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_: object) -> list[Event]:
        raise KeyError("a bug")

    monkeypatch.setitem(
        __import__("infrastructure.venues.dydx.market_data_codec", fromlist=["_DECODERS"])._DECODERS,
        "v4_trades",
        broken,
    )
    with pytest.raises(DecodeError, match="unexpected KeyError"):
        codec.feed(real_ws("v4_trades"), TS, "c1")
    assert (codec.stats.decode_errors, codec.stats.unexpected_errors) == (1, 1)


def test_stats_count_frames_and_events_by_kind(codec: DydxMarketDataCodec, real_ws: RealFrame) -> None:
    codec.feed(real_ws("connected"), TS, "c1")
    codec.feed(real_ws("v4_orderbook_snapshot"), TS, "c1")
    codec.feed(real_ws("v4_trades"), TS, "c1")
    assert codec.stats.frames == 3
    assert codec.stats.frames_by_kind == {
        "connected": 1,
        "v4_orderbook/subscribed": 1,
        "v4_trades/channel_data": 1,
    }
    assert codec.stats.events_by_type["OrderBookUpdate"] == 1
    assert codec.stats.events_by_type["TradeTick"] == 2
