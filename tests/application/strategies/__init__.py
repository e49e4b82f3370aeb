"""Strategy tests: a test instrument, book tops, views, and a tiny stand-in for the kernel.

`Desk` plays the kernel for one strategy: it builds the `StrategyView` for every call, turns the
strategy's intents into open orders at once (accepted, with fresh client order ids, and tells the
strategy with an `OrderAccepted` whose view shows the order), applies cancels at once, fills
orders when told to, and fills IOC intents whole at the touch when marketable (else cancels
them). It records every call's output with the view it was given, so tests can check invariants.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal

import attrs

from application.strategies.strategy import Strategy
from application.strategies.strategy_view import OpenOrderView, StrategyView
from domain.fill import Fill
from domain.identifiers import ClientOrderId, FillId, VenueOrderId
from domain.instrument import Instrument, InstrumentId
from domain.market_data import BookTop
from domain.order_terms import OrderSide, TimeInForce
from domain.orders.order_events import OrderAccepted, OrderCanceled, OrderEvent, OrderFilled
from domain.orders.order_status import OrderStatus
from domain.risk.trading_state import TradingState
from domain.signals import CancelAllIntent, CancelIntent, OrderIntent, Signal

D = Decimal
SECOND = 1_000_000_000
MS = 1_000_000
BTC_ID = InstrumentId("TEST", "BTC-USD")
BTC = Instrument(BTC_ID, "BTC", "USD", price_increment="0.01", size_increment="0.001", min_size="0.001")
COARSE = Instrument(BTC_ID, "BTC", "USD", price_increment="0.5", size_increment="0.01", min_size="0.01")
OTHER_ID = InstrumentId("TEST", "ETH-USD")


def top(
    bid: Decimal | str | None,
    ask: Decimal | str | None,
    ts_ns: int = 0,
    *,
    stale: bool = False,
    instrument_id: InstrumentId = BTC_ID,
) -> BookTop:
    """A one-level book top."""
    bids = ((D(bid), D(1)),) if bid is not None else ()
    asks = ((D(ask), D(1)),) if ask is not None else ()
    return BookTop(instrument_id, ts_ns, bids, asks, stale)


def around(
    mid: Decimal | str, ts_ns: int, half_spread: Decimal | str = "0.05", *, stale: bool = False
) -> BookTop:
    """A top whose mid is `mid` (bid and ask `half_spread` away)."""
    m, h = D(mid), D(half_spread)
    return top(m - h, m + h, ts_ns, stale=stale)


def view(
    now_ns: int = 0,
    *,
    instrument: Instrument = BTC,
    position: Decimal | str | int = 0,
    open_orders: Iterable[OpenOrderView] = (),
    book_stale: bool = False,
    trading_state: TradingState = TradingState.ACTIVE,
) -> StrategyView:
    """A view with sensible defaults."""
    return StrategyView(
        now_ns,
        instrument,
        D(position),
        tuple(open_orders),
        book_stale=book_stale,
        trading_state=trading_state,
    )


def intents(signals: Iterable[Signal]) -> list[OrderIntent]:
    """The order intents among `signals`."""
    return [signal for signal in signals if isinstance(signal, OrderIntent)]


def cancels(signals: Iterable[Signal]) -> list[CancelIntent]:
    """The cancel intents among `signals`."""
    return [signal for signal in signals if isinstance(signal, CancelIntent)]


def on_side(signals: Iterable[Signal], side: OrderSide) -> list[OrderIntent]:
    """The order intents of one side."""
    return [intent for intent in intents(signals) if intent.side is side]


@attrs.frozen
class Emission:
    """One call's output, with what the strategy saw when it decided."""

    now_ns: int
    view: StrategyView
    top: BookTop | None  # the last top the desk sent before the call
    signals: tuple[Signal, ...]


class Desk:
    """A stand-in for the kernel around one strategy (see the package doc)."""

    def __init__(self, strategy: Strategy, instrument: Instrument = BTC, *, fill_ioc: bool = True) -> None:
        self.strategy = strategy
        self.instrument = instrument
        self.fill_ioc = fill_ioc
        self.orders: dict[ClientOrderId, OpenOrderView] = {}
        self.position = D(0)
        self.trading_state = TradingState.ACTIVE
        self.book_stale = False
        self.last_top: BookTop | None = None
        self.next_id = 1
        self.next_fill = 1
        self.emissions: list[Emission] = []

    def view(self, now_ns: int) -> StrategyView:
        """The view the kernel would build now."""
        return view(
            now_ns,
            instrument=self.instrument,
            position=self.position,
            open_orders=self.orders.values(),
            book_stale=self.book_stale,
            trading_state=self.trading_state,
        )

    # ----- driving the strategy -----

    def book(self, book_top: BookTop, now_ns: int | None = None) -> list[Signal]:
        """Hand a book top to the strategy (now = the top's time unless given)."""
        now = book_top.ts_ns if now_ns is None else now_ns
        self.last_top = book_top
        v = self.view(now)
        return self._record(now, v, self.strategy.on_book(book_top, v))

    def timer(self, now_ns: int) -> list[Signal]:
        """A timer tick."""
        v = self.view(now_ns)
        return self._record(now_ns, v, self.strategy.on_timer(now_ns, v))

    def event(self, event: OrderEvent, now_ns: int) -> list[Signal]:
        """Deliver an order event (the desk's state must already reflect it)."""
        v = self.view(now_ns)
        return self._record(now_ns, v, self.strategy.on_order_event(event, v))

    def fill(self, client_order_id: ClientOrderId, quantity: Decimal, now_ns: int) -> list[Signal]:
        """Fill (part of) a resting order at its price and tell the strategy."""
        order = self.orders[client_order_id]
        assert order.price is not None
        quantity = min(quantity, order.leaves_quantity)
        return self._fill(order, quantity, order.price, now_ns)

    # ----- the desk's own bookkeeping -----

    def _fill(self, order: OpenOrderView, quantity: Decimal, price: Decimal, now_ns: int) -> list[Signal]:
        leaves = order.leaves_quantity - quantity
        if leaves == 0:
            self.orders.pop(order.client_order_id, None)
        else:
            self.orders[order.client_order_id] = attrs.evolve(
                order, leaves_quantity=leaves, status=OrderStatus.PARTIALLY_FILLED
            )
        self.position += quantity * order.side.sign
        fill = Fill(
            FillId(f"f{self.next_fill}"),
            order.client_order_id,
            self.instrument.id,
            order.side,
            price,
            quantity,
            ts_ns=now_ns,
        )
        self.next_fill += 1
        return self.event(OrderFilled.from_fill(fill), now_ns)

    def _record(self, now_ns: int, v: StrategyView, signals: Sequence[Signal]) -> list[Signal]:
        out = list(signals)
        self.emissions.append(Emission(now_ns, v, self.last_top, tuple(out)))
        self._apply(out, now_ns)
        return out

    def _apply(self, signals: Sequence[Signal], now_ns: int) -> None:
        """Apply a batch: cancels and new orders first, then the events of the new orders."""
        created: list[tuple[OpenOrderView, bool]] = []
        for signal in signals:
            if isinstance(signal, CancelIntent):
                self.orders.pop(signal.client_order_id, None)
            elif isinstance(signal, CancelAllIntent):
                self.orders.clear()
            elif isinstance(signal, OrderIntent):
                order = OpenOrderView(
                    ClientOrderId(self.next_id),
                    signal.side,
                    signal.price,
                    signal.quantity,
                    signal.quantity,
                    OrderStatus.ACCEPTED,
                    signal.tag,
                    signal.reduce_only,
                )
                self.next_id += 1
                self.orders[order.client_order_id] = order
                created.append((order, signal.time_in_force is TimeInForce.IOC))
        for order, ioc in created:
            if order.client_order_id not in self.orders:
                continue  # canceled by the strategy before its ack was delivered
            self.event(
                OrderAccepted(
                    order.client_order_id, now_ns, VenueOrderId(f"v{order.client_order_id.number}")
                ),
                now_ns,
            )
            if ioc and order.client_order_id in self.orders:
                self._execute_ioc(self.orders[order.client_order_id], now_ns)

    def _execute_ioc(self, order: OpenOrderView, now_ns: int) -> None:
        """Fill an IOC whole at the touch if it is marketable, else cancel it."""
        book_top = self.last_top
        assert order.price is not None
        touch = None
        if book_top is not None:
            touch = book_top.best_ask if order.side is OrderSide.BUY else book_top.best_bid
        marketable = touch is not None and (
            order.price >= touch if order.side is OrderSide.BUY else order.price <= touch
        )
        if not self.fill_ioc or touch is None or not marketable:
            del self.orders[order.client_order_id]
            self.event(OrderCanceled(order.client_order_id, now_ns), now_ns)
            return
        self._fill(order, order.leaves_quantity, touch, now_ns)

    def clone(self, strategy: Strategy) -> Desk:
        """A desk in the same state as this one, around another strategy (e.g. a restored one)."""
        twin = Desk(strategy, self.instrument, fill_ioc=self.fill_ioc)
        twin.orders = dict(self.orders)
        twin.position = self.position
        twin.trading_state = self.trading_state
        twin.book_stale = self.book_stale
        twin.last_top = self.last_top
        twin.next_id = self.next_id
        twin.next_fill = self.next_fill
        return twin

    # ----- what came out -----

    @property
    def signals(self) -> list[Signal]:
        """Every signal emitted, in order."""
        return [signal for emission in self.emissions for signal in emission.signals]
