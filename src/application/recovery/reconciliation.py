"""Reconciliation at start-up: what the venues say against what the kernel rebuilt from its journal.

Pure logic over domain objects plus gateway queries; it does no I/O of its own and applies
nothing: it says which venue reports to apply (through the execution engine, like any report),
which venue orders to cancel or adopt, and every difference found.

Orders (`reconcile_orders`), venue by venue in name order:
1. Missed fills: every venue fill since `since_ts_ns` whose fill id the kernel never applied, as
   an `OrderFilled`, oldest first; also for orders already terminal locally (a fill that beat a
   cancel). A fill of an order the kernel does not know is a difference, not a report.
2. Status corrections, for each order open locally, from `order_status` (the venue's view):
   never received (None) -> OrderRejected(NOT_RECEIVED): the order is never sent again; REJECTED
   -> OrderRejected; CANCELED -> OrderCanceled; EXPIRED -> OrderExpired; OPEN while not yet
   acknowledged -> OrderAccepted; OPEN while PENDING_CANCEL -> the cancel is sent again (cancels
   are idempotent at the venue) when `policy.resend_pending_cancels`. FILLED or a filled quantity
   that the missed fills do not explain is a difference (fills older than `since_ts_ns`).
3. Venue open orders the kernel does not know: `policy.unknown_orders` says cancel, adopt or leave.
Every report is first applied to a copy of the local order with the real `Order.apply`, so only
transitions that the order's table allows are emitted; one it refuses is a difference.

Balances and positions (`compare_balances`): the venues' positions must equal the portfolio's
exactly; the venues' balances (summed per currency) must equal what the portfolio implies within
`policy.balance_tolerance` for that currency (default: 1 unit of the reporting currency, exact
for the others). On a spot-style venue ledger (the default; `policy.margin_venues` lists the
others) the venue pays the whole notional and holds the base asset, so the implied cash is the
portfolio's balance less the signed cost of its open lots, and the base currency holds the position.
A difference beyond tolerance requires a halt.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping, Set
from decimal import Decimal
from typing import Any, Final, Literal

import attrs

from application.ports.venue_gateway import (
    VENUE_CANCELED,
    VENUE_EXPIRED,
    VENUE_FILLED,
    VENUE_OPEN,
    VENUE_REJECTED,
    VenueGateway,
    VenueOrderStatus,
    VenueReport,
)
from domain.errors import DomainError
from domain.fill import Fill
from domain.identifiers import ClientOrderId, FillId
from domain.instrument import Instrument, InstrumentId
from domain.numbers import EXACT_CONTEXT, ZERO
from domain.orders.order import Order
from domain.orders.order_events import (
    OrderAccepted,
    OrderCanceled,
    OrderExpired,
    OrderFilled,
    OrderRejected,
)
from domain.orders.order_status import OrderStatus
from domain.portfolio.portfolio import Portfolio
from domain.portfolio.position import Lot

__all__ = [
    "NOT_RECEIVED",
    "REJECTED_AT_VENUE",
    "Difference",
    "OrderReconciliation",
    "ReconciliationCounts",
    "ReconciliationPolicy",
    "ReconciliationReport",
    "UnknownOrderAction",
    "VenueOrder",
    "compare_balances",
    "implied_venue_balances",
    "reconcile_orders",
]

NOT_RECEIVED: Final = "not received by the venue (reconciled at start-up)"
REJECTED_AT_VENUE: Final = "rejected by the venue (reconciled at start-up)"

UnknownOrderAction = Literal["cancel", "adopt", "leave"]

_EXACT = EXACT_CONTEXT


def _tolerances(value: Mapping[str, Decimal] | None) -> Mapping[str, Decimal]:
    return {} if value is None else {currency: Decimal(amount) for currency, amount in value.items()}


@attrs.frozen
class ReconciliationPolicy:
    """What reconciliation does with what it finds; the defaults are the safe choices."""

    currency: str = "USD"  # the reporting currency
    unknown_orders: UnknownOrderAction = attrs.field(  # venue orders we did not place
        default="cancel", validator=attrs.validators.in_(("cancel", "adopt", "leave"))
    )
    # Per currency: the largest balance difference that does not halt. Unlisted: 1 for the
    # reporting currency, 0 (exact) for the others.
    balance_tolerance: Mapping[str, Decimal] = attrs.field(factory=dict, converter=_tolerances)
    margin_venues: frozenset[str] = frozenset()  # venues whose cash ledger is margin-style (not spot)
    resend_pending_cancels: bool = True  # a local PENDING_CANCEL that is OPEN at the venue
    halt_on_order_differences: bool = True  # a difference the reports cannot resolve halts too

    def tolerance(self, currency: str) -> Decimal:
        """The balance tolerance for `currency`."""
        default = Decimal(1) if currency == self.currency else ZERO
        return self.balance_tolerance.get(currency, default)


@attrs.frozen
class Difference:
    """One thing the kernel and a venue disagree on: what, about which key, and both figures."""

    kind: str
    key: str
    local: Decimal | str | None
    venue: Decimal | str | None
    halts: bool = False  # beyond tolerance: trading must halt

    def to_json(self) -> dict[str, Any]:
        """Plain data, decimals as strings."""
        return {
            "kind": self.kind,
            "key": self.key,
            "local": None if self.local is None else str(self.local),
            "venue": None if self.venue is None else str(self.venue),
            "halts": self.halts,
        }


@attrs.frozen
class VenueOrder:
    """A venue order the kernel does not know, with the venue it is on."""

    venue: str
    status: VenueOrderStatus

    def to_json(self) -> dict[str, Any]:
        """Plain data, decimals as strings."""
        status = self.status
        return {
            "venue": self.venue,
            "client_order_id": None if status.client_order_id is None else status.client_order_id.value,
            "venue_order_id": None if status.venue_order_id is None else status.venue_order_id.value,
            "instrument_id": str(status.instrument_id),
            "side": status.side.value,
            "price": None if status.price is None else str(status.price),
            "quantity": str(status.quantity),
            "filled_quantity": str(status.filled_quantity),
            "status": status.status,
        }


@attrs.frozen
class OrderReconciliation:
    """What `reconcile_orders` found: the reports to apply (in order), venue orders to act on, differences."""

    reports: tuple[VenueReport, ...]
    to_cancel: tuple[VenueOrder, ...]  # unknown venue orders to cancel by venue order id
    adopted: tuple[VenueOrder, ...]  # unknown venue orders kept (policy adopt)
    left: tuple[VenueOrder, ...]  # unknown venue orders only reported (policy leave)
    cancels_to_resend: tuple[ClientOrderId, ...]  # local PENDING_CANCEL still OPEN at the venue
    differences: tuple[Difference, ...]
    local_open_orders: int
    venue_open_orders: int
    local_fills: int
    venue_fills: int


@attrs.frozen
class ReconciliationCounts:
    """Local versus venue counts; positions and balances count the non-zero ones on both sides."""

    local_open_orders: int = 0
    venue_open_orders: int = 0
    local_fills: int = 0
    venue_fills: int = 0  # venue fills since the last one seen
    local_positions: int = 0
    venue_positions: int = 0
    local_balances: int = 0
    venue_balances: int = 0

    def to_json(self) -> dict[str, int]:
        """Plain data."""
        return attrs.asdict(self)


@attrs.frozen
class ReconciliationReport:
    """The result of reconciliation at start-up: counts, differences and actions taken."""

    ts_ns: int
    counts: ReconciliationCounts
    differences: tuple[Difference, ...]
    reports_applied: tuple[VenueReport, ...]
    orders_canceled: tuple[VenueOrder, ...]
    orders_adopted: tuple[VenueOrder, ...]
    orders_left: tuple[VenueOrder, ...]
    cancels_resent: tuple[ClientOrderId, ...]
    halt_required: bool
    halted: bool

    @property
    def clean(self) -> bool:
        """True when nothing differed and nothing had to be done."""
        return not (self.differences or self.reports_applied or self.orders_canceled or self.cancels_resent)

    def to_json(self) -> dict[str, Any]:
        """Plain data for the status CLI, decimals as strings."""
        return {
            "ts_ns": self.ts_ns,
            "counts": self.counts.to_json(),
            "differences": [difference.to_json() for difference in self.differences],
            "reports_applied": [_report_to_json(report) for report in self.reports_applied],
            "orders_canceled": [order.to_json() for order in self.orders_canceled],
            "orders_adopted": [order.to_json() for order in self.orders_adopted],
            "orders_left": [order.to_json() for order in self.orders_left],
            "cancels_resent": [key.value for key in self.cancels_resent],
            "halt_required": self.halt_required,
            "halted": self.halted,
            "clean": self.clean,
        }


def _report_to_json(report: VenueReport) -> dict[str, Any]:
    data: dict[str, Any] = {
        "type": type(report).__name__,
        "client_order_id": report.client_order_id.value,
        "ts_ns": report.ts_ns,
    }
    if isinstance(report, OrderFilled):
        fill = report.fill
        data.update(
            fill_id=fill.fill_id.value,
            side=fill.side.value,
            price=str(fill.price),
            quantity=str(fill.quantity),
            fee=str(fill.fee),
            fee_currency=fill.fee_currency,
        )
    elif isinstance(report, OrderAccepted):
        data["venue_order_id"] = report.venue_order_id.value
    elif isinstance(report, OrderRejected):
        data["reason"] = report.reason
    return data


# ----- orders -----


class _Trial:
    """Copies of the local orders, to which the reports are applied first (never the originals)."""

    def __init__(self, orders: Mapping[ClientOrderId, Order]) -> None:
        self._orders = orders
        self._copies: dict[ClientOrderId, Order] = {}

    def order(self, key: ClientOrderId) -> Order | None:
        copied = self._copies.get(key)
        if copied is None:
            original = self._orders.get(key)
            if original is None:
                return None
            copied = copy.deepcopy(original)
            self._copies[key] = copied
        return copied

    def apply(self, report: VenueReport) -> str | None:
        """Apply `report` to the copy; None when applied, else why not (the copy is unchanged)."""
        order = self.order(report.client_order_id)
        if order is None:
            return "unknown order"
        try:
            update = order.apply(report)
        except DomainError as error:
            return f"{type(error).__name__}: {error}"
        return None if update.applied else update.message


def reconcile_orders(
    orders: Mapping[ClientOrderId, Order],
    fill_ids: Set[FillId],
    since_ts_ns: int,
    venues: Mapping[str, VenueGateway],
    policy: ReconciliationPolicy,
    *,
    now_ns: int,
) -> OrderReconciliation:
    """Compare the local orders and fills with every venue's (see the module doc); applies nothing."""
    trial = _Trial(orders)
    reports: list[VenueReport] = []
    differences: list[Difference] = []
    venue_fills = 0
    halts = policy.halt_on_order_differences

    def emit(report: VenueReport, kind: str) -> None:
        refusal = trial.apply(report)
        if refusal is None:
            reports.append(report)
        else:
            differences.append(
                Difference(
                    kind, report.client_order_id.value, None, f"{type(report).__name__}: {refusal}", halts
                )
            )

    # 1. Missed fills, venue by venue, oldest first.
    seen = set(fill_ids)
    for name in sorted(venues):
        for fill in venues[name].fills_since(since_ts_ns):
            venue_fills += 1
            if fill.fill_id in seen:
                continue
            seen.add(fill.fill_id)
            if fill.client_order_id not in orders:
                differences.append(
                    Difference("fill_of_unknown_order", fill.fill_id.value, None, _fill_text(fill), halts)
                )
                continue
            emit(OrderFilled.from_fill(fill), "fill_not_applicable")

    # 2. Status corrections for the orders open locally.
    resend: list[ClientOrderId] = []
    local_open = [order for order in orders.values() if order.is_open]
    for original in local_open:
        key = original.client_order_id
        gateway = venues.get(original.instrument_id.venue)
        if gateway is None:
            differences.append(
                Difference("venue_missing", key.value, original.instrument_id.venue, None, halts)
            )
            continue
        status = gateway.order_status(key)
        order = trial.order(key)
        assert order is not None
        if status is None:
            emit(OrderRejected(key, now_ns, NOT_RECEIVED), "status")
            continue
        if order.filled_quantity != status.filled_quantity:
            differences.append(
                Difference("filled_quantity", key.value, order.filled_quantity, status.filled_quantity, halts)
            )
        if not order.is_open:
            continue  # the missed fills closed it
        if status.status == VENUE_REJECTED:
            emit(OrderRejected(key, now_ns, REJECTED_AT_VENUE), "status")
        elif status.status == VENUE_CANCELED:
            emit(OrderCanceled(key, now_ns), "status")
        elif status.status == VENUE_EXPIRED:
            emit(OrderExpired(key, now_ns), "status")
        elif status.status == VENUE_OPEN:
            if order.status is OrderStatus.SUBMITTED and status.venue_order_id is not None:
                emit(OrderAccepted(key, now_ns, status.venue_order_id), "status")
            elif order.status is OrderStatus.PENDING_CANCEL and policy.resend_pending_cancels:
                resend.append(key)
        elif status.status == VENUE_FILLED:
            differences.append(Difference("status", key.value, order.status.value, status.status, halts))
        else:
            differences.append(
                Difference("unknown_venue_status", key.value, order.status.value, status.status)
            )

    # 3. Venue open orders: ones we do not know, and ones we think are closed.
    to_cancel: list[VenueOrder] = []
    adopted: list[VenueOrder] = []
    left: list[VenueOrder] = []
    venue_open = 0
    for name in sorted(venues):
        for status in venues[name].open_orders():
            venue_open += 1
            known = None if status.client_order_id is None else orders.get(status.client_order_id)
            if known is not None:
                order = trial.order(known.client_order_id)
                if order is not None and not order.is_open:
                    differences.append(
                        Difference(
                            "open_at_venue_only", known.client_order_id.value, order.status.value, VENUE_OPEN
                        )
                    )
                    if status.venue_order_id is not None and policy.unknown_orders == "cancel":
                        to_cancel.append(VenueOrder(name, status))
                continue
            unknown = VenueOrder(name, status)
            key_text = _venue_order_key(status)
            if policy.unknown_orders == "cancel" and status.venue_order_id is not None:
                to_cancel.append(unknown)
                differences.append(Difference("unknown_order", key_text, None, VENUE_OPEN))
            elif policy.unknown_orders == "adopt":
                adopted.append(unknown)
                differences.append(Difference("unknown_order", key_text, None, VENUE_OPEN))
            else:
                left.append(unknown)
                differences.append(Difference("unknown_order", key_text, None, VENUE_OPEN, halts))
    return OrderReconciliation(
        reports=tuple(reports),
        to_cancel=tuple(to_cancel),
        adopted=tuple(adopted),
        left=tuple(left),
        cancels_to_resend=tuple(resend),
        differences=tuple(differences),
        local_open_orders=len(local_open),
        venue_open_orders=venue_open,
        local_fills=len(fill_ids),
        venue_fills=venue_fills,
    )


def _venue_order_key(status: VenueOrderStatus) -> str:
    venue_id = "?" if status.venue_order_id is None else status.venue_order_id.value
    client = "" if status.client_order_id is None else f" ({status.client_order_id.value})"
    return f"{venue_id}{client}"


def _fill_text(fill: Fill) -> str:
    return f"{fill.client_order_id.value} {fill.side.value} {fill.quantity} @ {fill.price}"


# ----- balances and positions -----


def compare_balances(
    portfolio: Portfolio,
    venues: Mapping[str, VenueGateway],
    policy: ReconciliationPolicy,
    instruments: Mapping[InstrumentId, Instrument] | None = None,
) -> tuple[Difference, ...]:
    """Positions (exact) and balances (within tolerance) of the portfolio against the venues'."""
    differences: list[Difference] = []
    local_positions = {p.instrument_id: p.quantity for p in portfolio.positions() if p.quantity}
    venue_positions: dict[InstrumentId, Decimal] = {}
    venue_balances: dict[str, Decimal] = {}
    for name in sorted(venues):
        gateway = venues[name]
        for instrument_id, size in gateway.positions().items():
            venue_positions[instrument_id] = _EXACT.add(venue_positions.get(instrument_id, ZERO), size)
        for currency, amount in gateway.balances().items():
            venue_balances[currency] = _EXACT.add(venue_balances.get(currency, ZERO), amount)
    for instrument_id in sorted(set(local_positions) | set(venue_positions), key=str):
        local = local_positions.get(instrument_id, ZERO)
        venue = venue_positions.get(instrument_id, ZERO)
        if local != venue:
            differences.append(Difference("position", str(instrument_id), local, venue, True))
    expected = implied_venue_balances(portfolio, policy, instruments)
    for currency in sorted(set(expected) | set(venue_balances)):
        local = expected.get(currency, ZERO)
        venue = venue_balances.get(currency, ZERO)
        if local == venue:
            continue
        gap = _EXACT.subtract(venue, local).copy_abs()
        differences.append(Difference("balance", currency, local, venue, gap > policy.tolerance(currency)))
    return tuple(differences)


def implied_venue_balances(
    portfolio: Portfolio,
    policy: ReconciliationPolicy,
    instruments: Mapping[InstrumentId, Instrument] | None = None,
) -> dict[str, Decimal]:
    """The balances the venues should show, per currency, given the portfolio (see the module doc)."""
    balances = portfolio.account.balances()
    for position in portfolio.positions():
        instrument_id = position.instrument_id
        if instrument_id.venue in policy.margin_venues or position.is_flat:
            continue
        cost = _signed_cost(position.lots)
        balances[position.currency] = _EXACT.subtract(balances.get(position.currency, ZERO), cost)
        base = _base_currency(instrument_id, instruments)
        balances[base] = _EXACT.add(balances.get(base, ZERO), position.quantity)
    return balances


def _signed_cost(lots: Iterable[Lot]) -> Decimal:
    total = ZERO
    for lot in lots:
        total = _EXACT.add(total, _EXACT.multiply(lot.quantity, lot.price))
    return total


def _base_currency(instrument_id: InstrumentId, instruments: Mapping[InstrumentId, Instrument] | None) -> str:
    if instruments is not None and instrument_id in instruments:
        return instruments[instrument_id].base
    return instrument_id.symbol.split("-")[0]  # BTC-USD -> BTC, when the instrument is not given
