"""The Order aggregate: an order's terms, and the events that moved it through its life cycle.

`Order.apply` is the only way an order changes. Every check is made before anything is changed, so
an event either applies completely or leaves the order exactly as it was.

Decisions (see adr/0003-order-transition-table.md; the statuses come from the transition table):
- A fill while SUBMITTED (before the ack) is applied: venues report fills before acks.
- A fill while PENDING_CANCEL is applied; the cancel stays pending unless the fill completes the
  quantity (-> FILLED). The order works at the venue until the venue answers the cancel.
- A fill after CANCELED or EXPIRED is applied (its quantity and money are real: the venue executed
  it before it stopped working the order); the status stays terminal, or becomes FILLED if the fill
  completes the quantity.
- A rejected cancel returns to the open status the order's facts imply: PARTIALLY_FILLED if anything
  is filled, else TRIGGERED if triggered, else ACCEPTED if acknowledged, else SUBMITTED. That is the
  status before the request, updated by fills, acks and triggers that arrived while it was pending.
- A duplicate fill (a fill id already applied, with the same price and quantity) is ignored; an
  overfill (a fill that would take the filled quantity above the order quantity) is refused and the
  order is unchanged. Neither is silent: `apply` returns an `OrderUpdate` saying so, and the caller
  journals and surfaces it.
- A fill id already applied with a different price or quantity is not a duplicate but a contradiction
  between venue reports: it raises FillConflictError. Fee, time and liquidity may legitimately differ
  between a venue's feeds; the first report is kept.
- An event for another order, or a fill on another instrument, side or venue order id, raises
  OrderMismatchError. A second ack, a second trigger, a trigger of an order that is not a
  stop-limit, or a rejection of an order that has fills raises InvalidOrderTransition: a rejected
  order never traded. For the same reason a fill on a DENIED or REJECTED order raises: it
  contradicts the venue's own answer and must be reconciled, not believed.
"""

from __future__ import annotations

import enum
from decimal import Decimal

import attrs

from domain.errors import DomainError, InvalidValueError
from domain.fill import Fill
from domain.identifiers import ClientOrderId, FillId, StrategyId, VenueOrderId
from domain.instrument import InstrumentId
from domain.numbers import EXACT_CONTEXT, REPORT_CONTEXT, REPORT_PRECISION, ZERO, to_decimal
from domain.order_terms import OrderSide, OrderType, TimeInForce
from domain.orders.order_events import (
    OrderAccepted,
    OrderEvent,
    OrderFilled,
    OrderRejected,
    OrderTriggered,
)
from domain.orders.order_state_machine import (
    FINAL_FILL,
    PARTIAL_FILL,
    EventKey,
    InvalidOrderTransition,
    event_name,
    next_state,
)
from domain.orders.order_status import OrderStatus
from domain.signals import OrderIntent

# Money is exact under EXACT_CONTEXT; the average fill price is a report (see domain.numbers).
_EXACT = EXACT_CONTEXT
_AVERAGE = REPORT_CONTEXT
AVERAGE_PRICE_PRECISION = REPORT_PRECISION

_frozen = attrs.setters.frozen
_mutable = attrs.setters.NO_OP


class OrderMismatchError(DomainError):
    """An event or fill that does not belong to this order (client id, instrument, side, venue id)."""


class FillConflictError(DomainError):
    """A fill id already applied, reported again with a different price or quantity."""


class UpdateOutcome(enum.Enum):
    """What `Order.apply` did with an event."""

    APPLIED = "APPLIED"
    DUPLICATE_FILL_IGNORED = "DUPLICATE_FILL_IGNORED"  # the fill id was already applied
    OVERFILL_REFUSED = "OVERFILL_REFUSED"  # the fill would take filled above the order quantity


@attrs.frozen
class OrderUpdate:
    """The report of one `Order.apply`: the outcome, the status before and after, and why."""

    client_order_id: ClientOrderId
    outcome: UpdateOutcome
    event: OrderEvent
    previous_status: OrderStatus
    status: OrderStatus
    message: str

    @property
    def applied(self) -> bool:
        """True when the event changed the order (it is then in `Order.events`)."""
        return self.outcome is UpdateOutcome.APPLIED


@attrs.define(eq=False, on_setattr=_frozen)
class Order:
    """One order: its terms (fixed at creation) and its life cycle state (changed only by `apply`).

    Build it with `Order.from_intent`, whose `OrderIntent` has already checked the terms. The filled
    quantity and notional are kept exactly; the average fill price is derived from them.
    """

    client_order_id: ClientOrderId
    strategy_id: StrategyId
    instrument_id: InstrumentId
    side: OrderSide
    order_type: OrderType
    quantity: Decimal = attrs.field(converter=to_decimal)
    price: Decimal | None
    time_in_force: TimeInForce
    post_only: bool
    reduce_only: bool
    expire_at_ns: int | None
    trigger_price: Decimal | None
    ts_init_ns: int
    tag: str = ""

    # The life cycle state; fills, fees and events are left out of repr, which stays one line.
    _status: OrderStatus = attrs.field(init=False, default=OrderStatus.INITIALIZED, on_setattr=_mutable)
    _filled_quantity: Decimal = attrs.field(init=False, default=ZERO, on_setattr=_mutable)
    _filled_notional: Decimal = attrs.field(init=False, default=ZERO, on_setattr=_mutable)
    _fees: dict[str, Decimal] = attrs.field(init=False, factory=dict, on_setattr=_mutable, repr=False)
    _fills: dict[FillId, Fill] = attrs.field(init=False, factory=dict, on_setattr=_mutable, repr=False)
    _events: list[OrderEvent] = attrs.field(init=False, factory=list, on_setattr=_mutable, repr=False)
    _venue_order_id: VenueOrderId | None = attrs.field(init=False, default=None, on_setattr=_mutable)
    _accepted: bool = attrs.field(init=False, default=False, on_setattr=_mutable)
    _triggered: bool = attrs.field(init=False, default=False, on_setattr=_mutable)

    def __attrs_post_init__(self) -> None:
        # The overfill and leaves arithmetic rely on a positive quantity.
        if self.quantity <= 0:
            raise InvalidValueError(f"order {self.client_order_id}: quantity must be positive")

    @classmethod
    def from_intent(cls, intent: OrderIntent, client_order_id: ClientOrderId, ts_ns: int) -> Order:
        """A new INITIALIZED order with the terms of `intent`, created at `ts_ns`."""
        return cls(
            client_order_id=client_order_id,
            strategy_id=intent.strategy_id,
            instrument_id=intent.instrument_id,
            side=intent.side,
            order_type=intent.order_type,
            quantity=intent.quantity,
            price=intent.price,
            time_in_force=intent.time_in_force,
            post_only=intent.post_only,
            reduce_only=intent.reduce_only,
            expire_at_ns=intent.expire_at_ns,
            trigger_price=intent.trigger_price,
            ts_init_ns=ts_ns,
            tag=intent.tag,
        )

    # ----- the life cycle -----

    def apply(self, event: OrderEvent) -> OrderUpdate:
        """Apply `event` and report what happened; an illegal or foreign event raises, changing nothing."""
        if event.client_order_id != self.client_order_id:
            raise OrderMismatchError(
                f"event {type(event).__name__} for order {event.client_order_id} "
                f"applied to order {self.client_order_id}"
            )
        if isinstance(event, OrderFilled):
            return self._apply_fill(event)
        if isinstance(event, OrderAccepted):
            self._check_acceptance(event)
        elif isinstance(event, OrderTriggered):
            self._check_trigger()
        elif isinstance(event, OrderRejected) and self._filled_quantity > 0:
            # The table allows a rejection while a cancel is pending, where it cannot see the fills.
            raise InvalidOrderTransition(
                self.client_order_id, self._status, OrderRejected, "the order has fills"
            )
        status = self._next_state(type(event))
        if isinstance(event, OrderAccepted):
            self._venue_order_id = event.venue_order_id
            self._accepted = True
        elif isinstance(event, OrderTriggered):
            self._triggered = True
        return self._commit(event, status)

    def _apply_fill(self, event: OrderFilled) -> OrderUpdate:
        fill = event.fill
        self._check_fill_belongs(fill)
        known = self._fills.get(fill.fill_id)
        if known is not None:
            if known.price != fill.price or known.quantity != fill.quantity:
                raise FillConflictError(
                    f"order {self.client_order_id}: fill {fill.fill_id} was applied as {known.quantity} @ "
                    f"{known.price}, now reported as {fill.quantity} @ {fill.price}"
                )
            return self._report(
                event,
                UpdateOutcome.DUPLICATE_FILL_IGNORED,
                f"order {self.client_order_id}: fill {fill.fill_id} was already applied; duplicate ignored",
            )
        filled = _EXACT.add(self._filled_quantity, fill.quantity)
        if filled > self.quantity:
            return self._report(
                event,
                UpdateOutcome.OVERFILL_REFUSED,
                f"order {self.client_order_id}: fill {fill.fill_id} of {fill.quantity} would take the filled "
                f"quantity from {self._filled_quantity} to {filled}, above the order quantity "
                f"{self.quantity}; refused",
            )
        status = self._next_state(FINAL_FILL if filled == self.quantity else PARTIAL_FILL)
        # Every check has passed: compute everything, then change the order.
        notional = _EXACT.add(self._filled_notional, _EXACT.multiply(fill.price, fill.quantity))
        fee = _EXACT.add(self._fees.get(fill.fee_currency, ZERO), fill.fee)
        self._filled_quantity = filled
        self._filled_notional = notional
        self._fees[fill.fee_currency] = fee
        self._fills[fill.fill_id] = fill
        if self._venue_order_id is None:
            # A fill that beats the ack still tells us the venue's id for the order.
            self._venue_order_id = fill.venue_order_id
        return self._commit(event, status)

    def _next_state(self, key: EventKey) -> OrderStatus:
        return next_state(
            self.client_order_id,
            self._status,
            key,
            accepted=self._accepted,
            triggered=self._triggered,
            any_filled=self._filled_quantity > 0,
        )

    def _check_acceptance(self, event: OrderAccepted) -> None:
        if self._accepted:
            raise InvalidOrderTransition(
                self.client_order_id, self._status, OrderAccepted, "already accepted"
            )
        if self._venue_order_id is not None and event.venue_order_id != self._venue_order_id:
            raise OrderMismatchError(
                f"order {self.client_order_id}: accepted as {event.venue_order_id}, "
                f"but its fills came with venue order id {self._venue_order_id}"
            )

    def _check_trigger(self) -> None:
        if self.order_type is not OrderType.STOP_LIMIT:
            raise InvalidOrderTransition(
                self.client_order_id,
                self._status,
                OrderTriggered,
                f"a {self.order_type.value} order has no trigger",
            )
        if self._triggered:
            raise InvalidOrderTransition(
                self.client_order_id, self._status, OrderTriggered, "already triggered"
            )

    def _check_fill_belongs(self, fill: Fill) -> None:
        if fill.instrument_id != self.instrument_id:
            raise OrderMismatchError(
                f"order {self.client_order_id} is on {self.instrument_id}; fill {fill.fill_id} is on "
                f"{fill.instrument_id}"
            )
        if fill.side is not self.side:
            raise OrderMismatchError(
                f"order {self.client_order_id} is a {self.side.value}; "
                f"fill {fill.fill_id} is a {fill.side.value}"
            )
        if (
            fill.venue_order_id is not None
            and self._venue_order_id is not None
            and fill.venue_order_id != self._venue_order_id
        ):
            raise OrderMismatchError(
                f"order {self.client_order_id} is venue order {self._venue_order_id}; fill {fill.fill_id} "
                f"is for venue order {fill.venue_order_id}"
            )

    def _commit(self, event: OrderEvent, status: OrderStatus) -> OrderUpdate:
        previous = self._status
        self._status = status
        self._events.append(event)
        key: EventKey = type(event)
        return OrderUpdate(
            self.client_order_id,
            UpdateOutcome.APPLIED,
            event,
            previous,
            status,
            f"order {self.client_order_id}: {event_name(key)} applied, {previous.value} -> {status.value}",
        )

    def _report(self, event: OrderEvent, outcome: UpdateOutcome, message: str) -> OrderUpdate:
        return OrderUpdate(self.client_order_id, outcome, event, self._status, self._status, message)

    # ----- what the order knows -----

    @property
    def status(self) -> OrderStatus:
        """The current status."""
        return self._status

    @property
    def is_open(self) -> bool:
        """True when the order is, or may be, working at the venue (it may still fill)."""
        return self._status.is_open

    @property
    def is_terminal(self) -> bool:
        """True when the venue will not work the order again (late fills are still applied)."""
        return self._status.is_terminal

    @property
    def filled_quantity(self) -> Decimal:
        """The exact sum of the applied fills' quantities."""
        return self._filled_quantity

    @property
    def leaves_quantity(self) -> Decimal:
        """The quantity not filled (quantity - filled), whatever the status; `is_open` says if it can fill."""
        return _EXACT.subtract(self.quantity, self._filled_quantity)

    @property
    def filled_notional(self) -> Decimal:
        """The exact sum of price x quantity over the applied fills, in the quote currency."""
        return self._filled_notional

    @property
    def average_fill_price(self) -> Decimal | None:
        """filled_notional / filled_quantity to 40 significant digits (half-even); None before any fill.

        The division may round, so the exact pair (`filled_notional`, `filled_quantity`) is what the
        order keeps; this is derived from it on each call. Rounding is monotonic, so the result lies
        within the lowest and highest fill prices whenever those have at most 40 digits.
        """
        if self._filled_quantity == 0:
            return None
        return _AVERAGE.divide(self._filled_notional, self._filled_quantity)

    @property
    def fees(self) -> dict[str, Decimal]:
        """The exact sum of the applied fills' fees, per fee currency (a rebate is negative); a copy."""
        return dict(self._fees)

    @property
    def fills(self) -> tuple[Fill, ...]:
        """The applied fills, in the order they were applied."""
        return tuple(self._fills.values())

    @property
    def fill_ids(self) -> tuple[FillId, ...]:
        """The ids of the applied fills, in the order they were applied."""
        return tuple(self._fills)

    @property
    def venue_order_id(self) -> VenueOrderId | None:
        """The venue's id for the order, from its ack or from a fill that beat the ack; else None."""
        return self._venue_order_id

    @property
    def events(self) -> tuple[OrderEvent, ...]:
        """The applied events, in the order they were applied (ignored and refused ones are not)."""
        return tuple(self._events)

    @property
    def ts_last_ns(self) -> int:
        """The time of the last applied event, or of creation before any."""
        return self._events[-1].ts_ns if self._events else self.ts_init_ns
