"""The simulated venue: an exchange that matches our orders against a replayed market.

It implements the `VenueGateway` port, so the kernel cannot tell it from a live venue: requests
return at once and the answers come later, as `VenueReport`s, through the sink.

Timeline
    Everything the venue does happens on one time-ordered queue, processed in (time, sequence)
    order by `advance(now_ns)`; `advance` is the only method that calls the sink.
    - A request (submit, cancel, cancel all) made at the clock's time t takes effect at
      t + `latency_ns` + jitter. Requests travel one connection: none overtakes an earlier one
      (its effect time is at least the previous request's).
    - A report produced at effect time e is delivered at e + `report_latency_ns` + jitter, never
      before an earlier report. Its own `ts_ns` is e, the venue's event time; so is a fill's.
    - Market data (`on_book_update`, `on_book`, `on_trade`) is queued at the clock's time when it
      is handed in: events at the same time are processed in the order they were handed in.
    - Jitter is `randint(0, latency_jitter_ns)` from `random.Random(seed)`, one draw per request
      and per report. A clock earlier than what the venue has already processed counts as the
      processed time, so time never runs backwards.
    The deterministic runtime drives it by advancing a SimulatedClock to `next_event_ns()` (or
    to the next market event) and calling `advance`; the threaded runtime calls `advance` from a
    timer. Public methods hold one re-entrant lock, so a sink may submit from inside `advance`
    (it must not block on another thread that uses the venue).

Orders (at effect time; the matching itself is `matching_engine`'s, see its docstring)
    - Refused with OrderRejected(reason), nothing traded: a client order id the venue has seen
      before, whatever became of it ("duplicate client order id": an id is never placed twice);
      an unknown instrument; a STOP_LIMIT; a market order that is not IOC/FOK or is post-only; a
      limit order without a price; a post-only IOC/FOK; a GTD order without an expiry or whose
      expiry has passed; a size or price off the instrument's grid or limits; a reduce-only order
      that would not reduce the venue's position (or would flip it); a post-only order that would
      cross the visible book ("post-only would cross").
    - Otherwise OrderAccepted(venue order id) comes first, then:
    - MARKET walks the opposite side of the mirror best level first (slippage), one taker fill per
      level at the level's price. IOC fills what is visible and cancels the rest (OrderCanceled
      after the fills); FOK fills everything if the visible depth covers it, else nothing and
      OrderCanceled.
    - LIMIT takes like a market order, but only from levels at or better than its price; then
      GTC and GTD rest the remainder, IOC cancels it, FOK is all or nothing as above. A GTD order
      expires at `expire_at_ns`: OrderExpired, after any fills it had.
    - A resting order fills as maker, at its own price, from public trades once its queue ahead
      is exhausted, from trades through its price, and from a book that moves through it.
    - Taking liquidity hides it until the feed next updates that level.
    - Our orders never trade with each other.
    - No funds check: the ledger may go negative (the kernel's risk engine checks funds).

Cancels
    - cancel_venue_order(venue order id) cancels by the venue's id (an order we did not place, found
      at reconciliation), like cancel(id) for an open order; for any other id it reports nothing.
    - cancel(id), at effect time: an open order (partially filled or not) is canceled, the rest of
      it no longer works: OrderCanceled. If it filled completely in between, the cancel lost the
      race: OrderCancelRejected("already filled"); likewise "already canceled", "already
      expired", and "unknown order" for an id the venue never placed (never seen, or rejected).
    - cancel_all(instrument or None) cancels every open order (of that instrument) at effect
      time, one OrderCanceled each, in time priority; it says nothing about orders not open.

Fills, fees and the ledger
    - Venue order ids `<venue>-1`, `<venue>-2`, ... in order of acceptance; fill ids
      `<venue>-F-1`, ... in order of execution. With the default venue name: SIM-1, SIM-F-1.
    - fee = price x quantity x bps / 10,000, exactly (no rounding to a currency increment), in
      the instrument's quote currency: maker bps for resting fills, taker bps for taking fills.
      A negative fee is a rebate.
    - A spot-style cash ledger per currency: a buy adds the quantity to the base currency and
      takes price x quantity + fee from the quote currency; a sell the reverse (quote receives
      price x quantity - fee). So, exactly, for every currency and instrument:
      quote change + sum of signed quantity x price = -sum of fees, base change = sum of signed
      quantities = position. `positions()` is the signed base quantity per instrument.

Queries
    `order_status(id)` is the venue's view of any order it received, open or closed (REJECTED with
    no venue order id when it was refused), None if it never received it. `submission_count(id)`
    counts the submits received for an id (more than one: the kernel sent an id twice).

Durability (`store=SimulatedVenueStore(path)`)
    The exchange outlives our process. With a store, the venue writes what changed (orders, fills,
    ledger, positions, id counters, one submissions row per submit received) in one committed
    transaction before any report leaves it, and at the end of each `advance`: the kernel can never
    hold a fill the venue forgot. A venue built on a store that has state restores it: orders
    (open ones rest again, at the back of their level's queue; GTD expiries are rescheduled),
    fills, ledger, positions, counters, and so the duplicate-id refusal. The book, requests and
    reports in flight are not stored (the feed rebuilds the book; in-flight messages are lost, as
    on a network). Without a store (the default) nothing is written and nothing else changes.

Snapshot
    `snapshot()` is the venue's whole state (orders of any status, fills, ledger, id counters,
    the books and queues of every instrument, every pending request, market event and report, the
    RNG) as plain JSON-friendly data, Decimals as strings. `restore()` on a venue built with the
    same config and instruments continues exactly as the original would have.
"""

from __future__ import annotations

import enum
import heapq
import random
import threading
from bisect import bisect_left
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any, Final, TypeAlias

import attrs

from application.ports.clock import Clock
from application.ports.venue_gateway import (
    VENUE_REJECTED,
    VenueOrderStatus,
    VenueReport,
    VenueReportSink,
)
from domain.errors import InvalidValueError
from domain.fill import Fill
from domain.identifiers import ClientOrderId, FillId, VenueOrderId
from domain.instrument import Instrument, InstrumentId
from domain.market_data import OrderBookUpdate, TradeTick
from domain.numbers import BPS, EXACT_CONTEXT, ZERO, to_decimal
from domain.order_book import OrderBook
from domain.order_terms import LiquiditySide, OrderSide, OrderType, TimeInForce
from domain.orders import (
    OrderAccepted,
    OrderCanceled,
    OrderCancelRejected,
    OrderExpired,
    OrderFilled,
    OrderRejected,
)
from domain.orders.order import Order
from infrastructure.venues.simulated.config import SimulatedVenueConfig
from infrastructure.venues.simulated.matching_engine import Execution, MatchingEngine, check_update
from infrastructure.venues.simulated.venue_store import SimulatedVenueStore, VenueChanges

__all__ = [
    "ALREADY_CANCELED",
    "ALREADY_EXPIRED",
    "ALREADY_FILLED",
    "DUPLICATE_CLIENT_ORDER_ID",
    "POST_ONLY_WOULD_CROSS",
    "SNAPSHOT_FORMAT",
    "UNKNOWN_ORDER",
    "OrderTerms",
    "SimulatedVenue",
]

_EXACT = EXACT_CONTEXT

POST_ONLY_WOULD_CROSS: Final = "post-only would cross"
DUPLICATE_CLIENT_ORDER_ID: Final = "duplicate client order id"
ALREADY_FILLED: Final = "already filled"
ALREADY_CANCELED: Final = "already canceled"
ALREADY_EXPIRED: Final = "already expired"
UNKNOWN_ORDER: Final = "unknown order"
SNAPSHOT_FORMAT: Final = 1


class _Status(enum.Enum):
    """An order's status as the venue keeps it."""

    OPEN = "OPEN"  # accepted and working (possibly partially filled)
    FILLED = "FILLED"
    CANCELED = "CANCELED"
    EXPIRED = "EXPIRED"
    REJECTED = "REJECTED"


_CANCEL_REFUSALS: Final = {
    _Status.FILLED: ALREADY_FILLED,
    _Status.CANCELED: ALREADY_CANCELED,
    _Status.EXPIRED: ALREADY_EXPIRED,
    _Status.REJECTED: UNKNOWN_ORDER,
}


def _optional_decimal(value: Decimal | int | str | None) -> Decimal | None:
    return None if value is None else to_decimal(value)


@attrs.frozen
class OrderTerms:
    """What the venue keeps of an `Order`: its terms, copied when it is submitted."""

    client_order_id: ClientOrderId
    instrument_id: InstrumentId
    side: OrderSide
    order_type: OrderType
    quantity: Decimal = attrs.field(converter=to_decimal)
    price: Decimal | None = attrs.field(converter=_optional_decimal)
    time_in_force: TimeInForce
    post_only: bool = False
    reduce_only: bool = False
    expire_at_ns: int | None = None

    @classmethod
    def from_order(cls, order: Order) -> OrderTerms:
        """The terms of `order`."""
        return cls(
            client_order_id=order.client_order_id,
            instrument_id=order.instrument_id,
            side=order.side,
            order_type=order.order_type,
            quantity=order.quantity,
            price=order.price,
            time_in_force=order.time_in_force,
            post_only=order.post_only,
            reduce_only=order.reduce_only,
            expire_at_ns=order.expire_at_ns,
        )

    def to_json(self) -> dict[str, Any]:
        """Plain data, Decimals as strings."""
        return {
            "client_order_id": self.client_order_id.value,
            "instrument_id": str(self.instrument_id),
            "side": self.side.value,
            "order_type": self.order_type.value,
            "quantity": str(self.quantity),
            "price": None if self.price is None else str(self.price),
            "time_in_force": self.time_in_force.value,
            "post_only": self.post_only,
            "reduce_only": self.reduce_only,
            "expire_at_ns": self.expire_at_ns,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> OrderTerms:
        """The terms `to_json` wrote."""
        return cls(
            client_order_id=ClientOrderId.parse(data["client_order_id"]),
            instrument_id=InstrumentId.parse(data["instrument_id"]),
            side=OrderSide(data["side"]),
            order_type=OrderType(data["order_type"]),
            quantity=data["quantity"],
            price=data["price"],
            time_in_force=TimeInForce(data["time_in_force"]),
            post_only=bool(data["post_only"]),
            reduce_only=bool(data["reduce_only"]),
            expire_at_ns=data["expire_at_ns"],
        )


@attrs.define
class _VenueOrder:
    """An order the venue has received: its terms and what became of it."""

    terms: OrderTerms
    status: _Status
    venue_order_id: VenueOrderId | None = None
    filled: Decimal = ZERO
    priority: int = 0  # the venue order number: time priority

    @property
    def leaves(self) -> Decimal:
        return _EXACT.subtract(self.terms.quantity, self.filled)

    def to_json(self) -> dict[str, Any]:
        return {
            "terms": self.terms.to_json(),
            "status": self.status.value,
            "venue_order_id": None if self.venue_order_id is None else self.venue_order_id.value,
            "filled": str(self.filled),
            "priority": self.priority,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> _VenueOrder:
        venue_order_id = data["venue_order_id"]
        return cls(
            terms=OrderTerms.from_json(data["terms"]),
            status=_Status(data["status"]),
            venue_order_id=None if venue_order_id is None else VenueOrderId(venue_order_id),
            filled=to_decimal(data["filled"]),
            priority=int(data["priority"]),
        )


# ----- the time-ordered queue's items -----


@attrs.frozen
class _Submit:
    terms: OrderTerms


@attrs.frozen
class _Cancel:
    client_order_id: ClientOrderId


@attrs.frozen
class _CancelVenue:
    venue_order_id: VenueOrderId


@attrs.frozen
class _CancelAll:
    instrument_id: InstrumentId | None


@attrs.frozen
class _Expire:
    client_order_id: ClientOrderId


@attrs.frozen
class _Deliver:
    report: VenueReport


@attrs.frozen
class _Book:
    update: OrderBookUpdate


@attrs.frozen
class _Trade:
    trade: TradeTick


_Item: TypeAlias = _Submit | _Cancel | _CancelVenue | _CancelAll | _Expire | _Deliver | _Book | _Trade
_Entry: TypeAlias = tuple[int, int, _Item]  # (time, sequence, item): sequences are unique


class SimulatedVenue:
    """A deterministic exchange for replay and paper trading; see the module docstring."""

    venue: str

    def __init__(
        self,
        clock: Clock,
        report_sink: VenueReportSink,
        instruments: Iterable[Instrument],
        config: SimulatedVenueConfig | None = None,
        *,
        store: SimulatedVenueStore | None = None,
    ) -> None:
        self._config = config if config is not None else SimulatedVenueConfig()
        self.venue = self._config.venue
        self._clock = clock
        self._sink = report_sink
        self._instruments: dict[InstrumentId, Instrument] = {}
        for instrument in instruments:
            if instrument.id in self._instruments:
                raise InvalidValueError(f"instrument {instrument.id} given twice")
            if instrument.quote != self._config.quote_currency:
                raise InvalidValueError(
                    f"{instrument.id} is quoted in {instrument.quote}; the venue settles in "
                    f"{self._config.quote_currency}"
                )
            self._instruments[instrument.id] = instrument
        self._lock = threading.RLock()
        self._store = store
        self._reset()
        if store is not None:
            self._load(store)

    def _reset(self) -> None:
        """The state of a venue that has done nothing yet."""
        self._engines = {instrument_id: MatchingEngine(instrument_id) for instrument_id in self._instruments}
        self._now_ns = 0  # processed up to here
        self._sequence = 0
        self._queue: list[_Entry] = []
        self._last_arrival_ns = 0
        self._last_delivery_ns = 0
        self._rng = random.Random(self._config.seed)
        self._orders: dict[ClientOrderId, _VenueOrder] = {}
        self._open: dict[ClientOrderId, _VenueOrder] = {}  # in time priority
        self._fills: list[Fill] = []
        self._balances: dict[str, Decimal] = self._config.starting_balance_map()
        self._positions: dict[InstrumentId, Decimal] = {}
        self._next_order_number = 1
        self._next_fill_number = 1
        self._submissions: dict[ClientOrderId, int] = {}
        self._by_venue_id: dict[VenueOrderId, ClientOrderId] = {}
        # What changed since the last write to the store (tracked only with a store).
        self._dirty_orders: dict[ClientOrderId, _VenueOrder] = {}
        self._new_fills: list[Fill] = []
        self._dirty_currencies: set[str] = set()
        self._dirty_instruments: set[InstrumentId] = set()
        self._new_submissions: list[tuple[ClientOrderId, int]] = []
        self._counters_dirty = False

    # -- the gateway: requests ---------------------------------------------------------------

    def submit(self, order: Order) -> None:
        """Send `order`; it takes effect after the request latency."""
        terms = OrderTerms.from_order(order)
        with self._lock:
            self._push(self._arrival_ns(), _Submit(terms))

    def cancel(self, client_order_id: ClientOrderId) -> None:
        """Ask to cancel one order; it takes effect after the request latency."""
        with self._lock:
            self._push(self._arrival_ns(), _Cancel(client_order_id))

    def cancel_all(self, instrument_id: InstrumentId | None = None) -> None:
        """Ask to cancel every open order (of one instrument, or all) after the request latency."""
        with self._lock:
            self._push(self._arrival_ns(), _CancelAll(instrument_id))

    def cancel_venue_order(self, venue_order_id: VenueOrderId) -> None:
        """Ask to cancel one order by the venue's id; it takes effect after the request latency."""
        with self._lock:
            self._push(self._arrival_ns(), _CancelVenue(venue_order_id))

    # -- the gateway: queries (the state as processed so far; call advance first) -------------

    def open_orders(self) -> Sequence[VenueOrderStatus]:
        """The orders working at the venue now, in time priority."""
        with self._lock:
            return [_status_of(order) for order in self._open.values() if order.venue_order_id is not None]

    def order_status(self, client_order_id: ClientOrderId) -> VenueOrderStatus | None:
        """The venue's view of an order it received, open or closed; None if it never received it."""
        with self._lock:
            order = self._orders.get(client_order_id)
            return None if order is None else _status_of(order)

    def submission_count(self, client_order_id: ClientOrderId) -> int:
        """How many submits with this client order id the venue has received."""
        with self._lock:
            return self._submissions.get(client_order_id, 0)

    def fills_since(self, ts_ns: int) -> Sequence[Fill]:
        """Every fill at or after `ts_ns`, oldest first."""
        with self._lock:
            # Fills are recorded in time order (the venue's time never runs backwards).
            return self._fills[bisect_left(self._fills, ts_ns, key=_fill_time) :]

    def balances(self) -> dict[str, Decimal]:
        """The cash ledger per currency."""
        with self._lock:
            return dict(self._balances)

    def positions(self) -> dict[InstrumentId, Decimal]:
        """The signed base position of every instrument whose position is not zero."""
        with self._lock:
            return {instrument_id: size for instrument_id, size in self._positions.items() if size}

    def queue_ahead(self, client_order_id: ClientOrderId) -> Decimal | None:
        """The size ahead of a resting order in its level's queue; None when it is not resting."""
        with self._lock:
            order = self._open.get(client_order_id)
            if order is None:
                return None
            resting = self._engines[order.terms.instrument_id].resting(client_order_id)
            return None if resting is None else resting.queue_ahead

    # -- market data -------------------------------------------------------------------------

    def on_book_update(self, update: OrderBookUpdate) -> None:
        """Queue one frame of the replayed book at the clock's time (unknown instruments ignored)."""
        with self._lock:
            if update.instrument_id in self._engines:
                self._market(_Book(update))

    def on_book(self, book: OrderBook) -> None:
        """Queue a whole book as a snapshot, at the clock's time."""
        with self._lock:
            if book.instrument_id in self._engines:
                now = self._event_ns()
                update = OrderBookUpdate(
                    book.instrument_id, True, tuple(book.bids()), tuple(book.asks()), now
                )
                self._push(now, _Book(update))

    def on_trade(self, trade: TradeTick) -> None:
        """Queue one public trade at the clock's time (unknown instruments ignored)."""
        with self._lock:
            if trade.instrument_id in self._engines:
                self._market(_Trade(trade))

    def _market(self, item: _Book | _Trade) -> None:
        """Take market data at the clock's time: at once when nothing is due before or with it.

        Processing it now is what `advance` would do next (the same time, the same order: every
        queued item is later), without the queue; it trades our resting orders and queues their
        reports, but delivers nothing (only `advance` calls the sink). Otherwise it is queued behind
        what is due first.
        """
        now = self._event_ns()
        queue = self._queue
        if queue and queue[0][0] <= now:
            if isinstance(item, _Book):
                check_update(item.update)  # refuse a bad frame now, not later inside advance
            self._push(now, item)
            return
        self._process(item, now)  # a bad frame is refused whole, before anything changed
        self._now_ns = now

    # -- time --------------------------------------------------------------------------------

    def advance(self, now_ns: int) -> None:
        """Process everything due at or before `now_ns`, in (time, sequence) order, reporting to the sink."""
        with self._lock:
            queue = self._queue
            while queue and queue[0][0] <= now_ns:
                ts_ns, _, item = heapq.heappop(queue)
                self._now_ns = max(self._now_ns, ts_ns)
                self._process(item, self._now_ns)
            self._now_ns = max(self._now_ns, now_ns)
            self._flush()

    def next_event_ns(self) -> int | None:
        """When the next queued event is due (a request, market event, expiry or report), if any."""
        with self._lock:
            return self._queue[0][0] if self._queue else None

    @property
    def now_ns(self) -> int:
        """The time the venue has processed up to."""
        return self._now_ns

    # -- snapshot ----------------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """The venue's whole state as plain JSON-friendly data (Decimals as strings)."""
        with self._lock:
            version, internal, gauss = self._rng.getstate()
            return {
                "format": SNAPSHOT_FORMAT,
                "venue": self.venue,
                "now_ns": self._now_ns,
                "sequence": self._sequence,
                "last_arrival_ns": self._last_arrival_ns,
                "last_delivery_ns": self._last_delivery_ns,
                "next_order_number": self._next_order_number,
                "next_fill_number": self._next_fill_number,
                "rng": [version, list(internal), gauss],
                "orders": [order.to_json() for order in self._orders.values()],
                "open": [client_order_id.value for client_order_id in self._open],
                "fills": [_fill_to_json(fill) for fill in self._fills],
                "balances": {currency: str(amount) for currency, amount in self._balances.items()},
                "positions": {str(key): str(size) for key, size in self._positions.items()},
                "engines": {str(key): engine.snapshot() for key, engine in self._engines.items()},
                "queue": [_entry_to_json(entry) for entry in sorted(self._queue)],
                "submissions": {key.value: count for key, count in self._submissions.items()},
            }

    def restore(self, data: Mapping[str, Any]) -> None:
        """Replace the whole state with a `snapshot()` of a venue with the same config and instruments."""
        if data.get("format") != SNAPSHOT_FORMAT:
            raise InvalidValueError(f"unknown simulated venue snapshot format {data.get('format')!r}")
        if data["venue"] != self.venue:
            raise InvalidValueError(f"snapshot of venue {data['venue']!r} given to venue {self.venue!r}")
        with self._lock:
            self._reset()
            for key, engine_data in data["engines"].items():
                engine = self._engines.get(InstrumentId.parse(key))
                if engine is None:
                    raise InvalidValueError(f"snapshot has instrument {key}, which this venue does not trade")
                engine.restore(engine_data)
            self._now_ns = int(data["now_ns"])
            self._sequence = int(data["sequence"])
            self._last_arrival_ns = int(data["last_arrival_ns"])
            self._last_delivery_ns = int(data["last_delivery_ns"])
            self._next_order_number = int(data["next_order_number"])
            self._next_fill_number = int(data["next_fill_number"])
            version, internal, gauss = data["rng"]
            self._rng.setstate((version, tuple(internal), gauss))
            self._orders = {}
            for order_data in data["orders"]:
                order = _VenueOrder.from_json(order_data)
                self._orders[order.terms.client_order_id] = order
            self._open = {}
            for text in data["open"]:
                client_order_id = ClientOrderId.parse(text)
                self._open[client_order_id] = self._orders[client_order_id]
            self._fills = [_fill_from_json(fill) for fill in data["fills"]]
            self._balances = {currency: to_decimal(amount) for currency, amount in data["balances"].items()}
            self._positions = {
                InstrumentId.parse(key): to_decimal(size) for key, size in data["positions"].items()
            }
            self._queue = [_entry_from_json(entry) for entry in data["queue"]]
            heapq.heapify(self._queue)
            self._submissions = {
                ClientOrderId.parse(key): int(count) for key, count in data.get("submissions", {}).items()
            }
            self._index_venue_ids()
            if self._store is not None:  # the restored state replaces what the store holds
                self._dirty_orders = dict(self._orders)
                self._new_fills = list(self._fills)
                self._dirty_currencies = set(self._balances)
                self._dirty_instruments = set(self._positions)
                self._counters_dirty = True
                self._flush()

    # -- internals: the durable store -------------------------------------------------------

    def _index_venue_ids(self) -> None:
        self._by_venue_id = {
            order.venue_order_id: key
            for key, order in self._orders.items()
            if order.venue_order_id is not None
        }

    def _load(self, store: SimulatedVenueStore) -> None:
        """Restore the durable state from `store`, or write the starting state to a new store."""
        if store.is_empty():
            self._dirty_currencies = set(self._balances)
            self._counters_dirty = True
            self._flush()
            return
        state = store.load()
        if state.meta.get("venue") != self.venue:
            raise InvalidValueError(
                f"store of venue {state.meta.get('venue')!r} given to venue {self.venue!r}"
            )
        self._next_order_number = int(state.meta["next_order_number"])
        self._next_fill_number = int(state.meta["next_fill_number"])
        self._now_ns = int(state.meta.get("now_ns", "0"))
        for order_data in state.orders:
            order = _VenueOrder.from_json(order_data)
            self._orders[order.terms.client_order_id] = order
        self._fills = [_fill_from_json(fill) for fill in state.fills]
        self._balances = {currency: to_decimal(amount) for currency, amount in state.balances.items()}
        self._positions = {InstrumentId.parse(key): to_decimal(size) for key, size in state.positions.items()}
        for text, _ts_ns in state.submissions:
            key = ClientOrderId.parse(text)
            self._submissions[key] = self._submissions.get(key, 0) + 1
        self._index_venue_ids()
        for order in sorted(self._orders.values(), key=lambda o: o.priority):
            if order.status is not _Status.OPEN:
                continue
            terms = order.terms
            key = terms.client_order_id
            self._open[key] = order
            if terms.price is not None:
                self._engines[terms.instrument_id].rest(
                    key, terms.side, terms.price, order.leaves, order.priority
                )
            if terms.time_in_force is TimeInForce.GTD and terms.expire_at_ns is not None:
                self._push(terms.expire_at_ns, _Expire(key))

    def _changed(self, order: _VenueOrder) -> None:
        if self._store is not None:
            self._dirty_orders[order.terms.client_order_id] = order

    def _flush(self) -> None:
        """Write what changed since the last flush, in one committed transaction."""
        store = self._store
        if store is None:
            return
        if not (
            self._dirty_orders
            or self._new_fills
            or self._dirty_currencies
            or self._dirty_instruments
            or self._new_submissions
            or self._counters_dirty
        ):
            return
        meta: dict[str, str] = {}
        if self._counters_dirty:
            meta = {
                "venue": self.venue,
                "next_order_number": str(self._next_order_number),
                "next_fill_number": str(self._next_fill_number),
                "now_ns": str(self._now_ns),
            }
        store.write(
            VenueChanges(
                orders={key.value: order.to_json() for key, order in self._dirty_orders.items()},
                fills=tuple((fill.fill_id.value, _fill_to_json(fill)) for fill in self._new_fills),
                balances={c: str(self._balances.get(c, ZERO)) for c in sorted(self._dirty_currencies)},
                positions={
                    str(i): str(self._positions.get(i, ZERO))
                    for i in sorted(self._dirty_instruments, key=str)
                },
                submissions=tuple((key.value, ts_ns) for key, ts_ns in self._new_submissions),
                meta=meta,
            )
        )
        self._dirty_orders = {}
        self._new_fills = []
        self._dirty_currencies = set()
        self._dirty_instruments = set()
        self._new_submissions = []
        self._counters_dirty = False

    # -- internals: time ---------------------------------------------------------------------

    def _event_ns(self) -> int:
        """The time of something handed in now: the clock, but never before what was processed."""
        return max(self._clock.now_ns(), self._now_ns)

    def _jitter(self) -> int:
        jitter = self._config.latency_jitter_ns
        return self._rng.randint(0, jitter) if jitter else 0

    def _arrival_ns(self) -> int:
        arrival = self._event_ns() + self._config.latency_ns + self._jitter()
        self._last_arrival_ns = max(arrival, self._last_arrival_ns)
        return self._last_arrival_ns

    def _push(self, ts_ns: int, item: _Item) -> None:
        self._sequence += 1
        heapq.heappush(self._queue, (ts_ns, self._sequence, item))

    def _report(self, report: VenueReport) -> None:
        """Schedule `report` (made at its ts_ns, the effect time) for delivery after the latency."""
        delivery = report.ts_ns + self._config.report_latency_ns + self._jitter()
        self._last_delivery_ns = max(delivery, self._last_delivery_ns)
        self._push(self._last_delivery_ns, _Deliver(report))

    # -- internals: processing ---------------------------------------------------------------

    def _process(self, item: _Item, now: int) -> None:
        if isinstance(item, _Deliver):
            self._flush()  # durable before any report about it leaves the venue
            self._sink(item.report)
        elif isinstance(item, _Book):
            executions = self._engines[item.update.instrument_id].apply_book_update(item.update)
            self._execute_all(executions, now)
        elif isinstance(item, _Trade):
            executions = self._engines[item.trade.instrument_id].apply_trade(item.trade)
            self._execute_all(executions, now)
        elif isinstance(item, _Submit):
            self._on_submit(item.terms, now)
        elif isinstance(item, _Cancel):
            self._on_cancel(item.client_order_id, now)
        elif isinstance(item, _CancelVenue):
            key = self._by_venue_id.get(item.venue_order_id)
            order = None if key is None else self._open.get(key)
            if order is not None:  # else not open (or unknown): nothing to report about it
                self._close(order, _Status.CANCELED)
                self._report(OrderCanceled(order.terms.client_order_id, now))
        elif isinstance(item, _CancelAll):
            for order in list(self._open.values()):
                if item.instrument_id is None or order.terms.instrument_id == item.instrument_id:
                    self._close(order, _Status.CANCELED)
                    self._report(OrderCanceled(order.terms.client_order_id, now))
        else:
            expiring = self._open.get(item.client_order_id)
            if expiring is not None:  # else it was filled or canceled before its expiry
                self._close(expiring, _Status.EXPIRED)
                self._report(OrderExpired(item.client_order_id, now))

    def _on_submit(self, terms: OrderTerms, now: int) -> None:
        client_order_id = terms.client_order_id
        self._submissions[client_order_id] = self._submissions.get(client_order_id, 0) + 1
        if self._store is not None:
            self._new_submissions.append((client_order_id, now))
        if client_order_id in self._orders:
            self._report(OrderRejected(client_order_id, now, DUPLICATE_CLIENT_ORDER_ID))
            return
        reason = self._refusal(terms, now)
        if reason is not None:
            self._orders[client_order_id] = _VenueOrder(terms, _Status.REJECTED)
            self._changed(self._orders[client_order_id])
            self._report(OrderRejected(client_order_id, now, reason, reason == POST_ONLY_WOULD_CROSS))
            return
        engine = self._engines[terms.instrument_id]
        venue_order_id = VenueOrderId(f"{self.venue}-{self._next_order_number}")
        order = _VenueOrder(terms, _Status.OPEN, venue_order_id, ZERO, self._next_order_number)
        self._next_order_number += 1
        self._orders[client_order_id] = order
        self._open[client_order_id] = order
        self._by_venue_id[venue_order_id] = client_order_id
        self._changed(order)
        self._counters_dirty = self._store is not None
        self._report(OrderAccepted(client_order_id, now, venue_order_id))

        limit = terms.price if terms.order_type is OrderType.LIMIT else None
        tif = terms.time_in_force
        if tif is TimeInForce.FOK and not engine.can_fill(terms.side, terms.quantity, limit):
            self._close(order, _Status.CANCELED)
            self._report(OrderCanceled(client_order_id, now))
            return
        self._execute_all(engine.take(client_order_id, terms.side, terms.quantity, limit), now)
        if order.status is not _Status.OPEN:
            return  # filled completely
        if tif in (TimeInForce.IOC, TimeInForce.FOK) or limit is None:
            self._close(order, _Status.CANCELED)
            self._report(OrderCanceled(client_order_id, now))
            return
        engine.rest(client_order_id, terms.side, limit, order.leaves, order.priority)
        if tif is TimeInForce.GTD and terms.expire_at_ns is not None:
            self._push(terms.expire_at_ns, _Expire(client_order_id))

    def _refusal(self, terms: OrderTerms, now: int) -> str | None:
        """Why the venue refuses these terms, or None."""
        instrument = self._instruments.get(terms.instrument_id)
        if instrument is None:
            return f"unknown instrument {terms.instrument_id}"
        tif = terms.time_in_force
        if terms.order_type is OrderType.MARKET:
            if tif not in (TimeInForce.IOC, TimeInForce.FOK):
                return "a market order must be IOC or FOK"
            if terms.post_only:
                return "a market order cannot be post-only"
        elif terms.order_type is OrderType.LIMIT:
            if terms.price is None:
                return "a limit order needs a price"
            if terms.post_only and tif in (TimeInForce.IOC, TimeInForce.FOK):
                return "a post-only order cannot be IOC or FOK"
        else:
            return f"unsupported order type {terms.order_type.value}"
        if tif is TimeInForce.GTD:
            if terms.expire_at_ns is None:
                return "a GTD order needs an expiry time"
            if terms.expire_at_ns <= now:
                return "expiry time has passed"
        violations = instrument.size_violations(terms.quantity, terms.price)
        if violations:
            return "; ".join(violations)
        if terms.reduce_only:
            position = self._positions.get(terms.instrument_id, ZERO)
            increases = position == 0 or (position > 0) is (terms.side is OrderSide.BUY)
            if increases or terms.quantity > position.copy_abs():
                return "reduce-only order would not reduce the position"
        if (
            terms.post_only
            and terms.price is not None
            and self._engines[terms.instrument_id].would_cross(terms.side, terms.price)
        ):
            return POST_ONLY_WOULD_CROSS
        return None

    def _on_cancel(self, client_order_id: ClientOrderId, now: int) -> None:
        order = self._orders.get(client_order_id)
        if order is None:
            self._report(OrderCancelRejected(client_order_id, now, UNKNOWN_ORDER))
        elif order.status is _Status.OPEN:
            self._close(order, _Status.CANCELED)
            self._report(OrderCanceled(client_order_id, now))
        else:
            self._report(OrderCancelRejected(client_order_id, now, _CANCEL_REFUSALS[order.status]))

    def _close(self, order: _VenueOrder, status: _Status) -> None:
        """The order stops working: canceled, expired or filled."""
        order.status = status
        self._changed(order)
        client_order_id = order.terms.client_order_id
        del self._open[client_order_id]
        self._engines[order.terms.instrument_id].remove(client_order_id)

    def _execute_all(self, executions: Iterable[Execution], now: int) -> None:
        for execution in executions:
            self._execute(self._orders[execution.client_order_id], execution, now)

    def _execute(self, order: _VenueOrder, execution: Execution, now: int) -> None:
        """Book one execution: the fill, its fee, the ledger, the order, and the report."""
        terms = order.terms
        instrument = self._instruments[terms.instrument_id]
        notional = _EXACT.multiply(execution.price, execution.quantity)
        bps = (
            self._config.maker_fee_bps
            if execution.liquidity is LiquiditySide.MAKER
            else self._config.taker_fee_bps
        )
        fee = _EXACT.divide(_EXACT.multiply(notional, bps), BPS)
        fill = Fill(
            fill_id=FillId(f"{self.venue}-F-{self._next_fill_number}"),
            client_order_id=terms.client_order_id,
            instrument_id=terms.instrument_id,
            side=terms.side,
            price=execution.price,
            quantity=execution.quantity,
            fee=fee,
            fee_currency=instrument.quote,
            liquidity=execution.liquidity,
            ts_ns=now,
            venue_order_id=order.venue_order_id,
        )
        self._next_fill_number += 1
        signed = execution.quantity if terms.side is OrderSide.BUY else execution.quantity.copy_negate()
        cash = notional.copy_negate() if terms.side is OrderSide.BUY else notional
        balances = self._balances
        balances[instrument.quote] = _EXACT.subtract(
            _EXACT.add(balances.get(instrument.quote, ZERO), cash), fee
        )
        balances[instrument.base] = _EXACT.add(balances.get(instrument.base, ZERO), signed)
        self._positions[terms.instrument_id] = _EXACT.add(
            self._positions.get(terms.instrument_id, ZERO), signed
        )
        order.filled = _EXACT.add(order.filled, execution.quantity)
        self._fills.append(fill)
        if self._store is not None:
            self._changed(order)
            self._new_fills.append(fill)
            self._dirty_currencies.update((instrument.quote, instrument.base))
            self._dirty_instruments.add(terms.instrument_id)
            self._counters_dirty = True
        self._report(OrderFilled.from_fill(fill))
        if order.filled >= terms.quantity:
            self._close(order, _Status.FILLED)


def _status_of(order: _VenueOrder) -> VenueOrderStatus:
    terms = order.terms
    return VenueOrderStatus(
        client_order_id=terms.client_order_id,
        venue_order_id=order.venue_order_id,
        instrument_id=terms.instrument_id,
        side=terms.side,
        price=terms.price,
        quantity=terms.quantity,
        filled_quantity=order.filled,
        status=VENUE_REJECTED if order.status is _Status.REJECTED else order.status.value,
    )


# ----- snapshot codecs -----


def _fill_time(fill: Fill) -> int:
    return fill.ts_ns


def _fill_to_json(fill: Fill) -> dict[str, Any]:
    return {
        "fill_id": fill.fill_id.value,
        "client_order_id": fill.client_order_id.value,
        "instrument_id": str(fill.instrument_id),
        "side": fill.side.value,
        "price": str(fill.price),
        "quantity": str(fill.quantity),
        "fee": str(fill.fee),
        "fee_currency": fill.fee_currency,
        "liquidity": fill.liquidity.value,
        "ts_ns": fill.ts_ns,
        "venue_order_id": None if fill.venue_order_id is None else fill.venue_order_id.value,
    }


def _fill_from_json(data: Mapping[str, Any]) -> Fill:
    venue_order_id = data["venue_order_id"]
    return Fill(
        fill_id=FillId(data["fill_id"]),
        client_order_id=ClientOrderId.parse(data["client_order_id"]),
        instrument_id=InstrumentId.parse(data["instrument_id"]),
        side=OrderSide(data["side"]),
        price=data["price"],
        quantity=data["quantity"],
        fee=data["fee"],
        fee_currency=data["fee_currency"],
        liquidity=LiquiditySide(data["liquidity"]),
        ts_ns=int(data["ts_ns"]),
        venue_order_id=None if venue_order_id is None else VenueOrderId(venue_order_id),
    )


def _report_to_json(report: VenueReport) -> dict[str, Any]:
    data: dict[str, Any] = {
        "type": type(report).__name__,
        "client_order_id": report.client_order_id.value,
        "ts_ns": report.ts_ns,
    }
    if isinstance(report, OrderAccepted):
        data["venue_order_id"] = report.venue_order_id.value
    elif isinstance(report, OrderRejected | OrderCancelRejected):
        data["reason"] = report.reason
        if isinstance(report, OrderRejected) and report.post_only_crossed:
            data["post_only_crossed"] = True
    elif isinstance(report, OrderFilled):
        data["fill"] = _fill_to_json(report.fill)
    elif not isinstance(report, OrderCanceled | OrderExpired):
        raise InvalidValueError(f"the simulated venue never reports {type(report).__name__}")
    return data


def _report_from_json(data: Mapping[str, Any]) -> VenueReport:
    client_order_id = ClientOrderId.parse(data["client_order_id"])
    ts_ns = int(data["ts_ns"])
    kind = data["type"]
    if kind == "OrderAccepted":
        return OrderAccepted(client_order_id, ts_ns, VenueOrderId(data["venue_order_id"]))
    if kind == "OrderRejected":
        return OrderRejected(
            client_order_id, ts_ns, data["reason"], bool(data.get("post_only_crossed", False))
        )
    if kind == "OrderCancelRejected":
        return OrderCancelRejected(client_order_id, ts_ns, data["reason"])
    if kind == "OrderFilled":
        return OrderFilled(client_order_id, ts_ns, _fill_from_json(data["fill"]))
    if kind == "OrderCanceled":
        return OrderCanceled(client_order_id, ts_ns)
    if kind == "OrderExpired":
        return OrderExpired(client_order_id, ts_ns)
    raise InvalidValueError(f"unknown report type in snapshot: {kind!r}")


def _levels_to_json(levels: Iterable[tuple[Decimal, Decimal]]) -> list[list[str]]:
    return [[str(price), str(size)] for price, size in levels]


def _levels_from_json(levels: Iterable[Sequence[str]]) -> tuple[tuple[Decimal, Decimal], ...]:
    return tuple((to_decimal(price), to_decimal(size)) for price, size in levels)


def _entry_to_json(entry: _Entry) -> dict[str, Any]:
    ts_ns, sequence, item = entry
    data: dict[str, Any] = {"ts_ns": ts_ns, "sequence": sequence}
    if isinstance(item, _Submit):
        data["kind"] = "submit"
        data["terms"] = item.terms.to_json()
    elif isinstance(item, _Cancel | _Expire):
        data["kind"] = "cancel" if isinstance(item, _Cancel) else "expire"
        data["client_order_id"] = item.client_order_id.value
    elif isinstance(item, _CancelVenue):
        data["kind"] = "cancel_venue"
        data["venue_order_id"] = item.venue_order_id.value
    elif isinstance(item, _CancelAll):
        data["kind"] = "cancel_all"
        data["instrument_id"] = None if item.instrument_id is None else str(item.instrument_id)
    elif isinstance(item, _Deliver):
        data["kind"] = "deliver"
        data["report"] = _report_to_json(item.report)
    elif isinstance(item, _Book):
        update = item.update
        data["kind"] = "book"
        data["instrument_id"] = str(update.instrument_id)
        data["is_snapshot"] = update.is_snapshot
        data["bids"] = _levels_to_json(update.bids)
        data["asks"] = _levels_to_json(update.asks)
        data["update_ts_ns"] = update.ts_ns
    else:
        trade = item.trade
        data["kind"] = "trade"
        data["instrument_id"] = str(trade.instrument_id)
        data["trade_id"] = trade.trade_id
        data["price"] = str(trade.price)
        data["size"] = str(trade.size)
        data["aggressor_side"] = None if trade.aggressor_side is None else trade.aggressor_side.value
        data["trade_ts_ns"] = trade.ts_ns
    return data


def _entry_from_json(data: Mapping[str, Any]) -> _Entry:
    kind = data["kind"]
    item: _Item
    if kind == "submit":
        item = _Submit(OrderTerms.from_json(data["terms"]))
    elif kind == "cancel":
        item = _Cancel(ClientOrderId.parse(data["client_order_id"]))
    elif kind == "expire":
        item = _Expire(ClientOrderId.parse(data["client_order_id"]))
    elif kind == "cancel_venue":
        item = _CancelVenue(VenueOrderId(data["venue_order_id"]))
    elif kind == "cancel_all":
        instrument = data["instrument_id"]
        item = _CancelAll(None if instrument is None else InstrumentId.parse(instrument))
    elif kind == "deliver":
        item = _Deliver(_report_from_json(data["report"]))
    elif kind == "book":
        update = OrderBookUpdate(
            instrument_id=InstrumentId.parse(data["instrument_id"]),
            is_snapshot=bool(data["is_snapshot"]),
            bids=_levels_from_json(data["bids"]),
            asks=_levels_from_json(data["asks"]),
            ts_ns=int(data["update_ts_ns"]),
        )
        check_update(update)  # processed later as checked, like a frame handed in
        item = _Book(update)
    elif kind == "trade":
        aggressor = data["aggressor_side"]
        item = _Trade(
            TradeTick(
                instrument_id=InstrumentId.parse(data["instrument_id"]),
                trade_id=data["trade_id"],
                price=to_decimal(data["price"]),
                size=to_decimal(data["size"]),
                aggressor_side=None if aggressor is None else OrderSide(aggressor),
                ts_ns=int(data["trade_ts_ns"]),
            )
        )
    else:
        raise InvalidValueError(f"unknown queue item in snapshot: {kind!r}")
    return int(data["ts_ns"]), int(data["sequence"]), item
