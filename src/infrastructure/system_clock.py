"""The live clock: wall time for the `Clock` port (the application never reads time itself)."""

from __future__ import annotations

import time


class SystemClock:
    """Wall-clock time in nanoseconds since the Unix epoch (UTC)."""

    def now_ns(self) -> int:
        """The current wall-clock time."""
        return time.time_ns()
