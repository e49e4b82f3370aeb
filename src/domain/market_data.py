"""Market data values: book updates, trades, tickers, and the feed's health events.

Venue codecs (sans-I/O, in infrastructure) turn frames into these values; the order book, the
data engine, strategies and replay reports consume them. Book updates carry one frame's worth of
level changes for one instrument, because a book must only be acted on after a whole frame is
applied (a snapshot is one frame).
"""

from __future__ import annotations

import enum
import functools
from decimal import Decimal

import attrs

from domain.instrument import InstrumentId
from domain.numbers import EXACT_CONTEXT
from domain.order_terms import OrderSide

#: One price level change: (price, new size). A new size of zero deletes the level.
LevelChange = tuple[Decimal, Decimal]


class BookSide(enum.Enum):
    """The side of a book: bids (buyers) or asks (sellers)."""

    BID = "BID"
    ASK = "ASK"


@attrs.frozen
class OrderBookUpdate:
    """All level changes one frame carries for one instrument; a snapshot replaces the book."""

    instrument_id: InstrumentId
    is_snapshot: bool
    bids: tuple[LevelChange, ...]
    asks: tuple[LevelChange, ...]
    ts_ns: int  # venue event time, ns since the epoch (UTC)

    @property
    def level_count(self) -> int:
        """The number of price-level changes in this update."""
        return len(self.bids) + len(self.asks)


@attrs.frozen
class TradeTick:
    """A public trade. `aggressor_side` is the taker's side (None when the venue does not say)."""

    instrument_id: InstrumentId
    trade_id: str
    price: Decimal
    size: Decimal
    aggressor_side: OrderSide | None
    ts_ns: int


@attrs.frozen
class Ticker:
    """Best bid and ask and the last price, as a venue's ticker channel reports them."""

    instrument_id: InstrumentId
    last_price: Decimal | None
    best_bid: Decimal | None
    best_bid_size: Decimal | None
    best_ask: Decimal | None
    best_ask_size: Decimal | None
    ts_ns: int


class FeedIssueKind(enum.Enum):
    """What went wrong on a feed stream."""

    GAP = "gap"  # a sequence number was skipped: books of the stream are stale
    DUPLICATE = "duplicate"  # a sequence number seen before: the frame is dropped
    OUT_OF_ORDER = "out_of_order"  # a sequence number lower than the last: the frame is dropped
    SILENCE = "silence"  # no frame for longer than the allowed interval: books are stale
    CROSSED_BOOK = "crossed_book"  # best bid >= best ask after a whole frame
    VENUE_ERROR = "venue_error"  # the venue sent an error frame


@attrs.frozen
class FeedIssue:
    """A problem detected on a feed stream (a connection, or a channel and id on dYdX)."""

    kind: FeedIssueKind
    stream: str
    detail: str
    ts_ns: int
    expected: int | None = None
    received: int | None = None
    instrument_ids: tuple[InstrumentId, ...] = ()


@attrs.frozen
class BookStale:
    """A book can no longer be trusted until a fresh snapshot arrives."""

    instrument_id: InstrumentId
    reason: str
    ts_ns: int


_TWO = Decimal(2)


@attrs.frozen
class BookTop:
    """An immutable picture of the top of a book, safe to hand to another actor.

    The book itself belongs to the data engine and changes with every frame; strategies and risk
    get this snapshot, taken after a whole frame was applied.
    """

    instrument_id: InstrumentId
    ts_ns: int
    bids: tuple[LevelChange, ...]  # (price, size), best first
    asks: tuple[LevelChange, ...]
    stale: bool = False

    @property
    def best_bid(self) -> Decimal | None:
        """The highest bid price, if any."""
        return self.bids[0][0] if self.bids else None

    @property
    def best_ask(self) -> Decimal | None:
        """The lowest ask price, if any."""
        return self.asks[0][0] if self.asks else None

    @functools.cached_property  # read by the strategy, risk and the portfolio for every top
    def mid(self) -> Decimal | None:
        """(best bid + best ask) / 2, exactly; None unless both sides exist."""
        if not self.bids or not self.asks:
            return None
        return EXACT_CONTEXT.divide(EXACT_CONTEXT.add(self.bids[0][0], self.asks[0][0]), _TWO)

    @property
    def spread(self) -> Decimal | None:
        """best ask - best bid; None unless both sides exist."""
        if not self.bids or not self.asks:
            return None
        return EXACT_CONTEXT.subtract(self.asks[0][0], self.bids[0][0])


MarketEvent = OrderBookUpdate | TradeTick | Ticker | FeedIssue | BookStale
