"""Fuzzing the codec with mutated real frames: it raises DecodeError or returns clean events.

"Clean" means every event is one the codec documents, every book level has a positive finite
price and a non-negative finite size, every trade a positive price and size, and each book update
applies to a domain OrderBook. `stats.unexpected_errors` stays 0: a DecodeError caused by a bug
(anything but the frame) fails the test even though the contract let it out as a DecodeError.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.instrument import InstrumentId
from domain.market_data import BookStale, FeedIssue, OrderBookUpdate, TradeTick
from domain.order_book import OrderBook
from infrastructure.venues.dydx.events import (
    DydxBlockHeight,
    DydxCandles,
    DydxMarketsUpdate,
    DydxSubaccountUpdate,
    DydxTradeHistory,
)
from infrastructure.venues.dydx.market_data_codec import DecodeError, DydxMarketDataCodec, Event

MAX_FRAME = 20_000  # larger frames (candle histories, every market) only slow the search down
KNOWN_EVENTS = (
    OrderBookUpdate, TradeTick, FeedIssue, BookStale, DydxMarketsUpdate, DydxTradeHistory,
    DydxSubaccountUpdate, DydxCandles, DydxBlockHeight,
)  # fmt: skip
NASTY_STRINGS = [
    "NaN", "-NaN", "Infinity", "-1", "0", "-0", "1e999", "1E-400", "", "null", " 1", "0x10",
    "2024-01-01T00:00:00Z", "2024-01-01T00:00:00", "BUY", "SELL", "v4_orderbook", "channel_data",
    "channel_batch_data", "subscribed", "\u0000", "é", "9" * 40,
]  # fmt: skip
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.sampled_from(NASTY_STRINGS)
    | st.text(max_size=8)
)
JSON_VALUES = st.recursive(
    SCALARS,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6), children, max_size=3)
    ),
    max_leaves=6,
)


@pytest.fixture(scope="session")
def corpus(dydx_dir: Path) -> list[str]:
    """Every real and hand-written WebSocket message small enough to fuzz quickly."""
    texts = [path.read_text() for path in sorted((dydx_dir / "indexer-real" / "websocket").glob("*.json"))]
    texts += [path.read_text() for path in sorted((dydx_dir / "indexer-fixtures").glob("ws_*.json"))]
    for path in sorted((dydx_dir / "indexer-abacus").glob("*.jsonl")):
        texts += [json.dumps(json.loads(line)["message"]) for line in path.read_text().splitlines() if line]
    return [text for text in texts if len(text) <= MAX_FRAME]


def assert_clean(events: list[Event], books: dict[InstrumentId, OrderBook]) -> None:
    for event in events:
        assert isinstance(event, KNOWN_EVENTS), event
        if isinstance(event, OrderBookUpdate):
            for price, size in (*event.bids, *event.asks):
                assert price.is_finite()
                assert price > 0
                assert size.is_finite()
                assert size >= 0
            books.setdefault(event.instrument_id, OrderBook(event.instrument_id)).apply(event)
        elif isinstance(event, TradeTick):
            assert event.price.is_finite()
            assert event.price > 0
            assert event.size.is_finite()
            assert event.size > 0


def feed(codec: DydxMarketDataCodec, text: str | bytes, books: dict[InstrumentId, OrderBook]) -> None:
    try:
        events = codec.feed(text, 1_700_000_000_000_000_000, "c1")
    except DecodeError:
        pass
    else:
        assert_clean(events, books)
    assert codec.stats.unexpected_errors == 0


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in a JSON value: dict keys and list indexes, depth first."""
    found = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            found += paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += paths(item, (*prefix, index))
    return found


def mutate(value: Any, path: tuple[Any, ...], operation: str, replacement: Any) -> Any:
    if not path:
        return replacement
    parent = value
    for step in path[:-1]:
        parent = parent[step]
    last = path[-1]
    if operation == "delete":
        del parent[last]
    elif operation == "duplicate" and isinstance(parent, list):
        parent.insert(last, parent[last])
    else:
        parent[last] = replacement
    return value


@given(data=st.data())
def test_structurally_mutated_real_frames_decode_cleanly_or_raise_decode_error(
    corpus: list[str], data: st.DataObject
) -> None:
    codec = DydxMarketDataCodec()
    books: dict[InstrumentId, OrderBook] = {}
    for _ in range(data.draw(st.integers(min_value=1, max_value=3), label="mutations")):
        frame = json.loads(data.draw(st.sampled_from(corpus), label="frame"))
        path = data.draw(st.sampled_from(paths(frame)), label="path")
        operation = data.draw(st.sampled_from(["replace", "delete", "duplicate"]), label="operation")
        replacement = data.draw(JSON_VALUES, label="replacement")
        mutated = mutate(frame, path, operation, replacement)
        feed(codec, json.dumps(mutated), books)


@given(data=st.data())
def test_byte_mutated_real_frames_decode_cleanly_or_raise_decode_error(
    corpus: list[str], data: st.DataObject
) -> None:
    codec = DydxMarketDataCodec()
    text = bytearray(data.draw(st.sampled_from(corpus), label="frame").encode())
    for _ in range(data.draw(st.integers(min_value=1, max_value=4), label="edits")):
        at = data.draw(st.integers(min_value=0, max_value=len(text)), label="at")
        edit = data.draw(st.sampled_from(["cut", "insert", "delete", "replace"]), label="edit")
        byte = data.draw(st.sampled_from(b'{}[]",:0-9.eE \\\xff\x00a'), label="byte")
        if edit == "cut":
            del text[at:]
        elif edit == "insert":
            text.insert(at, byte)
        elif at < len(text):
            if edit == "delete":
                del text[at]
            else:
                text[at] = byte
    feed(codec, bytes(text), {})


@given(data=st.data())
def test_a_stream_of_real_and_mutated_frames_never_breaks_the_codec(
    corpus: list[str], data: st.DataObject
) -> None:
    codec = DydxMarketDataCodec()
    books: dict[InstrumentId, OrderBook] = {}
    for message_id in range(data.draw(st.integers(min_value=2, max_value=8), label="frames")):
        frame = json.loads(data.draw(st.sampled_from(corpus), label="frame"))
        if isinstance(frame, dict) and data.draw(st.booleans(), label="renumber"):
            frame["message_id"] = data.draw(
                st.sampled_from([message_id, message_id - 1, 0, 10**20]), label="id"
            )
        feed(codec, json.dumps(frame), books)


def test_the_unmutated_corpus_decodes_without_error(corpus: list[str]) -> None:
    # The fuzz oracle's baseline: before mutation, every frame is clean.
    codec = DydxMarketDataCodec()
    books: dict[InstrumentId, OrderBook] = {}
    for text in corpus:
        assert_clean(codec.feed(text, 1, "c1"), books)
    assert codec.stats.decode_errors == 0
    assert len(corpus) > 100
