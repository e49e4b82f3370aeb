"""The threaded runtime: parity with the deterministic runtime in lockstep, restarts, escalation.

Every wait is bounded (the runtime's idle timeout, pytest-free deadlines); every test stops the
runtime and ends with `pykka.ActorRegistry.stop_all()`.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pykka
import pytest

from application.ports.clock import SimulatedClock
from application.ports.notifier import Severity
from application.runtime.journal_encoding import canonical_bytes
from application.runtime.threaded_runtime import ThreadedRuntime
from application.supervision import ActorHealth, RestartPolicy
from domain.orders.order_events import OrderFilled
from infrastructure.replay import ReplaySettings, StrategySettings, run_replay
from infrastructure.replay.replay_runner import ReplayRuntime

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
