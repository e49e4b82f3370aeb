"""`start` on a durable journal, and the commands on it: status, backup, restore, journal verify, db.

`start` runs in a subprocess (it installs signal handlers and threads); the other commands run
in-process through click's runner. Journal scenarios run on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from infrastructure.persistence import migrations
from infrastructure.persistence.database import open_engine, safe_url
from infrastructure.persistence.migrations import SCRIPT_LOCATION
from infrastructure.persistence.schema import events, positions, snapshots
from infrastructure.persistence.sql_journal import SqlJournal
from interfaces.cli.app import cli
from tests.infrastructure.persistence.conftest import order_event
from tests.interfaces.kernel_process import cli_env, run_start

TIMEOUT_S = 90


#: `python -m interfaces.cli` with the migration scripts at argv[1] (a tradekernel with a newer schema).
WITH_SCRIPTS = (
    "import sys; from pathlib import Path; import infrastructure.persistence.migrations as m; "
    "m.SCRIPT_LOCATION = Path(sys.argv.pop(1)); from interfaces.cli.app import main; "
    "sys.argv[0] = 'tradekernel'; main()"
)


def _start(cwd: Path, *args: str, scripts: Path | None = None) -> subprocess.CompletedProcess[str]:
    program = ("-m", "interfaces.cli") if scripts is None else ("-c", WITH_SCRIPTS, str(scripts))
    return run_start(cwd, *args, timeout_s=TIMEOUT_S, program=program)


def _cli(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_start_keeps_its_state_in_the_working_directory_and_recovers_it(tmp_path: Path) -> None:
    first = _start(tmp_path, "--duration", "2")
    assert first.returncode == 0, first.stderr
    assert (tmp_path / "tradekernel.db").exists()
    assert (tmp_path / "paper-venue.sqlite").exists()
    assert "recovered" not in first.stderr
    second = _start(tmp_path, "--duration", "0")
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
    again = _start(tmp_path, "--duration", "0", "--db", database_url, "--venue-store", venue)
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


def _stores(tmp_path: Path, database_url: str) -> tuple[str, ...]:
    return ("--db", database_url, "--venue-store", str(tmp_path / "venue.sqlite"))


def _one_error_line(stderr: str) -> str:
    """The error line of a refused start: the last line, the only one that is an error, no traceback."""
    lines = stderr.strip().splitlines()
    assert "Traceback" not in stderr, stderr
    assert [line for line in lines if line.startswith("error: ")] == lines[-1:], stderr
    return lines[-1]


def _execute(url: str, *statements: sa.Executable) -> None:
    engine = open_engine(url)
    try:
        with engine.begin() as connection:
            for statement in statements:
                connection.execute(statement)
    finally:
        engine.dispose()


def test_a_corrupt_record_stops_start_up_naming_its_sequence(tmp_path: Path, database_url: str) -> None:
    stores = _stores(tmp_path, database_url)
    assert _start(tmp_path, "--duration", "1", *stores).returncode == 0
    _execute(
        database_url,
        snapshots.delete(),  # recovery must read the record itself
        events.update().where(events.c.sequence == 5).values(payload='{"type":"Nope"}'),
    )
    result = _start(tmp_path, "--duration", "0", *stores)
    assert result.returncode == 2
    assert _one_error_line(result.stderr).startswith("error: journal record 5 cannot be decoded")

    code, stdout, _ = _cli("journal", "verify", "--db", database_url)
    assert code == 1
    assert "  unknown event types: 1: 5 ('Nope')" in stdout.splitlines()


def test_a_corrupt_latest_snapshot_is_skipped_with_one_warning(tmp_path: Path, database_url: str) -> None:
    stores = _stores(tmp_path, database_url)
    (tmp_path / "snapshots.toml").write_text("[persistence]\nsnapshot_interval_s = 0.3\n")
    first = _start(tmp_path, "--config", "snapshots.toml", "--duration", "1", *stores)
    assert first.returncode == 0, first.stderr
    engine = open_engine(database_url)
    try:
        with engine.connect() as connection:
            newest = connection.execute(
                sa.select(snapshots.c.id, snapshots.c.sequence).order_by(snapshots.c.id.desc()).limit(1)
            ).one()
    finally:
        engine.dispose()
    _execute(database_url, snapshots.update().where(snapshots.c.id == newest.id).values(data=b"rotten"))

    result = _start(tmp_path, "--duration", "0", *stores)

    assert result.returncode == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning: ")]
    assert len(warnings) == 1, result.stderr
    assert warnings[0].startswith(
        f"warning: snapshot {newest.id} (sequence {newest.sequence}) is unusable "
        "(its data does not match its sha256): recovered from snapshot "
    )
    assert "recovered: journal at sequence" in result.stderr
    code, stdout, _ = _cli("journal", "verify", "--db", database_url)
    assert code == 1  # the journal is sound, the snapshot is not: verify says so
    assert f"snapshot {newest.id} (sequence {newest.sequence}): its data does not match its sha256" in stdout
    assert "0 undecodable" in stdout


def test_a_backup_warns_of_a_corrupt_snapshot_but_is_made(tmp_path: Path) -> None:
    assert _start(tmp_path, "--duration", "1").returncode == 0
    url = f"sqlite:///{tmp_path / 'tradekernel.db'}"
    _execute(url, snapshots.update().values(data=b"rotten"))
    code, stdout, stderr = _cli("backup", "--db", url, str(tmp_path / "copy.db"))
    assert code == 0, stderr
    assert stderr.startswith("warning: snapshot 1 (sequence ")
    assert "start-up skips it; the journal is sound" in stderr
    assert "backed up" in stdout
    assert (tmp_path / "copy.db").exists()


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
    assert "already exists: pass --force to replace it" in stderr
    code, stdout, stderr = _cli("restore", "--force", "--db", restored, str(tmp_path / "copy.db"))
    assert code == 0, stderr
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("copy")) == ["copy.db"]


def test_status_of_a_missing_database_is_one_clear_line(tmp_path: Path) -> None:
    code, stdout, stderr = _cli("status", "--db", f"sqlite:///{tmp_path / 'none.db'}")
    assert code == 2
    assert stdout == ""
    assert stderr.startswith("error: ")
    assert "no journal database" in stderr
    assert not (tmp_path / "none.db").exists()


def test_a_newer_schema_refuses_to_start_naming_the_fix(tmp_path: Path, database_url: str) -> None:
    stores = _stores(tmp_path, database_url)
    SqlJournal.open(database_url).close()  # a journal at this tradekernel's schema
    _execute(database_url, sa.text("UPDATE alembic_version SET version_num = 'ffff'"))
    result = _start(tmp_path, "--duration", "0", *stores)
    assert result.returncode == 2
    assert _one_error_line(result.stderr) == (
        "error: database schema ffff is newer than this tradekernel (0001): upgrade tradekernel"
    )
    code, stdout, _ = _cli("db", "current", "--db", database_url)
    assert code == 0
    assert stdout == "database ffff; tradekernel 0001\n"


NEXT_REVISION = """\"\"\"A later revision: an index, as a real schema change would add.\"\"\"

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_events_type", "events", ["type"])


def downgrade() -> None:
    op.drop_index("ix_events_type", "events")
"""


def test_an_older_schema_refuses_to_start_naming_db_upgrade_which_migrates_it(
    tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A tradekernel one revision ahead of the database: the shipped scripts plus a 0002.
    scripts = tmp_path / "scripts"
    shutil.copytree(SCRIPT_LOCATION, scripts, ignore=shutil.ignore_patterns("__pycache__"))
    (scripts / "versions" / "0002_events_type_index.py").write_text(NEXT_REVISION)
    stores = _stores(tmp_path, database_url)
    SqlJournal.open(database_url).close()  # the database at the shipped head, 0001

    newer = _start(tmp_path, "--duration", "0", *stores, scripts=scripts)
    assert newer.returncode == 2
    assert _one_error_line(newer.stderr) == (
        f"error: database schema 0001 is older than this tradekernel (0002): back it up, then run "
        f"`python -m interfaces.cli db upgrade --db {safe_url(database_url)}`"
    )
    monkeypatch.setattr(migrations, "SCRIPT_LOCATION", scripts)
    code, _, stderr = _cli("status", "--db", database_url)
    assert code == 2
    assert "is older than this tradekernel (0002)" in stderr
    code, stdout, _ = _cli("db", "current", "--db", database_url)
    assert stdout == "database 0001; tradekernel 0002\n"
    code, stdout, stderr = _cli("db", "upgrade", "--db", database_url)
    assert code == 0, stderr
    assert stdout == f"{safe_url(database_url)}: schema 0001 -> 0002\n"
    code, _, stderr = _cli("status", "--db", database_url)
    assert code == 0, stderr

    again = _start(tmp_path, "--duration", "0", *stores, scripts=scripts)
    assert again.returncode == 0, again.stderr
    assert "reconciled: " in again.stderr


@pytest.mark.parametrize("section", ["persistence", "reconciliation"])
def test_unknown_persistence_keys_are_refused(tmp_path: Path, section: str) -> None:
    (tmp_path / "bad.toml").write_text(f"[{section}]\nnope = 1\n")
    result = _start(tmp_path, "--config", "bad.toml", "--duration", "1")
    assert result.returncode == 2
    assert f"unknown key in [{section}]: nope" in result.stderr
    assert not (tmp_path / "tradekernel.db").exists()


# ----- a bad database URL: one line, exit 2, for every command ----------------------------------

BAD_URLS = {
    "malformed": "foo",
    "no file": "sqlite://",
    "unsupported dialect": "mysql://u@h/db",
    "missing PostgreSQL driver": "postgresql+psycopg2://u@h/db",
    "missing SQLite driver": "sqlite+pysqlcipher:///x.db",
}
COMMANDS = {
    "status": ["status"],
    "status --json": ["status", "--json"],
    "journal verify": ["journal", "verify"],
    "db current": ["db", "current"],
    "db upgrade": ["db", "upgrade"],
    "backup": ["backup", "{tmp}/copy.db"],
    "restore": ["restore", "{tmp}/copy.db"],
    "trading resume": ["trading", "resume", "--by", "alice", "--reason", "checked"],
    "trading halt": ["trading", "halt", "--by", "alice", "--reason", "maintenance"],
}


@pytest.mark.parametrize("url", BAD_URLS.values(), ids=BAD_URLS.keys())
@pytest.mark.parametrize("command", COMMANDS.values(), ids=COMMANDS.keys())
def test_a_bad_database_url_is_one_line_and_exit_2(command: list[str], url: str, tmp_path: Path) -> None:
    args = [arg.replace("{tmp}", str(tmp_path)) for arg in command]
    code, stdout, stderr = _cli(*args, "--db", url)  # a traceback would raise here
    assert code == 2
    assert stdout == ""
    assert stderr.count("\n") == 1, stderr
    assert stderr.startswith("error: ")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("command", [["status"], ["journal", "verify"], ["db", "current"]], ids=" ".join)
def test_a_bad_url_in_the_environment_is_one_line_too(
    command: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TK_DATABASE_URL", "foo")
    code, stdout, stderr = _cli(*command)
    assert (code, stdout) == (2, "")
    assert stderr == "error: not a database URL: 'foo' (e.g. sqlite:///tradekernel.db)\n"


def test_a_bad_url_through_the_entry_point_is_one_line(tmp_path: Path) -> None:
    env = cli_env({"TK_DATABASE_URL": "foo"})
    for command in (["status"], ["start", "--duration", "0"]):
        result = subprocess.run(
            [sys.executable, "-m", "interfaces.cli", *command],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=TIMEOUT_S,
            check=False,
        )
        assert result.returncode == 2, result.stderr
        assert result.stderr == "error: not a database URL: 'foo' (e.g. sqlite:///tradekernel.db)\n"
        assert result.stdout == ""
    assert list(tmp_path.iterdir()) == []


# ----- journal verify, status ------------------------------------------------------------------


def _journal(url: str, records: int) -> None:
    journal = SqlJournal.open(url)
    for i in range(records):
        journal.append(i + 1, "s", order_event(i))
    journal.close()


def test_journal_verify_names_the_sequence_numbers_of_each_problem(database_url: str) -> None:
    _journal(database_url, 40)
    _execute(
        database_url,
        events.delete().where(events.c.sequence.in_([5, 6, 7, 20])),
        events.update().where(events.c.sequence == 10).values(payload="{not json"),
        events.update().where(events.c.sequence == 12).values(payload='{"type":"Nope"}'),
        events.update().where(events.c.sequence == 15).values(schema_version=9),
        events.update().where(events.c.sequence.between(25, 36)).values(payload="[]"),
    )
    code, stdout, stderr = _cli("journal", "verify", "--db", database_url)
    assert code == 1, stderr
    lines = stdout.splitlines()
    assert lines[0].startswith("journal NOT OK: 36 records (1..40), 4 missing in 2 gaps, 13 undecodable, ")
    assert lines[1] == "  gaps (4 records missing): 2: 5..7, 20"
    assert lines[2].startswith("  undecodable: 13: 10 (payload is not JSON: ")
    assert ", 25 (" in lines[2]
    assert lines[2].endswith(", and 3 more")
    assert lines[3] == "  unknown event types: 1: 12 ('Nope')"
    assert lines[4] == "  unknown payload schema versions (this tradekernel reads 1 to 1): 1: 15 (version 9)"
    assert len(lines) == 5


def test_status_json_carries_the_trading_state_and_whether_it_ever_changed(database_url: str) -> None:
    _journal(database_url, 3)
    _, text, _ = _cli("status", "--db", database_url)
    assert "trading state    ACTIVE (never changed)\n" in text
    code, stdout, _ = _cli("status", "--json", "--db", database_url)
    assert code == 0
    document = json.loads(stdout)
    assert (document["trading_state"], document["trading_state_changed"]) == ("ACTIVE", False)
    assert document["trading_state_reason"] is None

    code, _, stderr = _cli(
        "trading", "halt", "--by", "alice", "--reason", "maintenance", "--db", database_url
    )
    assert code == 0, stderr
    _, text, _ = _cli("status", "--db", database_url)
    assert "trading state    HALTED (halted by alice: maintenance)\n" in text
    document = json.loads(_cli("status", "--json", "--db", database_url)[1])
    assert (document["trading_state"], document["trading_state_changed"]) == ("HALTED", True)
    assert document["trading_state_reason"] == "halted by alice: maintenance"


def test_status_shows_a_flat_position_as_flat(database_url: str) -> None:
    _journal(database_url, 1)
    row = {"instrument_id": "COINBASE:BTC-USD", "quantity": "0E-8", "average_price": None}
    _execute(database_url, positions.insert().values(**row, realized_pnl="1.25", last_sequence=1))
    code, text, _ = _cli("status", "--db", database_url)
    assert code == 0
    assert "  COINBASE:BTC-USD flat, realized 1.25\n" in text
    assert "avg None" not in text
    document = json.loads(_cli("status", "--json", "--db", database_url)[1])
    assert document["positions"][0]["flat"] is True


# ----- the simulated venue's store ---------------------------------------------------------------


def test_a_malformed_client_order_id_in_the_venue_store_is_one_clear_line(tmp_path: Path) -> None:
    assert _start(tmp_path, "--duration", "0").returncode == 0
    with sqlite3.connect(tmp_path / "paper-venue.sqlite") as venue:
        venue.execute("INSERT INTO submissions (client_order_id, ts_ns) VALUES ('not-an-id', 1)")
    result = _start(tmp_path, "--duration", "0")
    assert result.returncode == 2
    error = _one_error_line(result.stderr)
    assert error.startswith("error: the simulated venue's store paper-venue.sqlite cannot be loaded: ")
    assert "not-an-id" in error
