"""Start-up reconciliation: bring the rebuilt kernel into agreement with its venues, then check money.

`reconcile_at_startup` runs after the kernel's state has been rebuilt from its journal and before
trading resumes:
1. `reconcile_orders` (missed fills, status corrections, unknown venue orders);
2. the reports are sent to execution, which applies and journals them through the normal path,
   so the portfolio, risk and the strategies see missed fills like any other;
3. unknown venue orders are canceled by venue order id (policy cancel) and lost cancels resent;
4. the runtime is waited on until idle, then balances and positions are compared;
5. a difference beyond tolerance sends `HaltTrading` to risk and a CRITICAL notification.
Nothing is ever submitted: an order in doubt is settled by asking the venue, never by resending.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Set
from decimal import Decimal
from typing import Protocol, TypeVar

from application.commands import HaltTrading
from application.engines.messages import ForeignOrders
from application.ports.clock import Clock
from application.ports.notifier import Notifier, Severity
from application.ports.venue_gateway import VenueGateway
from application.recovery.reconciliation import (
    ReconciliationCounts,
    ReconciliationPolicy,
    ReconciliationReport,
    compare_balances,
    implied_venue_balances,
    reconcile_orders,
)
from domain.identifiers import ClientOrderId, FillId
from domain.instrument import Instrument, InstrumentId
from domain.numbers import EXACT_CONTEXT, ZERO
from domain.orders.order import Order
from domain.portfolio.portfolio import Portfolio

__all__ = ["RECONCILIATION", "ReconcilingRuntime", "reconcile_at_startup"]

RECONCILIATION = "reconciliation"  # who halted trading, in HaltTrading.by
K = TypeVar("K")


class ReconcilingRuntime(Protocol):
    """What start-up reconciliation needs of a runtime: a bus, and a way to wait until it is idle."""

    def send(self, destination: str, message: object) -> None:
        """Queue a message."""
        ...

    def wait_idle(self) -> None:
        """Return when every queued message (and what it caused) has been handled."""
        ...


def reconcile_at_startup(
    runtime: ReconcilingRuntime,
    *,
    execution_destination: str,
    risk_destination: str,
    orders: Mapping[ClientOrderId, Order],
    fill_ids: Set[FillId],
    since_ts_ns: int,
    portfolio_provider: Callable[[], Portfolio],
    venues: Mapping[str, VenueGateway],
    policy: ReconciliationPolicy,
    clock: Clock,
    notifier: Notifier | None,
    instruments: Mapping[InstrumentId, Instrument] | None = None,
) -> ReconciliationReport:
    """Reconcile orders, fills, balances and positions with every venue (see the module doc)."""
    now = clock.now_ns()
    found = reconcile_orders(orders, fill_ids, since_ts_ns, venues, policy, now_ns=now)
    for report in found.reports:
        runtime.send(execution_destination, report)
    foreign = frozenset(
        unknown.status.client_order_id
        for unknown in (*found.to_cancel, *found.adopted, *found.left)
        if unknown.status.client_order_id is not None
    )
    if foreign:  # their reports are expected: execution journals them without alarm
        runtime.send(execution_destination, ForeignOrders(foreign, now))
    for unknown in found.to_cancel:
        venue_order_id = unknown.status.venue_order_id
        if venue_order_id is not None:
            venues[unknown.venue].cancel_venue_order(venue_order_id)
    for client_order_id in found.cancels_to_resend:
        venues[orders[client_order_id].instrument_id.venue].cancel(client_order_id)
    runtime.wait_idle()

    portfolio = portfolio_provider()
    money = compare_balances(portfolio, venues, policy, instruments)
    differences = found.differences + money
    halt_required = any(difference.halts for difference in differences)
    counts = ReconciliationCounts(
        local_open_orders=found.local_open_orders,
        venue_open_orders=found.venue_open_orders,
        local_fills=found.local_fills,
        venue_fills=found.venue_fills,
        local_positions=len(portfolio.open_positions()),
        venue_positions=_non_zero(gateway.positions() for gateway in venues.values()),
        local_balances=_non_zero([implied_venue_balances(portfolio, policy, instruments)]),
        venue_balances=_non_zero(gateway.balances() for gateway in venues.values()),
    )
    if halt_required:
        halting = [d for d in differences if d.halts]
        reason = "reconciliation at start-up: " + "; ".join(
            f"{d.kind} {d.key}: local {d.local}, venue {d.venue}" for d in halting[:5]
        )
        if len(halting) > 5:
            reason += f"; and {len(halting) - 5} more"
        runtime.send(risk_destination, HaltTrading(reason, RECONCILIATION, clock.now_ns()))
        runtime.wait_idle()
        if notifier is not None:
            notifier.notify(Severity.CRITICAL, f"trading HALTED: {reason}")
    elif differences and notifier is not None:
        notifier.notify(
            Severity.WARNING, f"reconciliation at start-up resolved {len(differences)} difference(s)"
        )
    return ReconciliationReport(
        ts_ns=now,
        counts=counts,
        differences=differences,
        reports_applied=found.reports,
        orders_canceled=found.to_cancel,
        orders_adopted=found.adopted,
        orders_left=found.left,
        cancels_resent=found.cancels_to_resend,
        halt_required=halt_required,
        halted=halt_required,
    )


def _non_zero(amounts: Iterable[Mapping[K, Decimal]]) -> int:
    """How many keys (currencies, instruments) hold a non-zero total over all the mappings.

    Both sides of a count are counted this way: a venue that lists `BTC 0` holds no BTC, and a
    flat position is no position, so neither makes the local and venue counts differ.
    """
    totals: dict[K, Decimal] = {}
    for mapping in amounts:
        for key, amount in mapping.items():
            totals[key] = EXACT_CONTEXT.add(totals.get(key, ZERO), amount)
    return sum(1 for total in totals.values() if total)
