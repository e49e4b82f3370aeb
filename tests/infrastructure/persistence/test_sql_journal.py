"""SqlJournal on SQLite and PostgreSQL: contiguous sequences, group commit, crash, threads, reading."""

from __future__ import annotations

import threading
import time
from decimal import Decimal

import pytest
import sqlalchemy as sa

from application.runtime.journal_encoding import NonCanonicalValueError
from infrastructure.persistence.database import open_engine
from infrastructure.persistence.errors import (
    CorruptRecordError,
    CorruptSnapshotError,
    JournalWriteError,
    SnapshotAheadError,
)
from infrastructure.persistence.schema import events, snapshots
from infrastructure.persistence.sql_journal import _EVENT_COLUMNS, SqlJournal
from tests.infrastructure.persistence.conftest import order_event


def _on_disk(url: str) -> list[int]:
    engine = open_engine(url)
    try:
        with engine.connect() as connection:
            return list(
                connection.execute(sa.select(events.c.sequence).order_by(events.c.sequence)).scalars()
            )
    finally:
        engine.dispose()


def test_sequences_continue_across_reopen(database_url: str) -> None:
    journal = SqlJournal.open(database_url)
    first = [journal.append(i, f"s{i}", order_event(i)).sequence for i in range(5)]
    journal.flush()
    journal.close()

    reopened = SqlJournal.open(database_url)
    assert reopened.last_sequence == 5
    more = [reopened.append(i, "s", order_event(i)).sequence for i in range(5, 8)]
    reopened.close()
    assert first + more == list(range(1, 9))
    assert _on_disk(database_url) == list(range(1, 9))


def test_append_returns_the_original_event_and_read_rebuilds_it(database_url: str) -> None:
    journal = SqlJournal.open(database_url)
    originals = [journal.append(100 + i, f"TK{i:08X}", order_event(i)) for i in range(6)]
    assert originals[2].event is not None
    journal.close()
    reopened = SqlJournal.open(database_url)
    assert list(reopened.read()) == originals  # decoded events equal the originals, exact decimals kept
    fill = next(r.event for r in reopened.read() if type(r.event).__name__ == "OrderFilled")
    assert str(fill.fill.price) == "50000.10"  # type: ignore[attr-defined]
    reopened.close()


def test_crash_before_flush_loses_only_unflushed_records_and_leaves_no_gap(database_url: str) -> None:
    journal = SqlJournal.open(database_url)
    for i in range(3):
        journal.append(i, "s", order_event(i))
    journal.flush()
    for i in range(3, 6):
        journal.append(i, "s", order_event(i))
    journal.engine.dispose()  # the process dies: no flush, no close

    reopened = SqlJournal.open(database_url)
    assert reopened.last_sequence == 3
    assert reopened.append(9, "s", order_event(9)).sequence == 4
    reopened.close()
    assert _on_disk(database_url) == [1, 2, 3, 4]


def test_a_non_encodable_event_raises_at_append_and_takes_no_sequence(database_url: str) -> None:
    journal = SqlJournal.open(database_url)
    journal.append(1, "s", order_event(0))
    with pytest.raises(NonCanonicalValueError):
        journal.append(2, "s", {"price": 1.5})
    assert journal.append(3, "s", {"price": Decimal("1.5")}).sequence == 2
    journal.close()
    assert _on_disk(database_url) == [1, 2]


def test_concurrent_appends_from_four_threads_are_contiguous_and_each_stored_once(database_url: str) -> None:
    journal = SqlJournal.open(database_url, batch_size=50)
    per_thread = 150
    results: dict[int, list[int]] = {}

    def worker(thread_no: int) -> None:
        sequences = []
        for i in range(per_thread):
            sequences.append(journal.append(i, f"t{thread_no}", {"thread": thread_no, "i": i}).sequence)
            if i % 40 == 0:
                journal.flush()
        results[thread_no] = sequences

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    journal.close()

    total = 4 * per_thread
    assert sorted(s for seqs in results.values() for s in seqs) == list(range(1, total + 1))
    assert all(seqs == sorted(seqs) for seqs in results.values())
    reopened = SqlJournal.open(database_url)
    seen = {(r.event["thread"], r.event["i"]) for r in reopened.read()}  # type: ignore[index]
    assert len(seen) == total
    assert [r.sequence for r in reopened.read()] == list(range(1, total + 1))
    reopened.close()


def test_read_streams_in_order_from_any_sequence_including_buffered_records(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("infrastructure.persistence.sql_journal.READ_CHUNK", 7)
    journal = SqlJournal.open(database_url, batch_size=10_000)
    for i in range(30):
        journal.append(i, "s", {"i": i})
    journal.flush()
    for i in range(30, 35):
        journal.append(i, "s", {"i": i})  # buffered, not flushed
    assert [r.sequence for r in journal.read()] == list(range(1, 36))
    assert [r.sequence for r in journal.read(12)] == list(range(12, 36))
    assert [r.sequence for r in journal.read(33)] == [33, 34, 35]
    assert [r.event for r in journal.read(20)][:2] == [{"i": 19}, {"i": 20}]
    assert list(journal.read(36)) == []
    assert [r.sequence for r in journal.read(-5)][:1] == [1]
    journal.close()


def test_an_undecodable_payload_raises_corrupt_record_naming_its_sequence(database_url: str) -> None:
    journal = SqlJournal.open(database_url)
    for i in range(5):
        journal.append(i, "s", order_event(i))
    journal.flush()
    with journal.engine.begin() as connection:
        connection.execute(
            events.update().where(events.c.sequence == 4).values(payload='{"type":"NoSuchEvent"}')
        )
    with pytest.raises(CorruptRecordError, match="journal record 4 cannot be decoded"):
        list(journal.read())
    assert [r.sequence for r in journal.read(5)] == [5]
    journal.close()


def test_an_unknown_payload_schema_version_is_corrupt(database_url: str) -> None:
    journal = SqlJournal.open(database_url)
    journal.append(1, "s", order_event(0))
    journal.flush()
    with journal.engine.begin() as connection:
        connection.execute(events.update().values(schema_version=99))
    with pytest.raises(
        CorruptRecordError, match="journal record 1 cannot be decoded: unknown payload schema"
    ):
        list(journal.read())
    journal.close()


def test_a_failing_flush_raises_and_keeps_the_records_buffered(database_url: str) -> None:
    journal = SqlJournal.open(database_url)
    journal.append(1, "s", order_event(0))
    journal.flush()
    with journal.engine.begin() as connection:
        connection.execute(sa.text("ALTER TABLE events RENAME TO events_away"))
    journal.append(2, "s", order_event(1))
    journal.append(3, "s", order_event(2))
    with pytest.raises(JournalWriteError, match=r"records 2\.\.3 .* failed \(kept buffered\)"):
        journal.flush()
    assert journal.buffered == 2
    assert journal.durable_sequence == 1
    assert journal.append(4, "s", order_event(3)).sequence == 4  # numbers are not reused
    with journal.engine.begin() as connection:
        connection.execute(sa.text("ALTER TABLE events_away RENAME TO events"))
    journal.flush()
    assert journal.buffered == 0
    journal.close()
    assert _on_disk(database_url) == [1, 2, 3, 4]


def test_a_retry_after_a_commit_that_landed_does_not_write_twice(database_url: str) -> None:
    journal = SqlJournal.open(database_url)
    journal.append(1, "s", order_event(0))
    journal.append(2, "s", order_event(1))
    journal._failed = True  # as if the COMMIT's outcome had been lost
    with journal.engine.begin() as connection:  # ... but it landed
        connection.execute(
            events.insert(), [dict(zip(_EVENT_COLUMNS, item.row, strict=True)) for item in journal._buffer]
        )
    journal.append(3, "s", order_event(2))
    journal.flush()
    journal.close()
    assert _on_disk(database_url) == [1, 2, 3]


def test_append_flushes_by_itself_when_the_batch_is_full(database_url: str) -> None:
    journal = SqlJournal.open(database_url, batch_size=4)
    for i in range(9):
        journal.append(i, "s", {"i": i})
    assert journal.durable_sequence == 8
    assert journal.buffered == 1
    assert _on_disk(database_url) == list(range(1, 9))
    journal.close()


def test_background_flush_makes_plain_appends_durable_soon(database_url: str) -> None:
    journal = SqlJournal.open(database_url)
    journal.start_background_flush(0.01)
    journal.append(1, "s", order_event(0))
    deadline = time.monotonic() + 5
    while journal.durable_sequence < 1 and time.monotonic() < deadline:
        time.sleep(0.005)
    assert _on_disk(database_url) == [1]
    journal.stop_background_flush()
    journal.close()


def test_snapshot_round_trip_and_tampering_detected(database_url: str) -> None:
    journal = SqlJournal.open(database_url)
    assert journal.latest_snapshot() is None
    for i in range(4):
        journal.append(i, "s", order_event(i))
    with pytest.raises(SnapshotAheadError):
        journal.save_snapshot(4, 40, b"state")  # not flushed yet
    journal.flush()
    journal.save_snapshot(2, 20, b"older")
    journal.save_snapshot(4, 40, b"\x00state\xff")
    snapshot = journal.latest_snapshot()
    assert snapshot is not None
    assert (snapshot.sequence, snapshot.ts_ns, snapshot.data) == (4, 40, b"\x00state\xff")
    with journal.engine.begin() as connection:
        connection.execute(snapshots.update().where(snapshots.c.sequence == 4).values(data=b"\x00statf\xff"))
    with pytest.raises(CorruptSnapshotError, match=r"snapshot \d+ \(sequence 4\) is corrupt"):
        journal.latest_snapshot()
    journal.close()


def test_reconciliation_reports_round_trip(database_url: str) -> None:
    journal = SqlJournal.open(database_url)
    assert journal.last_reconciliation() is None
    journal.save_reconciliation(1, {"ok": True})
    journal.save_reconciliation(2, {"ok": False, "missing": ["TK00000001"], "balance": Decimal("1.10")})
    assert journal.last_reconciliation() == {"ok": False, "missing": ["TK00000001"], "balance": "1.10"}
    journal.close()


def test_closed_journal_refuses_appends(database_url: str) -> None:
    journal = SqlJournal.open(database_url)
    journal.close()
    journal.close()
    with pytest.raises(JournalWriteError, match="closed"):
        journal.append(1, "s", {"x": 1})


def test_snapshot_candidates_come_newest_first_and_each_checks_its_own_digest(database_url: str) -> None:
    journal = SqlJournal.open(database_url)
    assert journal.snapshot_candidates() == []
    for i in range(4):
        journal.append(i, "s", order_event(i))
    journal.flush()
    journal.save_snapshot(2, 20, b"older")
    journal.save_snapshot(4, 40, b"newer")
    with journal.engine.begin() as connection:
        connection.execute(snapshots.update().where(snapshots.c.sequence == 4).values(data=b"newes"))
    newest, older = journal.snapshot_candidates()
    assert (newest.sequence, older.sequence) == (4, 2)
    assert newest.label == f"snapshot {newest.snapshot_id} (sequence 4)"
    with pytest.raises(CorruptSnapshotError, match="its data does not match its sha256"):
        newest.load()
    assert older.load().data == b"older"
    journal.close()


def test_read_stream_returns_one_streams_records_of_the_given_types_in_order(database_url: str) -> None:
    journal = SqlJournal.open(database_url)
    for i in range(9):
        journal.append(i, "risk" if i % 2 else "other", order_event(i))
    journal.flush()
    records = list(journal.read_stream("risk", ["OrderSubmitted", "OrderFilled"]))
    assert [(r.sequence, type(r.event).__name__) for r in records] == [
        (4, "OrderSubmitted"),
        (6, "OrderFilled"),
    ]
    journal.close()
