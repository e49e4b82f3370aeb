"""The market-data pipeline: frames in, decoded events out, books kept, health tracked.

One loop shared by live trading, replay and `feed inspect`: a venue codec (a port; sans-I/O,
implemented in infrastructure) turns each frame into market events; the pipeline applies them to
one `OrderBook` per instrument, and only after the whole frame is applied does it look at the
books (crossed? stale?), because a book in the middle of a frame is not a state the venue ever had.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from typing import Protocol

import attrs

from domain.instrument import InstrumentId
from domain.market_data import BookStale, FeedIssue, FeedIssueKind, OrderBookUpdate, TradeTick
from domain.order_book import OrderBook


class MarketDataCodec(Protocol):
    """A venue's sans-I/O market-data decoder (the port every venue codec implements)."""

    def feed_safe(self, text: str | bytes, receive_ts_ns: int, connection_id: str) -> Sequence[object]:
        """Decode one frame into events; a malformed frame is counted by the codec and yields []."""
        ...


#: Called after a whole frame when a book is crossed, with the frame's updates of that book;
#: it may remove stale levels (a venue rule, e.g. dYdX's) and returns the issue to record, if any.
CrossingResolver = Callable[[OrderBook, Sequence[OrderBookUpdate]], FeedIssue | None]


@attrs.define
class StaleInterval:
    """A span of receive time during which a book could not be trusted."""

    instrument_id: InstrumentId
    reason: str
    start_ns: int
    end_ns: int | None = None  # None: still stale at the end of the feed


@attrs.define
class PipelineStats:
    """What the pipeline saw: frames, updates, trades, feed issues, crossed books, time span."""

    frames: int = 0
    book_updates: int = 0
    level_changes: int = 0
    trades: int = 0
    issues: Counter[FeedIssueKind] = attrs.field(factory=Counter)
    crossed_after_frame: int = 0
    crossed_resolved: int = 0
    events_by_type: Counter[str] = attrs.field(factory=Counter)
    first_ts_ns: int | None = None
    last_ts_ns: int | None = None


class MarketDataPipeline:
    """Feeds frames through a codec into per-instrument books and tracks feed health."""

    def __init__(self, codec: MarketDataCodec, resolve_crossing: CrossingResolver | None = None) -> None:
        self.codec = codec
        self.books: dict[InstrumentId, OrderBook] = {}
        self.stats = PipelineStats()
        self.stale_intervals: list[StaleInterval] = []
        self._open_stale: dict[InstrumentId, StaleInterval] = {}
        self._resolve_crossing = resolve_crossing

    def book(self, instrument_id: InstrumentId) -> OrderBook:
        """The book of an instrument, created empty on first use."""
        book = self.books.get(instrument_id)
        if book is None:
            book = self.books[instrument_id] = OrderBook(instrument_id)
        return book

    def on_frame(self, text: str | bytes, receive_ts_ns: int, connection_id: str) -> Sequence[object]:
        """Decode and apply one whole frame; returns the codec's events for downstream consumers."""
        stats = self.stats
        stats.frames += 1
        if stats.first_ts_ns is None:
            stats.first_ts_ns = receive_ts_ns
        stats.last_ts_ns = receive_ts_ns
        events = self.codec.feed_safe(text, receive_ts_ns, connection_id)
        if len(events) == 1 and type(events[0]) is OrderBookUpdate:
            # The usual frame: one book update. The general loop below, without its bookkeeping.
            update = events[0]
            instrument_id = update.instrument_id
            book = self.books.get(instrument_id)
            if book is None:
                book = self.books[instrument_id] = OrderBook(instrument_id)
            book.apply(update)
            stats.events_by_type["OrderBookUpdate"] += 1
            stats.book_updates += 1
            stats.level_changes += len(update.bids) + len(update.asks)
            if update.is_snapshot and self._open_stale:
                self._end_stale(instrument_id, receive_ts_ns)
            if book.is_crossed():
                self._crossed(book, (update,))
            return events
        touched: dict[InstrumentId, list[OrderBookUpdate]] = {}
        snapshots: set[InstrumentId] = set()
        for event in events:
            stats.events_by_type[type(event).__name__] += 1
            if isinstance(event, OrderBookUpdate):
                self.book(event.instrument_id).apply(event)
                stats.book_updates += 1
                stats.level_changes += event.level_count
                touched.setdefault(event.instrument_id, []).append(event)
                if event.is_snapshot:
                    snapshots.add(event.instrument_id)
            elif isinstance(event, TradeTick):
                stats.trades += 1
            elif isinstance(event, BookStale):
                self._mark_stale(event, receive_ts_ns)
            elif isinstance(event, FeedIssue):
                stats.issues[event.kind] += 1
        for instrument_id in snapshots:
            self._end_stale(instrument_id, receive_ts_ns)
        for instrument_id, updates in touched.items():
            book = self.books[instrument_id]
            if book.is_crossed():
                self._crossed(book, updates)
        return events

    def _end_stale(self, instrument_id: InstrumentId, receive_ts_ns: int) -> None:
        """A snapshot of the instrument was applied: close its open stale interval, if any."""
        interval = self._open_stale.pop(instrument_id, None)
        if interval is not None and not self.books[instrument_id].stale:
            interval.end_ns = receive_ts_ns

    def _mark_stale(self, event: BookStale, receive_ts_ns: int) -> None:
        self.book(event.instrument_id).mark_stale(event.reason)
        if event.instrument_id not in self._open_stale:
            interval = StaleInterval(event.instrument_id, event.reason, receive_ts_ns)
            self._open_stale[event.instrument_id] = interval
            self.stale_intervals.append(interval)

    def _crossed(self, book: OrderBook, updates: Sequence[OrderBookUpdate]) -> None:
        """A book is crossed after a whole frame: count it, let the resolver act."""
        self.stats.crossed_after_frame += 1
        if self._resolve_crossing is None:
            return
        issue = self._resolve_crossing(book, updates)
        if issue is not None:
            self.stats.issues[issue.kind] += 1
        if not book.is_crossed():
            self.stats.crossed_resolved += 1
