"""A restarted execution, portfolio or risk engine rebuilds its state from the journal's fold.

Deterministic part: a kernel runs (the real capture, or a scripted one with an open, partly filled
order), an engine's in-memory state is corrupted as a poison message could half-update it, and
`rebuild()` must bring back exactly what it was. Threaded part: a fault injected inside the
engine's `handle`; after the supervisor's restart the engine equals the fold of the same journal,
and fills that arrive later (redelivered from the inbox, or resent by the venue) count once.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
import pykka
import pytest

from application.engines.execution_engine import ExecutionEngine
from application.engines.messages import (
    DATA,
    EXECUTION,
    PORTFOLIO,
    PORTFOLIO_STREAM,
    MarketFrame,
    OrderSnapshot,
    OrderUpdated,
)
from application.engines.portfolio_engine import PortfolioEngine
from application.engines.risk_engine import RiskEngine
from application.market_data_pipeline import MarketDataPipeline
from application.ports.clock import SimulatedClock
from application.ports.event_journal import InMemoryJournal
from application.ports.notifier import Severity
from application.recovery import KernelState, recover
from application.runtime.kernel_wiring import FeedSpec, Kernel, wire_kernel
from application.runtime.threaded_runtime import ThreadedRuntime
from application.supervision import RestartPolicy
from domain.fill import Fill
from domain.identifiers import ClientOrderId, ClientOrderIdGenerator, FillId, VenueOrderId
from domain.order_terms import LiquiditySide
from domain.orders.order_events import OrderAccepted, OrderFilled
from domain.orders.order_status import OrderStatus
from domain.portfolio.portfolio import FillResult
from domain.risk.circuit_breaker import CircuitBreaker
from domain.risk.risk_limits import RiskLimits
from infrastructure.replay import ReplaySettings, StrategySettings, VenueSettings, run_replay
from infrastructure.replay.replay_runner import ReplayResult
from tests.application.engines import (
    BTC_ID,
    INSTRUMENTS,
    SECOND,
    T0,
    VENUE,
    FakeVenue,
    Harness,
    ScriptedCodec,
    ScriptedStrategy,
    buy,
    snapshot,
)

D = Decimal
CAPTURE = "data/coinbase-advanced/capture/coinbase-advanced-2026-08-09-btc-eth.jsonl.zst"
BALANCE = D(100_000)
MM_PARAMS = {
    "quote_size": "0.001",
    "max_position": "0.005",
    "base_spread_bps": "0",
    "vol_multiplier": "0",
    "min_spread_bps": "0.0001",
    "vol_window": 3,
    "vol_sample_interval_ns": 0,
    "min_requote_interval_ns": 0,
    "requote_threshold_bps": "0",
}
SETTINGS = ReplaySettings(
    strategy=StrategySettings("market_maker", "ETH-USD", params=MM_PARAMS),
    venue=VenueSettings(maker_fee_bps=D("1"), taker_fee_bps=D("5"), latency_ns=1_000_000),
    seed=3,
    starting_balance=BALANCE,
    # a drawdown of 0.001 USD trips the breaker (after 42 orders and 3 round trips)
    limits=attrs.evolve(RiskLimits.conservative(BALANCE), max_drawdown_fraction=D("0.00000001")),
)


# ----- what each engine holds, comparably -----


def execution_view(engine: ExecutionEngine) -> dict[str, Any]:
    return {
        "orders": [
            (o.client_order_id, o.status, o.filled_quantity, o.leaves_quantity, o.fill_ids, len(o.events))
            for o in engine.orders
        ],
        "open": list(engine._open),
        "next_counter": engine.next_counter,
    }


def portfolio_view(engine: PortfolioEngine) -> dict[str, Any]:
    portfolio = engine.portfolio
    return {
        "positions": [
            (p.instrument_id, p.quantity, p.realized_pnl, list(p.lots), p.fees_by_currency())
            for p in portfolio.positions()
        ],
        "balances": portfolio.account.balances(),
        "realized": portfolio.realized_pnl(engine.currency),
        "fills": {iid: attrs.astuple(total) for iid, total in engine.fills.items()},
        "round_trips": list(engine.round_trips),
        "equity": portfolio.equity(engine.currency, engine.marks()),
    }


def risk_view(engine: RiskEngine, instrument: Any, now_ns: int) -> dict[str, Any]:
    return {
        "tripped": engine.breaker.is_tripped,
        "history": engine.breaker.history,
        "trading_state": engine.trading_state,
        "context": engine.context(instrument, now_ns),
        "positions": dict(engine._positions),
        "fill_ids": set(engine._fill_ids),
        "orders": dict(engine._orders),
        "in_flight": dict(engine._in_flight),
        "next_approval": engine._next_approval,
    }


def fold_of(journal: InMemoryJournal, kernel: Kernel, seed: int, balance: Decimal) -> KernelState:
    portfolio = kernel.portfolio
    return recover(
        journal,
        None,
        portfolio.instruments,
        currency=portfolio.currency,
        starting_balance=balance,
        id_seed=seed,
    )


def order_rows(orders: Any) -> list[tuple[object, ...]]:
    return [(o.client_order_id, o.status, o.filled_quantity, o.fill_ids, len(o.events)) for o in orders]


# ----- deterministic: the real capture -----


@pytest.fixture
def replay(shared_dir: Path) -> ReplayResult:
    result = run_replay(shared_dir / CAPTURE, SETTINGS)
    kernel = result.kernel
    assert len(kernel.execution.orders) > 10
    assert any(o.filled_quantity > 0 for o in kernel.execution.orders)
    assert kernel.risk.breaker.is_tripped
    assert kernel.portfolio.round_trips
    return result


def test_execution_rebuilds_orders_and_id_counter_from_the_journal(replay: ReplayResult) -> None:
    execution = replay.kernel.execution
    before = execution_view(execution)
    counts = dict(execution.counts)
    filled = next(o for o in execution.orders if o.filled_quantity > 0)
    # A poison message's half-update: an order dropped, another's status bent, the counter reset.
    del execution._orders[execution.orders[0].client_order_id]
    execution._orders[filled.client_order_id] = attrs.evolve(filled)  # fresh: INITIALIZED, no fills
    execution._open[filled.client_order_id] = execution._orders[filled.client_order_id]
    execution._ids = ClientOrderIdGenerator(SETTINGS.seed, 0)
    assert execution_view(execution) != before

    execution.rebuild()

    assert execution_view(execution) == before
    assert dict(execution.counts) == counts  # statistics of this process: kept
    state = fold_of(replay.journal, replay.kernel, SETTINGS.seed, BALANCE)
    assert order_rows(execution.orders) == order_rows(state.orders)
    assert all(a is not b for a, b in zip(execution.orders, state.orders, strict=True))  # copies


def test_portfolio_rebuilds_positions_balances_and_fill_totals(replay: ReplayResult) -> None:
    portfolio = replay.kernel.portfolio
    before = portfolio_view(portfolio)
    marks = portfolio.marks()
    tracker_before = portfolio.portfolio.equity_tracker(portfolio.currency)
    assert tracker_before is not None
    hwm = tracker_before.last.high_water_mark if tracker_before.last else None
    # Half-updated: a fill applied twice over under a new id, totals and round trips lost.
    fill = next(o for o in replay.kernel.execution.orders if o.fill_ids).events
    fill_event = next(e for e in fill if isinstance(e, OrderFilled))
    portfolio.portfolio.apply_fill(
        attrs.evolve(fill_event.fill, fill_id=FillId("bogus")),
        portfolio.instruments[fill_event.fill.instrument_id],
    )
    portfolio.fills.clear()
    portfolio.round_trips.clear()
    assert portfolio_view(portfolio) != before

    portfolio.rebuild()

    assert portfolio_view(portfolio) == before
    assert portfolio.marks() == marks  # market data kept
    tracker = portfolio.portfolio.equity_tracker(portfolio.currency)
    assert tracker is not None
    assert tracker.last is not None
    assert tracker.last.high_water_mark == hwm  # valuations are not journaled: carried over
    state = fold_of(replay.journal, replay.kernel, SETTINGS.seed, BALANCE)
    assert portfolio.portfolio.account.balances() == state.portfolio.account.balances()


def test_risk_rebuilds_the_breaker_positions_and_approvals(replay: ReplayResult) -> None:
    risk = replay.kernel.risk
    instrument = next(iter(replay.kernel.portfolio.instruments))
    now = 10**18 * 2
    before = risk_view(risk, instrument, now)
    assert before["tripped"]
    assert before["fill_ids"]  # fills were applied (the position ended flat: no entry)
    # Half-updated: the breaker cleared, a position moved, an order and an approval invented.
    risk._breaker = CircuitBreaker(SETTINGS.limits)
    risk._positions[instrument] = D(7)
    risk._fill_ids.clear()
    risk._next_approval = 1
    risk._in_flight[999] = buy()
    assert risk_view(risk, instrument, now) != before

    risk.rebuild()

    assert risk_view(risk, instrument, now) == before
    state = fold_of(replay.journal, replay.kernel, SETTINGS.seed, BALANCE)
    assert risk.breaker.history == state.breaker_history


# ----- deterministic: an open, partly filled order -----


def _partly_filled() -> tuple[Harness, ClientOrderId]:
    harness = Harness()
    harness.strategy.queued.append(buy("0.03", "100.00"))
    harness.book()
    order = harness.only_order()
    harness.accept(order.client_order_id)
    harness.fill(order.client_order_id, "0.01", "100.00", "F1")
    harness.book("100.02", "100.04")
    assert harness.only_order().status is OrderStatus.PARTIALLY_FILLED
    return harness, order.client_order_id


def test_every_engine_rebuilds_an_open_partly_filled_order() -> None:
    harness, order_id = _partly_filled()
    kernel = harness.kernel
    now = harness.clock.now_ns()
    execution, portfolio = execution_view(kernel.execution), portfolio_view(kernel.portfolio)
    risk = risk_view(kernel.risk, BTC_ID, now)
    assert execution["open"] == [order_id]
    assert risk["orders"]
    assert risk["positions"] == {BTC_ID: D("0.01")}

    kernel.execution._open.clear()
    kernel.execution._orders[order_id] = attrs.evolve(kernel.execution._orders[order_id])  # fresh terms
    kernel.portfolio.portfolio.withdraw("USD", D(5))
    kernel.risk._orders.clear()
    kernel.risk._positions.clear()
    for engine in (kernel.execution, kernel.portfolio, kernel.risk):
        engine.rebuild()

    assert execution_view(kernel.execution) == execution
    assert portfolio_view(kernel.portfolio) == portfolio
    assert risk_view(kernel.risk, BTC_ID, now) == risk
    # An OrderUpdated of a fill the fold already holds (still in an inbox at the restart) counts once.
    f1 = next(r.event for r in harness.journal.read() if isinstance(r.event, OrderFilled))
    order = kernel.execution.order(order_id)
    assert order is not None
    kernel.risk.handle(OrderUpdated(f1, OrderSnapshot.of(order), None))
    kernel.portfolio.handle(OrderUpdated(f1, OrderSnapshot.of(order), None))
    assert kernel.risk._positions == {BTC_ID: D("0.01")}
    assert portfolio_view(kernel.portfolio) == portfolio
    # And the rebuilt kernel goes on: the rest of the order fills once, everywhere.
    harness.fill(order_id, "0.02", "100.00", "F2")
    assert harness.only_order().status is OrderStatus.FILLED
    position = kernel.portfolio.portfolio.position(BTC_ID)
    assert position is not None
    assert position.quantity == D("0.03")
    assert kernel.risk._positions == {BTC_ID: D("0.03")}


def test_a_failing_journal_read_or_fold_fails_the_rebuild() -> None:
    harness, _ = _partly_filled()
    kernel = harness.kernel

    def unreadable(from_sequence: int = 1) -> Iterator[Any]:
        raise OSError("disk gone")

    harness.journal.read = unreadable  # type: ignore[method-assign]
    for engine in (kernel.execution, kernel.portfolio, kernel.risk):
        with pytest.raises(OSError, match="disk gone"):
            engine.rebuild()


def test_a_journal_that_contradicts_itself_fails_the_rebuild() -> None:
    harness, order_id = _partly_filled()
    # A second acceptance journaled as applied: the rebuilt order refuses it.
    harness.journal.append(
        harness.clock.now_ns(), order_id.value, OrderAccepted(order_id, 1, VenueOrderId("X"))
    )
    for engine in (harness.kernel.execution, harness.kernel.portfolio, harness.kernel.risk):
        with pytest.raises(ValueError, match="journaled as applied"):
            engine.rebuild()


def test_an_engine_without_a_state_factory_cannot_rebuild() -> None:
    harness, _ = _partly_filled()
    engine = ExecutionEngine({}, harness.runtime, harness.kernel.journal, harness.clock, seed=7)
    with pytest.raises(RuntimeError, match="state_factory"):
        engine.rebuild()


# ----- threaded: a fault injected inside an engine's handle -----


class BoomError(Exception):
    pass


class Notes:
    def __init__(self) -> None:
        self.items: list[tuple[Severity, str]] = []

    def notify(self, severity: Severity, message: str) -> None:
        self.items.append((severity, message))


def _wait_for(condition: Callable[[], bool], timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.002)


@attrs.define
class Threaded:
    runtime: ThreadedRuntime
    kernel: Kernel
    journal: InMemoryJournal
    clock: SimulatedClock
    venue: FakeVenue
    order_id: ClientOrderId

    def send(self, *reports: object) -> None:
        for report in reports:
            self.runtime.send(EXECUTION, report)

    def fill(self, quantity: str, fill_id: str) -> OrderFilled:
        fill = Fill(
            FillId(fill_id),
            self.order_id,
            BTC_ID,
            self.venue.submitted[self.order_id].side,
            D("100.00"),
            D(quantity),
            D("0.01"),
            "USD",
            LiquiditySide.MAKER,
            self.clock.now_ns(),
            VenueOrderId("V-1"),
        )
        return OrderFilled.from_fill(fill)

    def fold(self) -> KernelState:
        return recover(self.journal, None, INSTRUMENTS, currency="USD", starting_balance=BALANCE, id_seed=7)

    def restarts(self, name: str) -> int:
        return self.runtime.supervisor.health()[name].restarts


@pytest.fixture
def threaded() -> Iterator[Threaded]:
    clock = SimulatedClock(0)
    policy = RestartPolicy(max_restarts=3, within_ns=60 * SECOND, backoff_initial_ns=0, backoff_max_ns=0)
    runtime = ThreadedRuntime(clock, notifier=Notes(), lockstep=True, policy=policy, idle_timeout_s=10)
    codec = ScriptedCodec()
    venue = FakeVenue()
    journal = InMemoryJournal()
    strategy = ScriptedStrategy()
    try:
        kernel = wire_kernel(
            runtime,
            clock,
            journal,
            instruments=INSTRUMENTS,
            feeds={VENUE: FeedSpec(MarketDataPipeline(codec))},
            venues={VENUE: venue},
            strategies=[strategy],
            limits=RiskLimits.conservative(BALANCE),
            currency="USD",
            starting_balance=BALANCE,
            seed=7,
        )
        strategy.queued.append(buy("0.05", "100.00"))
        codec.frames["book"] = [snapshot()]
        runtime.deliver_at(T0, DATA, MarketFrame(VENUE, "book", T0, "c1"))
        (order_id,) = venue.submitted
        setup = Threaded(runtime, kernel, journal, clock, venue, order_id)
        setup.send(OrderAccepted(order_id, clock.now_ns(), VenueOrderId("V-1")))
        runtime.wait_idle()
        yield setup
    finally:
        runtime.stop()
        pykka.ActorRegistry.stop_all()


def _journaled_fills(journal: InMemoryJournal, order_id: ClientOrderId) -> list[str]:
    return [
        r.event.fill.fill_id.value
        for r in journal.read()
        if isinstance(r.event, OrderFilled) and r.stream_id == order_id.value
    ]


def test_a_restarted_execution_engine_equals_the_journal_fold_and_applies_fills_once(
    threaded: Threaded,
) -> None:
    """A fill is applied to the order in memory, then journaling it raises: the order must not keep it."""
    kernel, journal = threaded.kernel, threaded.journal
    writer = kernel.journal
    original = writer.record
    raised: list[str] = []

    def faulty(stream_id: str, event: object) -> Any:
        if isinstance(event, OrderFilled) and event.fill.fill_id == FillId("F1") and not raised:
            raised.append("F1")
            raise BoomError("the journal write failed after the order applied the fill")
        return original(stream_id, event)

    writer.record = faulty  # type: ignore[method-assign]
    threaded.send(threaded.fill("0.01", "F1"))
    threaded.runtime.wait_idle()
    _wait_for(lambda: threaded.restarts(EXECUTION) == 1)
    threaded.runtime.wait_idle()

    state = threaded.fold()
    assert raised == ["F1"]
    assert order_rows(kernel.execution.orders) == order_rows(state.orders)
    assert kernel.execution.next_counter == state.next_id_counter
    assert execution_view(kernel.execution)["open"] == [threaded.order_id]
    order = kernel.execution.order(threaded.order_id)
    assert order is not None
    assert order.filled_quantity == 0  # the half-applied fill is gone: the journal never had it

    # The venue resends F1 (it never heard back), then F2 and F1 once more: each counts once.
    threaded.send(threaded.fill("0.01", "F1"), threaded.fill("0.02", "F2"), threaded.fill("0.01", "F1"))
    threaded.runtime.wait_idle()
    assert order.filled_quantity == D("0.03")
    assert _journaled_fills(journal, threaded.order_id) == ["F1", "F2"]
    position = kernel.portfolio.portfolio.position(BTC_ID)
    assert position is not None
    assert position.quantity == D("0.03")
    assert kernel.risk._positions == {BTC_ID: D("0.03")}
    final = threaded.fold()
    assert order_rows(kernel.execution.orders) == order_rows(final.orders)
    assert portfolio_view(kernel.portfolio)["balances"] == final.portfolio.account.balances()


def test_a_restarted_portfolio_folds_fills_still_in_its_inbox_and_applies_them_once(
    threaded: Threaded,
) -> None:
    """The portfolio dies on F1 with F2 queued behind it: the fold has both; F2 redelivered is a duplicate."""
    kernel, journal, runtime = threaded.kernel, threaded.journal, threaded.runtime
    engine = kernel.portfolio
    original = engine._on_fill
    raised: list[str] = []

    def faulty(event: OrderFilled) -> None:
        if event.fill.fill_id == FillId("F1") and not raised:
            raised.append("F1")
            # Wait until execution has journaled F2 and queued its OrderUpdated behind this one...
            _wait_for(lambda: "F2" in _journaled_fills(journal, threaded.order_id))
            _wait_for(lambda: runtime._in_flight[PORTFOLIO] >= 2)
            time.sleep(0.02)
            # ...then half-apply F1 (the portfolio moves, nothing is journaled) and die.
            engine.portfolio.apply_fill(event.fill, INSTRUMENTS[BTC_ID])
            raise BoomError("half-applied")
        original(event)

    engine._on_fill = faulty  # type: ignore[method-assign]
    threaded.send(threaded.fill("0.01", "F1"), threaded.fill("0.02", "F2"))
    runtime.wait_idle()
    _wait_for(lambda: threaded.restarts(PORTFOLIO) == 1)
    runtime.wait_idle()

    assert raised == ["F1"]
    health = runtime.supervisor.health()[PORTFOLIO]
    assert health.dead_letters == 1  # only the poison message
    results = [r.event for r in journal.read() if r.stream_id == PORTFOLIO_STREAM]
    assert [(r.fill_id.value, r.duplicate) for r in results if isinstance(r, FillResult)] == [("F2", True)]
    position = engine.portfolio.position(BTC_ID)
    assert position is not None
    assert position.quantity == D("0.03")  # F1 (the poison's fill did happen) and F2, once each
    assert engine.fills[BTC_ID].count == 2
    state = threaded.fold()
    assert engine.portfolio.account.balances() == state.portfolio.account.balances()
    assert engine.portfolio.realized_pnl("USD") == state.portfolio.realized_pnl("USD")
    assert [(p.instrument_id, p.quantity, list(p.lots)) for p in engine.portfolio.positions()] == [
        (p.instrument_id, p.quantity, list(p.lots)) for p in state.portfolio.positions()
    ]

    # A later fill is applied once, and everything still agrees with the fold.
    threaded.send(threaded.fill("0.02", "F3"))
    runtime.wait_idle()
    position = engine.portfolio.position(BTC_ID)
    assert position is not None
    assert position.quantity == D("0.05")
    assert engine.fills[BTC_ID].count == 3
    assert engine.portfolio.account.balances() == threaded.fold().portfolio.account.balances()
