"""Sans-I/O decoding of the dYdX v4 indexer WebSocket: frames in, market data events out.

`DydxMarketDataCodec.feed(text, receive_ts_ns, connection_id)` turns one received frame into
events: domain `OrderBookUpdate`, `TradeTick`, `FeedIssue` and `BookStale`, and the dYdX values
of `events.py` (markets, trade history, subaccounts, candles, block height). No socket, clock or
thread: time is the receive time passed in, so replay and live run the same code.

Decode policy (docs/dydx-market-data.md):
- A frame that is not JSON, or does not match the documented schema of a known channel (a
  missing id, a price that is not a positive decimal, a batch that is not a list), raises
  `DecodeError`; `feed_safe` counts it and returns []. No other exception leaves `feed`.
  Decoding finishes before any state changes, so a rejected frame leaves no trace but its count:
  its message_id is not consumed, and the next frame reveals the gap.
- Unknown channels and frame types are counted and yield no events; their message_id still
  counts in the connection's sequence. Unknown fields are ignored and counted by path.
- Book updates: a snapshot (`subscribed`) replaces the book; a `channel_data` frame is one
  update; a `channel_batch_data` frame is ONE update holding every change in order, since a book
  may only be used after a whole frame. Levels arrive as `[price, size]` or `{price, size}`;
  both are accepted everywhere. Book frames carry no venue time: `ts_ns` is the receive time.
- Trades: `side` is the taker's side (the indexer builds a trade from the taker's fill; its id
  is the taker fill id), so it maps to `TradeTick.aggressor_side`. The trades a subscription
  starts with are history, emitted as one `DydxTradeHistory`, oldest first.
- Gaps, duplicates and reordering follow `message_tracker.py`. A gap makes every book of the
  connection stale (one `BookStale` each); a duplicate or reordered frame is dropped.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import attrs

from domain.errors import DomainError
from domain.instrument import InstrumentId
from domain.market_data import (
    BookStale,
    FeedIssue,
    FeedIssueKind,
    LevelChange,
    MarketEvent,
    OrderBookUpdate,
    TradeTick,
)
from domain.order_terms import OrderSide
from infrastructure.venues.dydx import messages as wire
from infrastructure.venues.dydx.decoding import DecodeError, convert, decode_json
from infrastructure.venues.dydx.events import (
    DydxBlockHeight,
    DydxCandles,
    DydxEvent,
    DydxMarketsUpdate,
    DydxSubaccountUpdate,
    DydxTradeHistory,
)
from infrastructure.venues.dydx.market_parameters import DydxMarketParameters
from infrastructure.venues.dydx.message_tracker import DEFAULT_REPLY_TIMEOUT_NS, FrameRole, MessageTracker

__all__ = ["VENUE", "DecodeError", "DydxCodecStats", "DydxMarketDataCodec", "Event"]

VENUE = "DYDX"
Event = MarketEvent | DydxEvent
T = TypeVar("T")

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_MICROSECOND = timedelta(microseconds=1)
_ROLES = {
    "connected": FrameRole.CONNECTED,
    "subscribed": FrameRole.REPLY,
    "channel_data": FrameRole.SEQUENCED,
    "channel_batch_data": FrameRole.SEQUENCED,
    "unsubscribed": FrameRole.ENDS_STREAM,
    "error": FrameRole.ERROR,
}
_SIDES = {"BUY": OrderSide.BUY, "SELL": OrderSide.SELL}
_BOOK_CHANNEL = "v4_orderbook"


@attrs.define
class DydxCodecStats:
    """What a codec has seen: frames and events by kind, and everything it rejected or ignored."""

    frames: int = 0
    frames_by_kind: Counter[str] = attrs.Factory(Counter)  # "channel/type", or the type alone
    events_by_type: Counter[str] = attrs.Factory(Counter)
    decode_errors: int = 0  # frames rejected, whether `feed` raised or `feed_safe` swallowed
    unexpected_errors: int = 0  # of which: a bug, not the frame (also counted above)
    unknown_channels: Counter[str] = attrs.Factory(Counter)
    unknown_types: Counter[str] = attrs.Factory(Counter)
    unknown_fields: Counter[str] = attrs.Factory(Counter)  # "channel:$.path", once per frame
    null_strings: Counter[str] = attrs.Factory(Counter)  # "channel:$.path" where "null" meant null
    dropped_frames: int = 0  # duplicates and reordered frames
    feed_issues: Counter[str] = attrs.Factory(Counter)  # by FeedIssueKind value


@attrs.define
class _Notes:
    """What decoding one frame noticed, kept aside until the frame is known to be good."""

    prefix: str
    unknown: set[str] = attrs.Factory(set)
    nulled: set[str] = attrs.Factory(set)

    def convert(self, value: Any, target: type[T], path: str) -> T:
        checked = convert(value, target, path)
        self.unknown.update(checked.unknown_fields)
        self.nulled.update(checked.null_strings)
        return checked.value


class DydxMarketDataCodec:
    """Turns dYdX indexer WebSocket frames into events; one instance may serve several connections."""

    def __init__(self, venue: str = VENUE, reply_timeout_ns: int = DEFAULT_REPLY_TIMEOUT_NS) -> None:
        self.venue = venue
        self.stats = DydxCodecStats()
        self._reply_timeout_ns = reply_timeout_ns
        self._trackers: dict[str, MessageTracker] = {}
        self._books: dict[str, set[InstrumentId]] = {}  # book streams per connection
        # One InstrumentId per symbol: the order book compares ids by identity first.
        self._instrument_ids: dict[str, InstrumentId] = {}

    def subscribe_sent(self, connection_id: str, ts_ns: int) -> None:
        """Tell the codec a subscribe was sent on the connection: its reply may arrive after later ids."""
        self._tracker(connection_id).subscribe_sent(ts_ns)

    def feed_safe(self, text: str | bytes, receive_ts_ns: int, connection_id: str) -> list[Event]:
        """Like `feed`, but a malformed frame is only counted (stats.decode_errors) and yields []."""
        try:
            return self.feed(text, receive_ts_ns, connection_id)
        except DecodeError:
            return []

    def feed(self, text: str | bytes, receive_ts_ns: int, connection_id: str) -> list[Event]:
        """Decode one received frame into events; raises DecodeError (only) when the frame is malformed."""
        self.stats.frames += 1
        try:
            return self._feed(text, receive_ts_ns, connection_id)
        except DecodeError:
            self.stats.decode_errors += 1
            raise
        except Exception as exc:
            # The contract is that only DecodeError escapes; a bug is still counted apart.
            self.stats.decode_errors += 1
            self.stats.unexpected_errors += 1
            raise DecodeError(f"unexpected {type(exc).__name__} while decoding: {exc}") from exc

    # --- one frame -----------------------------------------------------------------------------

    def _feed(self, text: str | bytes, ts_ns: int, connection_id: str) -> list[Event]:
        raw = decode_json(text)
        if not isinstance(raw, dict):
            raise DecodeError("a frame must be a JSON object")
        envelope = _Notes(prefix=str(raw.get("channel") or raw.get("type")))
        frame = envelope.convert(raw, wire.Frame, "$")
        role = _ROLES.get(frame.type)
        kind = frame.type if frame.channel is None else f"{frame.channel}/{frame.type}"
        if role is None:
            self.stats.unknown_types[frame.type] += 1
            return []
        if role in (FrameRole.REPLY, FrameRole.SEQUENCED, FrameRole.ENDS_STREAM) and not frame.channel:
            raise DecodeError(f"a {frame.type} frame must name its channel")
        data: list[Event] = []
        decoder = _DECODERS.get(frame.channel or "")
        if role in (FrameRole.REPLY, FrameRole.SEQUENCED):
            if decoder is None:
                self.stats.unknown_channels[frame.channel or ""] += 1
            else:
                data = decoder(self, frame, envelope, ts_ns)
        book = self._instrument(frame.id) if frame.channel == _BOOK_CHANNEL and frame.id else None
        # Everything is decoded: from here on the frame is good and state may change.
        self.stats.frames_by_kind[kind] += 1
        self.stats.unknown_fields.update(f"{envelope.prefix}:{path}" for path in envelope.unknown)
        self.stats.null_strings.update(f"{envelope.prefix}:{path}" for path in envelope.nulled)
        out, accepted = self._sequence(frame, role, book, ts_ns, connection_id)
        if accepted:
            out.extend(data)
        else:
            self.stats.dropped_frames += 1
        return self._count(out)

    def _sequence(
        self, frame: wire.Frame, role: FrameRole, book: InstrumentId | None, ts_ns: int, connection_id: str
    ) -> tuple[list[Event], bool]:
        """Apply the message_id rules and the stream bookkeeping: the issues, and whether to use the frame."""
        out: list[Event] = []
        books = self._books.setdefault(connection_id, set())
        if role is FrameRole.CONNECTED:
            out.extend(BookStale(book, "new connection", ts_ns) for book in sorted(books))
            books.clear()
        verdict = self._tracker(connection_id).observe(role, frame.message_id, frame.channel, frame.id, ts_ns)
        for issue in verdict.issues:
            if issue.kind is FeedIssueKind.GAP:
                stale = tuple(sorted(books))
                out.append(attrs.evolve(issue, instrument_ids=stale))
                out.extend(BookStale(each, "message_id gap on the connection", ts_ns) for each in stale)
            else:
                out.append(attrs.evolve(issue, instrument_ids=() if book is None else (book,)))
        if not verdict.accept:
            return out, False
        if role is FrameRole.ERROR:
            detail = frame.message or "error frame without a message"
            out.append(
                FeedIssue(FeedIssueKind.VENUE_ERROR, connection_id, detail, ts_ns, received=frame.message_id)
            )
        if book is not None:
            if role is FrameRole.ENDS_STREAM:
                books.discard(book)
                out.append(BookStale(book, "unsubscribed", ts_ns))
            else:
                books.add(book)
        return out, True

    def _count(self, events: list[Event]) -> list[Event]:
        for event in events:
            self.stats.events_by_type[type(event).__name__] += 1
            if isinstance(event, FeedIssue):
                self.stats.feed_issues[event.kind.value] += 1
        return events

    def _tracker(self, connection_id: str) -> MessageTracker:
        tracker = self._trackers.get(connection_id)
        if tracker is None:
            tracker = self._trackers[connection_id] = MessageTracker(connection_id, self._reply_timeout_ns)
        return tracker

    def _instrument(self, symbol: str) -> InstrumentId:
        instrument_id = self._instrument_ids.get(symbol)
        if instrument_id is None:
            try:
                instrument_id = InstrumentId(self.venue, symbol)
            except DomainError as exc:
                raise DecodeError(f"not an instrument symbol: {symbol!r} ({exc})") from None
            self._instrument_ids[symbol] = instrument_id
        return instrument_id

    # --- channels (pure: they decode and build events, and change no state) ---------------------

    def _orderbook(self, frame: wire.Frame, notes: _Notes, ts_ns: int) -> list[Event]:
        instrument = self._instrument(_required_id(frame))
        bids: list[LevelChange] = []
        asks: list[LevelChange] = []
        for path, item in _items(frame):
            contents = notes.convert(item, wire.OrderbookContents, path)
            bids.extend(_level(level, f"{path}.bids") for level in contents.bids)
            asks.extend(_level(level, f"{path}.asks") for level in contents.asks)
        snapshot = frame.type == "subscribed"
        if not (snapshot or bids or asks):
            return []
        return [OrderBookUpdate(instrument, snapshot, tuple(bids), tuple(asks), ts_ns)]

    def _trades(self, frame: wire.Frame, notes: _Notes, ts_ns: int) -> list[Event]:
        instrument = self._instrument(_required_id(frame))
        ticks: list[TradeTick] = []
        for path, item in _items(frame):
            contents = notes.convert(item, wire.TradesContents, path)
            ticks.extend(_trade_tick(instrument, trade, f"{path}.trades") for trade in contents.trades)
        if frame.type == "subscribed":
            # The initial response is GET /v4/trades: newest first.
            return [DydxTradeHistory(instrument, tuple(reversed(ticks)), frame.message_id, ts_ns)]
        return list(ticks)

    def _markets(self, frame: wire.Frame, notes: _Notes, ts_ns: int) -> list[Event]:
        markets: list[tuple[str, wire.PerpetualMarket]] = []
        prices: list[tuple[str, wire.OraclePrice]] = []
        parameters: list[DydxMarketParameters] = []
        for path, item in _items(frame):
            contents = notes.convert(item, wire.MarketsContents, path)
            for ticker, market in {**(contents.markets or {}), **(contents.trading or {})}.items():
                if market.ticker is not None and market.ticker != ticker:
                    raise DecodeError(f"{path}: market {ticker!r} names itself {market.ticker!r}")
                markets.append((ticker, market))
                try:
                    found = DydxMarketParameters.from_market(ticker, market)
                except DomainError as exc:
                    raise DecodeError(f"{path}: {exc}") from None
                if found is not None:
                    parameters.append(found)
            prices.extend((contents.oracle_prices or {}).items())
        update = DydxMarketsUpdate(
            is_snapshot=frame.type == "subscribed",
            markets=tuple(markets),
            oracle_prices=tuple(prices),
            parameters=tuple(parameters),
            message_id=frame.message_id,
            ts_ns=ts_ns,
        )
        return [update]

    def _subaccounts(self, frame: wire.Frame, notes: _Notes, ts_ns: int) -> list[Event]:
        subaccount_id = _required_id(frame)
        channel = frame.channel or ""
        snapshot = frame.type == "subscribed"
        out: list[Event] = []
        for path, item in _items(frame):
            contents = notes.convert(item, wire.SubaccountContents, path)
            height = contents.block_height
            block = None if height is None else _height(height, f"{path}.blockHeight")
            update = DydxSubaccountUpdate(
                channel, subaccount_id, snapshot, contents, block, frame.message_id, ts_ns
            )
            out.append(update)
        return out

    def _candles(self, frame: wire.Frame, notes: _Notes, ts_ns: int) -> list[Event]:
        stream_id = _required_id(frame)
        if frame.type == "subscribed":
            candles = notes.convert(frame.contents, wire.CandlesContents, "$.contents").candles
        else:
            candles = tuple(notes.convert(item, wire.Candle, path) for path, item in _items(frame))
        return [DydxCandles(stream_id, frame.type == "subscribed", candles, frame.message_id, ts_ns)]

    def _block_height(self, frame: wire.Frame, notes: _Notes, ts_ns: int) -> list[Event]:
        out: list[Event] = []
        for path, item in _items(frame):
            contents = notes.convert(item, wire.BlockHeightContents, path)
            text = contents.height if contents.height is not None else contents.block_height
            if text is None:
                raise DecodeError(f"{path}: a block height frame must carry height or blockHeight")
            height = _height(text, path)
            out.append(DydxBlockHeight(height, _ns(contents.time), frame.message_id, ts_ns))
        return out


_DECODERS: dict[str, Callable[[DydxMarketDataCodec, wire.Frame, _Notes, int], list[Event]]] = {
    "v4_orderbook": DydxMarketDataCodec._orderbook,
    "v4_trades": DydxMarketDataCodec._trades,
    "v4_markets": DydxMarketDataCodec._markets,
    "v4_subaccounts": DydxMarketDataCodec._subaccounts,
    "v4_parent_subaccounts": DydxMarketDataCodec._subaccounts,
    "v4_candles": DydxMarketDataCodec._candles,
    "v4_block_height": DydxMarketDataCodec._block_height,
}


def _items(frame: wire.Frame) -> Iterable[tuple[str, Any]]:
    """The contents of a frame as (path, element) pairs: one for data, one per element for a batch."""
    if frame.type != "channel_batch_data":
        return [("$.contents", frame.contents)]
    if not isinstance(frame.contents, list):
        raise DecodeError("$.contents: a channel_batch_data frame must carry a list")
    return [(f"$.contents[{index}]", item) for index, item in enumerate(frame.contents)]


def _required_id(frame: wire.Frame) -> str:
    if not frame.id:
        raise DecodeError(f"a {frame.channel} {frame.type} frame must carry the id it was subscribed with")
    return frame.id


def _level(level: wire.PriceLevel, path: str) -> LevelChange:
    price, size = (level.price, level.size) if isinstance(level, wire.PriceLevelObject) else level
    if not price.is_finite() or price <= 0:
        raise DecodeError(f"{path}: price must be a positive number, got {price}")
    if not size.is_finite() or size < 0:
        raise DecodeError(f"{path}: size must be zero or positive, got {size}")
    return price, size


def _trade_tick(instrument: InstrumentId, trade: wire.Trade, path: str) -> TradeTick:
    if trade.price <= 0 or trade.size <= 0:
        raise DecodeError(f"{path}: trade {trade.id} must have a positive price and size")
    return TradeTick(instrument, trade.id, trade.price, trade.size, _SIDES[trade.side], _ns(trade.created_at))


def _height(text: str, path: str) -> int:
    if not (text.isascii() and text.isdecimal()):
        raise DecodeError(f"{path}: a block height must be a decimal integer, got {text!r}")
    return int(text)


def _ns(moment: datetime) -> int:
    """Nanoseconds since the epoch, exactly (the indexer's timestamps have millisecond precision)."""
    return (moment - _EPOCH) // _ONE_MICROSECOND * 1000
