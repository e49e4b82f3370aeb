"""The deterministic runtime: FIFO delivery, lockstep inputs, simulated time, sources and timers."""

from __future__ import annotations

import attrs
import pytest

from application.engines.messages import Timer
from application.ports.clock import SimulatedClock
from application.runtime.bus import Bus, UnknownDestinationError
from application.runtime.deterministic_runtime import DeterministicRuntime, ReentrantRunError


@attrs.define
class Recorder:
    """Records what it handles (with the clock's time) and forwards per a routing table."""

    name: str
    log: list[tuple[str, object, int]]
    clock: SimulatedClock
    bus: Bus | None = None
    forward: dict[object, list[tuple[str, object]]] = attrs.field(factory=dict)

    def handle(self, message: object) -> None:
        self.log.append((self.name, message, self.clock.now_ns()))
        assert self.bus is not None
        for destination, out in self.forward.get(message, []):
            self.bus.send(destination, out)


def build(
    timer_ns: int | None = None,
) -> tuple[DeterministicRuntime, list[tuple[str, object, int]], dict[str, Recorder]]:
    clock = SimulatedClock(0)
    runtime = DeterministicRuntime(clock, timer_interval_ns=timer_ns)
    log: list[tuple[str, object, int]] = []
    handlers = {name: Recorder(name, log, clock, runtime) for name in ("a", "b", "c")}
    for name, handler in handlers.items():
        runtime.register(name, handler)
    return runtime, log, handlers


def test_messages_are_handled_first_in_first_out_never_inline() -> None:
    runtime, log, handlers = build()
    handlers["a"].forward["go"] = [("b", "b1"), ("c", "c1")]
    handlers["b"].forward["b1"] = [("c", "c2")]
    handlers["c"].forward["c1"] = [("a", "a2")]
    runtime.send("a", "go")
    runtime.send("b", "queued-before")
    runtime.run_until_idle()
    assert [(name, message) for name, message, _ in log] == [
        ("a", "go"),
        ("b", "queued-before"),
        ("b", "b1"),
        ("c", "c1"),
        ("c", "c2"),
        ("a", "a2"),
    ]
    assert runtime.messages_handled == 6


def test_each_input_is_processed_to_completion_before_the_next_and_time_follows_the_inputs() -> None:
    runtime, log, handlers = build()
    handlers["a"].forward["f1"] = [("b", "f1-b")]
    handlers["b"].forward["f1-b"] = [("c", "f1-c")]
    runtime.deliver_at(100, "a", "f1")
    assert [m for _, m, _ in log] == ["f1", "f1-b", "f1-c"]
    runtime.deliver_at(200, "a", "f2")
    runtime.deliver_at(150, "a", "late")  # time never runs backwards
    assert [(m, t) for _, m, t in log] == [
        ("f1", 100),
        ("f1-b", 100),
        ("f1-c", 100),
        ("f2", 200),
        ("late", 200),
    ]


def test_unknown_destinations_and_reentrant_runs_are_refused() -> None:
    runtime, _log, handlers = build()
    with pytest.raises(UnknownDestinationError):
        runtime.send("nobody", 1)
    with pytest.raises(ValueError, match="already registered"):
        runtime.register("a", handlers["a"])

    class Rerunner:
        def handle(self, message: object) -> None:
            runtime.run_until_idle()

    runtime.register("r", Rerunner())
    runtime.send("r", "x")
    with pytest.raises(ReentrantRunError):
        runtime.run_until_idle()


@attrs.define
class Venue:
    """A scheduled source: delivers queued reports to `a` at their due times."""

    runtime: DeterministicRuntime
    due: list[tuple[int, str]]
    advanced: list[int] = attrs.field(factory=list)

    def next_event_ns(self) -> int | None:
        return min((t for t, _ in self.due), default=None)

    def advance(self, now_ns: int) -> None:
        self.advanced.append(now_ns)
        for item in sorted(i for i in self.due if i[0] <= now_ns):
            self.due.remove(item)
            self.runtime.send("a", item[1])


def test_scheduled_events_run_at_their_own_time_before_the_next_input() -> None:
    runtime, log, handlers = build()
    venue = Venue(runtime, [(150, "ack"), (170, "fill"), (900, "later")])
    runtime.add_source(venue)
    handlers["a"].forward["ack"] = [("b", "reaction")]
    runtime.deliver_at(100, "c", "f1")
    runtime.deliver_at(200, "c", "f2")
    assert [(n, m, t) for n, m, t in log] == [
        ("c", "f1", 100),
        ("a", "ack", 150),
        ("b", "reaction", 150),
        ("a", "fill", 170),
        ("c", "f2", 200),
    ]
    assert venue.due == [(900, "later")]


def test_a_reaction_that_schedules_more_is_handled_within_the_same_step() -> None:
    runtime, log, handlers = build()
    venue = Venue(runtime, [(150, "ack")])
    runtime.add_source(venue)

    class Submitter:
        def handle(self, message: object) -> None:
            log.append(("s", message, runtime.clock.now_ns()))
            if message == "ack":
                venue.due.append((160, "second-ack"))

    runtime.register("s", Submitter())
    handlers["a"].forward["ack"] = [("s", "ack")]
    runtime.deliver_at(200, "c", "frame")
    assert [(m, t) for _, m, t in log] == [("ack", 150), ("ack", 150), ("second-ack", 160), ("frame", 200)]


def test_timers_tick_at_multiples_and_quiet_stretches_coalesce() -> None:
    runtime, log, _handlers = build(timer_ns=10)
    runtime.add_timer_destination("b")
    runtime.deliver_at(5, "a", "f1")  # the first tick is due at 10
    runtime.deliver_at(12, "a", "f2")
    runtime.deliver_at(95, "a", "f3")  # 20..90 pass unseen: one tick, at 90
    assert [(n, m, t) for n, m, t in log] == [
        ("a", "f1", 5),
        ("b", Timer(10), 10),
        ("a", "f2", 12),
        ("b", Timer(90), 90),
        ("a", "f3", 95),
    ]
