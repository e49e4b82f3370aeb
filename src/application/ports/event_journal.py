"""The event journal port: every event the kernel acts on, in order, append-only.

The persistence issue makes it durable (SQLAlchemy); until then `InMemoryJournal` keeps records
in memory. Orders are journaled before they are sent (write-ahead for money).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Protocol

import attrs


@attrs.frozen
class JournalRecord:
    """One journaled event: its contiguous sequence number, time, stream and the event itself."""

    sequence: int
    ts_ns: int
    stream_id: str  # e.g. a client order id, an instrument, "risk"
    event: object


class EventJournal(Protocol):
    """Append-only, contiguous, readable from any sequence number."""

    def append(self, ts_ns: int, stream_id: str, event: object) -> JournalRecord:
        """Record `event`; returns the record with its sequence number (1, 2, 3, ...)."""
        ...

    def read(self, from_sequence: int = 1) -> Iterator[JournalRecord]:
        """Records from `from_sequence` on, in order."""
        ...

    def flush(self) -> None:
        """Make everything appended so far durable."""
        ...

    @property
    def last_sequence(self) -> int:
        """The sequence number of the last record (0 when empty)."""
        ...


class InMemoryJournal:
    """A journal that keeps its records in a list: for paper trading and tests, not for money."""

    def __init__(self) -> None:
        self._records: list[JournalRecord] = []

    def append(self, ts_ns: int, stream_id: str, event: object) -> JournalRecord:
        """Record `event` with the next sequence number."""
        record = JournalRecord(len(self._records) + 1, ts_ns, stream_id, event)
        self._records.append(record)
        return record

    def read(self, from_sequence: int = 1) -> Iterator[JournalRecord]:
        """Records from `from_sequence` on."""
        return iter(self._records[max(from_sequence, 1) - 1 :])

    def flush(self) -> None:
        """Nothing to do: memory is as durable as it gets."""

    @property
    def last_sequence(self) -> int:
        """The sequence number of the last record."""
        return len(self._records)


# ----- durable journals: snapshots, projections, reconciliation reports ----------------------------
#
# A durable journal (the SQLAlchemy one in infrastructure/persistence) also keeps:
# - snapshots: opaque bytes produced by `application.recovery.KernelState.snapshot_bytes()` at a
#   sequence number, so that start-up folds the snapshot plus the journal tail, not everything;
# - projections: tables of current state (orders, fills, positions, balances, trading state,
#   breaker history, strategy state) that a `Projector` derives from the records as they are
#   flushed, written in the SAME transaction as the records (so they never disagree with them);
# - reconciliation reports (JSON objects), the last of which `status` shows.


#: One projection row: column name -> value (str, int, bool or None; decimals as exact strings).
ProjectionRow = dict[str, str | int | bool | None]


@attrs.frozen
class ProjectionRows:
    """What changed in the projections since the last drain, as rows to upsert (or insert).

    Columns (every decimal is its exact text; ids are their journal text, e.g. "TK0100002A"):
    - orders (upsert by client_order_id): client_order_id, strategy_id, instrument_id, side,
      order_type, time_in_force, price (None for market), quantity, filled_quantity, status,
      venue_order_id (None until known), created_ts_ns, updated_ts_ns, last_sequence;
    - fills (insert; key fill_id): fill_id, client_order_id, instrument_id, side, price,
      quantity, fee, fee_currency, liquidity, ts_ns, sequence;
    - positions (upsert by instrument_id): instrument_id, quantity (signed), average_price
      (None when flat), realized_pnl, last_sequence;
    - balances (upsert by currency): currency, total, last_sequence;
    - trading_state (at most one row, key id = 1): id, state, reason, ts_ns, last_sequence;
    - breaker_events (insert; key sequence): sequence, kind ("tripped" or "reset"), reason,
      detail, by, ts_ns;
    - strategy_states (upsert by strategy_id): strategy_id, state_json (canonical JSON text of
      the state), last_sequence.
    """

    orders: tuple[ProjectionRow, ...] = ()
    fills: tuple[ProjectionRow, ...] = ()
    positions: tuple[ProjectionRow, ...] = ()
    balances: tuple[ProjectionRow, ...] = ()
    trading_state: tuple[ProjectionRow, ...] = ()
    breaker_events: tuple[ProjectionRow, ...] = ()
    strategy_states: tuple[ProjectionRow, ...] = ()

    @property
    def empty(self) -> bool:
        """True when nothing changed."""
        return not any(attrs.astuple(self, recurse=False))


class Projector(Protocol):
    """Folds records into current state and says which projection rows changed."""

    def apply(self, record: JournalRecord) -> None:
        """Fold one record (called in sequence order, once per record, as records are flushed)."""
        ...

    def drain_rows(self) -> ProjectionRows:
        """The rows changed since the last drain (then forgets them)."""
        ...


@attrs.frozen
class StoredSnapshot:
    """A snapshot of the kernel's state as of `sequence` (the last record it folds)."""

    sequence: int
    ts_ns: int
    data: bytes


class DurableJournal(EventJournal, Protocol):
    """An event journal that survives the process, with snapshots and reconciliation reports."""

    def save_snapshot(self, sequence: int, ts_ns: int, data: bytes) -> None:
        """Store a snapshot as of `sequence` (which must be flushed already)."""
        ...

    def latest_snapshot(self) -> StoredSnapshot | None:
        """The newest snapshot, or None."""
        ...

    def save_reconciliation(self, ts_ns: int, report: Mapping[str, object]) -> None:
        """Store a reconciliation report (a JSON-ready mapping)."""
        ...

    def last_reconciliation(self) -> Mapping[str, object] | None:
        """The newest reconciliation report, or None."""
        ...

    def close(self) -> None:
        """Flush and release the connection."""
        ...
