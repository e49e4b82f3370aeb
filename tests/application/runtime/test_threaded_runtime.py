"""The threaded runtime: parity with the deterministic runtime in lockstep, restarts, escalation.

Every wait is bounded (the runtime's idle timeout, pytest-free deadlines); every test stops the
runtime and ends with `pykka.ActorRegistry.stop_all()`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from decimal import Decimal
from pathlib import Path

import pykka
import pytest

from application.commands import SaveStrategyState
from application.engines.journal_writer import JournalWriter
from application.engines.messages import (
    RISK,
    StrategyStateSaved,
    Timer,
    TradingStateChanged,
    strategy_destination,
)
from application.engines.strategy_engine import StrategyEngine
from application.ports.clock import SimulatedClock
from application.ports.event_journal import InMemoryJournal
from application.ports.notifier import Severity
from application.runtime.deterministic_runtime import DeterministicRuntime
from application.runtime.journal_encoding import canonical_bytes
from application.runtime.threaded_runtime import ThreadedRuntime
from application.strategies.strategy_view import StrategyView
from application.supervision import ActorHealth, RestartPolicy
from domain.market_data import BookTop, TradeTick
from domain.orders.order_events import OrderEvent, OrderFilled
from domain.risk.trading_state import TradingState
from domain.signals import Signal
from infrastructure.replay import ReplaySettings, StrategySettings, run_replay
from infrastructure.replay.replay_runner import ReplayRuntime
from tests.application.engines import BTC_ID, INSTRUMENTS, SID, D, buy

CAPTURE = "data/coinbase-advanced/capture/coinbase-advanced-2026-08-09-btc-eth.jsonl.zst"


class Notes:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.items: list[tuple[Severity, str]] = []

    def notify(self, severity: Severity, message: str) -> None:
        with self.lock:
            self.items.append((severity, message))


@pytest.fixture(autouse=True)
def _no_leaks() -> Iterator[None]:
    before = {thread.ident for thread in threading.enumerate()}
    yield
    pykka.ActorRegistry.stop_all()
    leaked = [
        thread
        for thread in threading.enumerate()
        if thread.ident not in before and thread.is_alive() and not thread.daemon
    ]
    assert not leaked, leaked


def _order_and_fill_records(journal_records: list[bytes], streams: set[str]) -> list[bytes]:
    return [
        record for record in journal_records if any(f'"stream":"{s}"' in record.decode() for s in streams)
    ]


@pytest.mark.parametrize("serial", [True, False], ids=["serial", "lockstep"])
def test_lockstep_threaded_replay_equals_the_deterministic_one(shared_dir: Path, serial: bool) -> None:
    capture = shared_dir / CAPTURE
    settings = ReplaySettings(
        strategy=StrategySettings("market_maker", params={"quote_size": "0.001", "max_position": "0.005"}),
        seed=1,
    )
    expected = run_replay(capture, settings)
    runtimes: list[ThreadedRuntime] = []

    def threaded(clock: SimulatedClock, timer_interval_ns: int | None) -> ReplayRuntime:
        runtime = ThreadedRuntime(
            clock, notifier=Notes(), lockstep=True, serial=serial, timer_interval_ns=timer_interval_ns
        )
        runtimes.append(runtime)
        return runtime

    try:
        actual = run_replay(capture, settings, runtime_factory=threaded)
    finally:
        for runtime in runtimes:
            runtime.stop()
    assert expected.report["orders"]["submitted"] > 0
    assert expected.report["orders"] == actual.report["orders"]
    assert expected.report["fills"] == actual.report["fills"]
    assert expected.report["pnl"] == actual.report["pnl"]
    fills = [r.event for r in expected.journal.read() if isinstance(r.event, OrderFilled)]
    threaded_fills = [r.event for r in actual.journal.read() if isinstance(r.event, OrderFilled)]
    assert fills == threaded_fills
    order_streams = {str(order.client_order_id) for order in expected.kernel.execution.orders}
    assert order_streams == {str(order.client_order_id) for order in actual.kernel.execution.orders}
    # per order, the same records (terms, submits, reports, fills) at the same times
    expected_records = sorted(
        (r.stream_id, r.ts_ns, canonical_bytes(r).split(b',"seq"')[0])
        for r in expected.journal.read()
        if r.stream_id in order_streams
    )
    actual_records = sorted(
        (r.stream_id, r.ts_ns, canonical_bytes(r).split(b',"seq"')[0])
        for r in actual.journal.read()
        if r.stream_id in order_streams
    )
    assert expected_records == actual_records
    if serial:  # the same global order too: the whole journal is byte-identical
        assert actual.report["journal_sha256"] == expected.report["journal_sha256"]


class BoomError(Exception):
    pass


class Counter:
    """An engine that records what it handles and raises on the messages it is told to."""

    def __init__(self, poison: set[object]) -> None:
        self.seen: list[object] = []
        self.poison = poison

    def handle(self, message: object) -> None:
        if message in self.poison:
            raise BoomError(f"poison {message!r}")
        self.seen.append(message)


class Gateway:
    def __init__(self) -> None:
        self.cancel_alls = 0

    def cancel_all(self, instrument_id: object = None) -> None:
        self.cancel_alls += 1


def _fast_policy(max_restarts: int) -> RestartPolicy:
    return RestartPolicy(
        max_restarts=max_restarts, within_ns=60 * 10**9, backoff_initial_ns=0, backoff_max_ns=0
    )


def test_a_failing_engine_is_restarted_and_no_other_message_is_lost() -> None:
    clock = SimulatedClock(1)
    notes = Notes()
    runtime = ThreadedRuntime(clock, notifier=notes, lockstep=True, policy=_fast_policy(3), idle_timeout_s=10)
    engine = Counter({5})
    try:
        runtime.register("strategy:crashy", engine)
        for n in range(10):
            runtime.send("strategy:crashy", n)
        runtime.wait_idle()
        health = runtime.ref("strategy:crashy").health()
    finally:
        runtime.stop()
    assert engine.seen == [0, 1, 2, 3, 4, 6, 7, 8, 9]  # only the poison message is dropped
    assert health.restarts == 1
    assert health.incarnation == 2
    assert health.health is ActorHealth.DEGRADED
    assert [severity for severity, _ in notes.items] == [Severity.WARNING]
    assert not runtime.escalations


class FakeRisk:
    def __init__(self) -> None:
        self.halts: list[object] = []

    def handle(self, message: object) -> None:
        self.halts.append(message)


def test_repeated_failure_escalates_halts_trading_and_cancels_at_every_venue() -> None:
    clock = SimulatedClock(1)
    notes = Notes()
    runtime = ThreadedRuntime(clock, notifier=notes, lockstep=True, policy=_fast_policy(2), idle_timeout_s=10)
    gateway = Gateway()
    runtime.add_gateway(gateway)  # type: ignore[arg-type]  # a test double with cancel_all only
    risk = FakeRisk()
    try:
        runtime.register("risk", risk)
        runtime.register("strategy:crashy", Counter({1, 2, 3}))
        for n in range(5):
            runtime.send("strategy:crashy", n)
        runtime.wait_idle()
        health = runtime.ref("strategy:crashy").health()
    finally:
        runtime.stop()
    assert health.health is ActorHealth.FAULTED
    assert health.escalated
    assert gateway.cancel_alls == 1
    assert [type(message).__name__ for message in risk.halts] == ["HaltTrading"]
    assert [name for name, _ in runtime.escalations] == ["strategy:crashy"]
    assert notes.items[-1][0] is Severity.CRITICAL


def test_a_strategy_crash_in_the_real_kernel_is_survived(shared_dir: Path) -> None:
    """Crash injection in the real kernel: the market maker raises on one book; it is restarted."""
    capture = shared_dir / CAPTURE
    settings = ReplaySettings(
        strategy=StrategySettings("market_maker", params={"quote_size": "0.001", "max_position": "0.005"}),
    )
    runtimes: list[ThreadedRuntime] = []

    def threaded(clock: SimulatedClock, timer_interval_ns: int | None) -> ReplayRuntime:
        runtime = ThreadedRuntime(
            clock,
            notifier=Notes(),
            lockstep=True,
            timer_interval_ns=timer_interval_ns,
            policy=_fast_policy(3),
        )
        runtimes.append(runtime)
        return runtime

    from application.strategies import market_maker

    original = market_maker.MarketMaker.on_book
    calls = {"n": 0}

    def flaky(self: market_maker.MarketMaker, *args: object, **kwargs: object) -> object:
        calls["n"] += 1
        if calls["n"] == 50:
            raise BoomError("injected")
        return original(self, *args, **kwargs)  # type: ignore[arg-type]

    patch = pytest.MonkeyPatch()
    patch.setattr(market_maker.MarketMaker, "on_book", flaky)
    try:
        result = run_replay(capture, settings, runtime_factory=threaded)
        runtime = runtimes[0]
        strategy_health = runtime.supervisor.health()
    finally:
        patch.undo()
        for each in runtimes:
            each.stop()
    reports = list(strategy_health.values())
    crashed = [report for report in reports if report.restarts]
    assert [report.name for report in crashed] == ["strategy:market_maker-BTC-USD"]
    assert all(report.dead_letters == 0 for report in reports if report not in crashed)
    assert crashed[0].dead_letters == 1  # only the poison message
    assert calls["n"] > 50  # the strategy went on receiving books after the restart
    assert result.report["orders"]["submitted"] > 0
    assert result.report["trading_state"].lower() == "active"
    assert Decimal(result.report["pnl"]["equity_start"]) > 0


# ----- a restarted strategy is rebuilt from the journal, never carried over -----


class Tally:
    """A strategy whose state is every bid it saw; it asks to buy on every third book (tagged with it)."""

    strategy_id = SID
    instrument_ids = (BTC_ID,)

    def __init__(self) -> None:
        self.bids: list[str] = []

    def on_book(self, top: BookTop, view: StrategyView) -> Sequence[Signal]:
        self.bids.append(str(top.best_bid))
        if len(self.bids) % 3:
            return ()
        return (buy(price=str(top.best_bid), tag="|".join(self.bids[-3:])),)

    def on_trade(self, trade: TradeTick, view: StrategyView) -> Sequence[Signal]:
        return ()

    def on_timer(self, ts_ns: int, view: StrategyView) -> Sequence[Signal]:
        return ()

    def on_order_event(self, event: OrderEvent, view: StrategyView) -> Sequence[Signal]:
        return ()

    def snapshot(self) -> Mapping[str, object]:
        return {"bids": list(self.bids)}

    def restore(self, state: Mapping[str, object]) -> None:
        bids = state["bids"]
        assert isinstance(bids, list)
        self.bids = [str(bid) for bid in bids]


class PoisonOnce(Tally):
    """A `Tally` that raises on the `poison_at`-th book of the run, AFTER it has recorded it."""

    def __init__(self, calls: dict[str, int], poison_at: int) -> None:
        super().__init__()
        self.calls = calls  # shared by every instance the factory builds: one poison in the run
        self.poison_at = poison_at

    def on_book(self, top: BookTop, view: StrategyView) -> Sequence[Signal]:
        self.calls["n"] += 1
        signals = super().on_book(top, view)  # the state is mutated first...
        if self.calls["n"] == self.poison_at:
            raise BoomError("half-updated")  # ...then the strategy dies
        return signals


class Recorder:
    def __init__(self) -> None:
        self.seen: list[object] = []

    def handle(self, message: object) -> None:
        self.seen.append(message)


def _tops(count: int) -> list[BookTop]:
    return [
        BookTop(BTC_ID, 1, ((D(100 + n), D(1)),), ((D(200 + n), D(1)),), stale=False) for n in range(count)
    ]


def _saved_states(journal: InMemoryJournal) -> list[Mapping[str, object]]:
    return [r.event.state for r in journal.read() if isinstance(r.event, StrategyStateSaved)]


def test_the_strategy_engine_journals_its_strategys_snapshot_only_when_it_changed() -> None:
    clock = SimulatedClock(1)
    runtime = DeterministicRuntime(clock)
    journal = InMemoryJournal()
    risk = Recorder()
    runtime.register(RISK, risk)
    engine = StrategyEngine(
        Tally(), INSTRUMENTS, runtime, JournalWriter(journal, clock), clock, checkpoint_interval_ns=0
    )
    runtime.register(strategy_destination(SID), engine)
    for top in _tops(4):
        runtime.deliver_at(1, strategy_destination(SID), top)
    runtime.deliver_at(1, strategy_destination(SID), TradingStateChanged(TradingState.REDUCING, "test", 1))
    runtime.deliver_at(1, strategy_destination(SID), Timer(1))  # Tally's state does not change: no record
    assert [state["bids"] for state in _saved_states(journal)] == [
        ["100"],
        ["100", "101"],
        ["100", "101", "102"],
        ["100", "101", "102", "103"],
    ]
    kinds = [type(r.event).__name__ for r in journal.read()]
    assert kinds[:4] == ["StrategyStateSaved", "StrategyStateSaved", "CheckOrder", "StrategyStateSaved"]
    # the journaled state is a copy: the strategy's later changes never reach it
    assert _saved_states(journal)[0] == {"bids": ["100"]}


def test_rebuild_replaces_a_half_updated_strategy_with_a_fresh_one_restored_from_the_journal() -> None:
    clock = SimulatedClock(1)
    runtime = DeterministicRuntime(clock)
    runtime.register(RISK, Recorder())
    original = Tally()
    engine = StrategyEngine(
        original,
        INSTRUMENTS,
        runtime,
        JournalWriter(InMemoryJournal(), clock),
        clock,
        checkpoint_interval_ns=0,
    )
    runtime.register(strategy_destination(SID), engine)
    for top in _tops(2):
        runtime.deliver_at(1, strategy_destination(SID), top)
    original.bids.append("garbage")  # what a crash mid-message leaves behind
    engine.rebuild()
    assert engine.strategy is not original  # a fresh instance (a copy of the strategy as wired)
    assert engine.strategy.snapshot() == {"bids": ["100", "101"]} == engine.last_saved_state()
    assert engine.rebuilds == 1


def test_rebuild_before_any_checkpoint_restores_the_state_the_strategy_was_wired_with() -> None:
    clock = SimulatedClock(1)
    strategy = Tally()
    strategy.restore({"bids": ["7"]})
    runtime = DeterministicRuntime(clock)
    engine = StrategyEngine(strategy, INSTRUMENTS, runtime, JournalWriter(InMemoryJournal(), clock), clock)
    strategy.bids.append("garbage")
    engine.rebuild()
    assert engine.last_saved_state() is None
    assert engine.strategy.snapshot() == {"bids": ["7"]}


def _timed_tops(times: Sequence[int]) -> list[BookTop]:
    return [
        BookTop(BTC_ID, ts, ((D(100 + n), D(1)),), ((D(200 + n), D(1)),), stale=False)
        for n, ts in enumerate(times)
    ]


def test_silent_book_tops_are_checkpointed_once_per_interval_and_decisions_at_once() -> None:
    """Tally decides (buys) on every third top; the tops in between only change its indicators."""
    clock = SimulatedClock(0)
    runtime = DeterministicRuntime(clock)
    journal = InMemoryJournal()
    runtime.register(RISK, Recorder())
    engine = StrategyEngine(
        Tally(), INSTRUMENTS, runtime, JournalWriter(journal, clock), clock, checkpoint_interval_ns=10
    )
    destination = strategy_destination(SID)
    runtime.register(destination, engine)
    for top in _timed_tops([1, 2, 3, 4, 5, 12, 13]):
        runtime.deliver_at(top.ts_ns, destination, top)
    saved = [state["bids"] for state in _saved_states(journal)]
    assert saved == [
        ["100"],  # the first message: nothing compared yet
        ["100", "101", "102"],  # a decision (a buy): at once
        ["100", "101", "102", "103", "104", "105"],  # a decision
        # 13: silent, and 10 ns have not passed since the decision at 12: not checkpointed
    ]
    runtime.deliver_at(25, destination, _timed_tops([25])[0])  # silent, but the interval passed
    assert len(_saved_states(journal)) == 4
    assert _saved_states(journal)[-1] == engine.strategy.snapshot()
    runtime.deliver_at(30, destination, SaveStrategyState(30))  # unchanged since: nothing
    assert len(_saved_states(journal)) == 4
    runtime.deliver_at(31, destination, _timed_tops([31])[0])  # the ninth top: a decision
    runtime.deliver_at(32, destination, _timed_tops([32])[0])  # silent, within the interval
    assert len(_saved_states(journal)) == 5
    assert _saved_states(journal)[-1] != engine.strategy.snapshot()
    runtime.deliver_at(33, destination, SaveStrategyState(33))  # a graceful end saves the rest
    assert len(_saved_states(journal)) == 6
    assert _saved_states(journal)[-1] == engine.strategy.snapshot()


def test_a_rebuild_between_checkpoints_keeps_every_decision() -> None:
    """A crash loses at most the silent tops since the last checkpoint, never the tags decided on."""
    clock = SimulatedClock(0)
    runtime = DeterministicRuntime(clock)
    runtime.register(RISK, Recorder())
    engine = StrategyEngine(
        Tally(),
        INSTRUMENTS,
        runtime,
        JournalWriter(InMemoryJournal(), clock),
        clock,
        checkpoint_interval_ns=1_000,
    )
    destination = strategy_destination(SID)
    runtime.register(destination, engine)
    for top in _timed_tops([1, 2, 3, 4]):
        runtime.deliver_at(top.ts_ns, destination, top)
    engine.rebuild()
    # The buy decided on the third top is in the restored state; the silent fourth top is not.
    assert engine.strategy.snapshot() == {"bids": ["100", "101", "102"]}


def _wait_for(condition: Callable[[], bool], timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


def test_a_crashed_strategy_restarts_from_its_last_journaled_snapshot_not_its_half_updated_state() -> None:
    """A strategy raises after mutating its state; the restarted one is fresh and restored exactly."""
    poison_at = 5
    tops = _tops(12)
    destination = strategy_destination(SID)
    clock = SimulatedClock(1)
    runtime = ThreadedRuntime(
        clock, notifier=Notes(), lockstep=True, policy=_fast_policy(3), idle_timeout_s=10
    )
    journal = InMemoryJournal()
    risk = Recorder()
    calls = {"n": 0}
    built: list[PoisonOnce] = []

    def factory() -> PoisonOnce:
        built.append(PoisonOnce(calls, poison_at))
        return built[-1]

    first = factory()
    engine = StrategyEngine(
        first,
        INSTRUMENTS,
        runtime,
        JournalWriter(journal, clock),
        clock,
        strategy_factory=factory,
        checkpoint_interval_ns=0,
    )
    try:
        runtime.register(RISK, risk)
        runtime.register(destination, engine)
        for top in tops[:poison_at]:
            runtime.send(destination, top)
        runtime.wait_idle()
        _wait_for(lambda: engine.rebuilds == 1)
        restarted = engine.strategy
        journaled = engine.last_saved_state()
        state_after_restart = dict(restarted.snapshot())
        for top in tops[poison_at:]:
            runtime.send(destination, top)
        runtime.wait_idle()
        health = runtime.ref(destination).health()
    finally:
        runtime.stop()
    assert health.restarts == 1
    assert health.dead_letters == 1  # the poison message only
    assert restarted is not first  # a fresh instance, from the factory
    assert restarted is built[-1]
    assert first.bids[-1] == "104"  # the dead instance had recorded the poison book...
    assert state_after_restart == journaled == {"bids": ["100", "101", "102", "103"]}  # ...the new one not
    # Its outputs from then on are those of a strategy that never crashed but skipped the poison.
    reference_clock = SimulatedClock(1)
    reference_runtime = DeterministicRuntime(reference_clock)
    reference_risk = Recorder()
    reference_runtime.register(RISK, reference_risk)
    reference = StrategyEngine(
        Tally(),
        INSTRUMENTS,
        reference_runtime,
        JournalWriter(InMemoryJournal(), reference_clock),
        reference_clock,
        checkpoint_interval_ns=0,
    )
    reference_runtime.register(destination, reference)
    for n, top in enumerate(tops):
        if n != poison_at - 1:
            reference_runtime.deliver_at(1, destination, top)
    assert risk.seen == reference_risk.seen
    assert len(risk.seen) == 3
    assert engine.strategy.snapshot() == reference.strategy.snapshot()
    assert _saved_states(journal)[-1] == reference.strategy.snapshot()
