"""Per-connection frame sequencing for Coinbase, and which books are stale until a snapshot.

Coinbase numbers the frames of a WebSocket connection with `sequence_num`, across all channels,
from 0. The tracker classifies each frame against the highest number seen on its connection:

- the next number (or the connection's first frame): accepted, nothing to report;
- a higher number: a GAP. The frame is accepted, and every book that came from the connection is
  stale until that instrument's next snapshot (live code resubscribes; replay waits);
- a number seen before: a DUPLICATE, to drop;
- a lower number never seen (a frame skipped by an earlier gap arriving late, or one older than
  the connection's first frame): OUT_OF_ORDER, to drop (its book is already stale).

Numbers further back than `window` cannot be told apart and are reported OUT_OF_ORDER.

Silence: `check_silence(now_ns)` reports each connection with no frame for more than
`max_silence_ns` (the heartbeats channel sends one a second, so a healthy connection is never
quiet) and makes its books stale, once per silent spell.

Staleness is per instrument: a book "comes from" the connection its last snapshot arrived on. An
instrument is *live* when it has had a snapshot and has not gone stale since.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from domain.instrument import InstrumentId

DEFAULT_MAX_SILENCE_NS = 5_000_000_000
DEFAULT_WINDOW = 65_536


class SequenceVerdict(enum.Enum):
    """What a frame's sequence number says about the stream (in-order frames give no verdict)."""

    GAP = "gap"  # numbers were skipped: accepted, books of the connection go stale
    DUPLICATE = "duplicate"  # seen before: drop
    OUT_OF_ORDER = "out_of_order"  # lower than the last and not seen: drop


@dataclass(frozen=True, slots=True)
class SequenceCheck:
    """A sequencing problem: the verdict, the number that was due and the one received.

    For a GAP, `stale_instruments` are the instruments whose book came from the connection (all of
    them are stale now, sorted).
    """

    verdict: SequenceVerdict
    connection_id: str
    expected: int
    received: int
    stale_instruments: tuple[InstrumentId, ...] = ()

    @property
    def accepted(self) -> bool:
        """True when the frame is to be processed (a gap), False when it is to be dropped."""
        return self.verdict is SequenceVerdict.GAP

    @property
    def missing(self) -> int:
        """How many frames a gap skipped (0 for other verdicts)."""
        return self.received - self.expected if self.verdict is SequenceVerdict.GAP else 0


@dataclass(frozen=True, slots=True)
class SilenceReport:
    """A connection with no frame for too long, and the instruments made stale by it (sorted)."""

    connection_id: str
    last_frame_ns: int
    silent_for_ns: int
    stale_instruments: tuple[InstrumentId, ...]


@dataclass(slots=True)
class _Connection:
    first: int | None = None
    last: int | None = None
    last_frame_ns: int = 0
    silent: bool = False
    missing: set[int] = field(default_factory=set)
    instruments: set[InstrumentId] = field(default_factory=set)


class SequenceTracker:
    """Sequence numbers, silence and book staleness for every connection of one venue.

    `expected_first`: the number a connection must start at (Coinbase: 0); None (the default)
    accepts any first number, e.g. for a recording cut mid-stream.
    """

    def __init__(
        self,
        *,
        max_silence_ns: int = DEFAULT_MAX_SILENCE_NS,
        window: int = DEFAULT_WINDOW,
        expected_first: int | None = None,
    ) -> None:
        if max_silence_ns <= 0:
            raise ValueError(f"max_silence_ns must be positive, got {max_silence_ns}")
        if window <= 0:
            raise ValueError(f"window must be positive, got {window}")
        self.max_silence_ns = max_silence_ns
        self.window = window
        self.expected_first = expected_first
        self._connections: dict[str, _Connection] = {}
        self._book_connection: dict[InstrumentId, str] = {}
        self._stale: set[InstrumentId] = set()
        #: Changes whenever `is_live` may change for some instrument (callers cache `is_live` by it).
        self.generation = 0

    # --- sequencing --------------------------------------------------------------------------

    def observe(
        self, connection_id: str, sequence_num: int | None, receive_ts_ns: int
    ) -> SequenceCheck | None:
        """Record a frame; None when it is in order (or carries no number), else the problem.

        Every frame, even one to drop, proves the connection is alive (ends a silent spell).
        """
        connection = self._connections.get(connection_id)
        if connection is None:
            connection = self._connections[connection_id] = _Connection()
        connection.last_frame_ns = receive_ts_ns
        connection.silent = False
        if sequence_num is None:
            return None
        last = connection.last
        if last is not None and sequence_num == last + 1:
            connection.last = sequence_num
            return None
        if last is None:
            connection.first = connection.last = sequence_num
            expected = self.expected_first
            if expected is None or sequence_num == expected:
                return None
            if sequence_num < expected:
                connection.first = connection.last = None
                return SequenceCheck(SequenceVerdict.OUT_OF_ORDER, connection_id, expected, sequence_num)
            connection.first = expected
            return self._gap(connection_id, connection, expected, sequence_num)
        if sequence_num > last:
            connection.last = sequence_num
            return self._gap(connection_id, connection, last + 1, sequence_num)
        expected = last + 1
        if sequence_num in connection.missing:
            connection.missing.discard(sequence_num)
            return SequenceCheck(SequenceVerdict.OUT_OF_ORDER, connection_id, expected, sequence_num)
        first = connection.first if connection.first is not None else last
        if sequence_num < first or sequence_num < last - self.window:
            return SequenceCheck(SequenceVerdict.OUT_OF_ORDER, connection_id, expected, sequence_num)
        return SequenceCheck(SequenceVerdict.DUPLICATE, connection_id, expected, sequence_num)

    def _gap(
        self, connection_id: str, connection: _Connection, expected: int, received: int
    ) -> SequenceCheck:
        missing = connection.missing
        missing.update(range(max(expected, received - self.window), received))
        if len(missing) > self.window:
            horizon = received - self.window
            connection.missing = {number for number in missing if number >= horizon}
        stale = self._make_stale(connection)
        return SequenceCheck(SequenceVerdict.GAP, connection_id, expected, received, stale)

    def last_sequence(self, connection_id: str) -> int | None:
        """The highest sequence number seen on a connection (None if none yet)."""
        connection = self._connections.get(connection_id)
        return None if connection is None else connection.last

    # --- silence -----------------------------------------------------------------------------

    def check_silence(self, now_ns: int) -> list[SilenceReport]:
        """Connections silent for more than `max_silence_ns` at `now_ns`, each reported once a spell.

        Their books become stale until the next snapshot.
        """
        reports: list[SilenceReport] = []
        for connection_id, connection in self._connections.items():
            quiet = now_ns - connection.last_frame_ns
            if connection.silent or quiet <= self.max_silence_ns:
                continue
            connection.silent = True
            stale = self._make_stale(connection)
            reports.append(SilenceReport(connection_id, connection.last_frame_ns, quiet, stale))
        return reports

    def is_silent(self, connection_id: str) -> bool:
        """True while a connection is in a silent spell reported by `check_silence`."""
        connection = self._connections.get(connection_id)
        return connection is not None and connection.silent

    # --- books -------------------------------------------------------------------------------

    def snapshot_received(self, connection_id: str, instrument_id: InstrumentId) -> None:
        """A snapshot for `instrument_id` arrived on `connection_id`: its book is live, from there."""
        previous = self._book_connection.get(instrument_id)
        if previous is not None and previous != connection_id:
            # Invariant: an instrument's book connection is known and lists the instrument.
            self._connections[previous].instruments.discard(instrument_id)
        connection = self._connections.get(connection_id)
        if connection is None:
            connection = self._connections[connection_id] = _Connection()
        connection.instruments.add(instrument_id)
        self._book_connection[instrument_id] = connection_id
        self._stale.discard(instrument_id)
        self.generation += 1

    def is_live(self, instrument_id: InstrumentId) -> bool:
        """True when the instrument has had a snapshot and has not gone stale since."""
        return instrument_id in self._book_connection and instrument_id not in self._stale

    def is_stale(self, instrument_id: InstrumentId) -> bool:
        """True when the instrument's book went stale and waits for a snapshot."""
        return instrument_id in self._stale

    def stale_instruments(self, connection_id: str | None = None) -> frozenset[InstrumentId]:
        """Instruments waiting for a snapshot (of one connection, or of all)."""
        if connection_id is None:
            return frozenset(self._stale)
        connection = self._connections.get(connection_id)
        if connection is None:
            return frozenset()
        return frozenset(connection.instruments & self._stale)

    def instruments_of(self, connection_id: str) -> frozenset[InstrumentId]:
        """Instruments whose book came from a connection (stale or not)."""
        connection = self._connections.get(connection_id)
        return frozenset() if connection is None else frozenset(connection.instruments)

    def mark_stale(self, connection_id: str) -> tuple[InstrumentId, ...]:
        """Make every book of a connection stale; return those instruments, sorted."""
        connection = self._connections.get(connection_id)
        return () if connection is None else self._make_stale(connection)

    def forget(self, connection_id: str) -> tuple[InstrumentId, ...]:
        """A connection closed: its books go stale and its numbering is forgotten; return them."""
        connection = self._connections.pop(connection_id, None)
        if connection is None:
            return ()
        stale = self._make_stale(connection)
        for instrument_id in connection.instruments:  # books that came from it, and only those
            del self._book_connection[instrument_id]
        self.generation += 1
        return stale

    def _make_stale(self, connection: _Connection) -> tuple[InstrumentId, ...]:
        self._stale.update(connection.instruments)
        self.generation += 1
        return tuple(sorted(connection.instruments))
