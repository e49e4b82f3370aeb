"""Benchmark: Coinbase market data, decode only and decode + book, on the real capture and a synthetic feed.

Inputs:

- `capture`: the real capture (../shared, or TK_SHARED_DIR; 1,030 frames, 74,193 level changes,
  69,334 of them in its two opening snapshots), preloaded in memory and fed `--loops` times. Every
  loop uses a FRESH codec and pipeline (the capture's sequence numbers restart, and the snapshots
  must be applied again to a new book), as a new session replaying the file would.
- `synthetic`: `--synthetic-frames` frames (default 1,000,000) of the seeded synthetic Coinbase feed
  (`infrastructure.synthetic_market`, default config except the frame count), written once to a
  .jsonl.zst file by `write_synthetic_feed` (its generation time is reported, not counted), then
  read back in chunks of `--chunk` frames. Only the processing of a chunk already in memory is
  timed, never reading or decompressing. One codec and pipeline per pass. `--repeat` passes.

Modes:

- `decode`: `CoinbaseMarketDataCodec.feed_safe` alone (JSON decode, validation, sequencing, the
  domain events), no book.
- `book`: `MarketDataPipeline.on_frame` with that codec: decode, every OrderBookUpdate applied to
  its `OrderBook`, the after-frame crossed-book check. The path used by inspect, replay and live.
- `msgspec` (only with `--modes`, for reference): the typed msgspec decode of the frame alone.

Rates: `all` counts every frame and every level change over the time of every frame; `updates`
leaves out the frames that carry an l2_data snapshot (their frames, level changes and time), so it
is the steady-state rate of an update stream (heartbeat, ticker and trade frames are included in
its frames and time; their level count is zero). A level change is one entry of an l2_data event's
`updates` list. Time: CPU time of this process (`time.process_time`, default; the machine may be
shared) or wall time (`--clock wall`). Best of N, taken separately for `all` and `updates`: the
capture figure is the fastest loop; the synthetic figure sums, chunk by chunk, the fastest of the
passes over that chunk (a pass takes tens of seconds, and other work on a shared machine would
hit every pass somewhere); the JSON line also gives the fastest whole pass. The clock is read
only where a run of snapshot frames starts or ends (and around each synthetic chunk), not per
frame. The garbage collector stays enabled, as in a live process.

Memory, measured in a separate untimed pass per input and mode (tracemalloc slows the code): the
tracemalloc peak, i.e. the most Python heap the codec, pipeline, books and transient frame objects
held at once, above what was allocated before the pass started (capture frames preloaded before
tracing are not counted; for the synthetic feed the frames are streamed from the file one at a
time during the pass, so the reader's buffers are included). `maxrss` is the process's peak
resident set (getrusage), the whole process, including the preloaded frames and chunks.

    .venv/bin/python bench/bench_market_data.py                      # everything, ~6 min
    .venv/bin/python bench/bench_market_data.py --inputs capture --loops 20
    .venv/bin/python bench/bench_market_data.py --inputs synthetic --synthetic-file /tmp/syn.jsonl.zst

The last line printed is a JSON object with every result (machine-readable).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
import tempfile
import time
import tracemalloc
from array import array
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from itertools import islice
from pathlib import Path

from application.market_data_pipeline import MarketDataPipeline
from infrastructure.recorded_feed import open_feed
from infrastructure.synthetic_market import SyntheticMarketConfig, write_synthetic_feed
from infrastructure.venues.coinbase.market_data_codec import CoinbaseMarketDataCodec
from infrastructure.venues.coinbase.messages import L2DataMessage, decode_message

CAPTURE = "data/coinbase-advanced/capture/coinbase-advanced-2026-08-09-btc-eth.jsonl.zst"
SYNTHETIC_SEED = 20261121

Frame = tuple[str, int, str]  # text, receive ts_ns, connection id
Step = Callable[[str, int, str], object]


def _capture_path() -> Path:
    shared = os.environ.get("TK_SHARED_DIR")
    root = Path(shared) if shared else Path(__file__).resolve().parent.parent.parent / "shared"
    return root / CAPTURE


def _levels_and_kind(text: str) -> tuple[int, bool]:
    """(level changes, is a snapshot frame) of one frame, from the typed decode (outside the clock)."""
    message = decode_message(text)
    if type(message) is not L2DataMessage:
        return 0, False
    levels = sum(len(event.updates) for event in message.events)
    return levels, any(event.type == "snapshot" for event in message.events)


def _segments(snapshot_flags: list[bool] | bytearray, start: int, stop: int) -> list[tuple[int, int, bool]]:
    """Runs [begin, end) of frames in start..stop that are all snapshot frames or all not."""
    runs: list[tuple[int, int, bool]] = []
    begin = start
    for index in range(start + 1, stop + 1):
        if index == stop or snapshot_flags[index] != snapshot_flags[begin]:
            runs.append((begin, index, bool(snapshot_flags[begin])))
            begin = index
    return runs


# --- results -------------------------------------------------------------------------------------


@dataclass
class Totals:
    """Frames, level changes and seconds of one run, split into snapshot frames and the others."""

    frames: int = 0
    levels: int = 0
    seconds: float = 0.0
    snapshot_frames: int = 0
    snapshot_levels: int = 0
    snapshot_seconds: float = 0.0

    def add(self, frames: int, levels: int, seconds: float, *, snapshot: bool) -> None:
        """Count a run of frames."""
        self.frames += frames
        self.levels += levels
        self.seconds += seconds
        if snapshot:
            self.snapshot_frames += frames
            self.snapshot_levels += levels
            self.snapshot_seconds += seconds

    def merge(self, other: Totals) -> None:
        """Add another Totals to this one."""
        self.frames += other.frames
        self.levels += other.levels
        self.seconds += other.seconds
        self.snapshot_frames += other.snapshot_frames
        self.snapshot_levels += other.snapshot_levels
        self.snapshot_seconds += other.snapshot_seconds

    @property
    def update_seconds(self) -> float:
        """Time of the frames that are not snapshot frames."""
        return self.seconds - self.snapshot_seconds


@dataclass
class Result:
    """One input and mode: best-of rates, peak memory."""

    input: str
    mode: str
    runs: int
    frames: int
    levels: int
    update_frames: int
    update_levels: int
    all_frames_per_s: float
    all_levels_per_s: float
    update_frames_per_s: float
    update_levels_per_s: float
    best_all_seconds: float
    best_update_seconds: float
    whole_run_all_levels_per_s: float  # from the best whole loop or pass (no per-chunk best-of)
    whole_run_update_levels_per_s: float
    tracemalloc_peak_mib: float | None = None


def _best_per_chunk(chunks_per_run: list[list[Totals]]) -> Totals:
    """Totals of the fastest run of each chunk (all frames and update frames chosen separately)."""
    best = Totals()
    for chunk_runs in zip(*chunks_per_run, strict=True):
        fastest = min(chunk_runs, key=lambda chunk: chunk.seconds)
        fastest_updates = min(chunk.update_seconds for chunk in chunk_runs)
        best.frames += fastest.frames
        best.levels += fastest.levels
        best.snapshot_frames += fastest.snapshot_frames
        best.snapshot_levels += fastest.snapshot_levels
        best.seconds += fastest.seconds
        best.snapshot_seconds += fastest.seconds - fastest_updates
    return best


def _result(input_name: str, mode: str, runs: list[Totals], best_of: Totals | None = None) -> Result:
    """Rates of the best run (or of `best_of`, the per-chunk best), and of the best whole run."""
    whole_all = min(runs, key=lambda run: run.seconds)
    whole_updates = min(runs, key=lambda run: run.update_seconds)
    best_all = best_updates = best_of if best_of is not None else whole_all
    if best_of is None:
        best_updates = whole_updates
    update_frames = best_updates.frames - best_updates.snapshot_frames
    update_levels = best_updates.levels - best_updates.snapshot_levels
    return Result(
        input=input_name,
        mode=mode,
        runs=len(runs),
        frames=best_all.frames,
        levels=best_all.levels,
        update_frames=update_frames,
        update_levels=update_levels,
        all_frames_per_s=best_all.frames / best_all.seconds,
        all_levels_per_s=best_all.levels / best_all.seconds,
        update_frames_per_s=update_frames / best_updates.update_seconds,
        update_levels_per_s=update_levels / best_updates.update_seconds,
        best_all_seconds=best_all.seconds,
        best_update_seconds=best_updates.update_seconds,
        whole_run_all_levels_per_s=whole_all.levels / whole_all.seconds,
        whole_run_update_levels_per_s=(whole_updates.levels - whole_updates.snapshot_levels)
        / whole_updates.update_seconds,
    )


# --- what is measured ----------------------------------------------------------------------------


class Target:
    """A fresh codec (and pipeline) and the per-frame step of one mode."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.codec = CoinbaseMarketDataCodec()
        self.pipeline: MarketDataPipeline | None = None
        if mode == "decode":
            self.step: Step = self.codec.feed_safe
        elif mode == "book":
            self.pipeline = MarketDataPipeline(self.codec)
            self.step = self.pipeline.on_frame
        elif mode == "msgspec":
            self.step = _decode_only
        else:
            raise ValueError(mode)

    def check(self, frames: int, levels: int) -> None:
        """Every frame was processed, none malformed, no gap, every level change counted."""
        if self.mode == "msgspec":
            return
        stats = self.codec.stats
        problems = (stats.decode_errors, stats.gaps, stats.suppressed_book_updates, stats.duplicates)
        if stats.frames != frames or stats.level_changes != levels or any(problems):
            raise AssertionError(f"{self.mode}: unexpected codec stats {stats}")
        if self.pipeline is not None and self.pipeline.stats.level_changes != levels:
            raise AssertionError(f"pipeline applied {self.pipeline.stats.level_changes} != {levels}")


def _decode_only(text: str, _ts: int, _connection: str) -> object:
    return decode_message(text)


def _timed(
    step: Step,
    frames: list[Frame],
    *,
    runs: list[tuple[int, int, bool]],
    levels: array[int],
    offset: int,
    totals: Totals,
    clock: Callable[[], float],
) -> None:
    """Feed frames[begin - offset:end - offset] run by run; the clock is read once per run."""
    for begin, end, snapshot in runs:
        batch = frames[begin - offset : end - offset]
        start = clock()
        for text, ts_ns, connection in batch:
            step(text, ts_ns, connection)
        elapsed = clock() - start
        totals.add(end - begin, sum(levels[begin:end]), elapsed, snapshot=snapshot)


# --- inputs --------------------------------------------------------------------------------------


class Capture:
    """The real capture, preloaded."""

    name = "capture"

    def __init__(self, path: Path) -> None:
        self.frames: list[Frame] = [
            (f.text, f.receive_ts_ns, f.connection_id) for f in open_feed(path).frames()
        ]
        counted = [_levels_and_kind(text) for text, _, _ in self.frames]
        self.levels = array("q", [levels for levels, _ in counted])
        self.snapshots = bytearray(kind for _, kind in counted)
        self.runs = _segments(self.snapshots, 0, len(self.frames))

    def describe(self) -> str:
        """One line about the input."""
        snapshot_levels = sum(n for n, s in zip(self.levels, self.snapshots, strict=True) if s)
        return (
            f"capture: {len(self.frames):,} frames, {sum(self.levels):,} level changes "
            f"({sum(self.snapshots)} snapshot frames with {snapshot_levels:,})"
        )

    def measure(self, mode: str, loops: int, clock: Callable[[], float]) -> tuple[list[Totals], None]:
        """One Totals per loop, each with a fresh codec and pipeline (the best loop is the figure)."""
        results = []
        for _ in range(loops):
            target = Target(mode)
            totals = Totals()
            _timed(
                target.step,
                self.frames,
                runs=self.runs,
                levels=self.levels,
                offset=0,
                totals=totals,
                clock=clock,
            )
            target.check(totals.frames, totals.levels)
            results.append(totals)
        return results, None

    def peak_memory(self, mode: str) -> float:
        """tracemalloc peak (MiB) of one loop."""
        tracemalloc.start()
        try:
            target = Target(mode)
            step = target.step
            for text, ts_ns, connection in self.frames:
                step(text, ts_ns, connection)
            return tracemalloc.get_traced_memory()[1] / 2**20
        finally:
            tracemalloc.stop()


class Synthetic:
    """The synthetic feed, generated once to a file and read back in chunks."""

    name = "synthetic"

    def __init__(self, path: Path, frame_count: int, chunk: int, regenerate: bool) -> None:
        self.path = path
        self.chunk = chunk
        self.generation_seconds: float | None = None
        if regenerate or not path.is_file():
            path.parent.mkdir(parents=True, exist_ok=True)
            config = SyntheticMarketConfig(seed=SYNTHETIC_SEED, frame_count=frame_count)
            start = time.perf_counter()
            write_synthetic_feed(path, config, overwrite=True)
            self.generation_seconds = time.perf_counter() - start
        start = time.perf_counter()
        self.levels = array("q")
        self.snapshots = bytearray()
        for frame in open_feed(path).frames():
            levels, snapshot = _levels_and_kind(frame.text)
            self.levels.append(levels)
            self.snapshots.append(snapshot)
        self.scan_seconds = time.perf_counter() - start
        self.read_seconds = 0.0

    def describe(self) -> str:
        """One line about the input."""
        snapshot_levels = sum(n for n, s in zip(self.levels, self.snapshots, strict=True) if s)
        generated = (
            f"generated in {self.generation_seconds:.1f} s wall"
            if self.generation_seconds is not None
            else "existing file"
        )
        return (
            f"synthetic: {len(self.levels):,} frames, {sum(self.levels):,} level changes "
            f"({sum(self.snapshots)} snapshot frames with {snapshot_levels:,}); {self.path} "
            f"({self.path.stat().st_size / 2**20:.0f} MiB, {generated}; scanned in {self.scan_seconds:.1f} s)"
        )

    def _frames(self) -> Iterator[Frame]:
        return ((f.text, f.receive_ts_ns, f.connection_id) for f in open_feed(self.path).frames())

    def measure(self, mode: str, passes: int, clock: Callable[[], float]) -> tuple[list[Totals], Totals]:
        """One Totals per pass over the whole feed (one codec and pipeline per pass), and the
        per-chunk best of the passes (the figure: robust to other work on a shared machine)."""
        results = []
        chunks_per_pass: list[list[Totals]] = []
        for _ in range(passes):
            target = Target(mode)
            chunks: list[Totals] = []
            stream = self._frames()
            offset = 0
            while True:
                start = time.perf_counter()
                frames = list(islice(stream, self.chunk))
                self.read_seconds += time.perf_counter() - start
                if not frames:
                    break
                runs = _segments(self.snapshots, offset, offset + len(frames))
                chunk = Totals()
                _timed(
                    target.step,
                    frames,
                    runs=runs,
                    levels=self.levels,
                    offset=offset,
                    totals=chunk,
                    clock=clock,
                )
                chunks.append(chunk)
                offset += len(frames)
            totals = Totals()
            for chunk in chunks:
                totals.merge(chunk)
            target.check(totals.frames, totals.levels)
            results.append(totals)
            chunks_per_pass.append(chunks)
        return results, _best_per_chunk(chunks_per_pass)

    def peak_memory(self, mode: str) -> float:
        """tracemalloc peak (MiB) of one pass, frames streamed from the file."""
        tracemalloc.start()
        try:
            target = Target(mode)
            step = target.step
            for text, ts_ns, connection in self._frames():
                step(text, ts_ns, connection)
            return tracemalloc.get_traced_memory()[1] / 2**20
        finally:
            tracemalloc.stop()


# --- output --------------------------------------------------------------------------------------


def _table(results: list[Result]) -> str:
    header = (
        f"{'input':<10} {'mode':<7} {'runs':>4} | {'all frames/s':>12} {'all levels/s':>13} | "
        f"{'upd frames/s':>12} {'upd levels/s':>13} | {'peak MiB':>8}"
    )
    lines = [header, "-" * len(header)]
    for result in results:
        peak = (
            f"{result.tracemalloc_peak_mib:8.1f}" if result.tracemalloc_peak_mib is not None else f"{'-':>8}"
        )
        lines.append(
            f"{result.input:<10} {result.mode:<7} {result.runs:>4} | {result.all_frames_per_s:>12,.0f} "
            f"{result.all_levels_per_s:>13,.0f} | {result.update_frames_per_s:>12,.0f} "
            f"{result.update_levels_per_s:>13,.0f} | {peak}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; print a table, then one JSON line."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--inputs", nargs="+", choices=["capture", "synthetic"], default=["capture", "synthetic"]
    )
    parser.add_argument(
        "--modes", nargs="+", choices=["msgspec", "decode", "book"], default=["decode", "book"]
    )
    parser.add_argument("--loops", type=int, default=20, help="capture loops (best of)")
    parser.add_argument("--repeat", type=int, default=3, help="synthetic passes (best of)")
    parser.add_argument("--synthetic-frames", type=int, default=1_000_000)
    parser.add_argument("--synthetic-file", type=Path, help="reuse this file (generated if missing)")
    parser.add_argument("--regenerate", action="store_true", help="regenerate --synthetic-file")
    parser.add_argument("--chunk", type=int, default=50_000, help="synthetic frames held in memory at once")
    parser.add_argument("--clock", choices=["cpu", "wall"], default="cpu")
    parser.add_argument("--no-memory", action="store_true", help="skip the tracemalloc passes")
    arguments = parser.parse_args(argv)
    clock = time.process_time if arguments.clock == "cpu" else time.perf_counter

    inputs: list[tuple[Capture | Synthetic, int]] = []
    temporary: tempfile.TemporaryDirectory[str] | None = None
    if "capture" in arguments.inputs:
        path = _capture_path()
        if not path.is_file():
            print(f"capture not found: {path} (set TK_SHARED_DIR)", file=sys.stderr)
            return 2
        inputs.append((Capture(path), arguments.loops))
    if "synthetic" in arguments.inputs:
        synthetic_path = arguments.synthetic_file
        if synthetic_path is None:
            temporary = tempfile.TemporaryDirectory(prefix="bench-market-data-")
            synthetic_path = Path(temporary.name) / "synthetic.jsonl.zst"
        synthetic = Synthetic(
            synthetic_path, arguments.synthetic_frames, arguments.chunk, arguments.regenerate
        )
        inputs.append((synthetic, arguments.repeat))

    print(
        f"Python {platform.python_version()}, {os.cpu_count()} CPUs, {arguments.clock} clock, "
        f"best of {arguments.loops} capture loops / {arguments.repeat} synthetic passes, "
        f"gc enabled"
    )
    for source, _ in inputs:
        print(source.describe())
    results: list[Result] = []
    try:
        for source, runs in inputs:
            for mode in arguments.modes:
                result = _result(source.name, mode, *source.measure(mode, runs, clock))
                if not arguments.no_memory and mode != "msgspec":
                    result.tracemalloc_peak_mib = source.peak_memory(mode)
                results.append(result)
                print(
                    f"  {source.name} {mode}: {result.all_levels_per_s:,.0f} levels/s all, "
                    f"{result.update_levels_per_s:,.0f} levels/s updates",
                    flush=True,
                )
    finally:
        if temporary is not None:
            temporary.cleanup()
    maxrss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print()
    print(_table(results))
    print(f"process maxrss: {maxrss_mib:.0f} MiB (whole process, preloaded frames included)")
    synthetic_info: dict[str, float | None] = {}
    for source, _ in inputs:
        if isinstance(source, Synthetic):
            synthetic_info = {
                "generation_wall_seconds": source.generation_seconds,
                "scan_wall_seconds": source.scan_seconds,
                "read_wall_seconds_total": source.read_seconds,
            }
    print(
        json.dumps(
            {
                "bench": "market_data",
                "python": platform.python_version(),
                "cpus": os.cpu_count(),
                "clock": arguments.clock,
                "maxrss_mib": round(maxrss_mib, 1),
                "synthetic": synthetic_info,
                "results": [asdict(result) for result in results],
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
