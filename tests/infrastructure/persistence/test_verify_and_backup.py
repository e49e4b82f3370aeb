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
    assert not result.journal_ok
    assert result.gaps == ((1, 1), (4, 5))  # the missing sequence numbers, first..last
    assert [sequence for sequence, _ in result.undecodable] == [7]
    assert "payload is not JSON" in result.undecodable[0][1]
    assert len(result.bad_snapshots) == 1
    assert result.records == 5
    problems = result.problems()
    assert problems[0] == "  gaps (3 records missing): 2: 1, 4..5"
    assert problems[1].startswith("  undecodable: 1: 7 (payload is not JSON")
    assert problems[2] == (
        "  bad snapshots (start-up skips them: it uses an older one or the whole journal): 1: "
        "snapshot 1 (sequence 8): its data does not match its sha256"
    )


def test_verify_names_unknown_types_and_schema_versions_and_counts_past_ten(database_url: str) -> None:
    _fill(database_url, 30)
    engine = open_engine(database_url)
    try:
        with engine.begin() as connection:
            connection.execute(
                events.update().where(events.c.sequence == 3).values(payload='{"type":"Nope","x":1}')
            )
            connection.execute(events.update().where(events.c.sequence == 4).values(schema_version=9))
            connection.execute(events.update().where(events.c.sequence == 5).values(type="OrderRejected"))
            connection.execute(
                events.update().where(events.c.sequence.between(11, 22)).values(payload="[1, 2")
            )
        result = verify_journal(engine)
    finally:
        engine.dispose()
    assert result.unknown_types == ((3, "'Nope'"),)
    assert result.unknown_versions == ((4, 9),)
    assert [sequence for sequence, _ in result.undecodable] == [5, *range(11, 23)]
    assert "the payload holds OrderAccepted, the record says OrderRejected" in result.undecodable[0][1]
    assert result.snapshots_checked == 1
    assert result.ok is False
    assert result.bad_snapshots == ()
    lines = result.problems()
    assert lines[0].startswith("  undecodable: 13: 5 (the payload holds")
    assert lines[0].endswith(", and 3 more")
    assert "11 (payload is not JSON" in lines[0]
    assert "19 (" in lines[0]
    assert "20 (" not in lines[0]
    assert lines[1] == "  unknown event types: 1: 3 ('Nope')"
    assert lines[2] == "  unknown payload schema versions (this tradekernel reads 1 to 1): 1: 4 (version 9)"
    assert "13 undecodable, 1 of unknown types, 1 of unknown schema versions" in result.summary()


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
    with pytest.raises(BackupError, match="already exists: pass --force"):
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
    with pytest.raises(BackupError, match=r"1 missing in 1 gaps.*gaps \(1 records missing\): 1: 3 "):
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


def test_a_bad_snapshot_does_not_stop_a_backup_or_a_restore(sqlite_url: str, tmp_path: Path) -> None:
    _fill(sqlite_url, 4)
    engine = open_engine(sqlite_url)
    with engine.begin() as connection:
        connection.execute(snapshots.update().values(data=b"tampered"))
    engine.dispose()
    verification = backup_database(sqlite_url, tmp_path / "backup.db")
    assert verification.journal_ok
    assert not verification.ok
    assert verification.bad_snapshots == ((1, "snapshot 1 (sequence 4): its data does not match its sha256"),)
    restored = restore_database(tmp_path / "backup.db", f"sqlite:///{tmp_path / 'target.db'}")
    assert restored.journal_ok
    assert len(restored.bad_snapshots) == 1


def test_a_backup_is_one_file_and_checking_a_restore_source_leaves_nothing_beside_it(
    sqlite_url: str, tmp_path: Path
) -> None:
    _fill(sqlite_url, 3)
    backups = tmp_path / "backups"
    backups.mkdir()
    backup_database(sqlite_url, backups / "b.db")
    assert sorted(p.name for p in backups.iterdir()) == ["b.db"]
    with sqlite3.connect(backups / "b.db") as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone() == ("delete",)
    # A source in WAL mode (a copy of a live database file) is read without -wal/-shm files either.
    wal_copy = backups / "wal.db"
    wal_copy.write_bytes(Path(sqlite_url.removeprefix("sqlite:///")).read_bytes())
    with sqlite3.connect(wal_copy) as connection:
        assert connection.execute("PRAGMA journal_mode=WAL").fetchone() == ("wal",)
    for suffix in ("-wal", "-shm"):
        Path(f"{wal_copy}{suffix}").unlink(missing_ok=True)
    restore_database(wal_copy, f"sqlite:///{tmp_path / 'target.db'}")
    restore_database(backups / "b.db", f"sqlite:///{tmp_path / 'target.db'}", force=True)
    assert sorted(p.name for p in backups.iterdir()) == ["b.db", "wal.db"]
    with pytest.raises(BackupError, match=r"already exists: pass --force to replace it"):
        restore_database(backups / "b.db", f"sqlite:///{tmp_path / 'target.db'}")
