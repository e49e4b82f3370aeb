"""Which snapshot start-up recovers from: the newest usable one, else the whole journal.

A snapshot is a cache of the journal's fold, never the truth. When the newest one is unusable (its
sha256 does not match its data, it does not decode, it claims a sequence the journal does not
reach), start-up falls back to the one before it, and to a fold of the whole journal when none is
usable, with one warning per snapshot skipped. The records a usable snapshot covers are not read
again (that is what a snapshot is for); every record after it is, and one that does not decode
still stops start-up naming its sequence number: a hole in the journal is never skipped.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from typing import Protocol

import attrs

from application.ports.event_journal import EventJournal, StoredSnapshot
from application.recovery.kernel_state import KernelState, RecoveryInterruptedError, SnapshotError, fold
from domain.instrument import Instrument, InstrumentId

__all__ = ["Recovered", "SkippedSnapshot", "SnapshotCandidate", "recover_latest"]


class SnapshotCandidate(Protocol):
    """A stored snapshot that has not been read yet (the newest first, from a durable journal)."""

    @property
    def label(self) -> str:
        """How an operator finds it, e.g. `snapshot 7 (sequence 1234)`."""
        ...

    @property
    def sequence(self) -> int:
        """The last journal record the snapshot claims to fold."""
        ...

    def load(self) -> StoredSnapshot:
        """Its bytes, checked against their digest (raises `SnapshotError` when they do not match)."""
        ...


@attrs.frozen
class SkippedSnapshot:
    """A snapshot start-up could not use, and why."""

    label: str
    why: str


@attrs.frozen
class Recovered:
    """The state at the journal's end, the snapshot it started from (None: none) and those skipped."""

    state: KernelState
    snapshot: str | None
    skipped: tuple[SkippedSnapshot, ...] = ()

    def warnings(self) -> tuple[str, ...]:
        """One line per skipped snapshot, naming it and what start-up used instead."""
        used = "the whole journal" if self.snapshot is None else f"{self.snapshot} and the journal after it"
        return tuple(f"{skip.label} is unusable ({skip.why}): recovered from {used}" for skip in self.skipped)


def recover_latest(
    journal: EventJournal,
    candidates: Iterable[SnapshotCandidate],
    instruments: Mapping[InstrumentId, Instrument],
    *,
    currency: str,
    starting_balance: Decimal,
    id_seed: int,
    should_stop: Callable[[], bool] | None = None,
) -> Recovered:
    """The newest usable snapshot plus every record after it (see the module doc).

    `should_stop` is asked between snapshots and while folding; True raises `RecoveryInterruptedError`.
    A record after the snapshot used that does not decode raises (the journal's own error).
    """
    skipped: list[SkippedSnapshot] = []
    last = journal.last_sequence
    for candidate in candidates:
        if should_stop is not None and should_stop():
            raise RecoveryInterruptedError("recovery interrupted while choosing a snapshot")
        if candidate.sequence > last:
            skipped.append(SkippedSnapshot(candidate.label, f"beyond the journal's last record {last}"))
            continue
        try:
            snapshot = candidate.load()
            state = KernelState.from_snapshot(
                snapshot.data,
                instruments,
                currency=currency,
                starting_balance=starting_balance,
                id_seed=id_seed,
            )
            if state.last_sequence != snapshot.sequence:
                raise SnapshotError(f"it holds the state as of record {state.last_sequence}")
        except SnapshotError as error:
            skipped.append(SkippedSnapshot(candidate.label, str(error)))
            continue
        fold(state, journal.read(state.last_sequence + 1), should_stop)
        return Recovered(state, candidate.label, tuple(skipped))
    state = KernelState(instruments, currency=currency, starting_balance=starting_balance, id_seed=id_seed)
    fold(state, journal.read(1), should_stop)
    return Recovered(state, None, tuple(skipped))
