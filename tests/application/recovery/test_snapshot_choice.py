"""Start-up recovers from the newest usable snapshot, else an older one, else the whole journal.

On a durable journal (SQLite and PostgreSQL) filled with the start of the replay's records, with
snapshots at two points. The journal is the truth: a bad snapshot is skipped with a warning naming
it; a bad record after the snapshot used still stops recovery, naming its sequence number.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
import sqlalchemy as sa

from application.ports.event_journal import JournalRecord
from application.recovery import KernelState, RecoveryInterruptedError, fold, recover_latest
from application.recovery.snapshot_choice import Recovered
from infrastructure.persistence.errors import CorruptRecordError
from infrastructure.persistence.schema import events, snapshots
from infrastructure.persistence.sql_journal import SqlJournal
from infrastructure.replay.replay_runner import ReplayResult
from tests.application.recovery.conftest import SETTINGS, empty_state

RECORDS = 600  # at most: the replay's journal (474 records: orders, fills, a breaker trip...)
OLDER, NEWER = 150, 300  # the snapshots' sequences


@pytest.fixture
def journal(replay: ReplayResult, database_url: str) -> Iterator[SqlJournal]:
    """The first RECORDS records, with snapshots at OLDER and NEWER (ids 1 and 2)."""
    records = list(replay.journal.read())[:RECORDS]
    sql = SqlJournal.open(database_url)
    for record in records:
        sql.append(record.ts_ns, record.stream_id, record.event)
    sql.flush()
    for at in (OLDER, NEWER):
        sql.save_snapshot(at, 0, fold(empty_state(replay), records[:at]).snapshot_bytes())
    yield sql
    sql.close()


def _recover(
    replay: ReplayResult, journal: SqlJournal, should_stop: Callable[[], bool] | None = None
) -> Recovered:
    return recover_latest(
        journal,
        journal.snapshot_candidates(),
        replay.kernel.portfolio.instruments,
        currency=SETTINGS.currency,
        starting_balance=SETTINGS.starting_balance,
        id_seed=SETTINGS.seed,
        should_stop=should_stop,
    )


def _whole(replay: ReplayResult) -> KernelState:
    return fold(empty_state(replay), list(replay.journal.read())[:RECORDS])


def _tamper(journal: SqlJournal, statement: sa.Executable) -> None:
    with journal.engine.begin() as connection:
        connection.execute(statement)


def test_the_newest_snapshot_is_used_when_it_is_sound(replay: ReplayResult, journal: SqlJournal) -> None:
    recovered = _recover(replay, journal)
    assert recovered.snapshot == f"snapshot 2 (sequence {NEWER})"
    assert recovered.warnings() == ()
    assert recovered.state.state_digest() == _whole(replay).state_digest()


def test_a_corrupt_newest_snapshot_falls_back_to_the_one_before(
    replay: ReplayResult, journal: SqlJournal
) -> None:
    _tamper(journal, snapshots.update().where(snapshots.c.id == 2).values(data=b"flipped bits"))
    recovered = _recover(replay, journal)
    assert recovered.snapshot == f"snapshot 1 (sequence {OLDER})"
    assert recovered.warnings() == (
        f"snapshot 2 (sequence {NEWER}) is unusable (its data does not match its sha256): "
        f"recovered from snapshot 1 (sequence {OLDER}) and the journal after it",
    )
    assert recovered.state.state_digest() == _whole(replay).state_digest()


def test_no_usable_snapshot_folds_the_whole_journal(replay: ReplayResult, journal: SqlJournal) -> None:
    _tamper(journal, snapshots.update().where(snapshots.c.id == 2).values(data=b"flipped bits"))
    # Sound digest, unreadable content (written by a broken tradekernel, say).
    journal.save_snapshot(OLDER, 0, b"not a snapshot")
    _tamper(journal, snapshots.delete().where(snapshots.c.id == 1))
    last = journal.last_sequence
    _tamper(journal, snapshots.update().where(snapshots.c.id == 3).values(sequence=last + 5))
    journal.save_snapshot(OLDER, 0, b"not a snapshot either")
    recovered = _recover(replay, journal)
    assert recovered.snapshot is None
    warnings = recovered.warnings()
    assert warnings[0] == (
        f"snapshot 3 (sequence {last + 5}) is unusable (beyond the journal's last record {last}): "
        "recovered from the whole journal"
    )
    assert warnings[1].startswith(f"snapshot 2 (sequence {NEWER}) is unusable (its data does not match")
    assert warnings[2].startswith(f"snapshot 4 (sequence {OLDER}) is unusable (snapshot is not a zlib")
    assert recovered.state.state_digest() == _whole(replay).state_digest()


def test_a_corrupt_record_after_the_snapshot_used_still_stops_recovery(
    replay: ReplayResult, journal: SqlJournal
) -> None:
    _tamper(journal, snapshots.update().where(snapshots.c.id == 2).values(data=b"flipped bits"))
    bad = OLDER + 50  # after the older snapshot, before the corrupt newer one: it must be read
    _tamper(journal, events.update().where(events.c.sequence == bad).values(payload='{"type":"Nope"}'))
    with pytest.raises(CorruptRecordError, match=rf"journal record {bad} cannot be decoded"):
        _recover(replay, journal)


def test_records_a_usable_snapshot_covers_are_not_read_again(
    replay: ReplayResult, journal: SqlJournal
) -> None:
    # That is what a snapshot is for; `journal verify` reads everything and would report it.
    _tamper(journal, events.update().where(events.c.sequence == 10).values(payload='{"type":"Nope"}'))
    assert _recover(replay, journal).state.state_digest() == _whole(replay).state_digest()


def test_a_stop_request_interrupts_the_fold_between_records(
    replay: ReplayResult, journal: SqlJournal
) -> None:
    asked: list[int] = []

    def should_stop() -> bool:
        asked.append(1)
        return len(asked) >= 2

    _tamper(journal, snapshots.delete())
    read: list[JournalRecord] = []
    original = journal.read

    def counting_read(from_sequence: int = 1) -> Iterator[JournalRecord]:
        for record in original(from_sequence):
            read.append(record)
            yield record

    journal.read = counting_read  # type: ignore[method-assign]
    with pytest.raises(RecoveryInterruptedError, match="recovery interrupted before journal record 257"):
        _recover(replay, journal, should_stop)
    assert len(read) == 257  # asked before records 1, 257 (interval 256): stopped before folding 257
