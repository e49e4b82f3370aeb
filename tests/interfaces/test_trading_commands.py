"""`trading resume` and `trading halt` through the CLI, on SQLite and PostgreSQL.

End to end (the breaker trips while trading, the kernel is killed, every later start stays HALTED,
`trading resume` is refused while the kernel runs, then journals the reset with who and why, and
the next start trades): `test_crash_recovery.py`, whose harness also halts and resumes across kills
on both databases.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from click.testing import CliRunner

from infrastructure.persistence.sql_journal import SqlJournal
from interfaces.cli.app import cli
from tests.infrastructure.persistence.conftest import order_event
from tests.interfaces.kernel_process import run_start

TIMEOUT_S = 90
TRIPPING = '[risk]\nmax_drawdown_fraction = "0.0000001"\n'  # the first losing mark trips the breaker


def _cli(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def _start(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_start(cwd, *args, timeout_s=TIMEOUT_S)


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
