# Rules of this file:
#  1. Every legal status change of an order is one row of TRANSITIONS: (status, event) -> status.
#     Nothing else decides an order's status; `Order.apply` only looks it up here.
#  2. A pair missing from the table is illegal. `next_state` raises InvalidOrderTransition, naming
#     the order, the status and the event. There is no default row and no wildcard.
#  3. OrderFilled is keyed by what the fill does to the open quantity: PARTIAL_FILL leaves some open,
#     FINAL_FILL completes it.
#  4. What a status table cannot express is checked by the aggregate before the lookup, and changes
#     nothing: a duplicate fill (ignored, reported), an overfill (refused, reported), a fill, ack or
#     trigger that does not fit the order (raises), a second ack or trigger, or a rejection of an
#     order that has fills (raise: a rejected order never traded).
#  5. Real-money rules are rows, not special cases: fills after a cancel request, after CANCELED or
#     after EXPIRED are applied (the venue executed them); a fill before the acknowledgement is legal.
#  6. The one target that is not a status is RESTORE (a rejected cancel). It resolves from facts
#     the order records (anything filled? triggered? acknowledged?), not from remembered history, so
#     fills and acks that arrive while the cancel is pending are not forgotten.
#  7. Pure and cheap: no I/O, clock or logging; one dict lookup per event.

"""The order life cycle as ONE transition table (see adr/0003-order-transition-table.md)."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from types import MappingProxyType
from typing import TypeAlias

from domain.errors import DomainError
from domain.identifiers import ClientOrderId
from domain.orders.order_events import (
    OrderAccepted,
    OrderCanceled,
    OrderCancelRejected,
    OrderCancelRequested,
    OrderDenied,
    OrderEvent,
    OrderExpired,
    OrderRejected,
    OrderSubmitted,
    OrderTriggered,
)
from domain.orders.order_status import OrderStatus


class FillStage(enum.Enum):
    """What a fill does to the order's open quantity: the table's key for an OrderFilled."""

    PARTIAL = "partial"  # some quantity is still open after the fill
    FINAL = "final"  # the fill completes the order's quantity


class Restore(enum.Enum):
    """The marker target of a rejected cancel: back to the open status the order's facts imply."""

    RESTORE = "RESTORE"


PARTIAL_FILL = FillStage.PARTIAL
FINAL_FILL = FillStage.FINAL
RESTORE = Restore.RESTORE

EventKey: TypeAlias = "type[OrderEvent] | FillStage"
Target: TypeAlias = "OrderStatus | Restore"

# Short names, so that the table reads as a table.
INITIALIZED = OrderStatus.INITIALIZED
DENIED = OrderStatus.DENIED
SUBMITTED = OrderStatus.SUBMITTED
ACCEPTED = OrderStatus.ACCEPTED
REJECTED = OrderStatus.REJECTED
TRIGGERED = OrderStatus.TRIGGERED
PARTIALLY_FILLED = OrderStatus.PARTIALLY_FILLED
PENDING_CANCEL = OrderStatus.PENDING_CANCEL
FILLED = OrderStatus.FILLED
CANCELED = OrderStatus.CANCELED
EXPIRED = OrderStatus.EXPIRED

TRANSITIONS: Mapping[tuple[OrderStatus, EventKey], Target] = MappingProxyType(
    {
        # Our side: the risk check, then the send.
        (INITIALIZED, OrderDenied): DENIED,
        (INITIALIZED, OrderSubmitted): SUBMITTED,
        # Sent, not yet acknowledged. Venues do report fills (and IOC cancels) before the ack.
        (SUBMITTED, OrderRejected): REJECTED,
        (SUBMITTED, OrderAccepted): ACCEPTED,
        (SUBMITTED, PARTIAL_FILL): PARTIALLY_FILLED,
        (SUBMITTED, FINAL_FILL): FILLED,
        (SUBMITTED, OrderCancelRequested): PENDING_CANCEL,
        (SUBMITTED, OrderCanceled): CANCELED,
        (SUBMITTED, OrderExpired): EXPIRED,
        # Working at the venue. It may still refuse it, e.g. a stop-limit's limit order at the trigger.
        (ACCEPTED, OrderRejected): REJECTED,
        (ACCEPTED, OrderTriggered): TRIGGERED,
        (ACCEPTED, PARTIAL_FILL): PARTIALLY_FILLED,
        (ACCEPTED, FINAL_FILL): FILLED,
        (ACCEPTED, OrderCancelRequested): PENDING_CANCEL,
        (ACCEPTED, OrderCanceled): CANCELED,
        (ACCEPTED, OrderExpired): EXPIRED,
        # A triggered stop-limit works like an accepted limit order.
        (TRIGGERED, OrderRejected): REJECTED,
        (TRIGGERED, PARTIAL_FILL): PARTIALLY_FILLED,
        (TRIGGERED, FINAL_FILL): FILLED,
        (TRIGGERED, OrderCancelRequested): PENDING_CANCEL,
        (TRIGGERED, OrderCanceled): CANCELED,
        (TRIGGERED, OrderExpired): EXPIRED,
        # Partly filled; the ack may arrive after a fill that beat it.
        (PARTIALLY_FILLED, OrderAccepted): PARTIALLY_FILLED,
        (PARTIALLY_FILLED, PARTIAL_FILL): PARTIALLY_FILLED,
        (PARTIALLY_FILLED, FINAL_FILL): FILLED,
        (PARTIALLY_FILLED, OrderCancelRequested): PENDING_CANCEL,
        (PARTIALLY_FILLED, OrderCanceled): CANCELED,
        (PARTIALLY_FILLED, OrderExpired): EXPIRED,
        # Cancel requested, no answer yet. The order keeps working at the venue until it answers:
        # fills count (a partial one keeps the cancel pending), and so do a late ack or trigger.
        (PENDING_CANCEL, OrderCancelRequested): PENDING_CANCEL,  # a retried request
        (PENDING_CANCEL, OrderCancelRejected): RESTORE,
        (PENDING_CANCEL, OrderCanceled): CANCELED,
        (PENDING_CANCEL, OrderExpired): EXPIRED,
        (PENDING_CANCEL, OrderAccepted): PENDING_CANCEL,  # the cancel was requested before the ack
        (PENDING_CANCEL, OrderRejected): REJECTED,  # the venue refused the order the cancel was for
        (PENDING_CANCEL, OrderTriggered): PENDING_CANCEL,
        (PENDING_CANCEL, PARTIAL_FILL): PENDING_CANCEL,
        (PENDING_CANCEL, FINAL_FILL): FILLED,
        # Terminal. Only late fills change a status; the other rows keep it.
        (FILLED, OrderAccepted): FILLED,  # the fills beat the ack
        (FILLED, OrderCancelRejected): FILLED,  # the fills beat the cancel
        (CANCELED, PARTIAL_FILL): CANCELED,  # executed before the cancel, reported after it
        (CANCELED, FINAL_FILL): FILLED,
        (CANCELED, OrderCancelRejected): CANCELED,  # a retried request: "already canceled"
        (EXPIRED, PARTIAL_FILL): EXPIRED,  # executed before the expiry, reported after it
        (EXPIRED, FINAL_FILL): FILLED,
        (EXPIRED, OrderCancelRejected): EXPIRED,  # the expiry beat the cancel
        # A cancel that raced the rejection of its order is answered "unknown order" afterwards.
        (REJECTED, OrderCancelRejected): REJECTED,
        # DENIED has no rows, and REJECTED no other: nothing can happen to an order the venue
        # never worked.
    }
)

# What RESTORE can resolve to: every open status a cancel request can be made from.
RESTORE_STATES: frozenset[OrderStatus] = frozenset({SUBMITTED, ACCEPTED, TRIGGERED, PARTIALLY_FILLED})


class InvalidOrderTransition(DomainError):  # noqa: N818 - the name ADR 0003 gives it
    """An event that the transition table does not allow in the order's current status."""

    def __init__(
        self, client_order_id: ClientOrderId, state: OrderStatus, event: EventKey, detail: str = ""
    ) -> None:
        self.client_order_id = client_order_id
        self.state = state
        self.event_type = event_name(event)
        message = f"order {client_order_id}: {self.event_type} is not allowed in state {state.value}"
        super().__init__(f"{message} ({detail})" if detail else message)


def event_name(event: EventKey) -> str:
    """The readable name of a table key: the event class name, with the stage for a fill."""
    if isinstance(event, FillStage):
        return f"OrderFilled ({event.value} fill)"
    return event.__name__


def state_after_cancel_rejected(*, accepted: bool, triggered: bool, any_filled: bool) -> OrderStatus:
    """The open status a rejected cancel returns to, from what the order knows now.

    That is the status the order had before the request, updated by whatever arrived while the
    cancel was pending: a partial fill makes it PARTIALLY_FILLED, a late ack ACCEPTED.
    """
    if any_filled:
        return PARTIALLY_FILLED
    if triggered:
        return TRIGGERED
    if accepted:
        return ACCEPTED
    return SUBMITTED


def next_state(
    client_order_id: ClientOrderId,
    state: OrderStatus,
    event: EventKey,
    *,
    accepted: bool,
    triggered: bool,
    any_filled: bool,
) -> OrderStatus:
    """The status after `event` in `state`; raises InvalidOrderTransition if the table has no row."""
    target = TRANSITIONS.get((state, event))
    if target is None:
        raise InvalidOrderTransition(client_order_id, state, event)
    if isinstance(target, OrderStatus):
        return target
    return state_after_cancel_rejected(accepted=accepted, triggered=triggered, any_filled=any_filled)


def reachable_states(start: OrderStatus = INITIALIZED) -> frozenset[OrderStatus]:
    """Every status the table can lead to from `start` (including `start`)."""
    seen = {start}
    frontier = [start]
    while frontier:
        state = frontier.pop()
        for (source, _event), target in TRANSITIONS.items():
            if source is not state:
                continue
            for reached in (target,) if isinstance(target, OrderStatus) else RESTORE_STATES:
                if reached not in seen:
                    seen.add(reached)
                    frontier.append(reached)
    return frozenset(seen)
