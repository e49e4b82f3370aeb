"""Start-up reconciliation of a wired kernel against a simulated venue (the exchange outlived us)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from application.engines.messages import (
    DATA,
    EXECUTION,
    FOREIGN_ORDER_REASON,
    RISK,
    MarketFrame,
    ReportNotApplied,
)
from application.market_data_pipeline import MarketDataPipeline
from application.ports.clock import SimulatedClock
from application.ports.event_journal import InMemoryJournal
from application.ports.notifier import Severity
from application.ports.venue_gateway import VenueReport
from application.recovery.reconciliation import NOT_RECEIVED, ReconciliationPolicy, ReconciliationReport
from application.recovery.startup import reconcile_at_startup
from application.runtime.deterministic_runtime import DeterministicRuntime
from application.runtime.kernel_wiring import FeedSpec, wire_kernel
from domain.identifiers import ClientOrderId, FillId, StrategyId
from domain.instrument import Instrument, InstrumentId
from domain.market_data import OrderBookUpdate
from domain.order_terms import OrderSide, OrderType, TimeInForce
from domain.orders.order import Order
from domain.orders.order_events import OrderFilled, OrderRejected
from domain.orders.order_status import OrderStatus
from domain.risk.risk_limits import RiskLimits
from domain.risk.trading_state import TradingState
from domain.signals import OrderIntent
from infrastructure.venues.simulated import SimulatedVenue, SimulatedVenueConfig
from infrastructure.venues.simulated.forwarding_gateway import ForwardingGateway
from tests.application.engines import ScriptedCodec, ScriptedStrategy

D = Decimal
VENUE = "SIM"
BTC = InstrumentId(VENUE, "BTC-USD")
INSTRUMENTS = {BTC: Instrument(BTC, "BTC", "USD", D("0.01"), D("0.001"))}
SID = StrategyId("s1")
SECOND = 1_000_000_000
T0 = 1_786_000_000 * SECOND
BALANCE = D(100_000)


class Notes:
    def __init__(self) -> None:
        self.items: list[tuple[Severity, str]] = []

    def notify(self, severity: Severity, message: str) -> None:
        self.items.append((severity, message))


class Link(ForwardingGateway):
    """The kernel's connection to the venue; `drop_submits` loses a submit (a crash before the call)."""

    drop_submits = False

    def submit(self, order: Order) -> None:
        if not self.drop_submits:
            super().submit(order)


class IdleRuntime:
    """The deterministic runtime seen through the reconciliation's runtime protocol."""

    def __init__(self, runtime: DeterministicRuntime, venue: SimulatedVenue) -> None:
        self.runtime = runtime
        self.venue = venue

    def send(self, destination: str, message: object) -> None:
        self.runtime.send(destination, message)

    def wait_idle(self) -> None:
        now = self.runtime.clock.now_ns()
        self.runtime.advance_to(now)
        while (due := self.venue.next_event_ns()) is not None and due <= now:
            self.runtime.advance_to(now)


class World:
    """A kernel on the deterministic runtime trading with a simulated venue whose reports can be lost."""

    def __init__(self, *, venue_balance: Decimal = BALANCE, taker_fee_bps: str = "10") -> None:
        self.clock = SimulatedClock(T0)
        self.runtime = DeterministicRuntime(self.clock)
        self.connected = True
        self.lost: list[VenueReport] = []
        config = SimulatedVenueConfig(
            venue=VENUE, taker_fee_bps=taker_fee_bps, starting_balances={"USD": venue_balance}
        )
        self.venue = SimulatedVenue(self.clock, self.sink, INSTRUMENTS.values(), config)
        self.link = Link(self.venue)
        self.codec = ScriptedCodec()
        self.strategy = ScriptedStrategy(strategy_id=SID, instrument_ids=(BTC,))
        self.kernel = wire_kernel(
            self.runtime,
            self.clock,
            InMemoryJournal(),
            instruments=INSTRUMENTS,
            feeds={VENUE: FeedSpec(MarketDataPipeline(self.codec))},
            venues={VENUE: self.link},
            strategies=[self.strategy],
            limits=RiskLimits.conservative(BALANCE),
            currency="USD",
            starting_balance=BALANCE,
            seed=7,
        )
        self.runtime.add_source(self.venue)
        self.notes = Notes()
        self.frames = 0

    def sink(self, report: VenueReport) -> None:
        if self.connected:
            self.runtime.send(EXECUTION, report)
        else:
            self.lost.append(report)

    def book(self, bid: str = "100.00", ask: str = "100.02") -> None:
        self.frames += 1
        when = T0 + self.frames * SECOND
        update = OrderBookUpdate(BTC, True, ((D(bid), D(5)),), ((D(ask), D(5)),), when)
        text = f"frame-{self.frames}"
        self.codec.frames[text] = [update]
        self.runtime.deliver_at(when, DATA, MarketFrame(VENUE, text, when, "c1"))

    def buy(self, quantity: str, price: str) -> Order:
        before = set(self.orders())
        self.strategy.queued.append(
            OrderIntent(SID, BTC, OrderSide.BUY, D(quantity), OrderType.LIMIT, D(price), TimeInForce.GTC)
        )
        self.book()
        IdleRuntime(self.runtime, self.venue).wait_idle()  # the venue works the order now
        (new,) = set(self.orders()) - before
        return self.orders()[new]

    def orders(self) -> dict[ClientOrderId, Order]:
        return {order.client_order_id: order for order in self.kernel.execution.orders}

    def fill_ids(self) -> set[FillId]:
        return {fill_id for order in self.kernel.execution.orders for fill_id in order.fill_ids}

    def reconcile(self, policy: ReconciliationPolicy | None = None) -> ReconciliationReport:
        return reconcile_at_startup(
            IdleRuntime(self.runtime, self.venue),
            execution_destination=EXECUTION,
            risk_destination=RISK,
            orders=self.orders(),
            fill_ids=self.fill_ids(),
            since_ts_ns=0,
            portfolio_provider=lambda: self.kernel.portfolio.portfolio,
            venues={VENUE: self.link},
            policy=policy if policy is not None else ReconciliationPolicy(),
            clock=self.clock,
            notifier=self.notes,
            instruments=INSTRUMENTS,
        )


def test_an_order_journaled_but_never_sent_is_rejected_locally_and_not_resent() -> None:
    world = World()
    world.book()
    world.link.drop_submits = True  # the process died between the journal and the venue call
    order = world.buy("0.01", "99.50")
    world.link.drop_submits = False
    assert order.status is OrderStatus.SUBMITTED

    report = world.reconcile()

    assert order.status is OrderStatus.REJECTED
    rejected = [r for r in report.reports_applied if isinstance(r, OrderRejected)]
    assert [(r.client_order_id, r.reason) for r in rejected] == [(order.client_order_id, NOT_RECEIVED)]
    assert world.venue.submission_count(order.client_order_id) == 0  # never resent
    assert world.venue.order_status(order.client_order_id) is None
    assert not report.halt_required
    assert world.kernel.risk.trading_state is TradingState.ACTIVE
    assert world.reconcile().clean  # idempotent


def test_a_fill_made_while_the_kernel_was_down_is_applied_once_and_positions_agree() -> None:
    world = World()
    world.book()
    world.connected = False  # the venue works on; its reports are lost
    order = world.buy("0.01", "100.02")  # crosses: fills at once
    world.connected = True
    assert order.status is OrderStatus.SUBMITTED
    assert [type(r).__name__ for r in world.lost] == ["OrderAccepted", "OrderFilled"]

    report = world.reconcile()

    assert order.status is OrderStatus.FILLED
    assert [type(r) for r in report.reports_applied] == [OrderFilled]
    position = world.kernel.portfolio.portfolio.position(BTC)
    assert position is not None
    assert position.quantity == world.venue.positions()[BTC] == D("0.01")
    assert report.differences == ()
    assert not report.halt_required
    assert report.counts.venue_fills == 1
    assert report.counts.local_fills == 0
    assert world.venue.submission_count(order.client_order_id) == 1
    assert world.kernel.execution.counts["fills"] == 1

    again = world.reconcile()  # idempotent: nothing to apply, nothing differs
    assert again.clean
    assert again.reports_applied == ()
    assert world.kernel.execution.counts["fills"] == 1
    assert position.quantity == D("0.01")
    json = again.to_json()
    assert json["counts"]["local_fills"] == 1
    assert json["differences"] == []


def test_an_order_acknowledged_while_the_kernel_was_down_is_accepted() -> None:
    world = World()
    world.book()
    world.connected = False
    order = world.buy("0.01", "99.50")  # rests
    world.connected = True
    report = world.reconcile()
    assert order.status is OrderStatus.ACCEPTED
    assert [type(r).__name__ for r in report.reports_applied] == ["OrderAccepted"]
    assert world.reconcile().clean


def _foreign_order(world: World) -> None:
    world.connected = False
    world.venue.submit(
        Order(
            client_order_id=ClientOrderId(999_999),
            strategy_id=StrategyId("someone-else"),
            instrument_id=BTC,
            side=OrderSide.SELL,
            order_type=OrderType.LIMIT,
            quantity=D("0.01"),
            price=D("200.00"),
            time_in_force=TimeInForce.GTC,
            post_only=False,
            reduce_only=False,
            expire_at_ns=None,
            trigger_price=None,
            ts_init_ns=world.clock.now_ns(),
        )
    )
    world.book()
    IdleRuntime(world.runtime, world.venue).wait_idle()
    world.connected = True
    assert len(world.venue.open_orders()) == 1


def test_a_venue_order_unknown_to_the_kernel_is_canceled() -> None:
    world = World()
    world.book()
    _foreign_order(world)

    report = world.reconcile(ReconciliationPolicy(unknown_orders="cancel"))

    assert len(report.orders_canceled) == 1
    assert world.venue.open_orders() == []
    assert [d.kind for d in report.differences] == ["unknown_order"]
    assert not report.halt_required
    # The venue's cancel report is expected: journaled as foreign, not as an unknown order (CRITICAL).
    counts = world.kernel.execution.counts
    assert (counts["foreign_reports"], counts["reports_not_applied"]) == (1, 0)
    foreign = [
        record.event
        for record in world.kernel.journal.journal.read()
        if isinstance(record.event, ReportNotApplied) and record.event.reason == FOREIGN_ORDER_REASON
    ]
    assert [type(event.report).__name__ for event in foreign] == ["OrderCanceled"]
    assert world.reconcile().clean


def test_a_venue_order_unknown_to_the_kernel_can_be_adopted() -> None:
    world = World()
    world.book()
    _foreign_order(world)

    report = world.reconcile(ReconciliationPolicy(unknown_orders="adopt"))

    assert len(report.orders_adopted) == 1
    assert report.orders_canceled == ()
    assert len(world.venue.open_orders()) == 1
    assert not report.halt_required
    assert report.to_json()["orders_adopted"][0]["price"] == "200.00"


def test_a_venue_order_left_alone_requires_a_halt() -> None:
    world = World()
    world.book()
    _foreign_order(world)
    report = world.reconcile(ReconciliationPolicy(unknown_orders="leave"))
    assert len(report.orders_left) == 1
    assert report.halt_required


def test_a_balance_difference_over_tolerance_halts_trading_and_notifies() -> None:
    world = World(venue_balance=BALANCE + 5)

    report = world.reconcile()

    assert report.halt_required
    assert report.halted
    assert [(d.kind, d.key, d.local, d.venue) for d in report.differences] == [
        ("balance", "USD", BALANCE, BALANCE + 5)
    ]
    assert world.kernel.risk.trading_state is TradingState.HALTED
    assert [severity for severity, _ in world.notes.items] == [Severity.CRITICAL]
    assert report.to_json()["differences"][0]["venue"] == "100005"


@pytest.mark.parametrize("gap", ["0.5", "1"])
def test_a_balance_difference_within_tolerance_does_not_halt(gap: str) -> None:
    world = World(venue_balance=BALANCE + D(gap))
    report = world.reconcile()
    assert not report.halt_required
    assert world.kernel.risk.trading_state is TradingState.ACTIVE
    assert [severity for severity, _ in world.notes.items] == [Severity.WARNING]


def test_a_position_difference_halts_whatever_its_size() -> None:
    world = World()
    world.book()
    world.connected = False
    world.buy("0.01", "100.02")
    world.connected = True
    # The kernel lost the fill and looks only at fills after it: the fill stays missing.
    report = reconcile_at_startup(
        IdleRuntime(world.runtime, world.venue),
        execution_destination=EXECUTION,
        risk_destination=RISK,
        orders={},
        fill_ids=set(),
        since_ts_ns=world.clock.now_ns() + 1,
        portfolio_provider=lambda: world.kernel.portfolio.portfolio,
        venues={VENUE: world.link},
        policy=ReconciliationPolicy(),
        clock=world.clock,
        notifier=world.notes,
        instruments=INSTRUMENTS,
    )
    kinds = {d.kind for d in report.differences if d.halts}
    assert "position" in kinds
    assert world.kernel.risk.trading_state is TradingState.HALTED


def test_zero_balances_and_flat_positions_count_the_same_on_both_sides() -> None:
    world = World()
    world.book()
    world.buy("0.01", "100.02")  # crosses: filled
    world.strategy.queued.append(
        OrderIntent(SID, BTC, OrderSide.SELL, D("0.01"), OrderType.LIMIT, D("100.00"), TimeInForce.GTC)
    )
    world.book()
    IdleRuntime(world.runtime, world.venue).wait_idle()  # sold: flat again
    assert world.venue.balances().get("BTC") == 0  # the venue lists the base currency at zero

    report = world.reconcile()

    counts = report.counts
    assert (counts.local_positions, counts.venue_positions) == (0, 0)
    assert (counts.local_balances, counts.venue_balances) == (1, 1)  # USD on both sides
    assert report.differences == ()
