"""The clock port: the only way the application learns the time."""

from __future__ import annotations

from typing import Protocol


class Clock(Protocol):
    """Tells the time in nanoseconds since the Unix epoch (UTC)."""

    def now_ns(self) -> int:
        """The current time."""
        ...


class SimulatedClock:
    """A clock that moves only when told to: replay and tests drive it from the data's own times."""

    def __init__(self, start_ns: int = 0) -> None:
        self._now_ns = start_ns

    def now_ns(self) -> int:
        """The current simulated time."""
        return self._now_ns

    def advance_to(self, ts_ns: int) -> None:
        """Move time forward to `ts_ns`; time never moves backwards (an earlier time is ignored)."""
        self._now_ns = max(self._now_ns, ts_ns)
