"""`trading resume` and `trading halt`: the only way out of a tripped breaker is a person's decision.

End to end, on SQLite and PostgreSQL: the breaker trips while trading (a drawdown limit nothing
can stay under), every later start stays HALTED, `trading resume` (refused while the kernel runs)
journals the reset with who and why, and the next start trades.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa
from click.testing import CliRunner

from infrastructure.persistence.database import open_engine
from infrastructure.persistence.schema import events
from infrastructure.persistence.sql_journal import SqlJournal
from interfaces.cli.app import cli
from tests.infrastructure.persistence.conftest import order_event
from tests.interfaces.kernel_process import KernelProcess, cli_env

TIMEOUT_S = 90
TRIPPING = '[risk]\nmax_drawdown_fraction = "0.0000001"\n'  # the first losing mark trips the breaker


def _cli(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def _start(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "interfaces.cli", "start", *args],
        cwd=cwd,
        env=cli_env(),
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        check=False,
    )


def _submitted_after(url: str, sequence: int) -> int:
    engine = open_engine(url)
    try:
        with engine.connect() as connection:
            return int(
                connection.execute(
                    sa.select(sa.func.count())
                    .select_from(events)
                    .where(events.c.type == "OrderSubmitted", events.c.sequence > sequence)
                ).scalar_one()
            )
    finally:
        engine.dispose()


def test_a_tripped_breaker_stays_halted_until_trading_resume_then_the_next_start_trades(
    tmp_path: Path, database_url: str
) -> None:
    (tmp_path / "tripping.toml").write_text(TRIPPING)
    stores = ("--db", database_url, "--venue-store", str(tmp_path / "venue.sqlite"))
    kernel = KernelProcess(tmp_path, "--config", "tripping.toml", "--duration", "60", *stores)
    try:
        kernel.wait_for("critical: circuit breaker tripped", timeout_s=60)
        # While the kernel runs, an offline resume is refused: the kernel would not hear of it.
        code, stdout, stderr = _cli(
            "trading", "resume", "--by", "alice", "--reason", "x", "--db", database_url
        )
        assert (code, stdout) == (2, "")
        assert stderr.startswith("error: ")
        assert "in use by" in stderr
        assert stderr.count("\n") == 1
        kernel.send_signal(signal.SIGTERM)
    finally:
        code, stdout, stderr = kernel.finish(TIMEOUT_S)
    assert code == 0, stderr
    assert "state     HALTED" in stdout

    halted = _start(tmp_path, "--duration", "1", *stores)  # the default limits: it would trade
    assert halted.returncode == 0, halted.stderr
    assert "state     HALTED" in halted.stdout
    assert "orders    0 submitted" in halted.stdout
    status = json.loads(_cli("status", "--json", "--db", database_url)[1])
    assert status["breaker"]["tripped"]
    assert status["trading_state"] == "HALTED"
    trip = status["breaker"]["history"][0]
    assert (trip["kind"], trip["reason"]) == ("tripped", "max_drawdown")

    code, stdout, stderr = _cli(
        "trading", "resume", "--by", "alice", "--reason", "drawdown limit raised", "--db", database_url
    )
    assert code == 0, stderr
    assert stdout.startswith(
        "trading resumed by alice (drawdown limit raised): breaker reset; journal records "
    )
    status = json.loads(_cli("status", "--json", "--db", database_url)[1])
    assert not status["breaker"]["tripped"]
    reset = status["breaker"]["history"][-1]
    assert (reset["kind"], reset["by"], reset["reason"]) == ("reset", "alice", "drawdown limit raised")
    assert reset["detail"] == "cleared: max_drawdown"
    assert (status["trading_state"], status["trading_state_reason"]) == (
        "ACTIVE",
        "resumed by alice: drawdown limit raised",
    )
    resumed_at = status["journal"]["last_sequence"]
    assert _submitted_after(database_url, trip["sequence"]) == 0  # nothing traded while tripped

    trading = _start(tmp_path, "--duration", "3", *stores)
    assert trading.returncode == 0, trading.stderr
    assert "state     ACTIVE" in trading.stdout
    assert _submitted_after(database_url, resumed_at) > 0
    code, _, _ = _cli("journal", "verify", "--db", database_url)
    assert code == 0


def test_resume_and_halt_say_when_there_is_nothing_to_do(database_url: str) -> None:
    journal_url = database_url
    journal = SqlJournal.open(journal_url)
    journal.append(1, "s", order_event(0))
    journal.close()
    code, stdout, _ = _cli("trading", "resume", "--by", "alice", "--reason", "x", "--db", journal_url)
    assert (code, stdout) == (
        0,
        "trading is ACTIVE already (breaker not tripped, no halt): nothing journaled\n",
    )
    code, stdout, _ = _cli("trading", "halt", "--by", "bob", "--reason", "maintenance", "--db", journal_url)
    assert code == 0
    assert stdout == (
        "trading halted by bob (maintenance): journal records 2..3; "
        "every start stays HALTED until `trading resume`\n"
    )
    code, stdout, _ = _cli("trading", "halt", "--by", "bob", "--reason", "again", "--db", journal_url)
    assert (code, stdout) == (0, "trading is HALTED by an operator already: nothing journaled\n")
    code, _, stderr = _cli("trading", "resume", "--by", " ", "--reason", "x", "--db", journal_url)
    assert (code, stderr) == (2, "error: --by must not be empty\n")
    code, stdout, _ = _cli("trading", "resume", "--by", "carol", "--reason", "done", "--db", journal_url)
    assert (
        stdout
        == "trading resumed by carol (done): halt cleared; journal records 4..5; the next start trades\n"
    )
    code, stdout, _ = _cli("journal", "verify", "--db", journal_url)
    assert code == 0, stdout


def test_trading_commands_need_an_existing_journal(tmp_path: Path) -> None:
    code, stdout, stderr = _cli(
        "trading", "resume", "--by", "a", "--reason", "b", "--db", f"sqlite:///{tmp_path / 'none.db'}"
    )
    assert (code, stdout) == (2, "")
    assert "no journal database here" in stderr
    assert list(tmp_path.iterdir()) == []
