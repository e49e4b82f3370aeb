"""Mutated real frames: the codec either raises DecodeError or returns clean events, nothing else.

Seeds are the capture's frames (its two multi-megabyte snapshots excepted) and the hand-written
fixtures (user channel, small snapshot). Mutations: byte flips, truncation, a value replaced by
one of another type, a key removed, a key added.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.market_data import BookStale, FeedIssue, OrderBookUpdate, Ticker, TradeTick
from domain.order_book import OrderBook
from infrastructure.recorded_feed import RecordedFrame
from infrastructure.venues.coinbase.market_data_codec import (
    CoinbaseEvent,
    CoinbaseMarketDataCodec,
    DecodeError,
)
from infrastructure.venues.coinbase.user_order_update import UserOrderUpdate

CONN = "fuzz"
CLEAN_TYPES = (OrderBookUpdate, TradeTick, Ticker, FeedIssue, BookStale, UserOrderUpdate)

ODD_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(),
    st.text(max_size=12),
    st.sampled_from(
        ["NaN", "-1", "Infinity", "-Infinity", "0", "-0", "1e999999", "sNaN", "1_0", " 1 ", "", "bid"]
    ),
    st.just([]),
    st.just({}),
    st.just([{"a": 1}]),
)

Path_ = tuple[str | int, ...]


@pytest.fixture(scope="module")
def seeds(capture_frames: list[RecordedFrame], fixtures_dir: Path) -> list[str]:
    texts = [frame.text for frame in capture_frames if len(frame.text) < 100_000]
    texts += [path.read_text() for path in sorted(fixtures_dir.glob("ws_*.json"))]
    texts.append('{"type":"error","message":"failure to subscribe"}')
    texts.append('{"channel":"status","timestamp":"2026-08-09T21:05:48Z","sequence_num":3,"events":[]}')
    assert len(texts) > 1000
    return texts


def primed_codec(text: str) -> CoinbaseMarketDataCodec:
    """A codec with live BTC-USD and ETH-USD books, whose next expected number is the seed's."""
    try:
        number = json.loads(text).get("sequence_num")
    except (ValueError, AttributeError):
        number = None
    codec = CoinbaseMarketDataCodec()
    if isinstance(number, int) and not isinstance(number, bool):
        level = {"side": "bid", "event_time": "2026-08-09T21:05:48Z", "price_level": "1", "new_quantity": "1"}
        events = [
            {"type": "snapshot", "product_id": product, "updates": [level]}
            for product in ("BTC-USD", "ETH-USD")
        ]
        snapshot = {
            "channel": "l2_data",
            "timestamp": "2026-08-09T21:05:48Z",
            "sequence_num": number - 1,
            "events": events,
        }
        assert len(codec.feed(json.dumps(snapshot), 0, CONN)) == 2
    return codec


def assert_clean(events: list[CoinbaseEvent]) -> None:
    for event in events:
        assert isinstance(event, CLEAN_TYPES)
        if isinstance(event, OrderBookUpdate):
            for price, size in event.bids + event.asks:
                assert type(price) is Decimal
                assert type(size) is Decimal
                assert price.is_finite()
                assert price > 0
                assert size.is_finite()
                assert size >= 0
            assert isinstance(event.ts_ns, int)
            OrderBook(event.instrument_id).apply(event)  # a domain book accepts it
        elif isinstance(event, TradeTick):
            assert event.price.is_finite()
            assert event.price > 0
            assert event.size.is_finite()
            assert event.size > 0
            assert isinstance(event.ts_ns, int)
        elif isinstance(event, Ticker):
            for value in (
                event.last_price,
                event.best_bid,
                event.best_bid_size,
                event.best_ask,
                event.best_ask_size,
            ):
                assert value is None or (value.is_finite() and value >= 0)


def check(codec: CoinbaseMarketDataCodec, mutated: str | bytes) -> None:
    """`feed` raises only DecodeError or returns clean events; `feed_safe` never raises."""
    errors_before = codec.stats.decode_errors
    try:
        events = codec.feed(mutated, 1, CONN)
    except DecodeError:
        assert codec.stats.decode_errors == errors_before + 1
        assert codec.feed_safe(mutated, 2, CONN) == []
        assert codec.stats.decode_errors == errors_before + 2
    else:
        assert_clean(events)
        assert_clean(codec.feed_safe(mutated, 2, CONN))  # fed again: a duplicate, or clean events


def all_paths(value: Any, prefix: Path_ = ()) -> list[Path_]:
    paths: list[Path_] = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, item in value.items():
            paths.extend(all_paths(item, (*prefix, key)))
    elif isinstance(value, list):
        for index, item in enumerate(value[:6]):
            paths.extend(all_paths(item, (*prefix, index)))
    return paths


def parent(document: Any, path: Path_) -> Any:
    for step in path[:-1]:
        document = document[step]
    return document


def pick(data: st.DataObject, seeds: list[str]) -> str:
    return seeds[data.draw(st.integers(0, len(seeds) - 1), label="seed")]


@given(data=st.data())
def test_byte_flips(seeds: list[str], data: st.DataObject) -> None:
    text = pick(data, seeds)
    raw = bytearray(text.encode())
    for _ in range(data.draw(st.integers(1, 6))):
        raw[data.draw(st.integers(0, len(raw) - 1))] = data.draw(st.integers(0, 255))
    check(primed_codec(text), bytes(raw))


@given(data=st.data())
def test_truncation(seeds: list[str], data: st.DataObject) -> None:
    text = pick(data, seeds)
    cut = data.draw(st.integers(0, len(text) - 1))
    check(primed_codec(text), text[:cut])


@given(data=st.data())
def test_field_type_changes(seeds: list[str], data: st.DataObject) -> None:
    text = pick(data, seeds)
    document = json.loads(text)
    path = data.draw(st.sampled_from(all_paths(document)))
    parent(document, path)[path[-1]] = data.draw(ODD_VALUES)
    check(primed_codec(text), json.dumps(document))


@given(data=st.data())
def test_removed_and_added_keys(seeds: list[str], data: st.DataObject) -> None:
    text = pick(data, seeds)
    document = json.loads(text)
    keyed = [path for path in all_paths(document) if isinstance(path[-1], str)]
    path = data.draw(st.sampled_from(keyed))
    holder = parent(document, path)
    if data.draw(st.booleans()):
        del holder[path[-1]]
    else:
        holder[f"new_{path[-1]}"] = data.draw(ODD_VALUES)
    check(primed_codec(text), json.dumps(document))


@given(data=st.data())
def test_a_stream_of_mutated_frames_through_one_codec(seeds: list[str], data: st.DataObject) -> None:
    codec = primed_codec(seeds[0])
    for _ in range(data.draw(st.integers(1, 8))):
        text = pick(data, seeds)
        document = json.loads(text)
        if "sequence_num" in document and data.draw(st.booleans()):
            document["sequence_num"] = data.draw(st.integers(-5, 2000) | st.integers(-(2**63), 2**63 - 1))
        mutated = json.dumps(document)
        if data.draw(st.booleans()):
            cut = data.draw(st.integers(0, len(mutated)))
            mutated = mutated[:cut]
        check(codec, mutated)
    assert codec.check_silence(10**18) is not None
