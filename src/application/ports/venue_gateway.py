"""The venue gateway port: everything the kernel asks of a venue, and how the venue answers.

Requests (submit, cancel) return at once; the venue's answers arrive later as `VenueReport`s
(order events in the past tense) through the sink given at construction, so a live venue, the
simulated venue and replay all answer the same way. Queries (one order's status, open orders,
fills, balances, positions) serve reconciliation at start-up.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Protocol

import attrs

from domain.fill import Fill
from domain.identifiers import ClientOrderId, VenueOrderId
from domain.instrument import InstrumentId
from domain.order_terms import OrderSide
from domain.orders import (
    OrderAccepted,
    OrderCanceled,
    OrderCancelRejected,
    OrderExpired,
    OrderFilled,
    OrderRejected,
    OrderTriggered,
)
from domain.orders.order import Order

#: What a venue reports about our orders.
VenueReport = (
    OrderAccepted
    | OrderRejected
    | OrderFilled
    | OrderCanceled
    | OrderCancelRejected
    | OrderExpired
    | OrderTriggered
)


class VenueReportSink(Protocol):
    """Receives the venue's reports, in the order the venue produced them."""

    def __call__(self, report: VenueReport) -> None:
        """Handle one report."""
        ...


@attrs.frozen
class VenueOrderStatus:
    """An order as the venue sees it (for reconciliation)."""

    client_order_id: ClientOrderId | None  # None: an order the venue has that we did not place
    venue_order_id: VenueOrderId | None  # None: refused (REJECTED) before the venue gave it an id
    instrument_id: InstrumentId
    side: OrderSide
    price: Decimal | None
    quantity: Decimal
    filled_quantity: Decimal
    status: str  # one of VENUE_STATUSES: OPEN, FILLED, CANCELED, REJECTED, EXPIRED


#: The words `VenueOrderStatus.status` uses (adapters map their venue's own words onto these).
VENUE_OPEN = "OPEN"  # accepted and working, possibly partially filled
VENUE_FILLED = "FILLED"  # the whole quantity filled
VENUE_CANCELED = "CANCELED"  # no longer working: canceled (on request or not, e.g. an IOC's remainder)
VENUE_REJECTED = "REJECTED"  # received and refused; it never worked
VENUE_EXPIRED = "EXPIRED"  # its GTD time passed
VENUE_STATUSES = frozenset({VENUE_OPEN, VENUE_FILLED, VENUE_CANCELED, VENUE_REJECTED, VENUE_EXPIRED})


class VenueGateway(Protocol):
    """One venue's trading interface."""

    venue: str

    def submit(self, order: Order) -> None:
        """Send a new order (already journaled); the answer comes as a report."""
        ...

    def cancel(self, client_order_id: ClientOrderId) -> None:
        """Ask the venue to cancel one order; the answer comes as a report."""
        ...

    def cancel_all(self, instrument_id: InstrumentId | None = None) -> None:
        """Ask the venue to cancel every open order (of one instrument, or all)."""
        ...

    def cancel_venue_order(self, venue_order_id: VenueOrderId) -> None:
        """Ask the venue to cancel one order by the venue's id (for orders we did not place)."""
        ...

    def order_status(self, client_order_id: ClientOrderId) -> VenueOrderStatus | None:
        """The venue's view of one of our orders, open or closed; None if the venue never received it."""
        ...

    def open_orders(self) -> Sequence[VenueOrderStatus]:
        """The venue's open orders now."""
        ...

    def fills_since(self, ts_ns: int) -> Sequence[Fill]:
        """The venue's fills at or after `ts_ns`, oldest first."""
        ...

    def balances(self) -> dict[str, Decimal]:
        """Balances per currency, as the venue holds them."""
        ...

    def positions(self) -> dict[InstrumentId, Decimal]:
        """Signed position per instrument, as the venue holds them (perpetuals)."""
        ...
