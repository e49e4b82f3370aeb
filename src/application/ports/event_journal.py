"""The event journal port: every event the kernel acts on, in order, append-only.

The persistence issue makes it durable (SQLAlchemy); until then `InMemoryJournal` keeps records
in memory. Orders are journaled before they are sent (write-ahead for money).
"""

from __future__ import annotations

from collections.abc import Iterator
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
