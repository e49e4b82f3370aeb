"""`start`: the threaded paper kernel on the synthetic market, in a subprocess (bounded in time)."""

from __future__ import annotations

import re
import shutil
import signal
import sqlite3
import subprocess
import threading
import time
from contextlib import closing
from pathlib import Path

import pytest
from click.testing import CliRunner

from application.recovery import recover
from infrastructure.persistence.kernel_lock import KernelLock
from interfaces.cli.app import cli
from interfaces.cli.paper_kernel import PaperKernel
from interfaces.cli.start_command import _load
from tests.interfaces.kernel_process import KernelProcess, popen_start

TIMEOUT_S = 60


def _start(*args: str, cwd: Path) -> subprocess.Popen[str]:
    return popen_start(cwd, *args)


def _count(summary: str, pattern: str) -> int:
    match = re.search(pattern, summary)
    assert match is not None, summary
    return int(match.group(1))


def test_start_for_three_seconds_trades_and_exits_0(tmp_path: Path) -> None:
    process = _start("--duration", "3", cwd=tmp_path)
    stdout, stderr = process.communicate(timeout=TIMEOUT_S)
    assert process.returncode == 0, stderr
    assert _count(stdout, r"orders\s+(\d+) submitted") > 0
    assert _count(stdout, r"fills\s+(\d+) fills") > 0
    assert _count(stdout, r"open\s+(\d+) open orders left") == 0
    assert "state     ACTIVE" in stdout


def test_sigterm_stops_cleanly_with_a_summary_and_no_open_order(tmp_path: Path) -> None:
    kernel = KernelProcess(tmp_path, "--duration", "60")
    try:
        kernel.wait_for("trading: ")
        time.sleep(2.5)
        kernel.send_signal(signal.SIGTERM)
    finally:
        code, stdout, stderr = kernel.finish(TIMEOUT_S)
    assert code == 0, stderr
    assert "SIGTERM: stopping" in stderr
    assert _count(stdout, r"orders\s+(\d+) submitted") > 0
    assert _count(stdout, r"open\s+(\d+) open orders left") == 0
    assert "journal" in stdout


def test_duration_zero_recovers_reconciles_and_stops_without_trading(tmp_path: Path) -> None:
    process = _start("--duration", "0", cwd=tmp_path)
    stdout, stderr = process.communicate(timeout=TIMEOUT_S)
    assert process.returncode == 0, stderr
    assert "reconciled: " in stderr
    assert "trading: " not in stderr
    assert _count(stdout, r"orders\s+(\d+) submitted") == 0
    assert "ran       0.0 s, 0 frames" in stdout


def test_a_bad_config_exits_2_with_one_line(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text("[kernel]\nspeed = 3\n")
    process = _start("--config", str(config), "--duration", "1", cwd=tmp_path)
    stdout, stderr = process.communicate(timeout=TIMEOUT_S)
    assert process.returncode == 2
    assert stdout == ""
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("error: ")
    assert "speed" in lines[0]


def test_impossible_risk_limits_refuse_to_start(tmp_path: Path) -> None:
    config = tmp_path / "risk.toml"
    config.write_text('[risk]\nmax_order_notional = "-1"\n')
    process = _start("--config", str(config), "--duration", "1", cwd=tmp_path)
    _stdout, stderr = process.communicate(timeout=TIMEOUT_S)
    assert process.returncode == 2, stderr
    assert stderr.strip().splitlines()[-1].startswith("error: ")


def test_an_unknown_start_key_exits_2(tmp_path: Path) -> None:
    config = tmp_path / "start.toml"
    config.write_text("[start]\nfoo = 1\n")
    process = _start("--config", str(config), "--duration", "1", cwd=tmp_path)
    _stdout, stderr = process.communicate(timeout=TIMEOUT_S)
    assert process.returncode == 2
    assert "unknown key in [start]: foo" in stderr


def test_a_second_signal_exits_at_once_and_the_journal_stays_whole(tmp_path: Path) -> None:
    kernel = KernelProcess(tmp_path, "--duration", "60")
    try:
        kernel.wait_for("trading: ")
        time.sleep(1.5)
        kernel.send_signal(signal.SIGTERM)
        time.sleep(0.01)
        kernel.send_signal(signal.SIGTERM)
    finally:
        code, _stdout, stderr = kernel.finish(TIMEOUT_S)
    # At once (128 + SIGTERM), unless the clean stop had already finished (0): never killed mid-write.
    assert code in (128 + signal.SIGTERM, 0), stderr
    assert "SIGTERM: stopping" in stderr
    verify = CliRunner().invoke(
        cli, ["journal", "verify", "--db", f"sqlite:///{tmp_path / 'tradekernel.db'}"]
    )
    assert verify.exit_code == 0, verify.output
    restarted = _start("--duration", "0", cwd=tmp_path)
    stdout, stderr = restarted.communicate(timeout=TIMEOUT_S)
    assert restarted.returncode == 0, stderr
    assert "recovered: journal at sequence" in stderr
    assert _count(stdout, r"open\s+(\d+) open orders left") == 0


# ----- a signal during start-up ------------------------------------------------------------------

#: Records appended after a real run's journal: start-up folds them all (several seconds).
TAIL_RECORDS = 60_000


@pytest.fixture(scope="module")
def long_start_up(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real journal and venue store (a short run) whose journal has a long tail after its snapshot.

    The tail repeats the run's own strategy records (state saves, checks): what a kernel that
    crashed long after its last snapshot leaves, and folding it takes seconds.
    """
    folder = tmp_path_factory.mktemp("long-start-up")
    process = _start("--duration", "1", cwd=folder)
    _stdout, stderr = process.communicate(timeout=TIMEOUT_S)
    assert process.returncode == 0, stderr
    with sqlite3.connect(folder / "tradekernel.db") as journal:
        last = journal.execute("SELECT MAX(sequence) FROM events").fetchone()[0]
        rows = journal.execute(
            "SELECT ts_ns, type, stream_id, schema_version, payload FROM events "
            "WHERE type IN ('StrategyStateSaved', 'CheckOrder', 'Timer') ORDER BY sequence"
        ).fetchall()
        assert rows, "the run journaled no strategy record"
        journal.executemany(
            "INSERT INTO events (sequence, ts_ns, type, stream_id, schema_version, payload) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [(last + i + 1, *rows[i % len(rows)]) for i in range(TAIL_RECORDS)],
        )
    return folder


def _copy_stores(source: Path, target: Path) -> None:
    for name in ("tradekernel.db", "paper-venue.sqlite"):
        shutil.copy(source / name, target / name)


def _journal_and_venue(folder: Path) -> tuple[int, int, int, list[str]]:
    """(records, last sequence, venue submissions, integrity) of the stores in `folder`."""
    with closing(sqlite3.connect(folder / "tradekernel.db")) as journal:
        records, last = journal.execute("SELECT COUNT(*), MAX(sequence) FROM events").fetchone()
        integrity = [row[0] for row in journal.execute("PRAGMA integrity_check")]
    with closing(sqlite3.connect(folder / "paper-venue.sqlite")) as venue:
        (submissions,) = venue.execute("SELECT COUNT(*) FROM submissions").fetchone()
    return records, last, submissions, integrity


@pytest.mark.parametrize(
    ("signum", "ignore_sigint"),
    [(signal.SIGINT, False), (signal.SIGINT, True), (signal.SIGTERM, False)],
    ids=["SIGINT", "SIGINT-background-job", "SIGTERM"],
)
def test_a_signal_during_start_up_stops_it_cleanly_before_trading(
    long_start_up: Path, tmp_path: Path, signum: int, ignore_sigint: bool
) -> None:
    _copy_stores(long_start_up, tmp_path)
    before = _journal_and_venue(tmp_path)
    kernel = KernelProcess(tmp_path, "--duration", "60", ignore_sigint=ignore_sigint)
    try:
        kernel.wait_for("recovering: ")
        time.sleep(0.3)  # inside the fold of the long tail
        kernel.send_signal(signum)
        sent = time.monotonic()
    finally:
        code, stdout, stderr = kernel.finish(TIMEOUT_S)
    assert code == 0, stderr
    assert time.monotonic() - sent < 3.0, stderr  # folding the tail takes longer: it stopped early
    assert "Traceback" not in stderr
    assert stderr.splitlines()[-1] == "interrupted during start-up"
    assert stderr.count("interrupted during start-up") == 1
    assert "trading: " not in stderr
    assert "recovered: " not in stderr
    assert stdout == ""
    after = _journal_and_venue(tmp_path)
    assert after == before  # nothing journaled, nothing sent to the venue
    assert after[3] == ["ok"]
    with KernelLock(f"sqlite:///{tmp_path / 'tradekernel.db'}", holder="test"):
        pass  # released


def test_a_second_signal_during_start_up_exits_at_once(long_start_up: Path, tmp_path: Path) -> None:
    _copy_stores(long_start_up, tmp_path)
    before = _journal_and_venue(tmp_path)
    kernel = KernelProcess(tmp_path, "--duration", "60")
    try:
        kernel.wait_for("recovering: ")
        time.sleep(0.3)
        kernel.send_signal(signal.SIGTERM)
        kernel.send_signal(signal.SIGTERM)
    finally:
        code, _stdout, stderr = kernel.finish(TIMEOUT_S)
    assert code in (128 + signal.SIGTERM, 0), stderr
    assert "Traceback" not in stderr
    assert _journal_and_venue(tmp_path) == before


def test_a_resumed_run_counts_only_its_own_orders(tmp_path: Path) -> None:
    kernel = KernelProcess(tmp_path, "--duration", "60")
    try:
        kernel.wait_for("trading: ")
        time.sleep(2.5)  # the market maker keeps quotes open
    finally:
        kernel.kill()
    with closing(sqlite3.connect(tmp_path / "tradekernel.db")) as journal:
        (killed_at,) = journal.execute("SELECT MAX(sequence) FROM events").fetchone()

    process = _start("--duration", "0", cwd=tmp_path)  # recovers, reconciles, cancels what is open
    stdout, stderr = process.communicate(timeout=TIMEOUT_S)

    assert process.returncode == 0, stderr
    with closing(sqlite3.connect(tmp_path / "tradekernel.db")) as journal:
        (canceled,) = journal.execute(
            "SELECT COUNT(*) FROM events WHERE type = 'OrderCanceled' AND sequence > ?", (killed_at,)
        ).fetchone()
    assert canceled > 0, "no order was open at the kill: the test proves nothing"
    assert "(resumed: orders and fills below are this run's)" in stdout
    assert "orders    0 submitted, 0 accepted, 0 filled, 0 canceled, 0 denied, 0 rejected" in stdout


def test_a_graceful_shutdown_journals_every_strategys_last_state() -> None:
    """Between decisions, silent book tops are checkpointed only once a second; shutdown saves the rest."""
    loaded = _load(None, None)
    paper = PaperKernel(loaded.settings, loaded.options, 7)  # ephemeral: the journal in memory
    try:
        paper.run_feed(threading.Event(), 1.5)
        [engine] = paper.kernel.strategies.values()
        open_left = paper.shutdown()
        assert open_left == 0
        live = dict(engine.strategy.snapshot())
        portfolio = paper.kernel.portfolio
        state = recover(
            paper.kernel.journal.journal,
            None,
            portfolio.instruments,
            currency=portfolio.currency,
            starting_balance=loaded.settings.starting_balance,
            id_seed=7,
        )
        assert dict(state.strategy_states[engine.strategy.strategy_id]) == live
    finally:
        paper.close()
