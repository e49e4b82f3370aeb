"""The data engine: frames in; books kept; tops, trades and feed issues out.

One `MarketDataPipeline` per venue decodes each frame and applies it to the books (a strategy
never sees a half-applied frame). After the whole frame the engine publishes, for every book the
frame touched (updated, or marked stale), an immutable `BookTop` (the best
`depth` levels per side, stamped with the frame's receive time, `stale` when the book is marked
stale by a gap or a silence, has no snapshot yet, or is crossed after the frame). It first
replaces the instrument's entry in `tops`, the latest top of every book, which risk reads when it
checks an order (reference prices, the stale guard; see adr/0008-latest-tops-are-read-not-sent.md),
then sends the top to the strategies subscribed to the instrument and to the portfolio (marks).
Trades go to the subscribed strategies.

Book updates and trades are also handed to the venue engines that asked for their venue's market
data (a simulated venue matches against them), by a direct call, before anything about the frame
is published on the bus. That order is causal: a strategy can only price an order on a book that
the venue has already been given, so in the threaded runtime the venue never matches an order
against a book older than the one it was priced on (which would reject a post-only quote as
crossing). The venue adapter must therefore be thread-safe; the simulated venue holds a lock.

Market data is not journaled value by value (see adr/0005-journal-content.md): the journal is the
record of decisions and money, and tops and trades are reproduced exactly by replaying the
recorded feed (whose sha256 a replay journals first) through the same pipeline. Feed issues and
`BookStale`s, which change what the kernel may trade, are journaled under the connection's stream.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType
from typing import Protocol

from application.engines.journal_writer import JournalWriter
from application.engines.messages import PORTFOLIO, MarketFrame, SentFrame
from application.market_data_pipeline import MarketDataPipeline
from application.runtime.bus import Bus
from domain.instrument import InstrumentId
from domain.market_data import BookStale, BookTop, FeedIssue, OrderBookUpdate, TradeTick
from domain.order_book import OrderBook

DEFAULT_TOP_DEPTH = 10

#: Tells a venue's codec about a frame we sent (text, ts_ns, connection id).
SentFrameHandler = Callable[[str, int, str], None]


class MarketDataListener(Protocol):
    """Takes a venue's book updates and trades by a direct call (a venue engine)."""

    def handle(self, message: object) -> None:
        """Take one OrderBookUpdate or TradeTick."""
        ...


class UnknownFeedVenueError(LookupError):
    """A frame for a venue the data engine has no pipeline for."""


def untrusted(book: OrderBook) -> bool:
    """The data engine's verdict: a book is stale when marked so (gap, silence), before its first
    snapshot, or while crossed."""
    return book.stale or not book.has_snapshot or book.is_crossed()


def book_top(book: OrderBook, ts_ns: int, depth: int) -> BookTop:
    """The immutable top `depth` levels of `book`, stale when `untrusted`, at `ts_ns`."""
    bids, asks = book.top(depth)
    return BookTop(book.instrument_id, ts_ns, bids, asks, untrusted(book))


class DataEngine:
    """Decodes frames per venue, keeps the books, and publishes tops and trades (see the module doc)."""

    def __init__(
        self,
        bus: Bus,
        journal: JournalWriter,
        *,
        depth: int = DEFAULT_TOP_DEPTH,
        publish_to: Sequence[str] = (PORTFOLIO,),
    ) -> None:
        if depth < 1:
            raise ValueError(f"depth must be at least 1, got {depth}")
        self._bus = bus
        self._journal = journal
        self._depth = depth
        self._publish_to = tuple(publish_to)
        self._pipelines: dict[str, MarketDataPipeline] = {}
        self._on_sent: dict[str, SentFrameHandler] = {}
        self._market_data_consumers: dict[str, list[MarketDataListener]] = {}
        self._subscribers: dict[InstrumentId, list[str]] = {}
        self._tops: dict[InstrumentId, BookTop] = {}
        self._tops_view = MappingProxyType(self._tops)
        self.tops_published = 0
        self.trades_published = 0

    # ----- wiring (before the first message) -----

    def add_venue(
        self, venue: str, pipeline: MarketDataPipeline, on_sent: SentFrameHandler | None = None
    ) -> None:
        """Decode `venue`'s frames with `pipeline` (`on_sent` is told about frames we sent)."""
        if venue in self._pipelines:
            raise ValueError(f"venue {venue!r} already has a pipeline")
        self._pipelines[venue] = pipeline
        if on_sent is not None:
            self._on_sent[venue] = on_sent

    def subscribe(self, instrument_id: InstrumentId, destination: str) -> None:
        """Send the instrument's tops and trades to `destination` (a strategy engine)."""
        subscribers = self._subscribers.setdefault(instrument_id, [])
        if destination not in subscribers:
            subscribers.append(destination)

    def add_market_data_consumer(self, venue: str, listener: MarketDataListener) -> None:
        """Hand `venue`'s book updates and trades to `listener` directly, before publishing them."""
        consumers = self._market_data_consumers.setdefault(venue, [])
        if listener not in consumers:
            consumers.append(listener)

    # ----- what the engine knows (read by reports after a run) -----

    def pipeline(self, venue: str) -> MarketDataPipeline:
        """The pipeline of `venue`."""
        return self._pipelines[venue]

    @property
    def tops(self) -> Mapping[InstrumentId, BookTop]:
        """The latest top of every book, read-only and live: an entry is replaced (never mutated)
        by the engine when it publishes a new top, before any message about that frame is sent."""
        return self._tops_view

    @property
    def pipelines(self) -> dict[str, MarketDataPipeline]:
        """Every venue's pipeline, in the order they were added."""
        return dict(self._pipelines)

    # ----- messages -----

    def handle(self, message: object) -> None:
        """Handle a `MarketFrame` or a `SentFrame`."""
        if isinstance(message, MarketFrame):
            self._on_frame(message)
        elif isinstance(message, SentFrame):
            handler = self._on_sent.get(message.venue)
            if handler is not None:
                handler(message.text, message.ts_ns, message.connection_id)
        else:
            raise TypeError(f"the data engine does not handle {type(message).__name__}")

    def _on_frame(self, frame: MarketFrame) -> None:
        pipeline = self._pipelines.get(frame.venue)
        if pipeline is None:
            raise UnknownFeedVenueError(f"no market-data pipeline for venue {frame.venue!r}")
        events = pipeline.on_frame(frame.text, frame.receive_ts_ns, frame.connection_id)
        consumers = self._market_data_consumers.get(frame.venue, ())
        touched: dict[InstrumentId, None] = {}
        for event in events:
            if isinstance(event, OrderBookUpdate):
                touched[event.instrument_id] = None
                for listener in consumers:
                    listener.handle(event)
            elif isinstance(event, TradeTick):
                self._publish_trade(event, consumers)
            elif isinstance(event, (BookStale, FeedIssue)):
                self._journal.record(frame.connection_id, event)
                if isinstance(event, BookStale):
                    touched[event.instrument_id] = None
        # A book's verdict changes only through the frame's own events (an update, a snapshot, a
        # BookStale), so the touched books are the ones to publish.
        books = pipeline.books
        for instrument_id in touched:
            self._publish_top(books[instrument_id], frame.receive_ts_ns)

    def _publish_trade(self, trade: TradeTick, consumers: Sequence[MarketDataListener]) -> None:
        self.trades_published += 1
        for listener in consumers:  # the venue first: see the module doc
            listener.handle(trade)
        for destination in self._subscribers.get(trade.instrument_id, ()):
            self._bus.send(destination, trade)

    def _publish_top(self, book: OrderBook, ts_ns: int) -> None:
        top = book_top(book, ts_ns, self._depth)
        self._tops[top.instrument_id] = top  # one reference store: a reader sees the old or the new
        self.tops_published += 1
        for destination in self._publish_to:
            self._bus.send(destination, top)
        for destination in self._subscribers.get(book.instrument_id, ()):
            self._bus.send(destination, top)
