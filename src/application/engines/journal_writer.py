"""The engines' one way to journal: the clock's time, a stream id, the event, appended at once.

Journaling is a synchronous call, not a message, because it is the write-ahead step for money:
execution journals an order (and flushes) before it calls the venue, and must know the append
succeeded before it does. Under the deterministic runtime every append happens on one thread in
a fixed order; under a threaded runtime the lock keeps sequence numbers contiguous (the order of
records from different actors is then the order they were appended).
"""

from __future__ import annotations

import threading

from application.ports.clock import Clock
from application.ports.event_journal import EventJournal, JournalRecord


class JournalWriter:
    """Appends events to an `EventJournal`, stamped with the clock's time."""

    def __init__(self, journal: EventJournal, clock: Clock) -> None:
        self._journal = journal
        self._clock = clock
        self._lock = threading.Lock()

    @property
    def journal(self) -> EventJournal:
        """The journal written to."""
        return self._journal

    def record(self, stream_id: str, event: object) -> JournalRecord:
        """Append `event` to `stream_id` at the clock's time."""
        with self._lock:
            return self._journal.append(self._clock.now_ns(), stream_id, event)

    def record_durably(self, stream_id: str, event: object) -> JournalRecord:
        """Append `event` and flush: when this returns, the record survives a crash."""
        with self._lock:
            record = self._journal.append(self._clock.now_ns(), stream_id, event)
            self._journal.flush()
            return record
