"""The threaded runtime: the same engine handlers, each in its own supervised pykka actor.

`ThreadedRuntime` is a `Bus` and a wiring `Runtime` (see `kernel_wiring.wire_kernel`):

- **One actor per destination.** `register(destination, handler)` starts an `EngineActor` (a
  `SupervisedActor` whose `handle` calls the engine's `handle`) under the runtime's one
  `Supervisor`. `send(destination, message)` tells the destination's `SupervisedRef`, so each
  engine handles its messages one at a time, per sender in the order they were sent (all the
  engines assume), on its own thread.
- **Restarts rebuild what the engine says it can.** The engine object outlives the actor
  instances: a restarted instance wraps the same object, drops the poison message as a dead
  letter and delivers every later message. If the engine is `Rebuildable` (has `rebuild()`),
  the restarted instance's `rebuild_state` calls it first (raising fails the restart, which the
  supervisor counts against the intensity and escalates beyond it):
  - strategy: a fresh strategy restored from its last journaled `StrategyStateSaved`;
  - execution, portfolio, risk: a fold of the whole journal (`KernelState`, from the
    `state_factory` `wire_kernel` gives them) replaces their message-derived state: the orders,
    open orders and id counter; the portfolio, fill totals and round trips; the breaker, halts,
    open orders, positions, approvals in flight and the published trading state. Messages that
    execution journaled but that are still in the restarted engine's inbox (an `OrderUpdated`
    with a fill) arrive after the rebuild and are applied once (a fill id already folded is a
    duplicate). Market data (marks, tops), which is not journaled, is kept.
  - data and venue engines carry their state over: it is market data (books), not journaled, so
    there is nothing to rebuild it from; a book the failed instance half-updated is replaced
    whole by the instrument's next snapshot frame (no check flags it stale in the meantime).
- **Escalation.** When an actor fails beyond its restart intensity, the hook tells risk to halt
  (`HaltTrading`: trading state HALTED) and calls `cancel_all()` on every venue gateway given to
  `add_gateway` directly (not through the actors, which may be the ones failing). The supervisor
  then notifies CRITICAL.
- **Time.** Either driven (`lockstep=True`, a `SimulatedClock`): `deliver_at` / `advance_to`
  mirror `DeterministicRuntime` (scheduled sources event by event, coalesced timer ticks) and
  wait until the whole cascade has drained (`wait_idle`: a count of messages sent but not yet
  handled, per destination, under a condition variable) before the next input; or free running
  (`start_timers`): a `ThreadingScheduler` advances the scheduled sources every
  `source_poll_ns` and sends `Timer` ticks every `timer_interval_ns`, by the injected clock.
- **Serial.** `serial=True` (implies lockstep) dispatches messages one at a time in the global
  order they were sent, each on its actor's thread: exactly the deterministic runtime's order, so
  the journal is byte-identical to a deterministic run (plain lockstep guarantees per-sender
  order only; concurrent cascades of one frame may interleave differently at a shared engine).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

import pykka

from application.commands import HaltTrading
from application.engines.messages import RISK, Timer
from application.ports.clock import Clock, SimulatedClock
from application.ports.notifier import Notifier
from application.ports.venue_gateway import VenueGateway
from application.runtime.bus import Handler, UnknownDestinationError
from application.runtime.deterministic_runtime import ScheduledSource
from application.supervision import (
    ActorSpec,
    Cancellable,
    RestartPolicy,
    SupervisedActor,
    SupervisedRef,
    SupervisionLink,
    Supervisor,
    TellOutcome,
    ThreadingScheduler,
)

__all__ = ["EngineActor", "IdleTimeoutError", "Rebuildable", "ThreadedRuntime"]

DEFAULT_SOURCE_POLL_NS = 10_000_000  # free running: advance the simulated venue every 10 ms


class IdleTimeoutError(TimeoutError):
    """The cascade did not drain within the time allowed."""


@runtime_checkable
class Rebuildable(Protocol):
    """An engine that rebuilds its state when its actor is restarted (from the journal, ...)."""

    def rebuild(self) -> None:
        """Replace whatever the failed instance may have half-updated; raising fails the restart."""
        ...


class EngineActor(SupervisedActor):
    """Runs one engine's `handle` in a supervised pykka actor; reports each message handled."""

    def __init__(
        self,
        link: SupervisionLink,
        handler: Handler,
        done: Callable[[str], None],
    ) -> None:
        super().__init__(link)
        self._handler = handler
        self._done = done

    def rebuild_state(self) -> None:
        """First start: nothing (the engine is new). A restart: the engine's `rebuild()`, if it has one."""
        handler = self._handler
        if self._supervision.is_restart and isinstance(handler, Rebuildable):
            handler.rebuild()

    def handle(self, message: object) -> object:
        """Hand `message` to the engine; the message counts as handled even if the engine raised."""
        try:
            self._handler.handle(message)
        finally:
            self._done(self._supervision.name)
        return None


class ThreadedRuntime:
    """Engines in supervised actors; a bus that tells their refs (see the module doc)."""

    def __init__(
        self,
        clock: Clock,
        *,
        notifier: Notifier,
        lockstep: bool = False,
        serial: bool = False,
        timer_interval_ns: int | None = None,
        source_poll_ns: int = DEFAULT_SOURCE_POLL_NS,
        policy: RestartPolicy | None = None,
        scheduler: ThreadingScheduler | None = None,
        idle_timeout_s: float = 30.0,
    ) -> None:
        if timer_interval_ns is not None and timer_interval_ns <= 0:
            raise ValueError(f"timer_interval_ns must be positive, got {timer_interval_ns}")
        if source_poll_ns <= 0:
            raise ValueError(f"source_poll_ns must be positive, got {source_poll_ns}")
        lockstep = lockstep or serial
        if lockstep and not isinstance(clock, SimulatedClock):
            raise TypeError("lockstep needs a SimulatedClock (the driver moves time between inputs)")
        self._clock = clock
        self._notifier = notifier
        self._lockstep = lockstep
        self._serial = serial
        self._timer_interval_ns = timer_interval_ns
        self._source_poll_ns = source_poll_ns
        self._idle_timeout_s = idle_timeout_s
        self._scheduler = scheduler if scheduler is not None else ThreadingScheduler()
        self._owns_scheduler = scheduler is None
        self._supervisor = Supervisor(
            clock=clock,
            scheduler=self._scheduler,
            notifier=notifier,
            on_escalate=self._on_escalate,
            policy=policy,
        )
        self._refs: dict[str, SupervisedRef] = {}
        self._sources: list[ScheduledSource] = []
        self._timer_destinations: list[str] = []
        self._gateways: list[VenueGateway] = []
        self._muted: set[str] = set()
        self._next_timer_ns: int | None = None
        self._condition = threading.Condition()
        self._in_flight: dict[str, int] = {}
        self._serial_queue: deque[tuple[str, object]] = deque()
        self._timers: list[Cancellable] = []
        self._timers_running = False
        self._stopped = False
        self.messages_sent = 0
        self.messages_handled = 0
        self.messages_dropped = 0  # refused (faulted/stopped actor) or muted
        self.escalations: list[tuple[str, BaseException]] = []
        self.on_escalate: Callable[[str, BaseException], None] | None = None  # extra hook

    # ----- wiring -----

    @property
    def clock(self) -> Clock:
        """The clock the runtime reads (and, in lockstep, moves)."""
        return self._clock

    @property
    def supervisor(self) -> Supervisor:
        """The supervisor of every engine actor."""
        return self._supervisor

    def register(self, destination: str, handler: Handler) -> None:
        """Start an actor for `handler` under the supervisor, addressed as `destination`."""
        if destination in self._refs:
            raise ValueError(f"a handler is already registered for {destination!r}")

        def factory(link: SupervisionLink) -> pykka.ActorRef[Any]:
            return EngineActor.start(link, handler, self._handled)

        with self._condition:
            self._in_flight[destination] = 0
        self._refs[destination] = self._supervisor.start_child(ActorSpec(destination, factory))

    def ref(self, destination: str) -> SupervisedRef:
        """The supervised ref of `destination`."""
        return self._refs[destination]

    def add_source(self, source: ScheduledSource) -> None:
        """Advance `source` with time (lockstep: event by event; free running: every poll)."""
        self._sources.append(source)

    def add_timer_destination(self, destination: str) -> None:
        """Send each `Timer` tick to `destination`."""
        self._timer_destinations.append(destination)

    def add_gateway(self, gateway: VenueGateway) -> None:
        """A venue gateway whose `cancel_all()` the escalation hook calls directly."""
        self._gateways.append(gateway)

    def mute(self, destination: str) -> None:
        """Drop every later message to `destination` (e.g. stop a strategy at shutdown)."""
        with self._condition:
            self._muted.add(destination)

    # ----- the bus -----

    def send(self, destination: str, message: object) -> None:
        """Tell `destination`'s actor (serial: queue it for the dispatcher); never runs it inline."""
        ref = self._refs.get(destination)
        if ref is None:
            raise UnknownDestinationError(f"no handler for destination {destination!r}")
        with self._condition:
            self.messages_sent += 1
            if destination in self._muted:
                self.messages_dropped += 1
                return
            self._in_flight[destination] += 1
            if self._serial:
                self._serial_queue.append((destination, message))
                self._condition.notify_all()
                return
        if ref.tell(message) is TellOutcome.REFUSED:
            self._handled(destination, dropped=True)

    def _handled(self, destination: str, dropped: bool = False) -> None:
        with self._condition:
            self._in_flight[destination] = max(0, self._in_flight[destination] - 1)
            if dropped:
                self.messages_dropped += 1
            else:
                self.messages_handled += 1
            self._condition.notify_all()

    @property
    def in_flight(self) -> int:
        """Messages sent and not yet handled (nor dropped)."""
        with self._condition:
            return sum(self._in_flight.values())

    def wait_idle(self, timeout_s: float | None = None) -> None:
        """Block until every message sent has been handled (serial: dispatch them, in order)."""
        deadline = time.monotonic() + (self._idle_timeout_s if timeout_s is None else timeout_s)
        with self._condition:
            while True:
                if self._serial and self._serial_queue and not self._busy_locked():
                    destination, message = self._serial_queue.popleft()
                    ref = self._refs[destination]
                    self._condition.release()
                    try:
                        refused = ref.tell(message) is TellOutcome.REFUSED
                    finally:
                        self._condition.acquire()
                    if refused:
                        self._in_flight[destination] = max(0, self._in_flight[destination] - 1)
                        self.messages_dropped += 1
                    continue
                if not self._busy_locked() and not self._serial_queue:
                    return
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    pending = {name: count for name, count in self._in_flight.items() if count}
                    raise IdleTimeoutError(f"the kernel did not drain: in flight {pending}")
                self._condition.wait(remaining)

    def _busy_locked(self) -> bool:
        queued = len(self._serial_queue)
        return sum(self._in_flight.values()) > queued

    # ----- lockstep driving (a SimulatedClock) -----

    def deliver_at(self, ts_ns: int, destination: str, message: object) -> None:
        """Advance time to `ts_ns`, send `message`, and wait until its whole cascade has drained."""
        self.advance_to(ts_ns)
        self.send(destination, message)
        self.wait_idle()

    def advance_to(self, ts_ns: int) -> None:
        """As `DeterministicRuntime.advance_to`, waiting for the kernel to drain after each event."""
        clock = self._clock
        if not isinstance(clock, SimulatedClock):
            raise TypeError("advance_to needs a SimulatedClock (lockstep)")
        target = max(ts_ns, clock.now_ns())
        if self._timer_interval_ns is not None and self._next_timer_ns is None:
            interval = self._timer_interval_ns
            self._next_timer_ns = -(-target // interval) * interval
        while True:
            source_ns, source = self._next_source_event(target)
            timer_ns = self._due_timer(target if source_ns is None else source_ns)
            if timer_ns is not None:
                self._fire_timer(clock, timer_ns)
                continue
            if source is None or source_ns is None:
                break
            clock.advance_to(source_ns)
            source.advance(clock.now_ns())
            self.wait_idle()
        clock.advance_to(target)
        for each in self._sources:
            each.advance(target)
        self.wait_idle()

    def _next_source_event(self, limit_ns: int) -> tuple[int | None, ScheduledSource | None]:
        best_ns: int | None = None
        best: ScheduledSource | None = None
        for source in self._sources:
            due = source.next_event_ns()
            if due is not None and due <= limit_ns and (best_ns is None or due < best_ns):
                best_ns, best = due, source
        return best_ns, best

    def _due_timer(self, limit_ns: int) -> int | None:
        interval = self._timer_interval_ns
        next_ns = self._next_timer_ns
        if interval is None or next_ns is None or next_ns > limit_ns or not self._timer_destinations:
            return None
        return next_ns + (limit_ns - next_ns) // interval * interval

    def _fire_timer(self, clock: SimulatedClock, ts_ns: int) -> None:
        assert self._timer_interval_ns is not None
        self._next_timer_ns = ts_ns + self._timer_interval_ns
        clock.advance_to(ts_ns)
        for destination in self._timer_destinations:
            self.send(destination, Timer(ts_ns))
        self.wait_idle()

    # ----- free running (a real clock) -----

    def start_timers(self) -> None:
        """Advance the sources every `source_poll_ns` and tick the timer destinations, on timers."""
        if self._lockstep:
            raise RuntimeError("a lockstep runtime is driven by deliver_at, not by timers")
        with self._condition:
            if self._timers_running:
                return
            self._timers_running = True
        self._arm(self._source_poll_ns, self._poll_sources)
        if self._timer_interval_ns is not None and self._timer_destinations:
            interval = self._timer_interval_ns
            now = self._clock.now_ns()
            self._arm(-(-now // interval) * interval - now, self._tick)

    def stop_timers(self) -> None:
        """Stop advancing sources and ticking (idempotent)."""
        with self._condition:
            self._timers_running = False
            timers, self._timers = self._timers, []
        for timer in timers:
            timer.cancel()

    def poll_sources(self) -> None:
        """Advance every source to now (free running; also used at shutdown)."""
        now = self._clock.now_ns()
        for source in self._sources:
            source.advance(now)

    def _arm(self, delay_ns: int, fn: Callable[[], None]) -> None:
        with self._condition:
            if not self._timers_running:
                return
            self._timers = [timer for timer in self._timers if timer is not None][-8:]
            self._timers.append(self._scheduler.call_later(max(0, delay_ns), fn))

    def _poll_sources(self) -> None:
        try:
            self.poll_sources()
        finally:
            self._arm(self._source_poll_ns, self._poll_sources)

    def _tick(self) -> None:
        assert self._timer_interval_ns is not None
        interval = self._timer_interval_ns
        now = self._clock.now_ns()
        tick_ns = now // interval * interval
        try:
            for destination in self._timer_destinations:
                self.send(destination, Timer(tick_ns))
        finally:
            self._arm(tick_ns + interval - self._clock.now_ns(), self._tick)

    # ----- escalation and shutdown -----

    def _on_escalate(self, name: str, error: BaseException) -> None:
        """Halt trading, cancel every open order at every venue directly, forget the dead actor's messages."""
        self.escalations.append((name, error))
        with self._condition:
            self._in_flight[name] = 0  # the supervisor dead-letters what was pending
            self._condition.notify_all()
        reason = f"actor {name} faulted: {error!r}"
        for gateway in self._gateways:
            gateway.cancel_all()
        if name != RISK and RISK in self._refs:
            self.send(RISK, HaltTrading(reason, "supervisor", self._clock.now_ns()))
        hook = self.on_escalate
        if hook is not None:
            hook(name, error)

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop the timers, every actor (after its inbox) and the scheduler if it is ours. Idempotent."""
        if self._stopped:
            return
        self._stopped = True
        self.stop_timers()
        self._supervisor.stop(timeout_s)
        if self._owns_scheduler:
            self._scheduler.close()

    def __enter__(self) -> ThreadedRuntime:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()
