"""The system clock tells wall time in nanoseconds and satisfies the Clock port."""

from __future__ import annotations

import time

from application.ports import Clock
from infrastructure.system_clock import SystemClock


def test_system_clock_reads_wall_time_in_nanoseconds() -> None:
    clock: Clock = SystemClock()
    before = time.time_ns()
    now = clock.now_ns()
    after = time.time_ns()
    assert before <= now <= after
