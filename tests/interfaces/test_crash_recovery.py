"""The crash harness: `start` in paper mode, killed with SIGKILL at random instants, restarted.

Each cycle starts the kernel on the same journal database and simulated-venue store, lets it run
for a random time (seeded, so a failure can be reproduced) and kills it with SIGKILL: no handler
runs, no flush, no snapshot. Kills land everywhere: during start-up (imports, recovery,
reconciliation), between an order's write-ahead and its send, between a venue fill and its
journaling, during a snapshot. After every kill the stores must hold:
- a journal with contiguous sequence numbers whose every payload decodes;
- no client order id sent twice (the venue logs every submission it receives);
- no client order id journaled as submitted twice;
and every restart's reconciliation must end with the kernel agreeing with the venue (no halting
difference). A last clean run then checks that no venue fill is missing from the journal and that
positions and balances equal the venue's.

`TK_CRASH_KILLS` sets the number of kills (default 30); the slow suite runs 120.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from infrastructure.persistence.database import open_engine
from infrastructure.persistence.schema import events, fills, positions, reconciliations
from infrastructure.persistence.verify import verify_journal
from tests.conftest import PROJECT_ROOT

CONFIG = """
[start]
message_rate_per_s = 400

[persistence]
snapshot_interval_s = 0.7
flush_interval_s = 0.02
"""


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(PROJECT_ROOT / "src"), env.get("PYTHONPATH", "")])
    return env


def _start(workdir: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "interfaces.cli",
            "start",
            "--config",
            "crash.toml",
            "--db",
            "sqlite:///journal.db",
            "--venue-store",
            "venue.sqlite",
            *args,
        ],
        cwd=workdir,
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _journal_invariants(workdir: Path) -> int:
    """Contiguity, decodability, no order submitted twice; returns the last sequence."""
    engine = open_engine(f"sqlite:///{workdir / 'journal.db'}")
    try:
        verification = verify_journal(engine)
        assert verification.ok, verification.summary()
        with engine.connect() as connection:
            submitted = Counter(
                connection.execute(
                    sa.select(events.c.stream_id).where(events.c.type == "OrderSubmitted")
                ).scalars()
            )
        twice = {cid: n for cid, n in submitted.items() if n > 1}
        assert not twice, f"journaled as submitted more than once: {twice}"
        return verification.last_sequence
    finally:
        engine.dispose()


def _venue(workdir: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{workdir / 'venue.sqlite'}?mode=ro", uri=True)


def _no_order_sent_twice(workdir: Path) -> int:
    path = workdir / "venue.sqlite"
    if not path.exists():
        return 0
    with _venue(workdir) as venue:
        rows = venue.execute(
            "SELECT client_order_id, COUNT(*) FROM submissions GROUP BY client_order_id"
        ).fetchall()
    twice = {cid: n for cid, n in rows if n > 1}
    assert not twice, f"client order ids the venue received more than once: {twice}"
    return len(rows)


def _reconciliation_reports(workdir: Path) -> list[dict[str, object]]:
    engine = open_engine(f"sqlite:///{workdir / 'journal.db'}")
    try:
        with engine.connect() as connection:
            texts = connection.execute(
                sa.select(reconciliations.c.report).order_by(reconciliations.c.id)
            ).scalars()
            return [json.loads(text) for text in texts]
    finally:
        engine.dispose()


def _kills() -> int:
    return int(os.environ.get("TK_CRASH_KILLS", "30"))


def _harness(workdir: Path, kills: int, seed: int) -> None:
    (workdir / "crash.toml").write_text(CONFIG)
    rng = random.Random(seed)
    submissions_seen = 0
    for cycle in range(kills):
        process = _start(workdir, "--duration", "60", "--seed", str(cycle + 1))
        try:  # kill anywhere from mid-import to well into trading (start-up takes about a second)
            time.sleep(rng.uniform(0.3, 3.0))
        finally:
            process.kill()  # SIGKILL: no handler runs, nothing is flushed
        _stdout, stderr = process.communicate(timeout=30)
        assert process.returncode == -signal.SIGKILL, stderr
        assert "Traceback" not in stderr, stderr
        if (workdir / "journal.db").exists():
            _journal_invariants(workdir)
        submissions_seen = _no_order_sent_twice(workdir)
    # A last clean run: it recovers, reconciles, trades a little and stops (cancel-all, snapshot).
    process = _start(workdir, "--duration", "2", "--seed", str(kills + 1))
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 0, stderr
    assert "open      0 open orders left" in stdout, stdout
    _journal_invariants(workdir)
    assert _no_order_sent_twice(workdir) >= submissions_seen > 0

    reports = _reconciliation_reports(workdir)
    assert len(reports) >= 2  # at least the first restart and the clean run reconciled
    for report in reports:
        assert not report["halted"], report
        assert not [d for d in report["differences"] if d["halts"]], report  # type: ignore[union-attr]

    # No fill lost: every venue fill is journaled (the fills projection), and nothing more.
    with _venue(workdir) as venue:
        venue_fills = {
            fill_id: json.loads(data) for fill_id, data in venue.execute("SELECT fill_id, data FROM fills")
        }
        rows = venue.execute("SELECT instrument_id, size FROM positions").fetchall()
        venue_positions = {instrument: Decimal(size) for instrument, size in rows}
    engine = open_engine(f"sqlite:///{workdir / 'journal.db'}")
    try:
        with engine.connect() as connection:
            journal_fills = set(connection.execute(sa.select(fills.c.fill_id)).scalars())
            journal_positions = {
                row.instrument_id: Decimal(row.quantity) for row in connection.execute(sa.select(positions))
            }
    finally:
        engine.dispose()
    assert venue_fills, "the harness never filled an order: it proves nothing"
    assert set(venue_fills) == journal_fills
    for instrument, size in venue_positions.items():
        assert journal_positions.get(instrument, Decimal(0)) == size, (instrument, journal_positions)


@pytest.mark.timeout(600)  # 30 kills take about a minute; a slow machine gets headroom
def test_sigkill_anywhere_loses_no_fill_and_sends_no_order_twice(tmp_path: Path) -> None:
    _harness(tmp_path, _kills(), seed=20261121)


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_many_sigkills_under_the_slow_marker(tmp_path: Path) -> None:
    _harness(tmp_path, max(_kills(), 120), seed=7)


def _status(workdir: Path) -> dict[str, object]:
    result = subprocess.run(
        [sys.executable, "-m", "interfaces.cli", "status", "--json", "--db", "sqlite:///journal.db"],
        cwd=workdir,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    document: dict[str, object] = json.loads(result.stdout)
    return document


@pytest.mark.timeout(300)
def test_a_tripped_breaker_stays_tripped_across_a_sigkill(tmp_path: Path) -> None:
    # Any drawdown at all trips the breaker: the market maker's first losing mark does it.
    (tmp_path / "crash.toml").write_text(CONFIG + '\n[risk]\nmax_drawdown_fraction = "0.0000001"\n')
    process = _start(tmp_path, "--duration", "60")
    tripped_history: list[object] = []
    try:
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline:
            time.sleep(0.5)
            if not (tmp_path / "journal.db").exists():
                continue
            try:
                breaker = _status(tmp_path)["breaker"]
            except subprocess.CalledProcessError:
                continue  # the schema is being created
            assert isinstance(breaker, dict)
            if breaker["tripped"]:
                tripped_history = breaker["history"]
                break
    finally:
        process.kill()
        process.communicate(timeout=30)
    assert tripped_history, "the breaker never tripped: the test proves nothing"

    restarted = _start(tmp_path, "--duration", "1.5")
    stdout, stderr = restarted.communicate(timeout=60)
    assert restarted.returncode == 0, stderr
    assert "state     HALTED" in stdout, stdout
    status = _status(tmp_path)
    breaker = status["breaker"]
    assert isinstance(breaker, dict)
    assert breaker["tripped"]
    assert breaker["history"][: len(tripped_history)] == tripped_history
    # Nothing was submitted after the trip, before or after the kill.
    first_trip = tripped_history[0]
    assert isinstance(first_trip, dict)
    engine = open_engine(f"sqlite:///{tmp_path / 'journal.db'}")
    try:
        with engine.connect() as connection:
            late = connection.execute(
                sa.select(sa.func.count())
                .select_from(events)
                .where(events.c.type == "OrderSubmitted", events.c.sequence > first_trip["sequence"])
            ).scalar_one()
    finally:
        engine.dispose()
    assert late == 0
    _journal_invariants(tmp_path)
