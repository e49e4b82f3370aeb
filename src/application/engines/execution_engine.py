"""The execution engine: client order ids, the order table, routing to venues, reports back.

Orders (`ExecuteIntent` from risk):
1. a fresh `ClientOrderId` from the seeded generator, `Order.from_intent` at the clock's time;
2. `OrderInitialized` (the full terms) and then `OrderSubmitted` are applied and journaled, and
   the journal is flushed: WRITE-AHEAD, before the venue is called, so a crash between the two is
   resolved by asking the venue about that id, never by sending it again;
3. `venue.submit(order)`. A call that raises is a venue failure (`VenueCallFailed` journaled and
   sent to risk, whose breaker counts it); the order stays SUBMITTED, in doubt, and is NOT resent:
   the venue may have it. Only reconciliation or the venue's own reports settle it.
A denied intent (`DenyIntent`) also gets an id and an order, which goes INITIALIZED -> DENIED
(journaled with the reason codes) and is never sent.

Cancels (`CancelOrder` from a strategy or risk, `CancelAllOrders` from the breaker or an operator):
`OrderCancelRequested` is applied and journaled before `venue.cancel` (for every order still
open, in creation order, for cancel-all). A cancel of an unknown or terminal order is journaled
as `CancelNotSent`. A retried cancel of an order already PENDING_CANCEL is sent again (the
transition table allows it; a cancel is idempotent at the venue).

Reports (`VenueReport`s from the venue adapters' sinks) are applied to their order through its
transition table. What `Order.apply` returns decides what follows:
- APPLIED: the report is journaled under the order's stream and an `OrderUpdated` (the event and
  the order's snapshot right after it) goes to risk, to the portfolio (fills only) and to the
  owning strategy's engine, in that order;
- DUPLICATE_FILL_IGNORED / OVERFILL_REFUSED: the `OrderUpdate` is journaled and counted, and
  nothing is published: a fill is reported to the portfolio once;
- a report for an unknown order, or one the order refuses (a contradiction such as a fill on a
  rejected order), is journaled as `ReportNotApplied`, counted, and notified as CRITICAL.

Rebuild (a restarted actor, `rebuild()`): the order table, the open orders and the id counter are
replaced by a fold of the journal (`KernelState`, from `state_factory`): execution journals every
order event it applies before it publishes it, so the fold holds exactly the orders as the
failed instance left them in the journal, whatever it half-updated in memory. The id counter
never goes back (an id the failed instance drew but did not journal is skipped, never reissued).
Kept as they were: `counts` (statistics of this process, never read for a decision; the failed
instance counted only what it had journaled) and the venues failing since their last success
(successes are not journaled; keeping them means risk still hears the next success).
"""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from application.commands import CancelOrder
from application.engines.journal_writer import JournalWriter
from application.engines.messages import (
    FOREIGN_ORDER_REASON,
    PORTFOLIO,
    RISK,
    CancelNotSent,
    DenyIntent,
    ExecuteIntent,
    ForeignOrders,
    OrderInitialized,
    OrderSnapshot,
    OrderUpdated,
    ReportNotApplied,
    VenueCallFailed,
    VenueCallSucceeded,
    strategy_destination,
)
from application.ports.clock import Clock
from application.ports.notifier import Notifier, Severity
from application.ports.venue_gateway import VenueGateway
from application.runtime.bus import Bus
from domain.errors import DomainError
from domain.identifiers import ClientOrderId, ClientOrderIdGenerator
from domain.orders.order import Order, OrderUpdate, UpdateOutcome
from domain.orders.order_events import (
    ORDER_EVENT_TYPES,
    OrderAccepted,
    OrderCanceled,
    OrderCancelRequested,
    OrderDenied,
    OrderEvent,
    OrderExpired,
    OrderFilled,
    OrderRejected,
    OrderSubmitted,
)
from domain.risk.breaker_events import CancelAllOrders
from domain.signals import OrderIntent

if TYPE_CHECKING:  # the recovery package imports the engines' messages
    from application.recovery.kernel_state import KernelState


class ExecutionEngine:
    """Owns every order and routes requests to venues (see the module doc)."""

    def __init__(
        self,
        venues: Mapping[str, VenueGateway],
        bus: Bus,
        journal: JournalWriter,
        clock: Clock,
        *,
        seed: int,
        notifier: Notifier | None = None,
        state_factory: Callable[[], KernelState] | None = None,
    ) -> None:
        self._venues = dict(venues)  # keyed by the venue name instruments carry
        self._bus = bus
        self._journal = journal
        self._clock = clock
        self._ids = ClientOrderIdGenerator(seed)
        self._notifier = notifier
        self._state_factory = state_factory  # an empty KernelState configured as the kernel is
        self._orders: dict[ClientOrderId, Order] = {}
        self._open: dict[ClientOrderId, Order] = {}  # not terminal, in creation order
        self._failing_venues: dict[str, int] = {}
        self._foreign: set[ClientOrderId] = set()  # venue orders reconciliation found we did not place
        self.counts: Counter[str] = Counter()

    # ----- what the engine knows -----

    def order(self, client_order_id: ClientOrderId) -> Order | None:
        """The order with this id (read it; only this engine applies events to it)."""
        return self._orders.get(client_order_id)

    @property
    def orders(self) -> tuple[Order, ...]:
        """Every order, in creation order."""
        return tuple(self._orders.values())

    @property
    def next_counter(self) -> int:
        """The id generator's next counter (persist it to continue after a restart)."""
        return self._ids.next_counter

    def restore(self, state: KernelState) -> None:
        """Take over the order table and the id counter of a recovered state, before any message.

        Orders are copied (the state stays the fold's); the open ones (SUBMITTED to
        PENDING_CANCEL) are tracked as open, so a cancel-all reaches them. An order still
        INITIALIZED was never sent: it is kept, not open, for reconciliation to settle. Ids continue
        after the highest one issued in this seed's namespace, so none is ever issued twice.
        """
        if self._orders:
            raise ValueError("restore an execution engine before it handles any order")
        self._reset(state)

    def rebuild(self) -> None:
        """Replace the orders, open orders and id counter with the journal's fold (see the module doc)."""
        if self._state_factory is None:
            raise RuntimeError("the execution engine cannot rebuild: it was built without a state_factory")
        state = self._state_factory()
        for record in self._journal.journal.read(state.last_sequence + 1):
            state.apply(record)
        self._reset(state, keep_counter=True)

    def _reset(self, state: KernelState, *, keep_counter: bool = False) -> None:
        """Replace every order and the id counter with the state's (orders are deep copies)."""
        if state.id_seed % 256 != self._ids.namespace:
            raise ValueError(
                f"recovered ids count namespace {state.id_seed % 256}, "
                f"this engine issues namespace {self._ids.namespace}"
            )
        orders: dict[ClientOrderId, Order] = {}
        open_orders: dict[ClientOrderId, Order] = {}
        for order in state.orders:
            copied = copy.deepcopy(order)
            orders[copied.client_order_id] = copied
            if copied.is_open:
                open_orders[copied.client_order_id] = copied
        counter = state.next_id_counter
        if keep_counter:
            counter = max(counter, self._ids.next_counter)
        self._orders = orders
        self._open = open_orders
        self._ids = ClientOrderIdGenerator(self._ids.seed, counter)

    # ----- messages -----

    def handle(self, message: object) -> None:
        """Handle ExecuteIntent, DenyIntent, CancelOrder, CancelAllOrders or a venue report."""
        if isinstance(message, ORDER_EVENT_TYPES):
            self._on_report(message)
        elif isinstance(message, ExecuteIntent):
            self._submit(message.intent, message.approval_id)
        elif isinstance(message, DenyIntent):
            self._deny(message)
        elif isinstance(message, CancelOrder):
            self._cancel(message.client_order_id, message.reason)
        elif isinstance(message, ForeignOrders):
            self._foreign.update(message.client_order_ids)
        elif isinstance(message, CancelAllOrders):  # journaled by its sender (risk)
            for order in list(self._open.values()):
                self._cancel(order.client_order_id, message.reason)
        else:
            raise TypeError(f"the execution engine does not handle {type(message).__name__}")

    # ----- orders out -----

    def _new_order(self, intent: OrderIntent, approval_id: int | None) -> Order:
        now = self._clock.now_ns()
        order = Order.from_intent(intent, self._ids.next_id(), now)
        self._orders[order.client_order_id] = order
        self._journal.record(order.client_order_id.value, OrderInitialized(order, approval_id, now))
        return order

    def _submit(self, intent: OrderIntent, approval_id: int) -> None:
        order = self._new_order(intent, approval_id)
        venue_name = order.instrument_id.venue
        venue = self._venues.get(venue_name)
        if venue is None:
            # Nowhere to send it: refuse it ourselves rather than leave it hanging.
            self._deny_order(order, f"no venue gateway for {venue_name}", approval_id)
            return
        event = OrderSubmitted(order.client_order_id, self._clock.now_ns())
        order.apply(event)
        self._open[order.client_order_id] = order
        self._journal.record_durably(order.client_order_id.value, event)  # write-ahead
        self.counts["submitted"] += 1
        self._publish(order, event, approval_id)
        self._call(venue_name, "submit", order.client_order_id, lambda: venue.submit(order))

    def _deny(self, message: DenyIntent) -> None:
        order = self._new_order(message.intent, None)
        reason = ",".join(code.value for code in message.decision.reason_codes)
        self._deny_order(order, reason, None)

    def _deny_order(self, order: Order, reason: str, approval_id: int | None) -> None:
        event = OrderDenied(order.client_order_id, self._clock.now_ns(), reason)
        order.apply(event)
        self._journal.record(order.client_order_id.value, event)
        self.counts["denied"] += 1
        self._publish(order, event, approval_id)

    def _cancel(self, client_order_id: ClientOrderId, reason: str) -> None:
        order = self._orders.get(client_order_id)
        if order is None or order.is_terminal:
            why = "unknown order" if order is None else f"order is {order.status.value}"
            self._journal.record(
                client_order_id.value,
                CancelNotSent(client_order_id, f"{why} ({reason})", self._clock.now_ns()),
            )
            self.counts["cancels_not_sent"] += 1
            return
        event = OrderCancelRequested(client_order_id, self._clock.now_ns())
        order.apply(event)
        self._journal.record_durably(client_order_id.value, event)
        self.counts["cancel_requests"] += 1
        self._publish(order, event, None)
        venue_name = order.instrument_id.venue
        venue = self._venues[venue_name]  # the order was sent there
        self._call(venue_name, "cancel", client_order_id, lambda: venue.cancel(client_order_id))

    def _call(
        self, venue_name: str, operation: str, client_order_id: ClientOrderId, call: Callable[[], None]
    ) -> None:
        """Call the venue once; a raise is a venue failure (journaled, to risk), never a retry."""
        try:
            call()
        except Exception as error:
            failure = VenueCallFailed(
                venue_name,
                operation,
                client_order_id,
                f"{type(error).__name__}: {error}",
                self._clock.now_ns(),
            )
            self._journal.record_durably(client_order_id.value, failure)
            self.counts["venue_failures"] += 1
            self._failing_venues[venue_name] = self._failing_venues.get(venue_name, 0) + 1
            self._bus.send(RISK, failure)
            if self._notifier is not None:
                self._notifier.notify(
                    Severity.CRITICAL,
                    f"{venue_name} {operation} of {client_order_id} failed ({failure.error}); "
                    "not retried: reconcile with the venue",
                )
            return
        if self._failing_venues.pop(venue_name, 0):
            self._bus.send(RISK, VenueCallSucceeded(venue_name, self._clock.now_ns()))

    # ----- reports in -----

    def _on_report(self, report: OrderEvent) -> None:
        now = self._clock.now_ns()
        order = self._orders.get(report.client_order_id)
        if order is None:
            if report.client_order_id in self._foreign:
                self._journal.record(
                    report.client_order_id.value, ReportNotApplied(report, FOREIGN_ORDER_REASON, now)
                )
                self.counts["foreign_reports"] += 1
                return
            self._not_applied(report, "no such order", now)
            return
        try:
            update = order.apply(report)
        except DomainError as error:
            self._not_applied(report, f"{type(error).__name__}: {error}", now)
            return
        if not update.applied:
            self._refused(order, update)
            return
        self._journal.record(order.client_order_id.value, report)
        self._count(report)
        if order.is_terminal:
            self._open.pop(order.client_order_id, None)
        self._publish(order, report, None)

    def _count(self, report: OrderEvent) -> None:
        if isinstance(report, OrderAccepted):
            self.counts["accepted"] += 1
        elif isinstance(report, OrderRejected):
            self.counts["rejected"] += 1
        elif isinstance(report, OrderCanceled):
            self.counts["canceled"] += 1
        elif isinstance(report, OrderExpired):
            self.counts["expired"] += 1
        elif isinstance(report, OrderFilled):
            self.counts["fills"] += 1
        else:
            self.counts[type(report).__name__] += 1

    def _refused(self, order: Order, update: OrderUpdate) -> None:
        self._journal.record(order.client_order_id.value, update)
        key = "duplicate_fills" if update.outcome is UpdateOutcome.DUPLICATE_FILL_IGNORED else "overfills"
        self.counts[key] += 1
        if update.outcome is UpdateOutcome.OVERFILL_REFUSED and self._notifier is not None:
            self._notifier.notify(Severity.CRITICAL, update.message)

    def _not_applied(self, report: OrderEvent, reason: str, now: int) -> None:
        self._journal.record(report.client_order_id.value, ReportNotApplied(report, reason, now))
        self.counts["reports_not_applied"] += 1
        if self._notifier is not None:
            self._notifier.notify(
                Severity.CRITICAL,
                f"{type(report).__name__} for {report.client_order_id} not applied: {reason}; reconcile",
            )

    def _publish(self, order: Order, event: OrderEvent, approval_id: int | None) -> None:
        update = OrderUpdated(event, OrderSnapshot.of(order), approval_id)
        if approval_id is not None or not isinstance(event, OrderDenied):
            self._bus.send(RISK, update)  # risk tracks every order it approved, denied ones aside
        if isinstance(event, OrderFilled):
            self._bus.send(PORTFOLIO, update)
        self._bus.send(strategy_destination(order.strategy_id), update)
