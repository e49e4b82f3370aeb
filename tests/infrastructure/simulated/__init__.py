"""Tests of the simulated venue; `Harness` drives one venue on a simulated clock."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from application.ports.clock import SimulatedClock
from application.ports.venue_gateway import VenueReport
from domain.fill import Fill
from domain.identifiers import ClientOrderId, StrategyId
from domain.instrument import Instrument, InstrumentId
from domain.market_data import OrderBookUpdate, TradeTick
from domain.order_terms import OrderSide, OrderType, TimeInForce
from domain.orders import OrderFilled
from domain.orders.order import Order
from infrastructure.venues.simulated import SimulatedVenue, SimulatedVenueConfig

BTC = InstrumentId("SIM", "BTC-USD")
ETH = InstrumentId("SIM", "ETH-USD")
INSTRUMENTS = (
    Instrument(BTC, "BTC", "USD", "0.01", "0.001"),
    Instrument(ETH, "ETH", "USD", "0.01", "0.001"),
)
STRATEGY = StrategyId("test")
BUY = OrderSide.BUY
SELL = OrderSide.SELL

Levels = Iterable[tuple[str | Decimal, str | Decimal]]


def d(text: str | int) -> Decimal:
    """Shorthand for an exact Decimal."""
    return Decimal(text)


def levels(pairs: Levels) -> tuple[tuple[Decimal, Decimal], ...]:
    """(price, size) text pairs as the Decimal pairs of a book update."""
    return tuple((Decimal(price), Decimal(size)) for price, size in pairs)


def make_order(
    number: int,
    side: OrderSide,
    quantity: str | Decimal,
    price: str | Decimal | None = None,
    *,
    tif: TimeInForce | None = None,
    order_type: OrderType | None = None,
    post_only: bool = False,
    reduce_only: bool = False,
    expire_at_ns: int | None = None,
    instrument_id: InstrumentId = BTC,
    ts_ns: int = 0,
) -> Order:
    """An order with client order id `number`; a market order unless a price is given."""
    if order_type is None:
        order_type = OrderType.MARKET if price is None else OrderType.LIMIT
    if tif is None:
        tif = TimeInForce.IOC if order_type is OrderType.MARKET else TimeInForce.GTC
    return Order(
        client_order_id=ClientOrderId(number),
        strategy_id=STRATEGY,
        instrument_id=instrument_id,
        side=side,
        order_type=order_type,
        quantity=Decimal(quantity),
        price=None if price is None else Decimal(price),
        time_in_force=tif,
        post_only=post_only,
        reduce_only=reduce_only,
        expire_at_ns=expire_at_ns,
        trigger_price=None,
        ts_init_ns=ts_ns,
    )


class Harness:
    """One simulated venue, its clock and the reports it delivered."""

    def __init__(self, config: SimulatedVenueConfig | None = None, *, start_ns: int = 0) -> None:
        self.clock = SimulatedClock(start_ns)
        self.reports: list[VenueReport] = []
        self.venue = SimulatedVenue(self.clock, self.sink, INSTRUMENTS, config)
        self.next_number = 1

    def sink(self, report: VenueReport) -> None:
        self.reports.append(report)

    def at(self, ts_ns: int) -> None:
        """Move the clock to `ts_ns` and let the venue process everything due."""
        self.clock.advance_to(ts_ns)
        self.venue.advance(ts_ns)

    def book(
        self,
        bids: Levels = (),
        asks: Levels = (),
        *,
        snapshot: bool = True,
        instrument_id: InstrumentId = BTC,
    ) -> None:
        """Feed a book frame at the clock's time, and process it."""
        now = self.clock.now_ns()
        self.venue.on_book_update(OrderBookUpdate(instrument_id, snapshot, levels(bids), levels(asks), now))
        self.venue.advance(now)

    def trade(
        self,
        price: str,
        size: str,
        aggressor: OrderSide | None,
        *,
        instrument_id: InstrumentId = BTC,
    ) -> None:
        """Feed a public trade at the clock's time, and process it."""
        now = self.clock.now_ns()
        self.venue.on_trade(
            TradeTick(instrument_id, f"t{now}", Decimal(price), Decimal(size), aggressor, now)
        )
        self.venue.advance(now)

    def submit(
        self,
        side: OrderSide,
        quantity: str,
        price: str | None = None,
        *,
        tif: TimeInForce | None = None,
        order_type: OrderType | None = None,
        post_only: bool = False,
        reduce_only: bool = False,
        expire_at_ns: int | None = None,
        instrument_id: InstrumentId = BTC,
    ) -> ClientOrderId:
        """Submit a new order (ids 1, 2, ...) at the clock's time, and process what is due."""
        order = make_order(
            self.next_number,
            side,
            quantity,
            price,
            tif=tif,
            order_type=order_type,
            post_only=post_only,
            reduce_only=reduce_only,
            expire_at_ns=expire_at_ns,
            instrument_id=instrument_id,
            ts_ns=self.clock.now_ns(),
        )
        self.next_number += 1
        self.venue.submit(order)
        self.venue.advance(self.clock.now_ns())
        return order.client_order_id

    def cancel(self, client_order_id: ClientOrderId) -> None:
        self.venue.cancel(client_order_id)
        self.venue.advance(self.clock.now_ns())

    def of(self, client_order_id: ClientOrderId) -> list[VenueReport]:
        """The reports about one order, in delivery order."""
        return [report for report in self.reports if report.client_order_id == client_order_id]

    def kinds(self, client_order_id: ClientOrderId) -> list[str]:
        """The report class names about one order, in delivery order."""
        return [type(report).__name__ for report in self.of(client_order_id)]

    def fills(self, client_order_id: ClientOrderId | None = None) -> list[Fill]:
        """The fills reported (for one order, or all)."""
        return [
            report.fill
            for report in self.reports
            if isinstance(report, OrderFilled)
            and (client_order_id is None or report.client_order_id == client_order_id)
        ]
