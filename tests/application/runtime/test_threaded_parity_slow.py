"""Parity beyond the capture: serial lockstep equals the deterministic runtime on a busy feed.

Slow (about a minute): run with `bash scripts/check.sh -m slow`.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from application.ports import SimulatedClock
from application.ports.notifier import Severity
from application.runtime.threaded_runtime import ThreadedRuntime
from infrastructure.replay import ReplaySettings, StrategySettings
from infrastructure.replay.replay_runner import ReplayRuntime, run_replay
from infrastructure.synthetic_market import SyntheticMarketConfig, write_synthetic_feed
from interfaces.cli.start_command import START_DEFAULT_PARAMS


class Notes:
    def __init__(self) -> None:
        self.messages: list[str] = []

    def notify(self, severity: Severity, message: str) -> None:
        self.messages.append(f"{severity.value}: {message}")


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_serial_threaded_replay_is_byte_identical_on_a_busy_synthetic_feed(tmp_path: Path) -> None:
    feed = tmp_path / "busy.jsonl.zst"
    write_synthetic_feed(feed, SyntheticMarketConfig(seed=11, frame_count=20_000, message_rate_per_s=200))
    # The market maker as `start` runs it: it quotes near the touch, so the feed makes many orders.
    params = dict(START_DEFAULT_PARAMS["market_maker"])
    settings = ReplaySettings(strategy=StrategySettings("market_maker", params=params), seed=1)
    expected = run_replay(feed, settings)
    runtimes: list[ThreadedRuntime] = []
    notes = Notes()

    def threaded(clock: SimulatedClock, timer_interval_ns: int | None) -> ReplayRuntime:
        runtime = ThreadedRuntime(
            clock, notifier=notes, lockstep=True, serial=True, timer_interval_ns=timer_interval_ns
        )
        runtimes.append(runtime)
        return runtime

    try:
        actual = run_replay(feed, settings, runtime_factory=threaded)
    finally:
        for runtime in runtimes:
            runtime.stop()
    assert expected.report["orders"]["submitted"] > 100
    assert expected.report["fills"]["count"] > 50
    assert actual.report["journal_sha256"] == expected.report["journal_sha256"]
    assert notes.messages == []
