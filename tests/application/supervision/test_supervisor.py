"""Crash injection against real pykka actors: restart, rebuild, no lost message, escalation, health.

Timing is deterministic: failure times come from a `SimulatedClock` and delayed restarts run
only when a test calls `ManualScheduler.run_due` (one test uses the threaded scheduler with a
2 ms backoff). Every wait is bounded; every test ends with `ActorRegistry.stop_all()` and checks
that no thread it started is left.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import attrs
import pykka
import pytest

from application.ports.clock import SimulatedClock
from application.ports.event_journal import InMemoryJournal
from application.ports.notifier import Severity
from application.supervision import (
    NS_PER_MS,
    NS_PER_SECOND,
    ActorHealth,
    ActorSpec,
    ActorUnavailableError,
    ManualScheduler,
    RestartPolicy,
    SupervisedActor,
    SupervisedRef,
    SupervisionLink,
    Supervisor,
    TellOutcome,
    ThreadingScheduler,
    worst_health,
)
from domain.risk.breaker_events import CancelAllOrders
from domain.risk.circuit_breaker import CircuitBreaker
from domain.risk.risk_limits import RiskLimits
from domain.risk.trading_state import TradingState

MS = NS_PER_MS
S = NS_PER_SECOND
T = 10 * S
WAIT_S = 2.0

BACKOFF = RestartPolicy(max_restarts=3, within_ns=T, backoff_initial_ns=50 * MS, backoff_max_ns=1 * S)
IMMEDIATE = RestartPolicy(max_restarts=2, within_ns=T, backoff_initial_ns=0, backoff_max_ns=0)


def wait_until(predicate: Callable[[], object], what: str, timeout_s: float = WAIT_S) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.001)


@pytest.fixture(autouse=True)
def no_thread_leaks() -> Iterator[None]:
    before = set(threading.enumerate())
    yield
    pykka.ActorRegistry.stop_all(timeout=WAIT_S)
    deadline = time.monotonic() + WAIT_S
    while leftover := [t for t in threading.enumerate() if t not in before and t.is_alive()]:
        if time.monotonic() > deadline:
            pytest.fail(f"threads left running: {leftover}")
        time.sleep(0.001)
    assert pykka.ActorRegistry.get_all() == []


# -- test doubles -------------------------------------------------------------------------------


class BoomError(RuntimeError):
    """The injected crash."""


class Notes:
    """A notifier that keeps what it was told (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: list[tuple[Severity, str]] = []

    def notify(self, severity: Severity, message: str) -> None:
        with self._lock:
            self._items.append((severity, message))

    def of(self, severity: Severity) -> list[str]:
        with self._lock:
            return [message for s, message in self._items if s is severity]


class Escalations:
    """The composition root's escalation hook, recording its calls (and optionally doing more)."""

    def __init__(self, then: Callable[[str, BaseException], None] | None = None) -> None:
        self._lock = threading.Lock()
        self._calls: list[tuple[str, BaseException]] = []
        self._then = then

    def __call__(self, name: str, cause: BaseException) -> None:
        with self._lock:
            self._calls.append((name, cause))
        if self._then is not None:
            self._then(name, cause)

    @property
    def calls(self) -> list[tuple[str, BaseException]]:
        with self._lock:
            return list(self._calls)


@attrs.frozen
class Seen:
    """Journaled by the strategy for each value it handled, with the instance that handled it."""

    value: int
    incarnation: int


@attrs.define
class World:
    """What the strategy actor is given: its journal, and knobs for the test to inject trouble."""

    journal: InMemoryJournal = attrs.Factory(InMemoryJournal)
    gate: threading.Event | None = None  # "boom" waits for it before raising
    journal_unavailable: bool = False  # rebuild_state raises
    factory_fails: bool = False  # the factory raises
    rebuilds: list[tuple[int, tuple[int, ...]]] = attrs.Factory(list)  # (incarnation, state rebuilt)

    def values_journaled(self) -> list[tuple[int, int]]:
        seen = [r.event for r in self.journal.read() if isinstance(r.event, Seen)]
        return [(event.value, event.incarnation) for event in seen]


class StrategyActor(SupervisedActor):
    """Handles ints (journals each); its state, the values handled, is rebuilt from the journal."""

    def __init__(self, link: SupervisionLink, world: World) -> None:
        super().__init__(link)
        self.world = world
        self.values: list[int] = []

    def rebuild_state(self) -> None:
        if self.world.journal_unavailable:
            raise OSError("journal unavailable")
        self.values = [value for value, _ in self.world.values_journaled()]
        self.world.rebuilds.append((self.supervision.incarnation, tuple(self.values)))

    def handle(self, message: object) -> object:
        if isinstance(message, int):
            self.world.journal.append(0, "strategy", Seen(message, self.supervision.incarnation))
            self.values.append(message)
            return None
        if message == "boom":
            if self.world.gate is not None:
                assert self.world.gate.wait(timeout=WAIT_S)
            raise BoomError("boom")
        if message == "values":
            return tuple(self.values)
        if message == "bad question":
            raise ValueError("bad question")
        raise AssertionError(f"unexpected {message!r}")


def strategy_spec(world: World, name: str = "strategy", **kwargs: Any) -> ActorSpec:
    def factory(link: SupervisionLink) -> pykka.ActorRef[Any]:
        if world.factory_fails:
            raise OSError("cannot build")
        return StrategyActor.start(link, world)

    return ActorSpec(name, factory, **kwargs)


class FakeVenue:
    """A venue gateway double: open orders, and a submit that fails the next `fail_submits` times."""

    def __init__(self, name: str, open_orders: tuple[str, ...] = (), fail_submits: int = 0) -> None:
        self.name = name
        self._lock = threading.Lock()
        self._open = list(open_orders)
        self._fail = fail_submits
        self.submitted: list[str] = []
        self.cancel_all_calls = 0

    def submit(self, order_id: str) -> None:
        with self._lock:
            if self._fail > 0:
                self._fail -= 1
                raise ConnectionError(f"{self.name}: connection reset")
            self.submitted.append(order_id)
            self._open.append(order_id)

    def cancel_all(self) -> None:
        with self._lock:
            self.cancel_all_calls += 1
            self._open.clear()

    def open_orders(self) -> list[str]:
        with self._lock:
            return list(self._open)


class VenueActor(SupervisedActor):
    """Submits orders to its venue and journals each accepted one; rebuilds what was sent from the journal."""

    def __init__(self, link: SupervisionLink, venue: FakeVenue, journal: InMemoryJournal) -> None:
        super().__init__(link)
        self.venue = venue
        self.journal = journal
        self.sent: list[str] = []

    def rebuild_state(self) -> None:
        self.sent = [str(r.event) for r in self.journal.read() if r.stream_id == self.venue.name]

    def handle(self, message: object) -> object:
        if message == "sent":
            return tuple(self.sent)
        assert isinstance(message, str)
        if message in self.sent:
            return None  # already sent: never twice
        self.venue.submit(message)
        self.journal.append(0, self.venue.name, message)
        self.sent.append(message)
        return None


class PlainActor(pykka.ThreadingActor):
    """Not a SupervisedActor."""


@attrs.define
class Harness:
    clock: SimulatedClock
    scheduler: ManualScheduler
    notes: Notes
    escalations: Escalations
    supervisor: Supervisor

    def advance(self, ns: int) -> None:
        self.clock.advance_to(self.clock.now_ns() + ns)


def make_harness(policy: RestartPolicy, escalations: Escalations | None = None) -> Harness:
    clock = SimulatedClock(1_000 * S)
    scheduler = ManualScheduler(clock)
    notes = Notes()
    escalations = escalations if escalations is not None else Escalations()
    supervisor = Supervisor(
        clock=clock, scheduler=scheduler, notifier=notes, on_escalate=escalations, policy=policy
    )
    return Harness(clock, scheduler, notes, escalations, supervisor)


@pytest.fixture
def harness() -> Iterator[Harness]:
    made = make_harness(BACKOFF)
    yield made
    made.supervisor.stop(timeout_s=WAIT_S)


def await_restart_scheduled(harness: Harness, ref: SupervisedRef) -> None:
    """Wait until the failing instance's thread has scheduled the restart and sent its notification."""
    wait_until(lambda: ref.health().restarting, "the failure to be handled")
    wait_until(lambda: harness.notes.of(Severity.WARNING), "the failure notification")


def health_of(ref: SupervisedRef) -> ActorHealth:
    return ref.health().health


# -- restart: no lost message, state rebuilt, health -------------------------------------------


def test_a_strategy_that_raises_is_restarted_rebuilt_from_the_journal_and_loses_no_message(
    harness: Harness,
) -> None:
    world = World(gate=threading.Event())
    ref = harness.supervisor.start_child(strategy_spec(world))
    assert health_of(ref) is ActorHealth.RUNNING

    assert [ref.tell(v) for v in (1, 2, 3)] == [TellOutcome.SENT] * 3
    assert ref.tell("boom") is TellOutcome.SENT  # message #4, the poison message
    for value in (4, 5, 6):  # queued behind it in the doomed instance's inbox (pykka drops them)
        ref.tell(value)
    world.gate.set()  # type: ignore[union-attr]
    failed_at = harness.clock.now_ns()
    await_restart_scheduled(harness, ref)

    down = ref.health()
    assert down.health is ActorHealth.DEGRADED
    assert (down.incarnation, down.restarts, down.failures_in_window) == (1, 0, 1)
    assert down.pending_messages == 3  # 4, 5, 6: kept for the next instance
    assert down.last_failure == "BoomError('boom')"
    assert down.last_failure_ns == failed_at
    assert harness.scheduler.pending_due_ns() == [failed_at + 50 * MS]

    assert ref.tell(7) is TellOutcome.BUFFERED  # told while the actor is down
    assert ref.tell(8) is TellOutcome.BUFFERED
    answer = ref.ask("values")

    harness.advance(50 * MS - 1)
    assert harness.scheduler.run_due() == 0  # the backoff is not over
    assert ref.health().restarting
    harness.advance(1)
    assert harness.scheduler.run_due() == 1

    assert answer.get(timeout=WAIT_S) == (1, 2, 3, 4, 5, 6, 7, 8)
    # 1-3 handled by the first instance; everything after the poison message by the second, in order.
    assert world.values_journaled() == [(1, 1), (2, 1), (3, 1), (4, 2), (5, 2), (6, 2), (7, 2), (8, 2)]
    # The second instance rebuilt its state from the journal, not from nothing.
    assert world.rebuilds == [(1, ()), (2, (1, 2, 3))]

    up = ref.health()
    assert up.health is ActorHealth.DEGRADED  # restarted within the window
    assert (up.incarnation, up.restarts, up.pending_messages, up.restarting) == (2, 1, 0, False)
    [poison] = ref.dead_letters()
    assert (poison.actor, poison.sequence, poison.message) == ("strategy", 4, "boom")
    assert poison.reason == "poison: BoomError('boom')"
    assert up.dead_letters == 1
    [warning] = harness.notes.of(Severity.WARNING)
    assert "strategy" in warning
    assert "BoomError('boom')" in warning
    assert "restarting in 50 ms" in warning
    assert "message #4 dropped" in warning
    assert harness.notes.of(Severity.CRITICAL) == []
    assert harness.escalations.calls == []

    harness.clock.advance_to(failed_at + T - 1)
    assert health_of(ref) is ActorHealth.DEGRADED
    harness.clock.advance_to(failed_at + T)  # a quiet period of T: healthy again
    assert health_of(ref) is ActorHealth.RUNNING
    assert ref.ask("values").get(timeout=WAIT_S) == (1, 2, 3, 4, 5, 6, 7, 8)


def test_a_venue_that_raises_once_is_restarted_and_the_failed_submit_is_redelivered() -> None:
    harness = make_harness(IMMEDIATE)
    journal = InMemoryJournal()
    venue = FakeVenue("coinbase", fail_submits=0)
    spec = ActorSpec(
        "venue-coinbase",
        lambda link: VenueActor.start(link, venue, journal),
        redeliver_failed_message=True,  # a connection reset is transient: try the submit again
    )
    ref = harness.supervisor.start_child(spec)
    try:
        assert ref.tell("o1") is TellOutcome.SENT
        assert ref.ask("sent").get(timeout=WAIT_S) == ("o1",)
        venue._fail = 1  # the next submit (o2) fails once
        for order_id in ("o2", "o3", "o4", "o5"):
            ref.tell(order_id)
        assert ref.ask("sent").get(timeout=WAIT_S) == ("o1", "o2", "o3", "o4", "o5")
        assert venue.submitted == ["o1", "o2", "o3", "o4", "o5"]  # each exactly once, in order
        report = ref.health()
        assert (report.health, report.incarnation, report.restarts) == (ActorHealth.DEGRADED, 2, 1)
        assert (report.pending_messages, report.dead_letters) == (0, 0)
        [warning] = harness.notes.of(Severity.WARNING)
        assert "venue-coinbase" in warning
        assert "ConnectionError" in warning
        assert "restarting now" in warning
        assert "dropped" not in warning
    finally:
        harness.supervisor.stop(timeout_s=WAIT_S)


def test_a_failed_ask_goes_to_the_asker_and_does_not_restart_the_actor(harness: Harness) -> None:
    ref = harness.supervisor.start_child(strategy_spec(World()))
    with pytest.raises(ValueError, match="bad question"):
        ref.ask("bad question").get(timeout=WAIT_S)
    ref.tell(1)
    assert ref.ask("values").get(timeout=WAIT_S) == (1,)
    report = ref.health()
    assert (report.health, report.incarnation, report.restarts) == (ActorHealth.RUNNING, 1, 0)


def test_a_factory_that_fails_during_a_restart_counts_as_a_failure_and_backs_off_further(
    harness: Harness,
) -> None:
    world = World()
    ref = harness.supervisor.start_child(strategy_spec(world))
    ref.tell("boom")
    await_restart_scheduled(harness, ref)
    ref.tell(1)
    world.factory_fails = True
    harness.advance(50 * MS)
    assert harness.scheduler.run_due() == 1  # the factory raised: failure 2, backoff doubles
    report = ref.health()
    assert (report.restarting, report.failures_in_window, report.last_failure) == (
        True,
        2,
        "OSError('cannot build')",
    )
    assert harness.scheduler.pending_due_ns() == [harness.clock.now_ns() + 100 * MS]
    world.factory_fails = False
    harness.advance(100 * MS)
    assert harness.scheduler.run_due() == 1
    assert ref.ask("values").get(timeout=WAIT_S) == (1,)
    assert (ref.health().restarts, ref.health().incarnation) == (1, 3)
    assert len(harness.notes.of(Severity.WARNING)) == 2


def test_a_delayed_restart_runs_on_the_threading_scheduler() -> None:
    clock = SimulatedClock()
    scheduler = ThreadingScheduler()
    notes = Notes()
    policy = RestartPolicy(max_restarts=3, within_ns=T, backoff_initial_ns=2 * MS, backoff_max_ns=10 * MS)
    supervisor = Supervisor(
        clock=clock, scheduler=scheduler, notifier=notes, on_escalate=Escalations(), policy=policy
    )
    try:
        world = World()
        ref = supervisor.start_child(strategy_spec(world))
        ref.tell(1)
        ref.tell("boom")
        ref.tell(2)
        assert ref.ask("values").get(timeout=WAIT_S) == (1, 2)
        assert ref.health().incarnation == 2
        assert world.rebuilds == [(1, ()), (2, (1,))]
    finally:
        supervisor.stop(timeout_s=WAIT_S)
        scheduler.close()


# -- escalation ---------------------------------------------------------------------------------


def test_repeated_failure_halts_trading_cancels_every_open_order_and_notifies_once() -> None:
    venues = {
        "coinbase": FakeVenue("coinbase", open_orders=("cb-1", "cb-2")),
        "dydx": FakeVenue("dydx", open_orders=("dx-1",)),
    }
    breaker = CircuitBreaker(RiskLimits())
    clock_box: list[SimulatedClock] = []

    def halt_and_cancel_all(name: str, cause: BaseException) -> None:  # the composition root's hook
        for output in breaker.trip("supervisor", f"{name} faulted: {cause!r}", clock_box[0].now_ns()):
            if isinstance(output, CancelAllOrders):
                for venue in venues.values():
                    venue.cancel_all()

    harness = make_harness(IMMEDIATE, Escalations(then=halt_and_cancel_all))
    clock_box.append(harness.clock)
    ref = harness.supervisor.start_child(strategy_spec(World()))
    healths: list[ActorHealth] = []

    def poll() -> bool:
        healths.append(harness.supervisor.overall_health())
        return healths[-1] is ActorHealth.FAULTED

    # Health is queryable from any thread while this goes on.
    poller = threading.Thread(target=lambda: wait_until(poll, "FAULTED seen from another thread"))
    poller.start()
    try:
        ref.tell(1)
        for _ in range(3):  # R = 2: the third failure within T is one too many
            ref.tell("boom")
        ref.tell(2)  # after the last poison message: never delivered
        wait_until(lambda: harness.notes.of(Severity.CRITICAL), "the CRITICAL notification")
        poller.join(timeout=WAIT_S)
        assert not poller.is_alive()

        [(name, cause)] = harness.escalations.calls
        assert name == "strategy"
        assert isinstance(cause, BoomError)
        assert breaker.trading_state is TradingState.HALTED
        assert {v.name: (v.open_orders(), v.cancel_all_calls) for v in venues.values()} == {
            "coinbase": ([], 1),
            "dydx": ([], 1),
        }
        [critical] = harness.notes.of(Severity.CRITICAL)
        assert "strategy FAULTED" in critical
        assert "BoomError('boom')" in critical
        assert "failure 3 within 10 s, at most 2 restarts allowed" in critical
        assert len(harness.notes.of(Severity.WARNING)) == 2

        report = ref.health()
        assert report.health is ActorHealth.FAULTED
        assert (report.escalated, report.restarting) == (True, False)
        assert (report.incarnation, report.restarts) == (3, 2)
        assert harness.supervisor.escalated
        assert harness.supervisor.overall_health() is ActorHealth.FAULTED
        assert ref.actor_ref is None

        # Further messages are refused, and recorded.
        assert ref.tell(3) is TellOutcome.REFUSED
        with pytest.raises(ActorUnavailableError, match="actor strategy is faulted"):
            ref.ask("values").get(timeout=WAIT_S)
        letters = [(d.sequence, d.message, d.reason) for d in ref.dead_letters()]
        assert letters == [
            (2, "boom", "poison: BoomError('boom')"),
            (3, "boom", "poison: BoomError('boom')"),
            (4, "boom", "poison: BoomError('boom')"),
            (5, 2, "faulted"),
            (6, 3, "faulted"),
            (7, "values", "faulted"),
        ]
        assert ref.health().dead_letters == 6
        assert len(harness.escalations.calls) == 1  # once, however many messages follow
        # Seen from the other thread: never back to RUNNING while the crashes go on.
        assert healths == sorted(healths, key=lambda health: health.severity)
    finally:
        harness.supervisor.stop(timeout_s=WAIT_S)
        poller.join(timeout=WAIT_S)


def test_a_state_that_cannot_be_rebuilt_fails_every_restart_and_escalates() -> None:
    harness = make_harness(IMMEDIATE)
    world = World()
    ref = harness.supervisor.start_child(strategy_spec(world))
    try:
        world.journal_unavailable = True
        ref.tell("boom")
        ref.tell(1)
        wait_until(lambda: harness.notes.of(Severity.CRITICAL), "the CRITICAL notification")
        [(name, cause)] = harness.escalations.calls
        assert name == "strategy"
        assert isinstance(cause, OSError)
        assert str(cause) == "journal unavailable"
        report = ref.health()
        assert (report.health, report.incarnation, report.restarts) == (ActorHealth.FAULTED, 3, 2)
        assert [(d.message, d.reason) for d in ref.dead_letters()] == [
            ("boom", "poison: BoomError('boom')"),
            (1, "faulted"),
        ]
        assert world.rebuilds == [(1, ())]  # the restarted instances never got their state
        assert world.values_journaled() == []
    finally:
        harness.supervisor.stop(timeout_s=WAIT_S)


def test_a_redelivered_deterministic_poison_message_escalates() -> None:
    harness = make_harness(RestartPolicy(max_restarts=1, within_ns=T, backoff_initial_ns=0, backoff_max_ns=0))
    ref = harness.supervisor.start_child(strategy_spec(World(), redeliver_failed_message=True))
    try:
        ref.tell("boom")
        wait_until(lambda: harness.notes.of(Severity.CRITICAL), "the CRITICAL notification")
        assert len(harness.escalations.calls) == 1
        assert [(d.sequence, d.message, d.reason) for d in ref.dead_letters()] == [(1, "boom", "faulted")]
        assert ref.health().incarnation == 2
    finally:
        harness.supervisor.stop(timeout_s=WAIT_S)


def test_a_failing_escalation_hook_is_reported_in_the_critical_notification() -> None:
    def broken_hook(name: str, cause: BaseException) -> None:
        raise RuntimeError("hook broke")

    harness = make_harness(RestartPolicy(max_restarts=0), Escalations(then=broken_hook))
    ref = harness.supervisor.start_child(strategy_spec(World()))
    try:
        ref.tell("boom")
        wait_until(lambda: harness.notes.of(Severity.CRITICAL), "the CRITICAL notification")
        [critical] = harness.notes.of(Severity.CRITICAL)
        assert "THE ESCALATION HOOK FAILED: RuntimeError('hook broke')" in critical
        assert health_of(ref) is ActorHealth.FAULTED
    finally:
        harness.supervisor.stop(timeout_s=WAIT_S)


def test_a_notifier_that_raises_does_not_stop_the_restart() -> None:
    class BrokenNotifier:
        def notify(self, severity: Severity, message: str) -> None:
            raise RuntimeError("notifier down")

    supervisor = Supervisor(
        clock=SimulatedClock(),
        scheduler=ManualScheduler(SimulatedClock()),
        notifier=BrokenNotifier(),
        on_escalate=Escalations(),
        policy=IMMEDIATE,
    )
    with supervisor:
        ref = supervisor.start_child(strategy_spec(World()))
        ref.tell("boom")
        ref.tell(1)
        assert ref.ask("values").get(timeout=WAIT_S) == (1,)
        assert ref.health().restarts == 1


# -- stopping -----------------------------------------------------------------------------------


def test_stopping_the_supervisor_stops_every_child_after_the_messages_already_sent(harness: Harness) -> None:
    world = World()
    strategy = harness.supervisor.start_child(strategy_spec(world))
    venue = harness.supervisor.start_child(
        ActorSpec("venue", lambda link: VenueActor.start(link, FakeVenue("v"), InMemoryJournal()))
    )
    assert [c.name for c in harness.supervisor.children] == ["strategy", "venue"]
    assert harness.supervisor.child("venue") is venue
    for value in range(100):
        strategy.tell(value)

    harness.supervisor.stop(timeout_s=WAIT_S)

    assert [v for v, _ in world.values_journaled()] == list(range(100))
    assert pykka.ActorRegistry.get_all() == []
    assert {name: r.health for name, r in harness.supervisor.health().items()} == {
        "strategy": ActorHealth.STOPPED,
        "venue": ActorHealth.STOPPED,
    }
    assert harness.supervisor.overall_health() is ActorHealth.STOPPED
    assert strategy.actor_ref is None
    assert strategy.health().pending_messages == 0
    assert strategy.tell(1) is TellOutcome.REFUSED
    with pytest.raises(ActorUnavailableError, match="actor venue is stopped"):
        venue.ask("sent").get(timeout=WAIT_S)
    harness.supervisor.stop()  # idempotent
    with pytest.raises(RuntimeError, match="stopped"):
        harness.supervisor.start_child(strategy_spec(World(), name="late"))
    assert harness.notes.of(Severity.WARNING) == []


def test_stopping_during_a_backoff_cancels_the_restart_and_dead_letters_the_buffer(harness: Harness) -> None:
    ref = harness.supervisor.start_child(strategy_spec(World()))
    ref.tell("boom")
    await_restart_scheduled(harness, ref)
    assert ref.tell(7) is TellOutcome.BUFFERED
    answer = ref.ask("values")

    harness.supervisor.stop(timeout_s=WAIT_S)

    with pytest.raises(ActorUnavailableError, match="stopped"):
        answer.get(timeout=WAIT_S)
    assert harness.scheduler.pending_due_ns() == []
    harness.advance(10 * S)
    assert harness.scheduler.run_due() == 0
    report = ref.health()
    assert (report.health, report.incarnation, report.pending_messages) == (ActorHealth.STOPPED, 1, 0)
    assert [(d.message, d.reason) for d in ref.dead_letters()] == [
        ("boom", "poison: BoomError('boom')"),
        (7, "stopped"),
        ("values", "stopped"),
    ]


def test_an_actor_stopped_behind_the_supervisors_back_is_stopped_not_restarted(harness: Harness) -> None:
    ref = harness.supervisor.start_child(strategy_spec(World()))
    actor_ref = ref.actor_ref
    assert actor_ref is not None
    actor_ref.stop(block=True, timeout=WAIT_S)
    wait_until(lambda: health_of(ref) is ActorHealth.STOPPED, "STOPPED")
    assert ref.tell(1) is TellOutcome.REFUSED
    assert ref.health().restarts == 0
    assert (harness.escalations.calls, harness.notes.of(Severity.WARNING)) == ([], [])


# -- construction -------------------------------------------------------------------------------


def test_a_factory_must_start_a_supervised_actor(harness: Harness) -> None:
    with pytest.raises(TypeError, match="not a SupervisedActor"):
        harness.supervisor.start_child(ActorSpec("plain", lambda link: PlainActor.start()))
    assert harness.supervisor.children == ()


def test_a_failing_first_start_propagates_and_registers_nothing(harness: Harness) -> None:
    with pytest.raises(OSError, match="cannot build"):
        harness.supervisor.start_child(strategy_spec(World(factory_fails=True)))
    assert harness.supervisor.health() == {}
    assert harness.supervisor.overall_health() is ActorHealth.RUNNING


def test_names_are_unique_and_non_empty(harness: Harness) -> None:
    harness.supervisor.start_child(strategy_spec(World()))
    with pytest.raises(ValueError, match="already supervised"):
        harness.supervisor.start_child(strategy_spec(World()))
    for bad in ("", " strategy"):
        with pytest.raises(ValueError, match="actor name"):
            strategy_spec(World(), name=bad)
    with pytest.raises(KeyError):
        harness.supervisor.child("nobody")


def test_a_spec_policy_overrides_the_supervisors_default(harness: Harness) -> None:
    own = RestartPolicy(max_restarts=9)
    assert harness.supervisor.start_child(strategy_spec(World(), policy=own)).policy is own
    assert harness.supervisor.start_child(strategy_spec(World(), name="other")).policy is BACKOFF
    assert harness.supervisor.policy is BACKOFF


def test_a_supervised_actor_runs_unsupervised_with_a_detached_link() -> None:
    link = SupervisionLink.unsupervised("alone")
    assert (link.name, link.incarnation, link.is_restart) == ("alone", 1, False)
    world = World(journal=InMemoryJournal())
    world.journal.append(0, "strategy", Seen(41, 1))
    ref = StrategyActor.start(link, world)
    ref.tell(42)  # a bare message: handled, nothing to acknowledge
    assert ref.ask("values", timeout=WAIT_S) == (41, 42)
    ref.stop(block=True, timeout=WAIT_S)


def test_worst_health_orders_running_degraded_stopped_faulted() -> None:
    assert worst_health([]) is ActorHealth.RUNNING
    assert worst_health([ActorHealth.RUNNING, ActorHealth.DEGRADED]) is ActorHealth.DEGRADED
    assert worst_health([ActorHealth.STOPPED, ActorHealth.DEGRADED]) is ActorHealth.STOPPED
    assert worst_health(list(ActorHealth)) is ActorHealth.FAULTED


def test_a_failure_while_stopping_is_not_restarted_and_dead_letters_the_rest(harness: Harness) -> None:
    world = World(gate=threading.Event())
    ref = harness.supervisor.start_child(strategy_spec(world))
    ref.tell("boom")  # waits for the gate inside the handler
    ref.tell(1)
    stopper = threading.Thread(target=harness.supervisor.stop, kwargs={"timeout_s": WAIT_S})
    stopper.start()
    wait_until(lambda: health_of(ref) is ActorHealth.STOPPED, "STOPPED")
    world.gate.set()  # type: ignore[union-attr]
    stopper.join(timeout=WAIT_S)
    assert not stopper.is_alive()
    report = ref.health()
    assert (report.health, report.incarnation, report.restarts) == (ActorHealth.STOPPED, 1, 0)
    assert report.last_failure == "BoomError('boom')"
    assert [(d.message, d.reason) for d in ref.dead_letters()] == [
        ("boom", "poison: BoomError('boom')"),
        (1, "stopped"),
    ]
    assert (harness.notes.of(Severity.WARNING), harness.escalations.calls) == ([], [])
