"""Engine tests: a small kernel on the deterministic runtime with a fake codec and a fake venue.

`Harness` wires the real engines (`wire_kernel`) with:
- `ScriptedCodec`: a frame's text names a list of market events registered beforehand, so a test
  says exactly what each frame carries (book updates, trades, BookStale);
- `FakeVenue`: records every call, can be told to raise, and emits reports only when the test
  calls `report(...)`; on `submit` it reads the journal, so write-ahead is checked at the moment
  the venue is called;
- `ScriptedStrategy`: returns the signals a test queues, and records what it saw (events and views).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any

import attrs

from application.engines.messages import DATA, EXECUTION, MarketFrame, strategy_destination
from application.market_data_pipeline import MarketDataPipeline
from application.ports.clock import SimulatedClock
from application.ports.event_journal import InMemoryJournal, JournalRecord
from application.ports.venue_gateway import VenueOrderStatus, VenueReport
from application.runtime.deterministic_runtime import DeterministicRuntime
from application.runtime.kernel_wiring import FeedSpec, Kernel, wire_kernel
from application.strategies.strategy import Strategy
from application.strategies.strategy_view import StrategyView
from domain.fill import Fill
from domain.identifiers import ClientOrderId, FillId, StrategyId, VenueOrderId
from domain.instrument import Instrument, InstrumentId
from domain.market_data import BookStale, BookTop, OrderBookUpdate, TradeTick
from domain.order_terms import LiquiditySide, OrderSide, OrderType, TimeInForce
from domain.orders.order import Order
from domain.orders.order_events import OrderAccepted, OrderEvent, OrderFilled
from domain.risk.risk_limits import RiskLimits
from domain.signals import OrderIntent, Signal

D = Decimal
VENUE = "TEST"
BTC_ID = InstrumentId(VENUE, "BTC-USD")
BTC = Instrument(BTC_ID, "BTC", "USD", D("0.01"), D("0.001"))
INSTRUMENTS = {BTC_ID: BTC}
SID = StrategyId("s1")
SECOND = 1_000_000_000
T0 = 1_786_000_000 * SECOND


class ScriptedCodec:
    """Decodes a frame by looking its text up in `frames` (unknown text: a decode error, [])."""

    def __init__(self) -> None:
        self.frames: dict[str, Sequence[object]] = {}
        self.sent: list[str] = []

    def feed_safe(self, text: str | bytes, receive_ts_ns: int, connection_id: str) -> Sequence[object]:
        return list(self.frames.get(str(text), ()))


class FakeVenue:
    """A venue gateway that records calls; reports are delivered by the test via `report`."""

    venue = VENUE

    def __init__(self) -> None:
        self.calls: list[tuple[str, object]] = []
        self.fail_next: list[str] = []  # operations whose next call raises
        self.on_submit: Callable[[Order], None] | None = None
        self.submitted: dict[ClientOrderId, Order] = {}

    def submit(self, order: Order) -> None:
        self.calls.append(("submit", order.client_order_id))
        if self.on_submit is not None:
            self.on_submit(order)
        if "submit" in self.fail_next:
            self.fail_next.remove("submit")
            raise ConnectionError("venue unreachable")
        self.submitted[order.client_order_id] = order

    def cancel(self, client_order_id: ClientOrderId) -> None:
        self.calls.append(("cancel", client_order_id))
        if "cancel" in self.fail_next:
            self.fail_next.remove("cancel")
            raise TimeoutError("no answer")

    def cancel_all(self, instrument_id: InstrumentId | None = None) -> None:
        self.calls.append(("cancel_all", instrument_id))

    def cancel_venue_order(self, venue_order_id: VenueOrderId) -> None:
        self.calls.append(("cancel_venue_order", venue_order_id))

    def order_status(self, client_order_id: ClientOrderId) -> VenueOrderStatus | None:
        return None

    def open_orders(self) -> Sequence[VenueOrderStatus]:
        return []

    def fills_since(self, ts_ns: int) -> Sequence[Fill]:
        return []

    def balances(self) -> dict[str, Decimal]:
        return {}

    def positions(self) -> dict[InstrumentId, Decimal]:
        return {}

    def submits(self) -> list[object]:
        return [target for name, target in self.calls if name == "submit"]


@attrs.define
class ScriptedStrategy:
    """A strategy that emits what the test queues (`next_on_book`, ...) and records its inputs."""

    strategy_id: StrategyId = SID
    instrument_ids: tuple[InstrumentId, ...] = (BTC_ID,)
    on_book_signals: Callable[[BookTop, StrategyView], Sequence[Signal]] | None = None
    queued: list[Signal] = attrs.field(factory=list)
    seen: list[tuple[str, object, StrategyView]] = attrs.field(factory=list)

    def _take(self) -> list[Signal]:
        signals, self.queued = self.queued, []
        return signals

    def on_book(self, top: BookTop, view: StrategyView) -> Sequence[Signal]:
        self.seen.append(("book", top, view))
        if self.on_book_signals is not None:
            return self.on_book_signals(top, view)
        return self._take()

    def on_trade(self, trade: TradeTick, view: StrategyView) -> Sequence[Signal]:
        self.seen.append(("trade", trade, view))
        return self._take()

    def on_timer(self, ts_ns: int, view: StrategyView) -> Sequence[Signal]:
        self.seen.append(("timer", ts_ns, view))
        return self._take()

    def on_order_event(self, event: OrderEvent, view: StrategyView) -> Sequence[Signal]:
        self.seen.append(("order", event, view))
        return self._take()

    def snapshot(self) -> Mapping[str, object]:
        return {}

    def restore(self, state: Mapping[str, object]) -> None:
        del state

    def order_events(self) -> list[tuple[OrderEvent, StrategyView]]:
        return [(event, view) for kind, event, view in self.seen if kind == "order"]  # type: ignore[misc]


def levels(*pairs: tuple[str, str]) -> tuple[tuple[Decimal, Decimal], ...]:
    return tuple((D(price), D(size)) for price, size in pairs)


def snapshot(bid: str = "100.00", ask: str = "100.02", ts: int = T0) -> OrderBookUpdate:
    """A two-level snapshot: 1 at the touch, 5 one unit of price further out on each side."""
    bids = ((D(bid), D(1)), (D(bid) - 1, D(5)))
    asks = ((D(ask), D(1)), (D(ask) + 1, D(5)))
    return OrderBookUpdate(BTC_ID, True, bids, asks, ts)


def buy(quantity: str = "0.01", price: str | None = "100.00", **changes: Any) -> OrderIntent:
    return OrderIntent(
        SID,
        BTC_ID,
        OrderSide.BUY,
        D(quantity),
        OrderType.LIMIT,
        None if price is None else D(price),
        TimeInForce.GTC,
        **changes,
    )


class Harness:
    """The real engines on the deterministic runtime, fed scripted frames, trading with FakeVenue."""

    def __init__(
        self,
        strategy: Strategy | None = None,
        *,
        limits: RiskLimits | None = None,
        balance: Decimal = Decimal(100_000),
        timer_interval_ns: int | None = None,
    ) -> None:
        self.clock = SimulatedClock(0)
        self.runtime = DeterministicRuntime(self.clock, timer_interval_ns=timer_interval_ns)
        self.codec = ScriptedCodec()
        self.pipeline = MarketDataPipeline(self.codec)
        self.venue = FakeVenue()
        self.journal = InMemoryJournal()
        self.strategy = strategy if strategy is not None else ScriptedStrategy()
        self.kernel: Kernel = wire_kernel(
            self.runtime,
            self.clock,
            self.journal,
            instruments=INSTRUMENTS,
            feeds={VENUE: FeedSpec(self.pipeline)},
            venues={VENUE: self.venue},
            strategies=[self.strategy],
            limits=limits if limits is not None else RiskLimits.conservative(balance),
            currency="USD",
            starting_balance=balance,
            seed=7,
        )
        self.runtime.add_timer_destination(strategy_destination(self.strategy.strategy_id))
        self._frames = 0

    def frame(self, *events: object, ts: int | None = None) -> None:
        """Deliver one frame carrying `events` at `ts` (default: one second after the last)."""
        self._frames += 1
        text = f"frame-{self._frames}"
        self.codec.frames[text] = events
        when = ts if ts is not None else T0 + self._frames * SECOND
        self.runtime.deliver_at(when, DATA, MarketFrame(VENUE, text, when, "c1"))

    def book(self, bid: str = "100.00", ask: str = "100.02") -> None:
        self.frame(snapshot(bid, ask))

    def stale(self) -> None:
        self.frame(BookStale(BTC_ID, "gap", T0))

    def report(self, *reports: VenueReport) -> None:
        """The venue answers: each report goes to execution, handled to completion."""
        for report in reports:
            self.runtime.send(EXECUTION, report)
        self.runtime.run_until_idle()

    def accept(self, client_order_id: ClientOrderId) -> None:
        self.report(OrderAccepted(client_order_id, self.clock.now_ns(), VenueOrderId(f"V-{client_order_id}")))

    def fill(
        self, client_order_id: ClientOrderId, quantity: str, price: str, fill_id: str = "F1"
    ) -> OrderFilled:
        order = self.kernel.execution.order(client_order_id)
        assert order is not None
        fill = Fill(
            FillId(fill_id),
            client_order_id,
            BTC_ID,
            order.side,
            D(price),
            D(quantity),
            D("0.01"),
            "USD",
            LiquiditySide.MAKER,
            self.clock.now_ns(),
            VenueOrderId(f"V-{client_order_id}"),
        )
        event = OrderFilled.from_fill(fill)
        self.report(event)
        return event

    def records(self) -> list[JournalRecord]:
        return list(self.journal.read())

    def events(self, kind: type) -> list[object]:
        return [record.event for record in self.journal.read() if isinstance(record.event, kind)]

    def only_order(self) -> Order:
        orders = self.kernel.execution.orders
        assert len(orders) == 1, orders
        return orders[0]
