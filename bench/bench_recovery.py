"""Benchmark: recovery time from a journal of N events, with and without a snapshot, and the
durable write rate of the journal the kernel really uses (projections folded in each flush).

Usage: .venv/bin/python bench/bench_recovery.py [--events 100000 1000000] [--db sqlite|postgresql|both]

The records are real: a deterministic replay of a seeded synthetic feed with the market maker
(`start`'s parameters) journals orders, venue reports, fills, risk checks and strategy states;
the first N records are written to a fresh database through `SqlJournal` with a `KernelProjector`
(flush every 1,000 records, the group commit), which is timed. Recovery is then timed three ways,
each a fresh `recover()` from the database as `start` does it:
- no snapshot: every record decoded and folded;
- a snapshot at the last record (a clean shutdown): the snapshot only;
- a snapshot at 90% and the last 10% folded from the journal (a crash between snapshots).
Each prints the seconds, the records read and the resulting state digest (all three must agree).
"""

from __future__ import annotations

import argparse
import gc
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from application.ports.event_journal import JournalRecord, StoredSnapshot
from application.recovery import KernelProjector, KernelState, fold, recover
from domain.instrument import Instrument, InstrumentId
from infrastructure.persistence.sql_journal import SqlJournal
from infrastructure.replay import ReplaySettings, StrategySettings, run_replay
from infrastructure.synthetic_market import SyntheticMarketConfig, write_synthetic_feed
from interfaces.cli.start_command import START_DEFAULT_PARAMS

try:  # run as a script from the repository root, or as a module
    from bench.bench_journal import fresh_database
    from bench.bench_replay import machine_info
except ImportError:  # pragma: no cover
    from bench_journal import fresh_database  # type: ignore[no-redef]
    from bench_replay import machine_info  # type: ignore[no-redef]

FRAMES_PER_RECORD_GUESS = 7.0  # synthetic frames per journal record with the market maker (2026-12-06)


def journal_records(
    count: int, workdir: Path
) -> tuple[list[JournalRecord], Mapping[InstrumentId, Instrument], ReplaySettings]:
    """At least `count` real journal records (a prefix of one replay's journal), and its setting."""
    params = dict(START_DEFAULT_PARAMS["market_maker"])
    settings = ReplaySettings(strategy=StrategySettings("market_maker", params=params))
    frames = int(count * FRAMES_PER_RECORD_GUESS) + 10_000
    while True:
        path = workdir / f"synthetic-{frames}.jsonl"
        write_synthetic_feed(path, SyntheticMarketConfig(seed=11, frame_count=frames, message_rate_per_s=200))
        result = run_replay(path, settings)
        records = list(result.journal.read())
        path.unlink()
        if len(records) >= count:
            return records[:count], result.kernel.portfolio.instruments, settings
        frames = int(frames * count / max(len(records), 1) * 1.1) + 10_000


def _state(instruments: Mapping[InstrumentId, Instrument], settings: ReplaySettings) -> KernelState:
    return KernelState(
        instruments,
        currency=settings.currency,
        starting_balance=settings.starting_balance,
        id_seed=settings.seed,
    )


def _recover(
    url: str, snapshot: StoredSnapshot | None, instruments: Any, settings: ReplaySettings
) -> tuple[float, str, int, int, int]:
    """Seconds to recover (a fresh journal, as `start` opens it); the state's digest, orders, fills
    and compacted records. The state is dropped and garbage collected before the next timing, so one
    recovery's heap does not slow the next one's collector."""
    gc.collect()
    start = time.perf_counter()
    journal = SqlJournal.open(url)
    try:
        state = recover(
            journal,
            snapshot,
            instruments,
            currency=settings.currency,
            starting_balance=settings.starting_balance,
            id_seed=settings.seed,
        )
    finally:
        journal.close()
    elapsed = time.perf_counter() - start
    return (
        elapsed,
        state.state_digest(),
        len(state.orders),
        len(state.fill_ids),
        len(state.compacted_records()),
    )


def bench(
    url: str, records: list[JournalRecord], instruments: Any, settings: ReplaySettings
) -> dict[str, Any]:
    """Write `records` durably (with projections), then time the three recoveries."""
    n = len(records)
    projector = KernelProjector(_state(instruments, settings))
    journal = SqlJournal.open(url, projector=projector, batch_size=1001)
    start = time.perf_counter()
    for i, record in enumerate(records, 1):
        journal.append(record.ts_ns, record.stream_id, record.event)
        if i % 1000 == 0:
            journal.flush()
    journal.flush()
    write_s = time.perf_counter() - start
    full_snapshot_bytes = projector.state.snapshot_bytes()
    journal.close()

    del projector
    no_snapshot_s, digest, orders, fills, kept = _recover(url, None, instruments, settings)

    # A snapshot at 90%: the state folded over the first 90% (as the projector had it then).
    cut = n * 9 // 10
    partial = fold(_state(instruments, settings), records[:cut])
    partial_bytes = partial.snapshot_bytes()
    del partial
    tail_s, partial_digest, _, _, _ = _recover(
        url, StoredSnapshot(cut, records[cut - 1].ts_ns, partial_bytes), instruments, settings
    )
    snap_s, snap_digest, _, _, _ = _recover(
        url, StoredSnapshot(n, records[-1].ts_ns, full_snapshot_bytes), instruments, settings
    )
    assert digest == partial_digest == snap_digest, "recoveries disagree"
    return {
        "events": n,
        "write_s": write_s,
        "write_events_per_s": n / write_s,
        "orders": orders,
        "fills": fills,
        "snapshot_bytes": len(full_snapshot_bytes),
        "snapshot_records": kept,
        "recover_no_snapshot_s": no_snapshot_s,
        "recover_snapshot_at_end_s": snap_s,
        "recover_snapshot_at_90pct_s": tail_s,
    }


def main() -> None:
    """Run the benchmark and print one row per database and size."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args()
    kinds = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    print(machine_info())
    with tempfile.TemporaryDirectory(prefix="tk-bench-recovery-") as tmp:
        workdir = Path(tmp)
        t0 = time.perf_counter()
        all_records, instruments, settings = journal_records(max(args.events), workdir)
        print(f"generated {len(all_records):,} records by replay in {time.perf_counter() - t0:.1f} s")
        gc.collect()
        gc.freeze()  # the generated records live throughout: keep them out of every collection
        print(
            f"{'database':<11} {'events':>10} {'write ev/s':>11} {'orders':>8} {'fills':>7} "
            f"{'snap KiB':>9} {'snap recs':>10} {'no snap s':>10} {'snap@end s':>11} {'snap@90% s':>11}"
        )
        for kind in kinds:
            for n in sorted(args.events):
                with fresh_database(kind, workdir) as url:
                    row = bench(url, all_records[:n], instruments, settings)
                print(
                    f"{kind:<11} {row['events']:>10,} {row['write_events_per_s']:>11,.0f} "
                    f"{row['orders']:>8,} {row['fills']:>7,} {row['snapshot_bytes'] / 1024:>9,.0f} "
                    f"{row['snapshot_records']:>10,} "
                    f"{row['recover_no_snapshot_s']:>10.2f} {row['recover_snapshot_at_end_s']:>11.2f} "
                    f"{row['recover_snapshot_at_90pct_s']:>11.2f}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
