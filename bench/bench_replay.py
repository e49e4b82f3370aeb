"""Benchmark: replay throughput through the real replay wiring (`run_replay`), deterministic and threaded.

What runs: `infrastructure.replay.run_replay(path, settings, runtime_factory=...)` exactly as the
`replay` command does: the recording's codec and `MarketDataPipeline`, every engine wired by
`wire_kernel` (data, strategy, risk, execution, portfolio, venue, journal in memory), the market
maker strategy ON (the `start` command's market-maker parameters, which quote near the touch), the
`SimulatedVenue` (no fees, zero latency, seed 1) as a scheduled source, 1 s strategy timers.

Runtimes:

- `deterministic`: `DeterministicRuntime` (one thread, one FIFO queue; the default of replay).
- `threaded`: `ThreadedRuntime(lockstep=True)`: one supervised pykka actor per engine, each
  frame's whole cascade drained (`wait_idle`) before the next frame. Plain lockstep, not
  `serial`. Stopped after the run.

Inputs:

- `capture`: the real capture (../shared, or TK_SHARED_DIR; 1,030 frames, 74,193 level changes,
  69,334 of them in its two opening snapshots) replayed `--loops` times, each loop a separate
  `run_replay` call on the file with a FRESH kernel (fresh codec, books, engines, venue). The file
  is not concatenated: its sequence numbers restart and its snapshots must be applied to new
  books, which is what replaying it again does. Totals are the sum over the loops; the best loop
  is also given.
- `synthetic`: `--frames` frames (default 1,000,000) of the seeded synthetic Coinbase feed, with
  the same config as bench_market_data.py (seed 20261121, default config except the frame count:
  100 frames/s of simulated time, BTC-USD and ETH-USD), written once to a .jsonl.zst file
  (generation time reported separately, never counted), then replayed `--repeat` times.

What is timed (per `run_replay` call), with wall (`perf_counter`) and CPU (`process_time`: the
whole process, every thread) clocks:

- `loop`: from the moment `run_replay` builds its runtime (after it hashed the file and counted
  its frames in a first pass) to the progress callback of the last frame (before the report is
  built). This is the wiring (microseconds) plus the delivery loop. The loop READS AND
  DECOMPRESSES the file as it goes (run_replay streams it), unlike bench_market_data.py which
  times frames already in memory; `read` is the time of a bare pass over the same file
  (`open_feed(path).frames(include_sent=True)`, best of 3, measured once per input) so that
  `loop - read` ("excl. read") is comparable with the market-data benchmark's decode + book rate.
- `call`: the whole `run_replay` call (hash, first pass, loop, report, journal sha256).

Rates: frames/s = frames delivered / loop time; level updates/s = level changes applied (the
pipeline's `level_changes`: every entry of an l2_data event, snapshots included) / loop time. The
`all` rates are over every frame (snapshots included: on the capture 93 % of the level changes are
in two snapshot frames). The garbage collector stays enabled.

    .venv/bin/python bench/bench_replay.py                                   # everything
    .venv/bin/python bench/bench_replay.py --inputs capture --loops 50
    .venv/bin/python bench/bench_replay.py --inputs synthetic --frames 20000 --runtimes deterministic
    .venv/bin/python bench/bench_replay.py --synthetic-file /tmp/syn1m.jsonl.zst   # reuse a feed

Plain lockstep lets two cascades of one frame interleave at a shared engine, so the threaded run's
message, order and fill counts can differ slightly from the deterministic run's (both printed).
Rough cost on a 2-core machine: ~10k frames/s deterministic, ~3k threaded on the synthetic feed,
i.e. ~2 min and ~6 min for the default 1M frames; the capture loops take seconds.

Target (issue): deterministic replay >= half the decode + book rate of bench_market_data.py on the
same feed (compare `excl. read` levels/s with its `book` `all levels/s`).

The last line printed is a JSON object with every result (machine-readable).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import resource
import shlex
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from application.ports.clock import SimulatedClock
from application.ports.notifier import Severity
from application.runtime.deterministic_runtime import DeterministicRuntime
from application.runtime.threaded_runtime import ThreadedRuntime
from infrastructure.recorded_feed import open_feed
from infrastructure.replay import ReplaySettings, StrategySettings, run_replay
from infrastructure.replay.replay_runner import ReplayRuntime
from infrastructure.synthetic_market import SyntheticMarketConfig, write_synthetic_feed
from interfaces.cli.start_command import START_DEFAULT_PARAMS

CAPTURE = "data/coinbase-advanced/capture/coinbase-advanced-2026-08-09-btc-eth.jsonl.zst"
SYNTHETIC_SEED = 20261121  # the same feed as bench_market_data.py


def _capture_path() -> Path:
    shared = os.environ.get("TK_SHARED_DIR")
    root = Path(shared) if shared else Path(__file__).resolve().parent.parent.parent / "shared"
    return root / CAPTURE


def machine_info() -> dict[str, Any]:
    """Cores, Python, platform, date: printed by every benchmark."""
    try:
        affinity = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        affinity = None
    return {
        "date_utc": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "command": shlex.join([sys.executable, *sys.argv]),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "cpus": os.cpu_count(),
        "cpus_usable": affinity,
        "machine": platform.machine(),
        "platform": platform.platform(),
        "processor": platform.processor() or None,
        "loadavg_1_5_15": [round(value, 2) for value in os.getloadavg()],
    }


class _QuietNotifier:
    """Collects the threaded runtime's notifications (a benchmark should have none)."""

    def __init__(self) -> None:
        self.messages: list[str] = []

    def notify(self, severity: Severity, message: str) -> None:
        self.messages.append(f"{severity.value}: {message}")


@dataclass
class Run:
    """One `run_replay` call."""

    frames: int
    levels: int
    loop_wall_s: float
    loop_cpu_s: float
    call_wall_s: float
    call_cpu_s: float
    messages: int
    orders_submitted: int
    fills: int


@dataclass
class Result:
    """One input and runtime, over every run."""

    input: str
    runtime: str
    runs: int
    frames_per_run: int
    levels_per_run: int
    read_wall_s_per_run: float
    frames_per_s: float  # total frames / total loop wall
    levels_per_s: float
    best_run_frames_per_s: float
    best_run_levels_per_s: float
    excl_read_frames_per_s: float  # total frames / (total loop wall - runs * read)
    excl_read_levels_per_s: float
    loop_wall_s: float
    loop_cpu_s: float
    call_wall_s: float
    call_cpu_s: float
    messages_per_run: int
    orders_submitted_per_run: int
    fills_per_run: int
    notifications: list[str] = field(default_factory=list)


def settings() -> ReplaySettings:
    """The market maker with `start`'s parameters, everything else replay's defaults."""
    params = dict(START_DEFAULT_PARAMS["market_maker"])
    return ReplaySettings(strategy=StrategySettings("market_maker", params=params))


def replay_once(path: Path, runtime: str, notifier: _QuietNotifier) -> Run:
    """One replay with a fresh kernel; times the loop from the runtime's creation to the last frame."""
    marks: dict[str, float] = {}
    made: list[ThreadedRuntime] = []

    def factory(clock: SimulatedClock, timer_interval_ns: int | None) -> ReplayRuntime:
        marks["loop_wall"], marks["loop_cpu"] = time.perf_counter(), time.process_time()
        if runtime == "deterministic":
            return DeterministicRuntime(clock, timer_interval_ns=timer_interval_ns)
        threaded = ThreadedRuntime(
            clock, notifier=notifier, lockstep=True, timer_interval_ns=timer_interval_ns
        )
        made.append(threaded)
        return threaded

    def progress(done: int, total: int) -> None:
        if done == total:
            marks["end_wall"], marks["end_cpu"] = time.perf_counter(), time.process_time()

    call_wall, call_cpu = time.perf_counter(), time.process_time()
    try:
        result = run_replay(path, settings(), progress=progress, runtime_factory=factory)
    finally:
        for threaded in made:
            threaded.stop()
    call_wall, call_cpu = time.perf_counter() - call_wall, time.process_time() - call_cpu
    report = result.report
    counts = report["counts"]
    if counts["decode_errors"] or counts["gaps"]:
        raise AssertionError(f"unexpected feed problems: {counts}")
    return Run(
        frames=counts["frames"],
        levels=counts["level_changes"],
        loop_wall_s=marks["end_wall"] - marks["loop_wall"],
        loop_cpu_s=marks["end_cpu"] - marks["loop_cpu"],
        call_wall_s=call_wall,
        call_cpu_s=call_cpu,
        messages=report["runtime"]["messages"],
        orders_submitted=result.kernel.execution.counts["submitted"],
        fills=report["fills"]["count"],
    )


def read_time(path: Path, passes: int = 3) -> float:
    """Wall time of a bare pass over the file (read, decompress, split into frames), best of `passes`."""
    best = float("inf")
    for _ in range(passes):
        start = time.perf_counter()
        for _frame in open_feed(path).frames(include_sent=True):
            pass
        best = min(best, time.perf_counter() - start)
    return best


def measure(name: str, path: Path, runtime: str, runs: int, read_s: float) -> Result:
    """`runs` replays of `path` on `runtime`."""
    notifier = _QuietNotifier()
    done = [replay_once(path, runtime, notifier) for _ in range(runs)]
    frames = sum(run.frames for run in done)
    levels = sum(run.levels for run in done)
    loop_wall = sum(run.loop_wall_s for run in done)
    best = min(done, key=lambda run: run.loop_wall_s)
    excl = max(loop_wall - runs * read_s, 1e-9)
    return Result(
        input=name,
        runtime=runtime,
        runs=runs,
        frames_per_run=done[0].frames,
        levels_per_run=done[0].levels,
        read_wall_s_per_run=read_s,
        frames_per_s=frames / loop_wall,
        levels_per_s=levels / loop_wall,
        best_run_frames_per_s=best.frames / best.loop_wall_s,
        best_run_levels_per_s=best.levels / best.loop_wall_s,
        excl_read_frames_per_s=frames / excl,
        excl_read_levels_per_s=levels / excl,
        loop_wall_s=loop_wall,
        loop_cpu_s=sum(run.loop_cpu_s for run in done),
        call_wall_s=sum(run.call_wall_s for run in done),
        call_cpu_s=sum(run.call_cpu_s for run in done),
        messages_per_run=done[0].messages,
        orders_submitted_per_run=done[0].orders_submitted,
        fills_per_run=done[0].fills,
        notifications=notifier.messages,
    )


def _table(results: list[Result]) -> str:
    header = (
        f"{'input':<10} {'runtime':<13} {'runs':>4} {'frames':>9} | {'frames/s':>9} {'levels/s':>11} | "
        f"{'best fr/s':>9} | {'xread fr/s':>10} {'xread lv/s':>11} | {'loop wall':>9} {'loop cpu':>9} | "
        f"{'call wall':>9} {'call cpu':>9} | {'msgs/run':>9} {'orders':>6} {'fills':>5}"
    )
    lines = [header, "-" * len(header)]
    for r in results:
        lines.append(
            f"{r.input:<10} {r.runtime:<13} {r.runs:>4} {r.frames_per_run * r.runs:>9,} | "
            f"{r.frames_per_s:>9,.0f} {r.levels_per_s:>11,.0f} | {r.best_run_frames_per_s:>9,.0f} | "
            f"{r.excl_read_frames_per_s:>10,.0f} {r.excl_read_levels_per_s:>11,.0f} | "
            f"{r.loop_wall_s:>8.2f}s {r.loop_cpu_s:>8.2f}s | {r.call_wall_s:>8.2f}s {r.call_cpu_s:>8.2f}s | "
            f"{r.messages_per_run:>9,} {r.orders_submitted_per_run:>6} {r.fills_per_run:>5}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; print machine info, a table, then one JSON line."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--inputs", nargs="+", choices=["capture", "synthetic"], default=["capture", "synthetic"]
    )
    parser.add_argument(
        "--runtimes",
        nargs="+",
        choices=["deterministic", "threaded"],
        default=["deterministic", "threaded"],
    )
    parser.add_argument("--loops", type=int, default=20, help="capture replays, each with a fresh kernel")
    parser.add_argument("--frames", type=int, default=1_000_000, help="synthetic feed frames")
    parser.add_argument("--repeat", type=int, default=1, help="synthetic replays per runtime")
    parser.add_argument("--synthetic-file", type=Path, help="reuse this file (generated if missing)")
    parser.add_argument("--regenerate", action="store_true", help="regenerate --synthetic-file")
    arguments = parser.parse_args(argv)

    info = machine_info()
    for key, value in info.items():
        print(f"{key:<15} {value}")
    print("strategy       market_maker", dict(START_DEFAULT_PARAMS["market_maker"]))

    inputs: list[tuple[str, Path, int]] = []
    temporary: tempfile.TemporaryDirectory[str] | None = None
    generation: dict[str, Any] = {}
    if "capture" in arguments.inputs:
        capture = _capture_path()
        if not capture.is_file():
            print(f"capture not found: {capture} (set TK_SHARED_DIR)", file=sys.stderr)
            return 2
        inputs.append(("capture", capture, arguments.loops))
    if "synthetic" in arguments.inputs:
        synthetic = arguments.synthetic_file
        if synthetic is None:
            temporary = tempfile.TemporaryDirectory(prefix="bench-replay-")
            synthetic = Path(temporary.name) / "synthetic.jsonl.zst"
        if arguments.regenerate or not synthetic.is_file():
            synthetic.parent.mkdir(parents=True, exist_ok=True)
            config = SyntheticMarketConfig(seed=SYNTHETIC_SEED, frame_count=arguments.frames)
            start = time.perf_counter()
            stats = write_synthetic_feed(synthetic, config, overwrite=True)
            generation = {
                "generation_wall_s": round(time.perf_counter() - start, 3),
                "frames": stats.frames,
                "update_level_changes": stats.level_changes,
            }
        else:
            generation = {"generation_wall_s": None, "reused": str(synthetic)}
        generation["file_mib"] = round(synthetic.stat().st_size / 2**20, 2)
        print(f"synthetic      {synthetic} {generation}")
        inputs.append(("synthetic", synthetic, arguments.repeat))

    results: list[Result] = []
    try:
        for name, path, runs in inputs:
            read_s = read_time(path)
            print(f"read           {name}: {read_s:.3f} s wall per bare pass over the file", flush=True)
            for runtime in arguments.runtimes:
                result = measure(name, path, runtime, runs, read_s)
                results.append(result)
                print(
                    f"  {name} {runtime}: {result.frames_per_s:,.0f} frames/s, "
                    f"{result.levels_per_s:,.0f} levels/s ({result.loop_wall_s:.2f} s loop wall)",
                    flush=True,
                )
                for message in result.notifications:
                    print(f"    notification: {message}")
    finally:
        if temporary is not None:
            temporary.cleanup()
    maxrss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print()
    print(_table(results))
    print(
        "rates over loop wall (wiring + delivery loop, file read included); 'best fr/s': fastest run; "
        "'xread': loop wall minus a bare read of the file per run"
    )
    print(f"process maxrss: {maxrss_mib:.0f} MiB")
    print(
        json.dumps(
            {
                "bench": "replay",
                **info,
                "maxrss_mib": round(maxrss_mib, 1),
                "synthetic": generation,
                "results": [asdict(result) for result in results],
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
