"""`start` on a durable journal, and the commands on it: status, backup, restore, journal verify, db.

`start` runs in a subprocess (it installs signal handlers and threads); the other commands run
in-process through click's runner. Journal scenarios run on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from infrastructure.persistence.database import open_engine
from infrastructure.persistence.schema import events
from interfaces.cli.app import cli
from tests.conftest import PROJECT_ROOT

TIMEOUT_S = 90


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(PROJECT_ROOT / "src"), env.get("PYTHONPATH", "")])
    env.pop("TK_DATABASE_URL", None)
    return env


def _start(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "interfaces.cli", "start", *args],
        cwd=cwd,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        check=False,
    )


def _cli(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_start_keeps_its_state_in_the_working_directory_and_recovers_it(tmp_path: Path) -> None:
    first = _start(tmp_path, "--duration", "2")
    assert first.returncode == 0, first.stderr
    assert (tmp_path / "tradekernel.db").exists()
    assert (tmp_path / "paper-venue.sqlite").exists()
    assert "recovered" not in first.stderr
    second = _start(tmp_path, "--duration", "1")
    assert second.returncode == 0, second.stderr
    assert "recovered: journal at sequence" in second.stderr
    assert "reconciled: " in second.stderr
    assert "0 differences" in second.stderr


def test_ephemeral_start_writes_nothing(tmp_path: Path) -> None:
    result = _start(tmp_path, "--duration", "1", "--ephemeral")
    assert result.returncode == 0, result.stderr
    assert list(tmp_path.iterdir()) == []


def test_start_and_status_on_each_database(tmp_path: Path, database_url: str) -> None:
    venue = str(tmp_path / "venue.sqlite")
    result = _start(tmp_path, "--duration", "2", "--db", database_url, "--venue-store", venue)
    assert result.returncode == 0, result.stderr
    again = _start(tmp_path, "--duration", "1", "--db", database_url, "--venue-store", venue)
    assert again.returncode == 0, again.stderr
    assert "recovered: journal at sequence" in again.stderr

    code, stdout, _ = _cli("status", "--json", "--db", database_url)
    assert code == 0
    status = json.loads(stdout)
    engine = open_engine(database_url)
    try:
        with engine.connect() as connection:
            last = connection.execute(sa.select(sa.func.max(events.c.sequence))).scalar_one()
    finally:
        engine.dispose()
    assert status["journal"]["last_sequence"] == last
    assert status["journal"]["last_snapshot_sequence"] == last  # shutdown takes a snapshot
    assert status["open_orders"] == []  # canceled at shutdown
    assert status["balances"]["USD"]
    report = status["last_reconciliation"]["report"]
    assert report["counts"]["local_open_orders"] == report["counts"]["venue_open_orders"] == 0
    assert report["differences"] == []
    assert not report["halted"]
    code, stdout, _ = _cli("journal", "verify", "--db", database_url)
    assert code == 0
    assert f"journal ok: {last} records" in stdout


def test_a_corrupt_record_stops_start_up_naming_its_sequence(tmp_path: Path) -> None:
    assert _start(tmp_path, "--duration", "1").returncode == 0
    engine = open_engine(f"sqlite:///{tmp_path / 'tradekernel.db'}")
    try:
        with engine.begin() as connection:
            connection.execute(sa.text("DELETE FROM snapshots"))  # recover must read the record itself
            bad = events.update().where(events.c.sequence == 5).values(payload='{"type":"Nope"}')
            connection.execute(bad)
    finally:
        engine.dispose()
    result = _start(tmp_path, "--duration", "1")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: journal record 5 cannot be decoded")

    code, stdout, _ = _cli("journal", "verify", "--db", f"sqlite:///{tmp_path / 'tradekernel.db'}")
    assert code == 1
    assert "undecodable" in stdout


def test_backup_and_restore_round_trip(tmp_path: Path) -> None:
    assert _start(tmp_path, "--duration", "1").returncode == 0
    url = f"sqlite:///{tmp_path / 'tradekernel.db'}"
    code, stdout, _ = _cli("backup", "--db", url, str(tmp_path / "copy.db"))
    assert code == 0, stdout
    assert "journal ok" in stdout
    code, _, stderr = _cli("backup", "--db", url, str(tmp_path / "copy.db"))
    assert code == 2  # never overwrites
    assert stderr.startswith("error: ")

    restored = f"sqlite:///{tmp_path / 'restored.db'}"
    code, stdout, _ = _cli("restore", "--db", restored, str(tmp_path / "copy.db"))
    assert code == 0, stdout
    _, original, _ = _cli("status", "--json", "--db", url)
    _, copy, _ = _cli("status", "--json", "--db", restored)
    first, second = json.loads(original), json.loads(copy)
    first.pop("database")
    second.pop("database")
    assert first == second
    code, _, stderr = _cli("restore", "--db", restored, str(tmp_path / "copy.db"))
    assert code == 2  # an existing database needs --force
    assert "force" in stderr


def test_status_of_a_missing_database_is_one_clear_line(tmp_path: Path) -> None:
    code, stdout, stderr = _cli("status", "--db", f"sqlite:///{tmp_path / 'none.db'}")
    assert code == 2
    assert stdout == ""
    assert stderr.startswith("error: ")
    assert "no journal database" in stderr
    assert not (tmp_path / "none.db").exists()


def test_an_outdated_schema_names_the_upgrade_command(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'tradekernel.db'}"
    assert _start(tmp_path, "--duration", "1").returncode == 0
    engine = open_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(sa.text("UPDATE alembic_version SET version_num = 'ffff'"))
    finally:
        engine.dispose()
    result = _start(tmp_path, "--duration", "1")
    assert result.returncode == 2
    assert "newer than this tradekernel" in result.stderr
    code, stdout, _ = _cli("db", "current", "--db", url)
    assert code == 0
    assert "database ffff" in stdout


@pytest.mark.parametrize("section", ["persistence", "reconciliation"])
def test_unknown_persistence_keys_are_refused(tmp_path: Path, section: str) -> None:
    (tmp_path / "bad.toml").write_text(f"[{section}]\nnope = 1\n")
    result = _start(tmp_path, "--config", "bad.toml", "--duration", "1")
    assert result.returncode == 2
    assert f"unknown key in [{section}]: nope" in result.stderr
    assert not (tmp_path / "tradekernel.db").exists()
