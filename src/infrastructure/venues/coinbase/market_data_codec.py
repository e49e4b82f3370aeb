"""Sans-I/O Coinbase Advanced Trade codec: frame texts in, domain market events out.

`CoinbaseMarketDataCodec.feed(text, receive_ts_ns, connection_id)` decodes one frame and returns
what it means, in order:

- l2_data: one `OrderBookUpdate` per product per frame (all of a frame's level changes for that
  product; a snapshot event gives `is_snapshot=True`). `ts_ns` is the event's `event_time`.
- market_trades: a `TradeTick` per trade, oldest first (Coinbase lists them newest first).
  Coinbase's `side` is the maker's, so `aggressor_side` is the opposite; an unknown side gives None.
- ticker / ticker_batch: a `Ticker` per product, at the frame's timestamp.
- user: a `UserOrderUpdate` per order (the venue's order state; see that module).
- heartbeats, candles, subscriptions: counted only (heartbeats keep the connection from silence).
- an error frame: `FeedIssue(VENUE_ERROR)`. An unknown channel: counted, no event.

Sequencing (see sequence_tracker): every frame with a `sequence_num`, unknown channels included,
is checked against its connection. A duplicate or out-of-order frame is dropped and reported as a
`FeedIssue`. A gap gives `FeedIssue(GAP)` plus a `BookStale` for every instrument whose book came
from that connection; the frame itself is then processed.

Stale rule: after a gap, a silence (`check_silence`) or a closed connection (`connection_closed`),
book updates of a stale instrument are NOT emitted until its next snapshot arrives (live code
resubscribes to get one; a replay waits for it). Book updates of an instrument that has had no
snapshot yet are withheld the same way. Both are counted in `stats.suppressed_*`.

Malformed frames: `feed` raises `DecodeError` (and counts it); `feed_safe` counts it and returns
[]. No other exception escapes either. A malformed frame is validated completely before any state
changes, so it is treated as lost: its sequence number is not consumed and the next frame reports
the gap, which makes the connection's books stale (a book that may have missed a level change must
not be trusted). Checked: the JSON schema of every channel, prices finite and positive, sizes
finite and non-negative (trade sizes positive), book sides, product ids, and the timestamps that
are used (event times, trade times, the frame timestamp of tickers and user frames).

Unknown fields are ignored by the typed decoder at no cost. To count them, the first frame of each
(channel, event type) and then every `unknown_field_sample_every`-th one are also decoded
generically and compared with the Structs' fields: `stats.unknown_fields` maps a field path to the
number of sampled frames where it appeared. A new venue field shows up on its first frame, and
the steady-state cost is one generic decode per `unknown_field_sample_every` frames.

Times: `receive_ts_ns` is the local receive time; it stamps FeedIssue and BookStale events and
drives the silence check. Event times are the venue's.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TypeAlias

import msgspec

from domain.errors import InvalidValueError
from domain.instrument import InstrumentId
from domain.market_data import (
    BookStale,
    FeedIssue,
    FeedIssueKind,
    LevelChange,
    MarketEvent,
    OrderBookUpdate,
    Ticker,
    TradeTick,
)
from domain.order_terms import OrderSide
from infrastructure.venues.coinbase.codec_stats import CodecStats
from infrastructure.venues.coinbase.messages import (
    CandlesMessage,
    CoinbaseMessage,
    DecodeError,
    ErrorMessage,
    HeartbeatsMessage,
    L2DataMessage,
    L2Event,
    MarketTradesMessage,
    SubscriptionsMessage,
    TickerBatchMessage,
    TickerMessage,
    UnknownChannelMessage,
    UserMessage,
    decode_message,
    find_unknown_fields,
)
from infrastructure.venues.coinbase.sequence_tracker import (
    DEFAULT_MAX_SILENCE_NS,
    SequenceCheck,
    SequenceTracker,
    SequenceVerdict,
)
from infrastructure.venues.coinbase.timestamps import TimestampError, parse_timestamp_ns
from infrastructure.venues.coinbase.user_order_update import UserOrderUpdate

__all__ = ["CoinbaseEvent", "CoinbaseMarketDataCodec", "DecodeError"]

VENUE = "COINBASE"

CoinbaseEvent: TypeAlias = MarketEvent | UserOrderUpdate
"""What the codec emits: domain market events, and user-channel order states."""

_ZERO = Decimal(0)
_AGGRESSOR_OF_MAKER_SIDE = {"BUY": OrderSide.SELL, "SELL": OrderSide.BUY}
_MAX_CACHED_INSTRUMENTS = 10_000
_CHANNEL_OF: dict[type[CoinbaseMessage], str] = {
    L2DataMessage: "l2_data",
    MarketTradesMessage: "market_trades",
    TickerMessage: "ticker",
    TickerBatchMessage: "ticker_batch",
    CandlesMessage: "candles",
    HeartbeatsMessage: "heartbeats",
    SubscriptionsMessage: "subscriptions",
    UserMessage: "user",
    ErrorMessage: "error",
}
_L2_EVENT_KEYS = {"snapshot": "l2_data.snapshot", "update": "l2_data.update"}
_GENERIC_DECODER = msgspec.json.Decoder()


def _timestamp_ns(text: str) -> int:
    try:
        return parse_timestamp_ns(text)
    except TimestampError as error:
        raise DecodeError(str(error)) from None


def _price_and_size(price: Decimal, size: Decimal, what: str) -> None:
    if not (price.is_finite() and size.is_finite() and price > _ZERO and size > _ZERO):
        raise DecodeError(f"{what}: bad price {price} or size {size}")


def _optional_amount(value: Decimal | None, what: str) -> Decimal | None:
    if value is not None and not (value.is_finite() and value >= _ZERO):
        raise DecodeError(f"{what}: bad amount {value}")
    return value


class CoinbaseMarketDataCodec:
    """Decode Coinbase WebSocket frames into market events; track sequences and stale books.

    One codec serves every connection of a venue session (frames name their connection). It does
    no I/O and reads no clock: the caller passes receive times and calls `check_silence`.
    """

    def __init__(
        self,
        *,
        venue: str = VENUE,
        max_silence_ns: int = DEFAULT_MAX_SILENCE_NS,
        expected_first_sequence: int | None = None,
        unknown_field_sample_every: int = 1000,
    ) -> None:
        if unknown_field_sample_every < 0:
            raise ValueError("unknown_field_sample_every must be >= 0 (0: first frame only)")
        self.venue = venue
        self.stats = CodecStats()
        self.tracker = SequenceTracker(max_silence_ns=max_silence_ns, expected_first=expected_first_sequence)
        self._sample_every = unknown_field_sample_every
        self._sample_counts: dict[tuple[str, str], int] = {}
        self._instrument_ids: dict[str, InstrumentId] = {}

    # --- public API --------------------------------------------------------------------------

    def feed(self, text: str | bytes, receive_ts_ns: int, connection_id: str) -> list[CoinbaseEvent]:
        """Decode one frame and return its events; raise `DecodeError` if it is malformed."""
        stats = self.stats
        stats.frames += 1
        try:
            message = decode_message(text)
            if type(message) is L2DataMessage:  # the hot path, kept short
                book_updates = self._book_updates(message)
            else:
                prepared = self._prepare(message, connection_id)
        except DecodeError:
            stats.decode_errors += 1
            raise
        if type(message) is not L2DataMessage:
            return self._commit(message, prepared, text, receive_ts_ns, connection_id)
        stats.frames_by_channel["l2_data"] += 1
        events: list[CoinbaseEvent] = []
        check = self.tracker.observe(connection_id, message.sequence_num, receive_ts_ns)
        if check is not None and not self._sequence_issue(check, receive_ts_ns, events):
            return events
        self._sample_unknown_fields("l2_data", message.events[0].type if message.events else "", text)
        self._emit_book_updates(message, book_updates, connection_id, events)
        return events

    def feed_safe(self, text: str | bytes, receive_ts_ns: int, connection_id: str) -> list[CoinbaseEvent]:
        """Like `feed`, but a malformed frame is only counted (`stats.decode_errors`): returns []."""
        try:
            return self.feed(text, receive_ts_ns, connection_id)
        except DecodeError:
            return []

    def check_silence(self, now_ns: int) -> list[CoinbaseEvent]:
        """FeedIssue(SILENCE) and BookStale events for connections quiet for too long at `now_ns`."""
        events: list[CoinbaseEvent] = []
        for report in self.tracker.check_silence(now_ns):
            self.stats.silences += 1
            silent_s = report.silent_for_ns / 1e9
            events.append(
                FeedIssue(
                    FeedIssueKind.SILENCE,
                    report.connection_id,
                    f"no frame for {silent_s:.3f} s (limit {self.tracker.max_silence_ns / 1e9:g} s)",
                    now_ns,
                    instrument_ids=report.stale_instruments,
                )
            )
            reason = f"silence on {report.connection_id}"
            events.extend(
                BookStale(instrument_id, reason, now_ns) for instrument_id in report.stale_instruments
            )
        return events

    def connection_closed(self, connection_id: str, ts_ns: int) -> list[CoinbaseEvent]:
        """A connection closed: BookStale for each of its books; its numbering is forgotten."""
        reason = f"connection {connection_id} closed"
        return [
            BookStale(instrument_id, reason, ts_ns) for instrument_id in self.tracker.forget(connection_id)
        ]

    def instrument_id(self, product_id: str) -> InstrumentId:
        """The InstrumentId of a Coinbase product id (cached); DecodeError if it is not a valid id."""
        instrument_id = self._instrument_ids.get(product_id)
        if instrument_id is None:
            try:
                instrument_id = InstrumentId(self.venue, product_id)
            except InvalidValueError:
                raise DecodeError(f"bad product id {product_id!r}") from None
            if len(self._instrument_ids) >= _MAX_CACHED_INSTRUMENTS:
                self._instrument_ids.clear()
            self._instrument_ids[product_id] = instrument_id
        return instrument_id

    # --- phase 1: build events, validate everything, change nothing ---------------------------

    def _prepare(self, message: CoinbaseMessage, connection_id: str) -> list[CoinbaseEvent]:
        if isinstance(message, MarketTradesMessage):
            return list(self._trades(message))
        if isinstance(message, (TickerMessage, TickerBatchMessage)):
            return list(self._tickers(message))
        if isinstance(message, UserMessage):
            return list(self._user_orders(message, connection_id))
        return []

    def _book_updates(self, message: L2DataMessage) -> list[OrderBookUpdate]:
        events = message.events
        if len(events) == 1:
            return [self._book_update(events[0], message.timestamp)]
        merged: dict[InstrumentId, OrderBookUpdate] = {}
        for event in events:
            update = self._book_update(event, message.timestamp)
            previous = merged.get(update.instrument_id)
            if previous is None or update.is_snapshot:
                merged[update.instrument_id] = update
            else:
                merged[update.instrument_id] = OrderBookUpdate(
                    update.instrument_id,
                    previous.is_snapshot,
                    previous.bids + update.bids,
                    previous.asks + update.asks,
                    max(previous.ts_ns, update.ts_ns),
                )
        return list(merged.values())

    def _book_update(self, event: L2Event, frame_timestamp: str) -> OrderBookUpdate:
        instrument_id = self.instrument_id(event.product_id)
        bids: list[LevelChange] = []
        asks: list[LevelChange] = []
        add_bid = bids.append
        add_ask = asks.append
        levels = event.updates
        zero = _ZERO
        for level in levels:  # the per-level cost: keep it minimal
            price = level.price_level
            size = level.new_quantity
            if not (price.is_finite() and size.is_finite() and price > zero and size >= zero):
                raise DecodeError(f"{event.product_id}: bad level {price} x {size}")
            side = level.side
            if side == "bid":
                add_bid((price, size))
            elif side == "offer":
                add_ask((price, size))
            else:
                raise DecodeError(f"{event.product_id}: bad book side {side!r}")
        ts_ns = _timestamp_ns(levels[-1].event_time if levels else frame_timestamp)
        return OrderBookUpdate(instrument_id, event.type == "snapshot", tuple(bids), tuple(asks), ts_ns)

    def _trades(self, message: MarketTradesMessage) -> list[TradeTick]:
        ticks: list[TradeTick] = []
        for event in message.events:
            for trade in reversed(event.trades):
                _price_and_size(trade.price, trade.size, f"trade {trade.trade_id}")
                ticks.append(
                    TradeTick(
                        self.instrument_id(trade.product_id),
                        trade.trade_id,
                        trade.price,
                        trade.size,
                        _AGGRESSOR_OF_MAKER_SIDE.get(trade.side),
                        _timestamp_ns(trade.time),
                    )
                )
        return ticks

    def _tickers(self, message: TickerMessage | TickerBatchMessage) -> list[Ticker]:
        tickers: list[Ticker] = []
        ts_ns = _timestamp_ns(message.timestamp)
        for event in message.events:
            for item in event.tickers:
                what = f"ticker {item.product_id}"
                tickers.append(
                    Ticker(
                        self.instrument_id(item.product_id),
                        _optional_amount(item.price, what),
                        _optional_amount(item.best_bid, what),
                        _optional_amount(item.best_bid_quantity, what),
                        _optional_amount(item.best_ask, what),
                        _optional_amount(item.best_ask_quantity, what),
                        ts_ns,
                    )
                )
        return tickers

    def _user_orders(self, message: UserMessage, connection_id: str) -> list[UserOrderUpdate]:
        updates: list[UserOrderUpdate] = []
        ts_ns = _timestamp_ns(message.timestamp)
        for event in message.events:
            for order in event.orders:
                what = f"order {order.order_id}"
                for amount in (order.cumulative_quantity, order.leaves_quantity, order.avg_price):
                    _optional_amount(amount, what)
                if not order.total_fees.is_finite():
                    raise DecodeError(f"{what}: bad fees {order.total_fees}")
                self.instrument_id(order.product_id)
                updates.append(UserOrderUpdate(connection_id, event.type == "snapshot", order, ts_ns))
        return updates

    # --- phase 2: sequence, staleness, counters -----------------------------------------------

    def _commit(
        self,
        message: CoinbaseMessage,
        prepared: list[CoinbaseEvent],
        text: str | bytes,
        receive_ts_ns: int,
        connection_id: str,
    ) -> list[CoinbaseEvent]:
        stats = self.stats
        if isinstance(message, ErrorMessage):
            stats.frames_by_channel["error"] += 1
            stats.venue_errors += 1
            self.tracker.observe(connection_id, None, receive_ts_ns)
            detail = "; ".join(part for part in (message.message, message.reason) if part) or "error frame"
            return [FeedIssue(FeedIssueKind.VENUE_ERROR, connection_id, detail, receive_ts_ns)]
        events: list[CoinbaseEvent] = []
        if isinstance(message, UnknownChannelMessage):
            stats.unknown_channels[message.channel] += 1
            stats.frames_by_channel[message.channel] += 1
            check = self.tracker.observe(connection_id, message.sequence_num, receive_ts_ns)
            if check is not None:
                self._sequence_issue(check, receive_ts_ns, events)
            return events
        channel = _CHANNEL_OF[type(message)]
        stats.frames_by_channel[channel] += 1
        check = self.tracker.observe(connection_id, message.sequence_num, receive_ts_ns)
        if check is not None and not self._sequence_issue(check, receive_ts_ns, events):
            return events
        first_type = getattr(message.events[0], "type", "") if message.events else ""
        self._sample_unknown_fields(channel, first_type, text)
        if isinstance(message, HeartbeatsMessage):
            stats.heartbeats += len(message.events)
            return events
        if isinstance(message, SubscriptionsMessage):
            return events
        counter = stats.events_by_type
        for event in message.events:
            counter[f"{channel}.{event.type}"] += 1
        if isinstance(message, CandlesMessage):
            stats.candles += sum(len(event.candles) for event in message.events)
        elif isinstance(message, MarketTradesMessage):
            stats.trades += len(prepared)
        elif isinstance(message, UserMessage):
            stats.user_orders += len(prepared)
        else:
            stats.tickers += len(prepared)
        events.extend(prepared)
        return events

    def _emit_book_updates(
        self,
        message: L2DataMessage,
        updates: list[OrderBookUpdate],
        connection_id: str,
        events: list[CoinbaseEvent],
    ) -> None:
        stats = self.stats
        for event in message.events:
            stats.events_by_type[_L2_EVENT_KEYS[event.type]] += 1
        tracker = self.tracker
        for update in updates:
            count = len(update.bids) + len(update.asks)
            stats.level_changes += count
            if update.is_snapshot:
                tracker.snapshot_received(connection_id, update.instrument_id)
            elif not tracker.is_live(update.instrument_id):
                stats.suppressed_book_updates += 1
                stats.suppressed_level_changes += count
                continue
            stats.book_updates_emitted += 1
            events.append(update)

    def _sequence_issue(self, check: SequenceCheck, receive_ts_ns: int, events: list[CoinbaseEvent]) -> bool:
        """Append the events of a sequencing problem; True when the frame is still to be processed."""
        stats = self.stats
        connection_id = check.connection_id
        if check.verdict is SequenceVerdict.GAP:
            stats.gaps += 1
            stats.missing_frames += check.missing
            events.append(
                FeedIssue(
                    FeedIssueKind.GAP,
                    connection_id,
                    f"sequence gap: {check.missing} frame(s) missing",
                    receive_ts_ns,
                    expected=check.expected,
                    received=check.received,
                    instrument_ids=check.stale_instruments,
                )
            )
            reason = f"sequence gap on {connection_id}: expected {check.expected}, got {check.received}"
            events.extend(
                BookStale(instrument_id, reason, receive_ts_ns) for instrument_id in check.stale_instruments
            )
            return True
        if check.verdict is SequenceVerdict.DUPLICATE:
            stats.duplicates += 1
            kind, detail = FeedIssueKind.DUPLICATE, "duplicate frame dropped"
        else:
            stats.out_of_order += 1
            kind, detail = FeedIssueKind.OUT_OF_ORDER, "out-of-order frame dropped"
        events.append(
            FeedIssue(
                kind, connection_id, detail, receive_ts_ns, expected=check.expected, received=check.received
            )
        )
        return False

    def _sample_unknown_fields(self, channel: str, event_type: str, text: str | bytes) -> None:
        key = (channel, event_type)
        seen = self._sample_counts.get(key, 0)
        self._sample_counts[key] = seen + 1
        if seen and (not self._sample_every or seen % self._sample_every):
            return
        self.stats.unknown_field_checks += 1
        try:
            frame = _GENERIC_DECODER.decode(text)
        except (msgspec.DecodeError, RecursionError, UnicodeError):  # pragma: no cover - decoded once already
            return
        for path in find_unknown_fields(frame):
            self.stats.unknown_fields[path] += 1
