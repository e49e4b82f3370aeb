"""A sliding time window of events, fed with timestamps (ns) given as input, never read from a clock."""

from __future__ import annotations

from collections import deque

from domain.errors import DomainError, InvalidValueError


class ClockWentBackwardsError(DomainError):
    """A timestamp earlier than one already seen: the caller's clock is not monotonic."""


def count_in_window(timestamps: tuple[int, ...], now_ns: int, window_ns: int) -> int:
    """How many `timestamps` fall in the window of `window_ns` ending at `now_ns`.

    The window is (now - window, now]; a timestamp after `now_ns` is counted too, because an
    event the caller has already seen must not free a slot.
    """
    start = now_ns - window_ns
    return sum(1 for ts in timestamps if ts > start)


class SlidingWindow:
    """The events of the last `window_ns` nanoseconds; an event at t counts while now - t < window."""

    def __init__(self, window_ns: int) -> None:
        if isinstance(window_ns, bool) or not isinstance(window_ns, int) or window_ns <= 0:
            raise InvalidValueError(f"window_ns must be a positive integer, got {window_ns!r}")
        self._window_ns = window_ns
        self._events: deque[int] = deque()
        self._last_ns: int | None = None

    @property
    def window_ns(self) -> int:
        """The length of the window in nanoseconds."""
        return self._window_ns

    def record(self, ts_ns: int) -> None:
        """Add an event at `ts_ns`; raises `ClockWentBackwardsError` if earlier than any time seen."""
        self._advance(ts_ns)
        self._events.append(ts_ns)

    def count(self, now_ns: int) -> int:
        """How many events are in the window ending at `now_ns` (which must not go backwards)."""
        self._advance(now_ns)
        return len(self._events)

    def snapshot(self) -> tuple[int, ...]:
        """The timestamps still held, oldest first (as of the latest time seen)."""
        return tuple(self._events)

    def clear(self) -> None:
        """Forget every event; the latest time seen is kept, so time still cannot go backwards."""
        self._events.clear()

    def _advance(self, now_ns: int) -> None:
        if self._last_ns is not None and now_ns < self._last_ns:
            raise ClockWentBackwardsError(f"time went backwards: {now_ns} after {self._last_ns}")
        self._last_ns = now_ns
        start = now_ns - self._window_ns
        while self._events and self._events[0] <= start:
            self._events.popleft()
