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
generically (`messages.unknown_fields_of_text`: the envelope and events, and the first items of
each list) and compared with the Structs' fields: `stats.unknown_fields` maps a field path to the
number of sampled frames where it appeared. A new venue field shows up on its first frame, and
the steady-state cost is one extra decode per `unknown_field_sample_every` frames.

Speed (bench/bench_market_data.py, docs/benchmarks.md): l2_data frames are decoded into
`L2DataFrame`, whose update levels keep the price as text; the codec turns it into a `Decimal`
through a per-codec cache of validated prices (an update stream repeats a few thousand prices,
and building a Decimal is the largest per-level cost). A frame holding one update event (nearly
all of them) takes a short path in `feed`.

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
    DecodeError,
    ErrorMessage,
    FrameMessage,
    HeartbeatsMessage,
    L2DataFrame,
    L2SnapshotEvent,
    L2UpdateEvent,
    MarketTradesMessage,
    SubscriptionsMessage,
    TickerBatchMessage,
    TickerMessage,
    UnknownChannelMessage,
    UserMessage,
    decode_frame,
    unknown_fields_of_text,
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

_OtherMessage: TypeAlias = (
    MarketTradesMessage
    | TickerMessage
    | TickerBatchMessage
    | CandlesMessage
    | HeartbeatsMessage
    | SubscriptionsMessage
    | UserMessage
    | ErrorMessage
    | UnknownChannelMessage
)
"""A decoded frame other than l2_data (those take the book path)."""

_ZERO = Decimal(0)
_AGGRESSOR_OF_MAKER_SIDE = {"BUY": OrderSide.SELL, "SELL": OrderSide.BUY}
_MAX_CACHED_INSTRUMENTS = 10_000
_MAX_CACHED_PRICES = 16_384  # ~3 MiB; measured hit rates on the synthetic feed: 92 % (65,536: 96 %)
_CHANNEL_OF: dict[type[FrameMessage], str] = {
    L2DataFrame: "l2_data",
    MarketTradesMessage: "market_trades",
    TickerMessage: "ticker",
    TickerBatchMessage: "ticker_batch",
    CandlesMessage: "candles",
    HeartbeatsMessage: "heartbeats",
    SubscriptionsMessage: "subscriptions",
    UserMessage: "user",
    ErrorMessage: "error",
}
#: Nanoseconds per unit of a fraction of n digits (index n).
_FRACTION_SCALE: tuple[int, ...] = tuple(10 ** (9 - digits) for digits in range(10))
_SNAPSHOT_KEY = "l2_data.snapshot"
_UPDATE_KEY = "l2_data.update"


def _timestamp_ns(text: str) -> int:
    try:
        return parse_timestamp_ns(text)
    except TimestampError as error:
        raise DecodeError(str(error)) from None


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
        self._sample_counts: dict[str, int] = {}  # "channel.event type" -> frames seen
        self._instrument_ids: dict[str, InstrumentId] = {}
        self._prices: dict[str, Decimal] = {}  # price text of an update -> its validated Decimal
        # Symbols of the live books (tracker.is_live), valid while tracker.generation is unchanged.
        self._live: set[str] = set()
        self._live_generation = -1
        # The last whole second of an event time: its text up to the "." and its ns (0: none yet).
        self._second_text = ""
        self._second_ns = 0

    # --- public API --------------------------------------------------------------------------

    def feed(self, text: str | bytes, receive_ts_ns: int, connection_id: str) -> list[CoinbaseEvent]:
        """Decode one frame and return its events; raise `DecodeError` if it is malformed."""
        stats = self.stats
        stats.frames += 1
        update: OrderBookUpdate | None = None
        try:
            message = decode_frame(text)
            if isinstance(message, L2DataFrame):
                l2_events = message.events
                if len(l2_events) == 1 and type(l2_events[0]) is L2UpdateEvent:
                    update = self._update(l2_events[0], message.timestamp)  # the hot path
                else:
                    book_updates = self._book_updates(message)
            else:
                prepared = self._prepare(message, connection_id)
        except DecodeError:
            stats.decode_errors += 1
            raise
        if not isinstance(message, L2DataFrame):
            return self._commit(message, prepared, text, receive_ts_ns, connection_id)
        stats.frames_by_channel["l2_data"] += 1
        events: list[CoinbaseEvent] = []
        check = self.tracker.observe(connection_id, message.sequence_num, receive_ts_ns)
        if check is not None and not self._sequence_issue(check, receive_ts_ns, events):
            return events
        if update is None:
            self._emit_book_updates(message, book_updates, text, connection_id, events)
            return events
        # One update event, the usual frame: _emit_book_updates inlined (the sampling count of
        # _sample_unknown_fields too), and tracker.is_live cached per symbol and tracker generation.
        counts = self._sample_counts
        seen = counts.get(_UPDATE_KEY, 0)
        counts[_UPDATE_KEY] = seen + 1
        if not seen or (self._sample_every and not seen % self._sample_every):
            self._count_unknown_fields(text)
        stats.events_by_type[_UPDATE_KEY] += 1
        count = len(update.bids) + len(update.asks)
        stats.level_changes += count
        tracker = self.tracker
        if tracker.generation != self._live_generation:
            self._live.clear()
            self._live_generation = tracker.generation
        instrument_id = update.instrument_id
        if instrument_id.symbol not in self._live:
            if not tracker.is_live(instrument_id):
                stats.suppressed_book_updates += 1
                stats.suppressed_level_changes += count
                return events
            self._live.add(instrument_id.symbol)
        stats.book_updates_emitted += 1
        events.append(update)
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

    def _prepare(self, message: _OtherMessage, connection_id: str) -> list[CoinbaseEvent]:
        if isinstance(message, MarketTradesMessage):
            return list(self._trades(message))
        if isinstance(message, (TickerMessage, TickerBatchMessage)):
            return list(self._tickers(message))
        if isinstance(message, UserMessage):
            return list(self._user_orders(message, connection_id))
        return []

    def _book_updates(self, message: L2DataFrame) -> list[OrderBookUpdate]:
        events = message.events
        if len(events) == 1:
            event = events[0]
            if isinstance(event, L2UpdateEvent):
                return [self._update(event, message.timestamp)]
            return [self._snapshot(event, message.timestamp)]
        merged: dict[InstrumentId, OrderBookUpdate] = {}
        for event in events:
            if isinstance(event, L2UpdateEvent):
                update = self._update(event, message.timestamp)
            else:
                update = self._snapshot(event, message.timestamp)
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

    def _update(self, event: L2UpdateEvent, frame_timestamp: str) -> OrderBookUpdate:
        """An update event's book update. The per-level cost: keep it minimal."""
        instrument_id = self._instrument_ids.get(event.product_id) or self.instrument_id(event.product_id)
        prices = self._prices
        bids: list[LevelChange] = []
        asks: list[LevelChange] = []
        zero = _ZERO
        levels = event.updates
        for level in levels:
            # A cached price was validated when it was cached; the side is checked by the decoder.
            price = prices.get(level.price_level)
            if price is None:
                price = self._price(level.price_level, event.product_id)
            size = level.new_quantity
            if not (size.is_finite() and size >= zero):
                raise DecodeError(f"{event.product_id}: bad size {size} at price {price}")
            if level.side == "bid":
                bids.append((price, size))
            else:
                asks.append((price, size))
        ts_ns = self._event_time_ns(levels[-1].event_time if levels else frame_timestamp)
        return OrderBookUpdate(instrument_id, False, tuple(bids), tuple(asks), ts_ns)

    def _event_time_ns(self, text: str) -> int:
        """`_timestamp_ns(text)`, with a fast path for a UTC time in the same second as the last one."""
        if self._second_ns and text.startswith(self._second_text) and text[-1] == "Z":
            digits = text[20:-1]
            if digits.isdigit() and digits.isascii() and len(digits) <= 9:
                return self._second_ns + int(digits) * _FRACTION_SCALE[len(digits)]
        ts_ns = _timestamp_ns(text)
        if len(text) > 20 and text[19] == "." and text[-1] == "Z":
            # Well formed (it parsed): the first 19 characters are the date and the time of day.
            self._second_text = text[:20]
            self._second_ns = _timestamp_ns(text[:19] + "Z")
        return ts_ns

    def _price(self, text: str, product_id: str) -> Decimal:
        """The Decimal of an update's price text, validated (finite, positive) and cached."""
        try:
            price = Decimal(text)
        except (ArithmeticError, ValueError):
            raise DecodeError(f"{product_id}: bad price {text!r}") from None
        if not (price.is_finite() and price > _ZERO):
            raise DecodeError(f"{product_id}: bad price {text!r}")
        prices = self._prices
        if len(prices) >= _MAX_CACHED_PRICES:
            prices.clear()
        prices[text] = price
        return price

    def _snapshot(self, event: L2SnapshotEvent, frame_timestamp: str) -> OrderBookUpdate:
        """A snapshot event's book update (prices decoded as Decimals, not cached)."""
        instrument_id = self.instrument_id(event.product_id)
        bids: list[LevelChange] = []
        asks: list[LevelChange] = []
        add_bid = bids.append
        add_ask = asks.append
        levels = event.updates
        zero = _ZERO
        for level in levels:
            price = level.price_level
            size = level.new_quantity
            if not (price.is_finite() and size.is_finite() and price > zero and size >= zero):
                raise DecodeError(f"{event.product_id}: bad level {price} x {size}")
            if level.side == "bid":  # the decoder checked the side: "bid" or "offer"
                add_bid((price, size))
            else:
                add_ask((price, size))
        ts_ns = self._event_time_ns(levels[-1].event_time if levels else frame_timestamp)
        return OrderBookUpdate(instrument_id, True, tuple(bids), tuple(asks), ts_ns)

    def _trades(self, message: MarketTradesMessage) -> list[TradeTick]:
        ticks: list[TradeTick] = []
        zero = _ZERO
        for event in message.events:
            for trade in reversed(event.trades):
                price = trade.price
                size = trade.size
                if not (price.is_finite() and size.is_finite() and price > zero and size > zero):
                    raise DecodeError(f"trade {trade.trade_id}: bad price {price} or size {size}")
                ticks.append(
                    TradeTick(
                        self.instrument_id(trade.product_id),
                        trade.trade_id,
                        price,
                        size,
                        _AGGRESSOR_OF_MAKER_SIDE.get(trade.side),
                        self._event_time_ns(trade.time),
                    )
                )
        return ticks

    def _tickers(self, message: TickerMessage | TickerBatchMessage) -> list[Ticker]:
        tickers: list[Ticker] = []
        ts_ns = self._event_time_ns(message.timestamp)
        zero = _ZERO
        for event in message.events:
            for item in event.tickers:
                values = (
                    item.price,
                    item.best_bid,
                    item.best_bid_quantity,
                    item.best_ask,
                    item.best_ask_quantity,
                )
                for value in values:
                    if value is not None and not (value.is_finite() and value >= zero):
                        raise DecodeError(f"ticker {item.product_id}: bad amount {value}")
                tickers.append(Ticker(self.instrument_id(item.product_id), *values, ts_ns))
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
        message: _OtherMessage,
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
        self._sample_unknown_fields(f"{channel}.{first_type}", text)
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
        message: L2DataFrame,
        updates: list[OrderBookUpdate],
        text: str | bytes,
        connection_id: str,
        events: list[CoinbaseEvent],
    ) -> None:
        stats = self.stats
        l2_events = message.events
        if not l2_events:
            self._sample_unknown_fields("l2_data.", text)
        else:
            key = _UPDATE_KEY if type(l2_events[0]) is L2UpdateEvent else _SNAPSHOT_KEY
            self._sample_unknown_fields(key, text)
        counts = stats.events_by_type
        for event in l2_events:
            counts[_UPDATE_KEY if type(event) is L2UpdateEvent else _SNAPSHOT_KEY] += 1
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

    def _sample_unknown_fields(self, key: str, text: str | bytes) -> None:
        """Count unknown fields of the first frame of `key` ("channel.event type"), then 1 in N."""
        counts = self._sample_counts
        seen = counts.get(key, 0)
        counts[key] = seen + 1
        if not seen or (self._sample_every and not seen % self._sample_every):
            self._count_unknown_fields(text)

    def _count_unknown_fields(self, text: str | bytes) -> None:
        self.stats.unknown_field_checks += 1
        try:
            found = unknown_fields_of_text(text)
        except (msgspec.DecodeError, RecursionError, UnicodeError):  # pragma: no cover - decoded once already
            return
        for path in found:
            self.stats.unknown_fields[path] += 1
