"""Typed Coinbase Advanced Trade WebSocket frames (msgspec Structs), and how a frame text is decoded.

Every data frame has the same envelope: `channel`, `timestamp` (RFC 3339, ns), `sequence_num`
(per connection, across channels), optional `client_id`, and a channel-specific `events` list.
One Struct per channel (tagged on `channel`) and per event, so a frame is decoded in one msgspec
pass, prices and sizes straight into `Decimal` (never a float).

Tolerance: unknown fields are ignored by the decoder (the venue adds fields; `find_unknown_fields`
lists them, for counting, from a generically decoded frame). An unknown channel decodes to
`UnknownChannelMessage` and an error frame (`{"type": "error", "message": ...}`) to
`ErrorMessage`. Anything else that does not match the schema raises `DecodeError`.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal, TypeAlias

import msgspec


class DecodeError(Exception):
    """A frame is malformed: not JSON, not an object, or a known channel that breaks its schema."""


# --- l2_data -------------------------------------------------------------------------------------


class L2Level(msgspec.Struct, frozen=True, gc=False):
    """One price level change: side "bid" or "offer", the new size at a price (0 deletes)."""

    side: str
    event_time: str
    price_level: Decimal
    new_quantity: Decimal


class L2Event(msgspec.Struct, frozen=True):
    """A product's book snapshot or incremental update."""

    type: Literal["snapshot", "update"]
    product_id: str
    updates: list[L2Level]


class L2DataMessage(msgspec.Struct, frozen=True, tag_field="channel", tag="l2_data"):
    """A frame of the level2 subscription (channel `l2_data`)."""

    timestamp: str
    sequence_num: int
    events: list[L2Event]
    client_id: str = ""


class L2UpdateLevel(msgspec.Struct, frozen=True, gc=False):
    """A level change of an "update" event as the codec decodes it: the price kept as its text.

    The codec turns the text into a `Decimal` itself, through a per-codec cache of validated
    prices (an update stream repeats the same few hundred prices, and `Decimal(text)` is the
    largest per-level cost). The side is a Literal, checked by the decoder.
    """

    side: Literal["bid", "offer"]
    event_time: str
    price_level: str
    new_quantity: Decimal


class L2SnapshotLevel(msgspec.Struct, frozen=True, gc=False):
    """A level of a "snapshot" event as the codec decodes it: `L2Level`, the side checked by the decoder."""

    side: Literal["bid", "offer"]
    event_time: str
    price_level: Decimal
    new_quantity: Decimal


class L2SnapshotEvent(msgspec.Struct, frozen=True, tag_field="type", tag="snapshot"):
    """A product's book snapshot, as the codec decodes it (levels as `L2SnapshotLevel`)."""

    product_id: str
    updates: list[L2SnapshotLevel]


class L2UpdateEvent(msgspec.Struct, frozen=True, tag_field="type", tag="update"):
    """A product's incremental book update, as the codec decodes it (levels as `L2UpdateLevel`)."""

    product_id: str
    updates: list[L2UpdateLevel]


class L2DataFrame(msgspec.Struct, frozen=True, tag_field="channel", tag="l2_data"):
    """An l2_data frame as the codec decodes it (`decode_frame`); same JSON schema as `L2DataMessage`."""

    timestamp: str
    sequence_num: int
    events: list[L2SnapshotEvent | L2UpdateEvent]
    client_id: str = ""


# --- market_trades -------------------------------------------------------------------------------


class MarketTrade(msgspec.Struct, frozen=True, gc=False):
    """A public trade. `side` is the MAKER's side ("BUY"/"SELL"): the aggressor is the other one."""

    trade_id: str
    product_id: str
    price: Decimal
    size: Decimal
    side: str
    time: str


class MarketTradesEvent(msgspec.Struct, frozen=True):
    """Trades, newest first: the recent history ("snapshot") or new trades ("update")."""

    type: str
    trades: list[MarketTrade]


class MarketTradesMessage(msgspec.Struct, frozen=True, tag_field="channel", tag="market_trades"):
    """A frame of the market_trades channel."""

    timestamp: str
    sequence_num: int
    events: list[MarketTradesEvent]
    client_id: str = ""


# --- ticker / ticker_batch -----------------------------------------------------------------------


class TickerItem(msgspec.Struct, frozen=True):
    """One product's last price, 24 h statistics and best bid and ask."""

    product_id: str
    type: str = "ticker"
    price: Decimal | None = None
    volume_24_h: Decimal | None = None
    low_24_h: Decimal | None = None
    high_24_h: Decimal | None = None
    low_52_w: Decimal | None = None
    high_52_w: Decimal | None = None
    price_percent_chg_24_h: Decimal | None = None
    best_bid: Decimal | None = None
    best_bid_quantity: Decimal | None = None
    best_ask: Decimal | None = None
    best_ask_quantity: Decimal | None = None


class TickerEvent(msgspec.Struct, frozen=True):
    """Tickers of a ticker or ticker_batch frame."""

    type: str
    tickers: list[TickerItem]


class TickerMessage(msgspec.Struct, frozen=True, tag_field="channel", tag="ticker"):
    """A frame of the ticker channel."""

    timestamp: str
    sequence_num: int
    events: list[TickerEvent]
    client_id: str = ""


class TickerBatchMessage(msgspec.Struct, frozen=True, tag_field="channel", tag="ticker_batch"):
    """A frame of the ticker_batch channel (the ticker's schema, sent every 5 s)."""

    timestamp: str
    sequence_num: int
    events: list[TickerEvent]
    client_id: str = ""


# --- candles -------------------------------------------------------------------------------------


class Candle(msgspec.Struct, frozen=True, gc=False):
    """A 5-minute candle; `start` is epoch seconds as text."""

    start: str
    high: Decimal
    low: Decimal
    open: Decimal
    close: Decimal
    volume: Decimal
    product_id: str


class CandlesEvent(msgspec.Struct, frozen=True):
    """Candles of a candles frame."""

    type: str
    candles: list[Candle]


class CandlesMessage(msgspec.Struct, frozen=True, tag_field="channel", tag="candles"):
    """A frame of the candles channel."""

    timestamp: str
    sequence_num: int
    events: list[CandlesEvent]
    client_id: str = ""


# --- heartbeats ----------------------------------------------------------------------------------


class HeartbeatEvent(msgspec.Struct, frozen=True):
    """A heartbeat: the venue's clock as free text and a counter."""

    current_time: str
    heartbeat_counter: int


class HeartbeatsMessage(msgspec.Struct, frozen=True, tag_field="channel", tag="heartbeats"):
    """A frame of the heartbeats channel (one a second keeps a quiet connection alive)."""

    timestamp: str
    sequence_num: int
    events: list[HeartbeatEvent]
    client_id: str = ""


# --- subscriptions -------------------------------------------------------------------------------


class SubscriptionsEvent(msgspec.Struct, frozen=True):
    """What the connection is now subscribed to: channel name -> product ids."""

    subscriptions: dict[str, list[str]]


class SubscriptionsMessage(msgspec.Struct, frozen=True, tag_field="channel", tag="subscriptions"):
    """A frame of the subscriptions channel (the answer to a subscribe or unsubscribe)."""

    timestamp: str
    sequence_num: int
    events: list[SubscriptionsEvent]
    client_id: str = ""


# --- user ----------------------------------------------------------------------------------------


class UserOrder(msgspec.Struct, frozen=True):
    """An order's state on the user channel (the schema of ws_user.json).

    Quantities are cumulative: `cumulative_quantity` filled so far, `leaves_quantity` still open,
    `avg_price` of the fills, `total_fees` so far. `order_side` is "BUY"/"SELL"; `status` is e.g.
    PENDING, OPEN, FILLED, CANCELLED, EXPIRED, FAILED.
    """

    order_id: str
    client_order_id: str
    status: str
    product_id: str
    order_side: str
    order_type: str
    cumulative_quantity: Decimal
    leaves_quantity: Decimal
    avg_price: Decimal
    total_fees: Decimal
    creation_time: str = ""
    cancel_reason: str = ""
    reject_reason: str = ""
    total_value_after_fees: Decimal | None = None
    contract_expiry_type: str = ""
    product_type: str = ""
    risk_managed_by: str = ""
    time_in_force: str = ""
    trigger_status: str = ""


class UserEvent(msgspec.Struct, frozen=True):
    """The user's orders: all open ones ("snapshot") or changed ones ("update")."""

    type: str
    orders: list[UserOrder] = []


class UserMessage(msgspec.Struct, frozen=True, tag_field="channel", tag="user"):
    """A frame of the authenticated user channel."""

    timestamp: str
    sequence_num: int
    events: list[UserEvent]
    client_id: str = ""


# --- frames outside the data channels ------------------------------------------------------------


class ErrorMessage(msgspec.Struct, frozen=True):
    """An error frame, e.g. `{"type": "error", "message": "failure to subscribe"}`."""

    message: str = ""
    reason: str = ""
    type: str = "error"


class UnknownChannelMessage(msgspec.Struct, frozen=True):
    """A frame of a channel this adapter does not know; only its envelope is read."""

    channel: str
    sequence_num: int | None = None
    timestamp: str | None = None


class _Envelope(msgspec.Struct, frozen=True):
    channel: str | None = None
    type: str | None = None
    sequence_num: int | None = None
    timestamp: str | None = None
    message: str = ""
    reason: str = ""


DataMessage: TypeAlias = (
    L2DataMessage
    | MarketTradesMessage
    | TickerMessage
    | TickerBatchMessage
    | CandlesMessage
    | HeartbeatsMessage
    | SubscriptionsMessage
    | UserMessage
)
"""A frame of a known data channel: it carries `sequence_num`, `timestamp` and `events`."""

CoinbaseMessage: TypeAlias = DataMessage | ErrorMessage | UnknownChannelMessage
"""Whatever `decode_message` returns."""

FrameData: TypeAlias = (
    L2DataFrame
    | MarketTradesMessage
    | TickerMessage
    | TickerBatchMessage
    | CandlesMessage
    | HeartbeatsMessage
    | SubscriptionsMessage
    | UserMessage
)
"""A data frame as `decode_frame` decodes it: `DataMessage` with `L2DataFrame` for l2_data."""

FrameMessage: TypeAlias = FrameData | ErrorMessage | UnknownChannelMessage
"""Whatever `decode_frame` returns."""

DATA_MESSAGE_TYPES: tuple[type[DataMessage], ...] = (
    L2DataMessage,
    MarketTradesMessage,
    TickerMessage,
    TickerBatchMessage,
    CandlesMessage,
    HeartbeatsMessage,
    SubscriptionsMessage,
    UserMessage,
)

KNOWN_CHANNELS: frozenset[str] = frozenset(str(kind.__struct_config__.tag) for kind in DATA_MESSAGE_TYPES)
"""The `channel` values this module decodes."""

_DATA_DECODER: msgspec.json.Decoder[DataMessage] = msgspec.json.Decoder(DataMessage)
_FRAME_DECODER: msgspec.json.Decoder[FrameData] = msgspec.json.Decoder(FrameData)
_ENVELOPE_DECODER = msgspec.json.Decoder(_Envelope)


def decode_message(data: str | bytes) -> CoinbaseMessage:
    """Decode one frame text; raise `DecodeError` when it is malformed (never another exception)."""
    try:
        return _DATA_DECODER.decode(data)
    except msgspec.ValidationError as error:
        first_error = error
    except (msgspec.DecodeError, RecursionError, UnicodeError) as error:
        raise DecodeError(f"malformed frame: {error}") from None
    return _not_a_data_frame(data, first_error)


def decode_frame(data: str | bytes) -> FrameMessage:
    """`decode_message` for the codec's hot path: an l2_data frame decodes to `L2DataFrame`.

    Same schema and errors as `decode_message`, except that an update's price must be a JSON
    string (Coinbase sends every price as a string; `decode_message` also takes a JSON number).
    """
    try:
        return _FRAME_DECODER.decode(data)
    except msgspec.ValidationError as error:
        first_error = error
    except (msgspec.DecodeError, RecursionError, UnicodeError) as error:
        raise DecodeError(f"malformed frame: {error}") from None
    return _not_a_data_frame(data, first_error)


def _not_a_data_frame(
    data: str | bytes, first_error: msgspec.ValidationError
) -> ErrorMessage | UnknownChannelMessage:
    """An error frame or an unknown channel, or raise `DecodeError` for a malformed frame."""
    try:
        envelope = _ENVELOPE_DECODER.decode(data)
    except (msgspec.DecodeError, RecursionError, UnicodeError):
        raise DecodeError(f"malformed frame: {first_error}") from None
    if envelope.channel is None or envelope.channel not in KNOWN_CHANNELS:
        if envelope.type == "error" and envelope.channel is None:
            return ErrorMessage(message=envelope.message, reason=envelope.reason)
        if envelope.channel is not None:
            return UnknownChannelMessage(envelope.channel, envelope.sequence_num, envelope.timestamp)
    raise DecodeError(f"malformed frame: {first_error}")


# --- unknown fields ------------------------------------------------------------------------------


_ITEMS_CHECKED = 32


def _field_names(kind: type[msgspec.Struct]) -> frozenset[str]:
    return frozenset(field.encode_name for field in msgspec.structs.fields(kind))


_ENVELOPE_FIELDS = frozenset({"channel"}) | _field_names(L2DataMessage)
# channel -> (event fields, {event key holding a list of items: the items' fields})
_EVENT_SCHEMAS: dict[str, tuple[frozenset[str], dict[str, frozenset[str]]]] = {
    "l2_data": (_field_names(L2Event), {"updates": _field_names(L2Level)}),
    "market_trades": (_field_names(MarketTradesEvent), {"trades": _field_names(MarketTrade)}),
    "ticker": (_field_names(TickerEvent), {"tickers": _field_names(TickerItem)}),
    "ticker_batch": (_field_names(TickerEvent), {"tickers": _field_names(TickerItem)}),
    "candles": (_field_names(CandlesEvent), {"candles": _field_names(Candle)}),
    "heartbeats": (_field_names(HeartbeatEvent), {}),
    "subscriptions": (_field_names(SubscriptionsEvent), {}),
    "user": (_field_names(UserEvent), {"orders": _field_names(UserOrder)}),
}


def find_unknown_fields(frame: object) -> set[str]:
    """Field paths of a generically decoded data frame that the Structs do not know.

    Only the first `_ITEMS_CHECKED` items of each list are looked at (a snapshot holds thousands
    of levels of one shape; a field the venue adds appears on every item).

    Paths look like `l2_data.foo` (envelope), `l2_data.events.bar` (event) and
    `l2_data.events.updates.baz` (item). Non-data frames and odd shapes give an empty set: shape
    errors are the decoder's business, not this function's.
    """
    found: set[str] = set()
    if not isinstance(frame, dict):
        return found
    channel = frame.get("channel")
    if not isinstance(channel, str) or channel not in _EVENT_SCHEMAS:
        return found
    event_fields, item_fields = _EVENT_SCHEMAS[channel]
    found.update(f"{channel}.{key}" for key in frame if key not in _ENVELOPE_FIELDS)
    events = frame.get("events")
    if not isinstance(events, list):
        return found
    for event in events:
        if not isinstance(event, dict):
            continue
        found.update(f"{channel}.events.{key}" for key in event if key not in event_fields)
        for list_key, known in item_fields.items():
            items = event.get(list_key)
            if not isinstance(items, list):
                continue
            keys: set[str] = set()
            for item in items[:_ITEMS_CHECKED]:
                if isinstance(item, dict):
                    keys.update(item)
            found.update(f"{channel}.events.{list_key}.{key}" for key in keys - known)
    return found


_GENERIC_DECODER = msgspec.json.Decoder()
_FRAME_PROBE = msgspec.json.Decoder(dict[str, list[dict[str, msgspec.Raw]] | str | int | float | bool | None])
_OBJECT_PROBE = msgspec.json.Decoder(dict[str, msgspec.Raw])
_EVENTS_PROBE = msgspec.json.Decoder(list[dict[str, msgspec.Raw]])
_LIST_PROBE = msgspec.json.Decoder(list[msgspec.Raw])
_PREFIX_BYTES = 1 << 16


def unknown_fields_of_text(data: str | bytes) -> set[str]:
    """`find_unknown_fields` of a frame text, without building the items it does not look at.

    A snapshot frame holds tens of thousands of levels; decoding it generically (a dict per level)
    costs more than decoding it typed. Here the envelope and the events are decoded as raw JSON
    per key, and of each list inside an event only the first `_ITEMS_CHECKED` items are decoded:
    the result is the same as `find_unknown_fields` of the generically decoded frame. Raises
    msgspec.DecodeError (or RecursionError, UnicodeError) for a text that is not JSON.
    """
    frame: dict[str, Any]
    try:  # one pass over the text: the usual envelope (scalars, and a list of event objects)
        probed = _FRAME_PROBE.decode(data)
    except msgspec.ValidationError:
        pass
    else:
        frame = dict(probed)
        events = probed.get("events")
        if isinstance(events, list):
            frame["events"] = [{key: _first_items(value) for key, value in event.items()} for event in events]
        return find_unknown_fields(frame)
    try:
        top = _OBJECT_PROBE.decode(data)
    except msgspec.ValidationError:  # not an object: no field to report
        return set()
    frame = dict.fromkeys(top)
    channel = top.get("channel")
    if channel is not None:
        frame["channel"] = _GENERIC_DECODER.decode(channel)
    raw_events = top.get("events")
    if raw_events is not None:
        try:
            frame["events"] = [
                {key: _first_items(value) for key, value in event.items()}
                for event in _EVENTS_PROBE.decode(raw_events)
            ]
        except msgspec.ValidationError:  # not a list of objects: find_unknown_fields skips it
            frame["events"] = _GENERIC_DECODER.decode(raw_events)
    return find_unknown_fields(frame)


def _first_items(raw: msgspec.Raw) -> list[Any] | None:
    """The first `_ITEMS_CHECKED` items of a raw JSON list, decoded; None when it is not a list."""
    view = memoryview(raw)
    if not view.nbytes or view[0] != ord("["):
        return None
    head = bytes(view[:_PREFIX_BYTES])
    # Fast path: cut the text after the _ITEMS_CHECKED-th `},` and close the list. Unless the cut
    # falls exactly after the _ITEMS_CHECKED-th item (flat objects, the usual case), the prefix is
    # not valid JSON or holds fewer items, and the whole list is split instead.
    cut = -1
    for _ in range(_ITEMS_CHECKED):
        cut = head.find(b"},", cut + 1)
        if cut < 0:
            break
    if cut >= 0:
        try:
            items = _GENERIC_DECODER.decode(head[: cut + 1] + b"]")
        except msgspec.DecodeError:
            items = None
        if isinstance(items, list) and len(items) == _ITEMS_CHECKED:
            return items
    try:
        return [_GENERIC_DECODER.decode(item) for item in _LIST_PROBE.decode(raw)[:_ITEMS_CHECKED]]
    except msgspec.ValidationError:  # pragma: no cover - a Raw that starts with "[" is a list
        return None
