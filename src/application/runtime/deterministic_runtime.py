"""The deterministic runtime: every handler on one thread, one FIFO queue, time from the data.

Replay and tests run the kernel here. The rules that make a run a pure function of its input:

- **One queue, first in first out.** `send` appends (destination, message); the loop pops from
  the front and calls the destination's `handle`, which may send more. Nothing runs inline, so
  the order of handling is the order of sending, whatever the handlers do.
- **Lockstep.** `deliver_at(ts_ns, destination, message)` first brings time up to `ts_ns`, then
  queues the message and runs the queue until it is empty: an input frame is processed to
  completion (books, strategies, risk, orders, venue calls) before the next one is looked at.
- **Simulated time.** The `SimulatedClock` moves only here: to each scheduled event's time and
  then to the input's own time (a frame's receive time). Time never runs backwards.
- **Scheduled sources.** A `ScheduledSource` (the simulated venue: it delivers acknowledgements
  and fills after its latency) says when its next event is due; before each input the runtime
  advances it event by event, setting the clock to each event's time and running the queue to
  empty after each, so a report is handled at the time the venue sent it.
- **Timers.** With `timer_interval_ns`, a `Timer` goes to the timer destinations at each
  multiple of the interval. Ticks due while nothing else happened are coalesced into the latest
  one (a quiet hour is one tick, not 3,600).

Sources and timer destinations are visited in the order they were added; nothing here iterates
a set, so runs do not depend on hash randomisation.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Protocol

from application.engines.messages import Timer
from application.ports.clock import SimulatedClock
from application.runtime.bus import Handler, UnknownDestinationError


class ScheduledSource(Protocol):
    """Something with its own timeline that the runtime must advance (e.g. a simulated venue)."""

    def next_event_ns(self) -> int | None:
        """When the next event is due, or None when nothing is scheduled."""
        ...

    def advance(self, now_ns: int) -> None:
        """Process everything due at or before `now_ns` (it may send messages through its sink)."""
        ...


class ReentrantRunError(RuntimeError):
    """A handler tried to run the runtime from inside a handler."""


class DeterministicRuntime:
    """Runs registered handlers single-threaded from one FIFO queue under a simulated clock."""

    def __init__(self, clock: SimulatedClock, *, timer_interval_ns: int | None = None) -> None:
        if timer_interval_ns is not None and timer_interval_ns <= 0:
            raise ValueError(f"timer_interval_ns must be positive, got {timer_interval_ns}")
        self._clock = clock
        self._handlers: dict[str, Handler] = {}
        self._queue: deque[tuple[str, object]] = deque()
        self._sources: list[ScheduledSource] = []
        self._timer_interval_ns = timer_interval_ns
        self._timer_destinations: list[str] = []
        self._next_timer_ns: int | None = None
        self._running = False
        self.messages_handled = 0
        self.max_queue_length = 0
        self.on_handled: Callable[[str, object], None] | None = None  # a tap for tests and tracing

    @property
    def clock(self) -> SimulatedClock:
        """The simulated clock the runtime moves."""
        return self._clock

    # ----- wiring -----

    def register(self, destination: str, handler: Handler) -> None:
        """Deliver messages for `destination` to `handler`; a destination is registered once."""
        if destination in self._handlers:
            raise ValueError(f"a handler is already registered for {destination!r}")
        self._handlers[destination] = handler

    def add_source(self, source: ScheduledSource) -> None:
        """Advance `source` along with the clock (before every input, event by event)."""
        self._sources.append(source)

    def add_timer_destination(self, destination: str) -> None:
        """Send each `Timer` tick to `destination` (in the order destinations were added)."""
        self._timer_destinations.append(destination)

    # ----- the bus -----

    def send(self, destination: str, message: object) -> None:
        """Queue `message` for `destination` (handled after everything queued before it)."""
        if destination not in self._handlers:
            raise UnknownDestinationError(f"no handler for destination {destination!r}")
        self._queue.append((destination, message))
        self.max_queue_length = max(self.max_queue_length, len(self._queue))

    # ----- running -----

    def deliver_at(self, ts_ns: int, destination: str, message: object) -> None:
        """Advance time to `ts_ns` (scheduled events first), then handle `message` to completion."""
        self.advance_to(ts_ns)
        self.send(destination, message)
        self.run_until_idle()

    def advance_to(self, ts_ns: int) -> None:
        """Run every scheduled event and timer due at or before `ts_ns`, in time order, then set the clock."""
        target = max(ts_ns, self._clock.now_ns())
        if self._timer_interval_ns is not None and self._next_timer_ns is None:
            interval = self._timer_interval_ns
            self._next_timer_ns = -(-target // interval) * interval  # the first multiple at or after
        while True:
            source_ns, source = self._next_source_event(target)
            timer_ns = self._due_timer(target if source_ns is None else source_ns)
            if timer_ns is not None:
                self._fire_timer(timer_ns)
                continue
            if source is None or source_ns is None:
                break
            self._clock.advance_to(source_ns)
            source.advance(self._clock.now_ns())
            self.run_until_idle()
        self._clock.advance_to(target)
        for source in self._sources:
            source.advance(target)
        self.run_until_idle()

    def run_until_idle(self) -> None:
        """Handle queued messages, first in first out, until the queue is empty."""
        if self._running:
            raise ReentrantRunError("the runtime is already running (a handler must send, not run)")
        self._running = True
        try:
            queue = self._queue
            handlers = self._handlers
            tap = self.on_handled
            while queue:
                destination, message = queue.popleft()
                handlers[destination].handle(message)
                self.messages_handled += 1
                if tap is not None:
                    tap(destination, message)
        finally:
            self._running = False

    # ----- internals -----

    def _next_source_event(self, limit_ns: int) -> tuple[int | None, ScheduledSource | None]:
        """The earliest scheduled event at or before `limit_ns` (the first source wins a tie)."""
        best_ns: int | None = None
        best: ScheduledSource | None = None
        for source in self._sources:
            due = source.next_event_ns()
            if due is not None and due <= limit_ns and (best_ns is None or due < best_ns):
                best_ns, best = due, source
        return best_ns, best

    def _due_timer(self, limit_ns: int) -> int | None:
        """The latest timer multiple at or before `limit_ns` that has not fired, or None."""
        interval = self._timer_interval_ns
        next_ns = self._next_timer_ns
        if interval is None or next_ns is None or next_ns > limit_ns or not self._timer_destinations:
            return None
        return next_ns + (limit_ns - next_ns) // interval * interval

    def _fire_timer(self, ts_ns: int) -> None:
        assert self._timer_interval_ns is not None
        self._next_timer_ns = ts_ns + self._timer_interval_ns
        self._clock.advance_to(ts_ns)
        for destination in self._timer_destinations:
            self.send(destination, Timer(ts_ns))
        self.run_until_idle()
