"""A gateway that stands in front of the simulated venue and forwards every call to it.

Probes (replay's stale-book counter, the latency benchmark's timer) subclass it and override only
what they observe, usually `submit`; everything else reaches the venue unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from application.ports.venue_gateway import VenueOrderStatus
from domain.fill import Fill
from domain.identifiers import ClientOrderId, VenueOrderId
from domain.instrument import InstrumentId
from domain.market_data import OrderBookUpdate, TradeTick
from domain.orders.order import Order
from infrastructure.venues.simulated.simulated_venue import SimulatedVenue


class ForwardingGateway:
    """Forwards the `VenueGateway` calls and the venue's market-data calls to `venue`."""

    def __init__(self, venue: SimulatedVenue) -> None:
        self._venue = venue
        self.venue = venue.venue

    def submit(self, order: Order) -> None:
        """Send a new order to the venue."""
        self._venue.submit(order)

    def cancel(self, client_order_id: ClientOrderId) -> None:
        """Ask the venue to cancel one order."""
        self._venue.cancel(client_order_id)

    def cancel_all(self, instrument_id: InstrumentId | None = None) -> None:
        """Ask the venue to cancel every open order (of one instrument, or all)."""
        self._venue.cancel_all(instrument_id)

    def cancel_venue_order(self, venue_order_id: VenueOrderId) -> None:
        """Ask the venue to cancel one order by the venue's id."""
        self._venue.cancel_venue_order(venue_order_id)

    def order_status(self, client_order_id: ClientOrderId) -> VenueOrderStatus | None:
        """The venue's view of one of our orders."""
        return self._venue.order_status(client_order_id)

    def open_orders(self) -> Sequence[VenueOrderStatus]:
        """The venue's open orders."""
        return self._venue.open_orders()

    def fills_since(self, ts_ns: int) -> Sequence[Fill]:
        """The venue's fills at or after `ts_ns`."""
        return self._venue.fills_since(ts_ns)

    def balances(self) -> dict[str, Decimal]:
        """The venue's balances."""
        return self._venue.balances()

    def positions(self) -> dict[InstrumentId, Decimal]:
        """The venue's positions."""
        return self._venue.positions()

    def on_book_update(self, update: OrderBookUpdate) -> None:
        """Market data for the venue's matching."""
        self._venue.on_book_update(update)

    def on_trade(self, trade: TradeTick) -> None:
        """A public trade for the venue's queue positions."""
        self._venue.on_trade(trade)
