"""Faults injected into the real capture: dropped, duplicated, reordered, truncated, garbage frames."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from decimal import Decimal

import pytest

from domain.instrument import InstrumentId
from domain.market_data import BookStale, FeedIssue, FeedIssueKind, OrderBookUpdate
from domain.order_book import OrderBook
from infrastructure.recorded_feed import RecordedFrame
from infrastructure.venues.coinbase.market_data_codec import CoinbaseEvent, CoinbaseMarketDataCodec

BTC = InstrumentId("COINBASE", "BTC-USD")
ETH = InstrumentId("COINBASE", "ETH-USD")
CONN = "COINBASE.ws.2"

Frame = tuple[str, int]  # (text, receive_ts_ns)


@dataclass
class Replay:
    codec: CoinbaseMarketDataCodec = field(default_factory=CoinbaseMarketDataCodec)
    books: dict[InstrumentId, OrderBook] = field(default_factory=dict)
    events: list[CoinbaseEvent] = field(default_factory=list)
    stale_after: list[dict[InstrumentId, bool]] = field(default_factory=list)  # per fed frame
    events_per_frame: list[list[CoinbaseEvent]] = field(default_factory=list)

    def feed(self, frames: list[Frame]) -> Replay:
        for text, ts in frames:
            events = self.codec.feed_safe(text, ts, CONN)  # no exception may escape
            self.events.extend(events)
            self.events_per_frame.append(events)
            for event in events:
                if isinstance(event, OrderBookUpdate):
                    self.books.setdefault(event.instrument_id, OrderBook(event.instrument_id)).apply(event)
                elif isinstance(event, BookStale):
                    self.books[event.instrument_id].mark_stale(event.reason)
            self.stale_after.append({iid: book.stale for iid, book in self.books.items()})
        return self

    def issues(self, kind: FeedIssueKind) -> list[FeedIssue]:
        return [event for event in self.events if isinstance(event, FeedIssue) and event.kind is kind]


_META: dict[str, tuple[str, str | None, str | None]] = {}


def _meta(text: str) -> tuple[str, str | None, str | None]:
    """(channel, l2 event type, l2 product) of a capture frame, parsed once per text."""
    meta = _META.get(text)
    if meta is None:
        data = json.loads(text)
        if data["channel"] == "l2_data":
            event = data["events"][0]
            meta = (data["channel"], event["type"], event["product_id"])
        else:
            meta = (data["channel"], None, None)
        _META[text] = meta
    return meta


def channel(text: str) -> str:
    return _meta(text)[0]


def l2_type(text: str) -> str | None:
    return _meta(text)[1]


def l2_product(text: str) -> str | None:
    return _meta(text)[2]


def reference(frames: list[Frame]) -> dict[InstrumentId, tuple[list[tuple[Decimal, Decimal]], ...]]:
    """Naive books from raw JSON: instrument -> (bids best first, asks best first)."""
    sides: dict[str, dict[str, dict[Decimal, Decimal]]] = {}
    for text, _ in frames:
        data = json.loads(text)
        if data["channel"] != "l2_data":
            continue
        for event in data["events"]:
            if event["type"] == "snapshot":
                sides[event["product_id"]] = {"bid": {}, "offer": {}}
            for level in event["updates"]:
                side = sides[event["product_id"]][level["side"]]
                price, size = Decimal(level["price_level"]), Decimal(level["new_quantity"])
                if size:
                    side[price] = size
                else:
                    side.pop(price, None)
    return {
        InstrumentId("COINBASE", product): (
            sorted(s["bid"].items(), reverse=True),
            sorted(s["offer"].items()),
        )
        for product, s in sides.items()
    }


def assert_books_equal(
    replay: Replay, expected: dict[InstrumentId, tuple[list[tuple[Decimal, Decimal]], ...]]
) -> None:
    assert set(replay.books) == set(expected)
    for instrument_id, (bids, asks) in expected.items():
        assert replay.books[instrument_id].bids() == bids
        assert replay.books[instrument_id].asks() == asks


@pytest.fixture(scope="module")
def frames(capture_frames: list[RecordedFrame]) -> list[Frame]:
    result = [(frame.text, frame.receive_ts_ns) for frame in capture_frames]
    assert [json.loads(text)["sequence_num"] for text, _ in result] == list(range(1030))
    return result


@pytest.fixture(scope="module")
def last_snapshot_index(frames: list[Frame]) -> int:
    return max(index for index, (text, _) in enumerate(frames) if l2_type(text) == "snapshot")


def test_dropped_update_makes_books_stale_to_the_end(frames: list[Frame], last_snapshot_index: int) -> None:
    drop = next(i for i in range(last_snapshot_index + 100, len(frames)) if l2_type(frames[i][0]) == "update")
    fed = frames[:drop] + frames[drop + 1 :]
    replay = Replay().feed(fed)
    stats = replay.codec.stats
    assert (stats.gaps, stats.missing_frames, stats.duplicates, stats.out_of_order) == (1, 1, 0, 0)
    (gap,) = replay.issues(FeedIssueKind.GAP)
    assert (gap.expected, gap.received, gap.instrument_ids, gap.stream) == (drop, drop + 1, (BTC, ETH), CONN)
    assert gap.ts_ns == frames[drop + 1][1]
    stale = [event for event in replay.events if isinstance(event, BookStale)]
    assert [event.instrument_id for event in stale] == [BTC, ETH]
    # Books are live until the gap, then stale to the end: the capture has no later snapshot.
    assert not any(any(state.values()) for state in replay.stale_after[:drop])
    assert all(state == {BTC: True, ETH: True} for state in replay.stale_after[drop:])
    # No update after the gap reached a book: each book is as it was before the dropped frame.
    later_updates = sum(l2_type(text) == "update" for text, _ in frames[drop + 1 :])
    assert stats.suppressed_book_updates == later_updates > 0
    assert_books_equal(replay, reference(frames[:drop]))
    assert stats.book_updates_emitted == 775 - 1 - later_updates


def test_books_are_stale_exactly_until_the_next_snapshot(
    frames: list[Frame], last_snapshot_index: int
) -> None:
    """The capture has no later snapshot, so one is made: frame `heal` is replaced by BTC's snapshot."""
    drop = next(i for i in range(last_snapshot_index + 50, len(frames)) if l2_type(frames[i][0]) == "update")
    heal = next(i for i in range(drop + 50, len(frames)) if channel(frames[i][0]) == "heartbeats")
    btc_snapshot = next(
        text for text, _ in frames if l2_type(text) == "snapshot" and l2_product(text) == "BTC-USD"
    )
    data = json.loads(btc_snapshot)
    data["sequence_num"] = heal
    fed = list(frames)
    fed[heal] = (json.dumps(data), frames[heal][1])
    del fed[drop]
    replay = Replay().feed(fed)
    position_of_heal = heal - 1  # one frame was dropped before it
    states = replay.stale_after
    assert not any(any(state.values()) for state in states[:drop])
    assert all(state[BTC] for state in states[drop:position_of_heal])
    assert not any(state[BTC] for state in states[position_of_heal:])
    assert all(state[ETH] for state in states[drop:])
    btc_updates_after_heal = sum(
        l2_type(text) == "update" and l2_product(text) == "BTC-USD" for text, _ in fed[position_of_heal + 1 :]
    )
    emitted_after_heal = [
        event
        for events in replay.events_per_frame[position_of_heal + 1 :]
        for event in events
        if isinstance(event, OrderBookUpdate)
    ]
    assert btc_updates_after_heal > 0
    assert len(emitted_after_heal) == btc_updates_after_heal
    assert all(event.instrument_id == BTC for event in emitted_after_heal)
    assert all(
        not isinstance(event, OrderBookUpdate)
        for events in replay.events_per_frame[drop:position_of_heal]
        for event in events
    )


def test_dropped_frame_before_any_snapshot_stales_nothing(frames: list[Frame]) -> None:
    drop = next(i for i, (text, _) in enumerate(frames) if channel(text) == "subscriptions")
    fed = frames[:drop] + frames[drop + 1 :]
    replay = Replay().feed(fed)
    (gap,) = replay.issues(FeedIssueKind.GAP)
    assert gap.instrument_ids == ()
    assert not any(isinstance(event, BookStale) for event in replay.events)
    assert replay.codec.stats.book_updates_emitted == 775
    assert_books_equal(replay, reference(frames))


def test_duplicates_are_dropped_and_counted(frames: list[Frame]) -> None:
    fed: list[Frame] = []
    duplicated = 0
    for index, item in enumerate(frames):
        fed.append(item)
        if index % 7 == 3:
            fed.append(item)
            duplicated += 1
    replay = Replay().feed(fed)
    stats = replay.codec.stats
    assert (stats.duplicates, stats.gaps, stats.out_of_order) == (duplicated, 0, 0)
    assert len(replay.issues(FeedIssueKind.DUPLICATE)) == duplicated
    assert stats.level_changes == 74_193
    assert stats.trades == 279
    assert not any(isinstance(event, BookStale) for event in replay.events)
    assert_books_equal(replay, reference(frames))


def test_reordered_frames_are_counted_out_of_order(frames: list[Frame], last_snapshot_index: int) -> None:
    fed = list(frames)
    swaps = [last_snapshot_index + 30, last_snapshot_index + 200, last_snapshot_index + 400]
    for index in swaps:
        fed[index], fed[index + 1] = fed[index + 1], fed[index]
    replay = Replay().feed(fed)
    stats = replay.codec.stats
    assert (stats.out_of_order, stats.gaps, stats.missing_frames, stats.duplicates) == (3, 3, 3, 0)
    out_of_order = replay.issues(FeedIssueKind.OUT_OF_ORDER)
    assert [(issue.expected, issue.received) for issue in out_of_order] == [(i + 2, i) for i in swaps]
    # The first swap is a gap for the books: stale from then on.
    assert all(replay.stale_after[i] == {BTC: True, ETH: True} for i in range(swaps[0], len(fed)))


def test_truncated_frames_are_decode_errors_and_lost(frames: list[Frame], last_snapshot_index: int) -> None:
    cut = last_snapshot_index + 20
    fed = list(frames)
    text, ts = fed[cut]
    fed[cut] = (text[: len(text) // 2], ts)
    replay = Replay().feed(fed)
    stats = replay.codec.stats
    assert stats.decode_errors == 1
    assert (stats.gaps, stats.missing_frames) == (1, 1)
    (gap,) = replay.issues(FeedIssueKind.GAP)
    assert (gap.expected, gap.received) == (cut, cut + 1)
    assert replay.stale_after[-1] == {BTC: True, ETH: True}


def test_garbage_frames_are_decode_errors_only(frames: list[Frame]) -> None:
    garbage = [
        "",
        "null",
        "{}",
        "[]",
        "\x00\x01",
        '{"channel":"l2_data"}',
        '{"channel":"l2_data","timestamp":"x","sequence_num":5,"events":[{"type":"update"}]}',
        '{"channel":"ticker","timestamp":"x","sequence_num":"a","events":[]}',
        "\ud800",
    ]
    fed: list[Frame] = []
    for index, item in enumerate(frames):
        fed.append(item)
        if index % 100 == 50:
            fed.extend((text, item[1]) for text in garbage)
    inserted = len(fed) - len(frames)
    replay = Replay().feed(fed)
    stats = replay.codec.stats
    assert stats.decode_errors == inserted
    assert stats.frames == len(fed)
    assert (stats.gaps, stats.duplicates, stats.out_of_order) == (0, 0, 0)
    assert_books_equal(replay, reference(frames))


def test_bytes_garbage(frames: list[Frame]) -> None:
    codec = CoinbaseMarketDataCodec()
    for text, ts in frames[:30]:
        codec.feed_safe(text.encode(), ts, CONN)
    for junk in (b"\xff", b"\xc3\x28", bytes(range(256)), b"{" * 10_000, b"[" * 200_000):
        assert codec.feed_safe(junk, 0, CONN) == []
    assert codec.stats.decode_errors == 5


@pytest.mark.parametrize("seed", range(4))
def test_random_chaos_never_raises(frames: list[Frame], last_snapshot_index: int, seed: int) -> None:
    rng = random.Random(seed)
    fed: list[Frame] = list(frames[: last_snapshot_index + 1])
    for text, ts in frames[last_snapshot_index + 1 :]:
        roll = rng.random()
        if roll < 0.02:
            continue  # dropped
        if roll < 0.04:
            fed.extend([(text, ts), (text, ts)])  # duplicated
        elif roll < 0.06 and fed:
            fed.insert(len(fed) - 1, (text, ts))  # swapped with the previous one
        elif roll < 0.08:
            fed.append((text[: rng.randrange(len(text))], ts))  # truncated
        elif roll < 0.09:
            position = rng.randrange(len(text))
            fed.append((text[:position] + chr(rng.randrange(32, 127)) + text[position + 1 :], ts))  # flipped
        else:
            fed.append((text, ts))
    replay = Replay().feed(fed)
    stats = replay.codec.stats
    assert stats.frames == len(fed)
    assert stats.gaps + stats.duplicates + stats.out_of_order + stats.decode_errors > 0
    # A book that went stale only comes back with a snapshot, and none follows the opening ones.
    first_stale = next((i for i, state in enumerate(replay.stale_after) if any(state.values())), None)
    if first_stale is not None:
        for state in replay.stale_after[first_stale:]:
            assert any(state.values())
