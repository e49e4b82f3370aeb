"""The durable event journal on SQLAlchemy: group commit, projections in the same transaction.

Appending is cheap and synchronous: the event is encoded at once (so an event that cannot be
journaled fails in the caller, before it takes a sequence number), given the next contiguous
sequence number and buffered. `flush()` is the group commit: every buffered record goes to the
database in ONE transaction, together with the projection rows a `Projector` derives from them,
so the projections never disagree with the journal. When `flush()` returns, everything appended
before it survives a crash.

Only write-ahead records need a flush of their own (`JournalWriter.record_durably`): an order or
a cancel is journaled and flushed BEFORE it is sent, so a crash can never leave an order at the
venue that the journal does not know. Incoming venue reports (acks, fills, cancels) may wait for
the next group commit (`start_background_flush` makes that at most ~50 ms): if the process dies
first, they are lost from the journal but not from the world, and reconciliation at start-up
obtains them again from the venue.

A failed flush raises `JournalWriteError` and keeps the records buffered with their sequence
numbers: the next flush retries them, so nothing is lost and no number is reused or skipped.
If a commit whose outcome was unknown (a connection lost during COMMIT) did land, the retry sees
those sequence numbers on disk and does not write them twice.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime

import attrs
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from application.ports.event_journal import (
    JournalRecord,
    ProjectionRow,
    ProjectionRows,
    Projector,
    StoredSnapshot,
)
from application.runtime.journal_decoding import (
    PAYLOAD_SCHEMA_VERSION,
    UndecodableEventError,
    decode_event_text,
    encode_event_text,
)
from application.runtime.journal_encoding import encode_value
from infrastructure.persistence.database import open_engine, safe_url
from infrastructure.persistence.errors import (
    CorruptRecordError,
    CorruptSnapshotError,
    JournalWriteError,
    SnapshotAheadError,
)
from infrastructure.persistence.migrations import check_schema
from infrastructure.persistence.schema import PROJECTION_TABLES, events, reconciliations, snapshots

_log = logging.getLogger(__name__)

#: Records fetched per query by `read()`.
READ_CHUNK = 1000


_EVENT_COLUMNS = ("sequence", "ts_ns", "type", "stream_id", "schema_version", "payload")
_Row = tuple[int, int, str, str, int, str]  # an events row, in `_EVENT_COLUMNS` order


@attrs.frozen
class _Buffered:
    record: JournalRecord
    row: _Row


def decode_row(sequence: int, schema_version: int, payload: str) -> object:
    """The event of a stored record; raises `CorruptRecordError` naming the sequence."""
    if not 1 <= schema_version <= PAYLOAD_SCHEMA_VERSION:
        raise CorruptRecordError(
            f"journal record {sequence} cannot be decoded: unknown payload schema version {schema_version} "
            f"(this tradekernel reads 1 to {PAYLOAD_SCHEMA_VERSION})"
        )
    try:
        return decode_event_text(payload)
    except (UndecodableEventError, ValueError, TypeError) as exc:
        raise CorruptRecordError(f"journal record {sequence} cannot be decoded: {exc}") from exc


class SqlJournal:
    """A `DurableJournal` in an SQLAlchemy database (SQLite or PostgreSQL), with group commit."""

    def __init__(
        self,
        engine: Engine,
        *,
        projector: Projector | None = None,
        batch_size: int = 1000,
        owns_engine: bool = False,
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        check_schema(engine)
        self._engine = engine
        self._projector = projector
        self._batch_size = batch_size
        self._owns_engine = owns_engine
        self._lock = threading.Lock()  # the buffer and the sequence counter
        self._flush_lock = threading.RLock()  # one flush at a time, in sequence order
        self._buffer: list[_Buffered] = []
        with engine.connect() as connection:
            on_disk = connection.execute(sa.select(sa.func.max(events.c.sequence))).scalar_one_or_none()
        self._last_sequence = int(on_disk or 0)
        self._durable_sequence = self._last_sequence
        self._applied_through = self._last_sequence  # records the projector has folded
        self._pending_rows: list[tuple[int, ProjectionRows]] = []  # drained but not committed
        self._failed = False  # the last flush failed: its commit may or may not have landed
        self._closed = False
        self._stop = threading.Event()
        self._flusher: threading.Thread | None = None

    @classmethod
    def open(cls, url: str, *, projector: Projector | None = None, batch_size: int = 1000) -> SqlJournal:
        """Open (and create or check the schema of) the journal at `url`."""
        engine = open_engine(url)
        try:
            return cls(engine, projector=projector, batch_size=batch_size, owns_engine=True)
        except BaseException:
            engine.dispose()
            raise

    @property
    def engine(self) -> Engine:
        """The engine the journal writes through."""
        return self._engine

    @property
    def last_sequence(self) -> int:
        """The sequence number of the last record appended (flushed or not); 0 when empty."""
        return self._last_sequence

    @property
    def durable_sequence(self) -> int:
        """The sequence number of the last record committed to the database."""
        return self._durable_sequence

    @property
    def buffered(self) -> int:
        """How many appended records await the next flush."""
        return len(self._buffer)

    # ----- writing -------------------------------------------------------------------------------

    def append(self, ts_ns: int, stream_id: str, event: object) -> JournalRecord:
        """Encode and buffer `event` with the next sequence number (flushing when the batch is full).

        An event that cannot be encoded raises here and takes no number. If the batch-full flush
        fails, `JournalWriteError` is raised and the record stays buffered under its number.
        """
        if self._closed:
            raise JournalWriteError("the journal is closed")
        payload = encode_event_text(event)
        event_type = type(event).__name__
        with self._lock:
            sequence = self._last_sequence + 1
            record = JournalRecord(sequence, ts_ns, stream_id, event)
            self._buffer.append(
                _Buffered(
                    record,
                    (sequence, ts_ns, event_type, stream_id, PAYLOAD_SCHEMA_VERSION, payload),
                )
            )
            self._last_sequence = sequence
            full = len(self._buffer) >= self._batch_size
        if full:
            self.flush()
        return record

    def flush(self) -> None:
        """Group commit: write every buffered record and its projection rows in one transaction."""
        with self._flush_lock:
            with self._lock:
                batch = list(self._buffer)
            if not batch:
                return
            self._fold(batch)
            last = batch[-1].record.sequence
            try:
                with self._engine.begin() as connection:
                    rows = [item.row for item in batch]
                    if self._failed:
                        rows = self._not_yet_committed(connection, rows)
                    if rows:
                        _insert_events(connection, rows)
                        for _through, projection in self._pending_rows:
                            _write_projection(connection, projection)
            except SQLAlchemyError as exc:
                self._failed = True
                raise JournalWriteError(
                    f"journal flush of records {batch[0].record.sequence}..{last} to "
                    f"{safe_url(self._engine.url)} failed (kept buffered): {_first_line(exc)}"
                ) from exc
            self._failed = False
            self._pending_rows.clear()
            with self._lock:
                del self._buffer[: len(batch)]
                self._durable_sequence = last

    def _fold(self, batch: Sequence[_Buffered]) -> None:
        """Let the projector fold the records it has not seen; keep its rows until they commit."""
        if self._projector is None:
            return
        for item in batch:
            if item.record.sequence > self._applied_through:
                try:
                    self._projector.apply(item.record)
                except Exception as exc:
                    raise JournalWriteError(
                        f"projector failed on journal record {item.record.sequence}: {exc}"
                    ) from exc
                self._applied_through = item.record.sequence
        rows = self._projector.drain_rows()
        if not rows.empty:
            self._pending_rows.append((self._applied_through, rows))

    def _not_yet_committed(self, connection: Connection, rows: list[_Row]) -> list[_Row]:
        """After a failed flush, skip the records whose commit did land after all."""
        on_disk = connection.execute(sa.select(sa.func.max(events.c.sequence))).scalar_one_or_none() or 0
        if on_disk >= rows[0][0]:
            _log.warning("journal records up to %d were committed by a flush that reported failure", on_disk)
            self._pending_rows[:] = [(through, p) for through, p in self._pending_rows if through > on_disk]
        return [row for row in rows if row[0] > on_disk]

    def start_background_flush(self, interval_s: float = 0.05) -> None:
        """Flush every `interval_s` seconds on a daemon thread (group commit of unflushed appends)."""
        if self._flusher is not None:
            return
        self._stop.clear()
        self._flusher = threading.Thread(
            target=self._flush_loop, args=(interval_s,), name="journal-flush", daemon=True
        )
        self._flusher.start()

    def stop_background_flush(self) -> None:
        """Stop the background flusher (then flush once more)."""
        flusher, self._flusher = self._flusher, None
        if flusher is None:
            return
        self._stop.set()
        flusher.join()
        self.flush()

    def _flush_loop(self, interval_s: float) -> None:
        while not self._stop.wait(interval_s):
            try:
                self.flush()
            except JournalWriteError as exc:  # the records stay buffered; the next round retries
                _log.error("%s", exc)

    # ----- reading -------------------------------------------------------------------------------

    def read(self, from_sequence: int = 1) -> Iterator[JournalRecord]:
        """Records from `from_sequence` on, in order: the committed ones in chunks, then the buffered."""
        next_sequence = max(from_sequence, 1)
        retried = False
        while True:
            chunk = self._read_chunk(next_sequence)
            if chunk:
                retried = False
                for record in chunk:
                    if record.sequence != next_sequence:
                        raise CorruptRecordError(
                            f"journal record {next_sequence} is missing (gap in the journal)"
                        )
                    yield record
                    next_sequence += 1
                continue
            with self._lock:
                last = self._last_sequence
                buffered = [item.record for item in self._buffer if item.record.sequence >= next_sequence]
            if next_sequence > last:
                return
            if buffered and buffered[0].sequence == next_sequence:
                yield from buffered
                return
            if retried:  # neither on disk nor buffered
                raise CorruptRecordError(f"journal record {next_sequence} is missing (gap in the journal)")
            retried = True  # a flush committed them between the query and the buffer check

    def _read_chunk(self, from_sequence: int) -> list[JournalRecord]:
        query = (
            sa.select(
                events.c.sequence,
                events.c.ts_ns,
                events.c.stream_id,
                events.c.schema_version,
                events.c.payload,
            )
            .where(events.c.sequence >= from_sequence)
            .order_by(events.c.sequence)
            .limit(READ_CHUNK)
        )
        with self._engine.connect() as connection:
            rows = connection.execute(query).all()
        return [
            JournalRecord(
                row.sequence,
                row.ts_ns,
                row.stream_id,
                decode_row(row.sequence, row.schema_version, row.payload),
            )
            for row in rows
        ]

    # ----- snapshots and reconciliation reports --------------------------------------------------

    def save_snapshot(self, sequence: int, ts_ns: int, data: bytes) -> None:
        """Store a snapshot as of `sequence` (which must be flushed already) with its sha256."""
        if not 0 <= sequence <= self._durable_sequence:
            raise SnapshotAheadError(
                f"snapshot at sequence {sequence} refused: "
                f"the journal is durable up to {self._durable_sequence}"
            )
        with self._engine.begin() as connection:
            connection.execute(
                snapshots.insert().values(
                    sequence=sequence,
                    ts_ns=ts_ns,
                    created_at=datetime.now(UTC),
                    sha256=hashlib.sha256(data).hexdigest(),
                    data=bytes(data),
                )
            )

    def checkpoint(self, ts_ns: int, make_snapshot: Callable[[], bytes]) -> int:
        """Flush, then store `make_snapshot()` as of the durable sequence; returns that sequence.

        `make_snapshot` runs while flushes are held off, so a projector's state (which changes only
        inside `flush`) is exactly the state as of the durable sequence while it runs.
        """
        with self._flush_lock:
            self.flush()
            sequence = self._durable_sequence
            self.save_snapshot(sequence, ts_ns, make_snapshot())
            return sequence

    def snapshot_candidates(self) -> list[StoredSnapshotRef]:
        """Every stored snapshot, newest first (by sequence), not yet read or checked."""
        query = sa.select(snapshots.c.id, snapshots.c.sequence).order_by(
            snapshots.c.sequence.desc(), snapshots.c.id.desc()
        )
        with self._engine.connect() as connection:
            rows = connection.execute(query).all()
        return [StoredSnapshotRef(self._engine, int(row.id), int(row.sequence)) for row in rows]

    def latest_snapshot(self) -> StoredSnapshot | None:
        """The newest snapshot (by sequence), checked against its sha256; None when there is none."""
        query = (
            sa.select(
                snapshots.c.id, snapshots.c.sequence, snapshots.c.ts_ns, snapshots.c.sha256, snapshots.c.data
            )
            .order_by(snapshots.c.sequence.desc(), snapshots.c.id.desc())
            .limit(1)
        )
        with self._engine.connect() as connection:
            row = connection.execute(query).first()
        if row is None:
            return None
        data = bytes(row.data)
        actual = hashlib.sha256(data).hexdigest()
        if actual != row.sha256:
            raise CorruptSnapshotError(
                f"snapshot {row.id} (sequence {row.sequence}) is corrupt: "
                f"sha256 {actual} != stored {row.sha256}"
            )
        return StoredSnapshot(row.sequence, row.ts_ns, data)

    def read_stream(self, stream_id: str, event_types: Sequence[str]) -> Iterator[JournalRecord]:
        """The committed records of one stream whose type is one of `event_types`, in order."""
        previous = 0
        while True:
            columns = (events.c.sequence, events.c.ts_ns, events.c.stream_id, events.c.schema_version)
            query = (
                sa.select(*columns, events.c.payload)
                .where(
                    events.c.stream_id == stream_id,
                    events.c.type.in_(list(event_types)),
                    events.c.sequence > previous,
                )
                .order_by(events.c.sequence)
                .limit(READ_CHUNK)
            )
            with self._engine.connect() as connection:
                rows = connection.execute(query).all()
            if not rows:
                return
            for row in rows:
                event = decode_row(row.sequence, row.schema_version, row.payload)
                yield JournalRecord(row.sequence, row.ts_ns, row.stream_id, event)
                previous = row.sequence

    def save_reconciliation(self, ts_ns: int, report: Mapping[str, object]) -> None:
        """Store a reconciliation report as JSON text (decimals as exact strings)."""
        text = json.dumps(
            report, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=encode_value
        )
        with self._engine.begin() as connection:
            connection.execute(reconciliations.insert().values(ts_ns=ts_ns, report=text))

    def last_reconciliation(self) -> Mapping[str, object] | None:
        """The newest reconciliation report, or None."""
        query = sa.select(reconciliations.c.report).order_by(reconciliations.c.id.desc()).limit(1)
        with self._engine.connect() as connection:
            text = connection.execute(query).scalar_one_or_none()
        if text is None:
            return None
        report = json.loads(text)
        if not isinstance(report, dict):
            raise CorruptRecordError(f"the last reconciliation report is not a JSON object: {text[:80]!r}")
        return report

    def close(self) -> None:
        """Stop the background flusher, flush, and release the engine if the journal opened it."""
        if self._closed:
            return
        self.stop_background_flush()
        self.flush()
        self._closed = True
        if self._owns_engine:
            self._engine.dispose()


@attrs.frozen
class StoredSnapshotRef:
    """A stored snapshot not read yet: `load()` reads it and checks its sha256 (a `SnapshotCandidate`)."""

    engine: Engine
    snapshot_id: int
    sequence: int

    @property
    def label(self) -> str:
        """`snapshot ID (sequence N)`: how `status`, `journal verify` and the warnings name it."""
        return f"snapshot {self.snapshot_id} (sequence {self.sequence})"

    def load(self) -> StoredSnapshot:
        """The snapshot's bytes; raises `CorruptSnapshotError` when they do not match their sha256."""
        query = sa.select(snapshots.c.ts_ns, snapshots.c.sha256, snapshots.c.data).where(
            snapshots.c.id == self.snapshot_id
        )
        with self.engine.connect() as connection:
            row = connection.execute(query).first()
        if row is None:
            raise CorruptSnapshotError("it is gone (deleted while start-up read the snapshots)")
        data = bytes(row.data)
        if hashlib.sha256(data).hexdigest() != row.sha256:
            raise CorruptSnapshotError("its data does not match its sha256")
        return StoredSnapshot(self.sequence, row.ts_ns, data)


_PLACEHOLDER = {"qmark": "?", "format": "%s", "pyformat": "%s"}


def _insert_events(connection: Connection, rows: list[_Row]) -> None:
    """Insert journal rows with one DBAPI `executemany` (the group commit's hot path).

    The statement is plain SQL in the driver's own parameter style (SQLite `?`, psycopg `%s`):
    SQLAlchemy's per-row parameter processing cost about a tenth of a durable write. Any other
    parameter style takes SQLAlchemy's insert.
    """
    placeholder = _PLACEHOLDER.get(connection.dialect.paramstyle)
    if placeholder is None:
        connection.execute(events.insert(), [dict(zip(_EVENT_COLUMNS, row, strict=True)) for row in rows])
        return
    statement = (
        f"INSERT INTO {events.name} ({', '.join(_EVENT_COLUMNS)}) "
        f"VALUES ({', '.join([placeholder] * len(_EVENT_COLUMNS))})"
    )
    connection.exec_driver_sql(statement, rows)


def _write_projection(connection: Connection, rows: ProjectionRows) -> None:
    """Upsert (or insert) the rows of every projection table, the last row per key winning."""
    for name, (table, upsert) in PROJECTION_TABLES.items():
        table_rows: tuple[ProjectionRow, ...] = getattr(rows, name)
        if not table_rows:
            continue
        keys = [column.name for column in table.primary_key.columns]
        latest: dict[tuple[object, ...], ProjectionRow] = {}
        for row in table_rows:
            latest[tuple(row[key] for key in keys)] = row
        dialect = connection.dialect.name
        insert = postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)
        if upsert:
            update = {
                column.name: insert.excluded[column.name]
                for column in table.columns
                if column.name not in keys
            }
            statement = insert.on_conflict_do_update(index_elements=keys, set_=update)
        else:  # insert-only rows (fills, breaker events) are facts: a duplicate is the same fact
            statement = insert.on_conflict_do_nothing(index_elements=keys)
        connection.execute(statement, list(latest.values()))


def _first_line(exc: BaseException) -> str:
    original = getattr(exc, "orig", None) or exc
    text = str(original).strip()
    return text.splitlines()[0] if text else type(original).__name__
