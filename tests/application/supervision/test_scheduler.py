"""Schedulers for restart backoff: the manual one (tests, replay) and the threaded one (live)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from application.ports.clock import SimulatedClock
from application.supervision import ManualScheduler, ThreadingScheduler


@pytest.fixture(autouse=True)
def no_leftover_threads() -> Iterator[None]:
    before = set(threading.enumerate())
    yield
    leftover = [t for t in threading.enumerate() if t not in before]
    for thread in leftover:
        thread.join(timeout=2.0)
    assert [t for t in leftover if t.is_alive()] == []


def test_manual_calls_run_only_when_due_in_due_order() -> None:
    clock = SimulatedClock(1_000)
    scheduler = ManualScheduler(clock)
    ran: list[str] = []
    scheduler.call_later(50, lambda: ran.append("b"))
    scheduler.call_later(10, lambda: ran.append("a"))
    scheduler.call_later(50, lambda: ran.append("c"))  # same time as b: in scheduling order
    assert scheduler.pending_due_ns() == [1_010, 1_050, 1_050]
    assert scheduler.run_due() == 0
    clock.advance_to(1_010)
    assert scheduler.run_due() == 1
    clock.advance_to(5_000)
    assert scheduler.run_due() == 2
    assert ran == ["a", "b", "c"]
    assert scheduler.pending_due_ns() == []


def test_a_canceled_manual_call_never_runs() -> None:
    clock = SimulatedClock()
    scheduler = ManualScheduler(clock)
    ran: list[int] = []
    call = scheduler.call_later(0, lambda: ran.append(1))
    call.cancel()
    assert scheduler.pending_due_ns() == []
    assert scheduler.run_due() == 0
    assert ran == []


def test_a_manual_call_scheduled_by_a_call_runs_in_the_same_pass_when_due() -> None:
    clock = SimulatedClock()
    scheduler = ManualScheduler(clock)
    ran: list[str] = []

    def first() -> None:
        ran.append("first")
        scheduler.call_later(0, lambda: ran.append("second"))

    scheduler.call_later(0, first)
    assert scheduler.run_due() == 2
    assert ran == ["first", "second"]


def test_a_manual_call_that_raises_propagates_to_run_due() -> None:
    scheduler = ManualScheduler(SimulatedClock())

    def boom() -> None:
        raise RuntimeError("boom")

    scheduler.call_later(0, boom)
    with pytest.raises(RuntimeError, match="boom"):
        scheduler.run_due()


@pytest.mark.parametrize("scheduler", [ManualScheduler(SimulatedClock()), ThreadingScheduler()])
def test_a_negative_delay_is_refused(scheduler: ManualScheduler | ThreadingScheduler) -> None:
    with pytest.raises(ValueError, match="delay_ns"):
        scheduler.call_later(-1, lambda: None)


def test_threading_scheduler_runs_a_call_after_its_delay() -> None:
    scheduler = ThreadingScheduler()
    done = threading.Event()
    scheduler.call_later(1_000_000, done.set)  # 1 ms
    assert done.wait(timeout=2.0)
    scheduler.close()
    assert scheduler.pending == 0


def test_threading_scheduler_cancel_and_close_call_off_pending_calls() -> None:
    scheduler = ThreadingScheduler()
    ran = threading.Event()
    first = scheduler.call_later(60_000_000_000, ran.set)  # a minute: must never run
    scheduler.call_later(60_000_000_000, ran.set)
    assert scheduler.pending == 2
    first.cancel()
    assert scheduler.pending == 1
    scheduler.close()
    assert scheduler.pending == 0
    late = scheduler.call_later(0, ran.set)  # closed: not scheduled
    late.cancel()
    assert not ran.wait(timeout=0.02)


def test_threading_scheduler_logs_a_raising_call_and_keeps_working(caplog: pytest.LogCaptureFixture) -> None:
    scheduler = ThreadingScheduler()

    def boom() -> None:
        raise RuntimeError("boom")

    done = threading.Event()
    scheduler.call_later(0, boom)
    deadline = time.monotonic() + 2.0
    while "raised" not in caplog.text:
        assert time.monotonic() < deadline, "the raising call was not logged"
        time.sleep(0.001)
    scheduler.call_later(0, done.set)
    assert done.wait(timeout=2.0)
    scheduler.close()
