"""Delayed calls for restart backoff: a `Scheduler` protocol, a threaded one and a manual one.

The application never sleeps on the wall clock to decide anything. The supervisor asks an
injected `Scheduler` to run a restart later: `ThreadingScheduler` (one `threading.Timer` per
call) in live and paper trading, `ManualScheduler` in tests and replay, where the caller moves a
`SimulatedClock` and runs what has come due, deterministically.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
from collections.abc import Callable
from typing import Protocol

from application.ports.clock import Clock
from application.supervision.restart_policy import NS_PER_SECOND

__all__ = ["Cancellable", "ManualScheduler", "Scheduler", "ThreadingScheduler"]

_log = logging.getLogger(__name__)


class Cancellable(Protocol):
    """A scheduled call that can still be called off."""

    def cancel(self) -> None:
        """Do not run the call (no effect once it ran)."""
        ...


class Scheduler(Protocol):
    """Runs a function once, later, on some thread of the scheduler's choosing."""

    def call_later(self, delay_ns: int, fn: Callable[[], None]) -> Cancellable:
        """Run `fn` after `delay_ns` (>= 0) nanoseconds. `fn` must not raise (a raise is logged)."""
        ...


def _run_logged(fn: Callable[[], None]) -> None:
    try:
        fn()
    except Exception:
        _log.exception("scheduled call %r raised", fn)


class _TimerCall:
    def __init__(self, owner: ThreadingScheduler, delay_ns: int, fn: Callable[[], None]) -> None:
        self._owner = owner
        self._fn = fn
        self.timer = threading.Timer(delay_ns / NS_PER_SECOND, self._run)
        self.timer.name = "supervision-timer"
        self.timer.daemon = True

    def _run(self) -> None:
        self._owner._forget(self)
        _run_logged(self._fn)

    def cancel(self) -> None:
        self.timer.cancel()
        self._owner._forget(self)


class _Inert:
    def cancel(self) -> None:
        """Nothing was scheduled."""


class ThreadingScheduler:
    """One daemon `threading.Timer` per call; `close` cancels whatever has not run yet."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: set[_TimerCall] = set()
        self._closed = False

    def call_later(self, delay_ns: int, fn: Callable[[], None]) -> Cancellable:
        """Start a timer for `fn`; after `close` nothing is scheduled (logged)."""
        if delay_ns < 0:
            raise ValueError(f"delay_ns must be >= 0, got {delay_ns}")
        with self._lock:
            if self._closed:
                _log.warning("scheduler closed: %r not scheduled", fn)
                return _Inert()
            call = _TimerCall(self, delay_ns, fn)
            self._calls.add(call)
            call.timer.start()
        return call

    @property
    def pending(self) -> int:
        """Calls scheduled and neither run nor canceled yet."""
        with self._lock:
            return len(self._calls)

    def close(self, timeout_s: float = 1.0) -> None:
        """Cancel every pending call and wait (up to `timeout_s` each) for their threads to end."""
        with self._lock:
            self._closed = True
            calls = list(self._calls)
            self._calls.clear()
        for call in calls:
            call.timer.cancel()
        for call in calls:
            if call.timer is not threading.current_thread():
                call.timer.join(timeout_s)

    def _forget(self, call: _TimerCall) -> None:
        with self._lock:
            self._calls.discard(call)


class _ManualCall:
    def __init__(self, due_ns: int, fn: Callable[[], None]) -> None:
        self.due_ns = due_ns
        self.fn = fn
        self.canceled = False

    def cancel(self) -> None:
        self.canceled = True


class ManualScheduler:
    """Runs calls only when told: `run_due` runs those due at `clock.now_ns()`, in due order.

    Thread-safe to schedule into (a failing actor schedules its restart from its own thread);
    the calls run on the thread that calls `run_due`, outside the scheduler's lock, and an
    exception from one propagates to that caller (tests should see it).
    """

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._heap: list[tuple[int, int, _ManualCall]] = []
        self._counter = itertools.count()

    def call_later(self, delay_ns: int, fn: Callable[[], None]) -> Cancellable:
        """Record `fn` as due at now + `delay_ns`."""
        if delay_ns < 0:
            raise ValueError(f"delay_ns must be >= 0, got {delay_ns}")
        call = _ManualCall(self._clock.now_ns() + delay_ns, fn)
        with self._lock:
            heapq.heappush(self._heap, (call.due_ns, next(self._counter), call))
        return call

    def pending_due_ns(self) -> list[int]:
        """The due times of the calls not yet run nor canceled, earliest first."""
        with self._lock:
            return sorted(due for due, _, call in self._heap if not call.canceled)

    def run_due(self) -> int:
        """Run every call due by now (including calls they schedule that are due too); returns how many."""
        ran = 0
        while True:
            with self._lock:
                while self._heap and self._heap[0][2].canceled:
                    heapq.heappop(self._heap)
                if not self._heap or self._heap[0][0] > self._clock.now_ns():
                    return ran
                _, _, call = heapq.heappop(self._heap)
            call.fn()
            ran += 1
