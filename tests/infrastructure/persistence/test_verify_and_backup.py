"""verify_journal finds gaps and bad payloads; SQLite backup and restore are online, checked and careful."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa

from infrastructure.persistence.backup import backup_database, restore_database
from infrastructure.persistence.database import open_engine
from infrastructure.persistence.errors import BackupError
from infrastructure.persistence.schema import events, snapshots
from infrastructure.persistence.sql_journal import SqlJournal
from infrastructure.persistence.verify import verify_journal
from tests.infrastructure.persistence.conftest import order_event


def _fill(url: str, n: int) -> None:
    journal = SqlJournal.open(url)
    for i in range(n):
        journal.append(i, "s", order_event(i))
    journal.flush()
    journal.save_snapshot(n, n, b"state")
    journal.close()


def test_a_sound_journal_verifies(database_url: str) -> None:
    _fill(database_url, 7)
    engine = open_engine(database_url)
    try:
        result = verify_journal(engine)
    finally:
        engine.dispose()
    assert result.ok
    assert (result.records, result.first_sequence, result.last_sequence) == (7, 1, 7)
    assert (result.schema_versions, result.snapshots_checked) == ((1,), 1)
    assert "journal ok: 7 records" in result.summary()


def test_verify_finds_a_gap_a_bad_payload_and_a_tampered_snapshot(database_url: str) -> None:
    _fill(database_url, 8)
    engine = open_engine(database_url)
    try:
        with engine.begin() as connection:
            connection.execute(events.delete().where(events.c.sequence.in_([1, 4, 5])))
            connection.execute(events.update().where(events.c.sequence == 7).values(payload="{not json"))
            connection.execute(snapshots.update().values(data=b"tampered"))
        result = verify_journal(engine)
    finally:
        engine.dispose()
    assert not result.ok
    assert result.gaps == ((0, 2), (3, 6))
    assert [sequence for sequence, _ in result.undecodable] == [7]
    assert "journal record 7 cannot be decoded" in result.undecodable[0][1]
    assert len(result.bad_snapshots) == 1
    assert result.records == 5


def test_read_refuses_to_skip_a_gap(database_url: str) -> None:
    _fill(database_url, 4)
    engine = open_engine(database_url)
    with engine.begin() as connection:
        connection.execute(events.delete().where(events.c.sequence == 2))
    engine.dispose()
    journal = SqlJournal.open(database_url)
    with pytest.raises(Exception, match="journal record 2 is missing"):
        list(journal.read())
    journal.close()


def _event_rows(url: str) -> list[tuple[object, ...]]:
    engine = open_engine(url)
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(sa.select(events).order_by(events.c.sequence))]
    finally:
        engine.dispose()


def test_backup_while_writing_then_restore_round_trip(sqlite_url: str, tmp_path: Path) -> None:
    _fill(sqlite_url, 30)
    journal = SqlJournal.open(sqlite_url, batch_size=5)
    stop = threading.Event()

    def writer() -> None:
        i = 100
        while not stop.is_set():
            journal.append(i, "s", order_event(i))
            i += 1

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        result = backup_database(sqlite_url, tmp_path / "backup.db")
    finally:
        stop.set()
        thread.join()
        journal.close()
    assert result.ok
    assert result.records >= 30

    with pytest.raises(BackupError, match="already exists"):
        backup_database(sqlite_url, tmp_path / "backup.db")

    target_url = f"sqlite:///{tmp_path / 'restored.db'}"
    restored = restore_database(tmp_path / "backup.db", target_url)
    assert restored.records == result.records
    assert _event_rows(target_url) == _event_rows(f"sqlite:///{tmp_path / 'backup.db'}")
    assert _event_rows(target_url) == _event_rows(sqlite_url)[: result.records]
    with pytest.raises(BackupError, match="already exists: pass force"):
        restore_database(tmp_path / "backup.db", target_url)

    reopened = SqlJournal.open(target_url)  # the restored journal continues
    assert reopened.append(1, "s", order_event(1)).sequence == result.records + 1
    reopened.close()
    restore_database(tmp_path / "backup.db", target_url, force=True)
    assert len(_event_rows(target_url)) == result.records


def test_restore_refuses_a_corrupt_source_before_touching_the_target(sqlite_url: str, tmp_path: Path) -> None:
    _fill(sqlite_url, 5)
    backup = tmp_path / "backup.db"
    backup_database(sqlite_url, backup)
    connection = sqlite3.connect(backup)
    connection.execute("DELETE FROM events WHERE sequence = 3")
    connection.commit()
    connection.close()
    target = tmp_path / "target.db"
    with pytest.raises(BackupError, match="1 gaps"):
        restore_database(backup, f"sqlite:///{target}")
    assert not target.exists()
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"this is not a database at all" * 100)
    with pytest.raises(BackupError, match="cannot be read"):
        restore_database(garbage, f"sqlite:///{target}")
    with pytest.raises(BackupError, match="no backup at"):
        restore_database(tmp_path / "absent.db", f"sqlite:///{target}")


def test_restore_refuses_a_newer_schema(sqlite_url: str, tmp_path: Path) -> None:
    _fill(sqlite_url, 2)
    backup = tmp_path / "backup.db"
    backup_database(sqlite_url, backup)
    connection = sqlite3.connect(backup)
    connection.execute("UPDATE alembic_version SET version_num = '9999'")
    connection.commit()
    connection.close()
    with pytest.raises(BackupError, match="newer than this tradekernel"):
        restore_database(backup, f"sqlite:///{tmp_path / 'target.db'}")


def test_postgresql_backup_and_restore_point_to_pg_tools(tmp_path: Path) -> None:
    url = "postgresql+psycopg://kernel:secret@db.example:5432/tk"
    with pytest.raises(BackupError, match=r"use pg_dump, e\.g\. `pg_dump --format=custom") as raised:
        backup_database(url, tmp_path / "x.dump")
    assert "secret" not in str(raised.value)
    assert "postgresql://kernel:***@db.example:5432/tk" in str(raised.value)
    with pytest.raises(BackupError, match="use pg_restore"):
        restore_database(tmp_path / "x.dump", url)


def test_backup_of_a_missing_database_is_refused(tmp_path: Path) -> None:
    with pytest.raises(BackupError, match="no database to back up"):
        backup_database(f"sqlite:///{tmp_path / 'absent.db'}", tmp_path / "b.db")
    assert not (tmp_path / "absent.db").exists()
