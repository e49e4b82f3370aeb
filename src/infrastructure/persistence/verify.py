"""Checking a journal end to end: contiguous sequence numbers from 1, every payload decodable.

A journal that cannot be replayed is worse than none: start-up would rebuild the wrong state.
`verify_journal` reads the whole `events` table in chunks (never all at once), so it runs on a
live database, on a backup before it is trusted, and on a source before it is restored. It also
checks every snapshot's sha256 and that no snapshot claims a sequence beyond the journal.
"""

from __future__ import annotations

import hashlib

import attrs
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from infrastructure.persistence.errors import CorruptRecordError
from infrastructure.persistence.schema import events, snapshots
from infrastructure.persistence.sql_journal import READ_CHUNK, decode_row


@attrs.frozen
class JournalVerification:
    """What `verify_journal` found; `ok` when the journal can be replayed as it is."""

    records: int
    first_sequence: int | None
    last_sequence: int | None
    gaps: tuple[tuple[int, int], ...]  # (last present, next present); (0, n) when it starts at n > 1
    undecodable: tuple[tuple[int, str], ...]  # (sequence, error)
    schema_versions: tuple[int, ...]
    snapshots_checked: int
    bad_snapshots: tuple[tuple[int, str], ...]  # (snapshot id, what is wrong)

    @property
    def ok(self) -> bool:
        """True when sequences run 1, 2, ... without a gap, every payload decodes and snapshots check."""
        return not (self.gaps or self.undecodable or self.bad_snapshots)

    def summary(self) -> str:
        """One line for a terminal."""
        verdict = "ok" if self.ok else "NOT OK"
        return (
            f"journal {verdict}: {self.records} records ({self.first_sequence}..{self.last_sequence}), "
            f"{len(self.gaps)} gaps, {len(self.undecodable)} undecodable, "
            f"{self.snapshots_checked} snapshots ({len(self.bad_snapshots)} bad)"
        )


def verify_journal(engine: Engine) -> JournalVerification:
    """Read every record and snapshot of the database and report what is wrong."""
    records = 0
    first: int | None = None
    previous = 0
    gaps: list[tuple[int, int]] = []
    undecodable: list[tuple[int, str]] = []
    versions: set[int] = set()
    with engine.connect() as connection:
        while True:
            query = (
                sa.select(events.c.sequence, events.c.schema_version, events.c.payload)
                .where(events.c.sequence > previous)
                .order_by(events.c.sequence)
                .limit(READ_CHUNK)
            )
            rows = connection.execute(query).all()
            if not rows:
                break
            for row in rows:
                if first is None:
                    first = row.sequence
                if row.sequence != previous + 1:
                    gaps.append((previous, row.sequence))
                versions.add(row.schema_version)
                try:
                    decode_row(row.sequence, row.schema_version, row.payload)
                except CorruptRecordError as exc:
                    undecodable.append((row.sequence, str(exc)))
                records += 1
                previous = row.sequence
        last = previous if records else None
        bad: list[tuple[int, str]] = []
        ids = connection.execute(sa.select(snapshots.c.id).order_by(snapshots.c.id)).scalars().all()
        for snapshot_id in ids:
            snap = connection.execute(
                sa.select(snapshots.c.sequence, snapshots.c.sha256, snapshots.c.data).where(
                    snapshots.c.id == snapshot_id
                )
            ).one()
            if hashlib.sha256(bytes(snap.data)).hexdigest() != snap.sha256:
                bad.append(
                    (snapshot_id, f"snapshot {snapshot_id} (sequence {snap.sequence}): sha256 mismatch")
                )
            elif snap.sequence > (last or 0):
                bad.append(
                    (
                        snapshot_id,
                        f"snapshot {snapshot_id} is at sequence {snap.sequence}, beyond the journal",
                    )
                )
    return JournalVerification(
        records=records,
        first_sequence=first,
        last_sequence=last,
        gaps=tuple(gaps),
        undecodable=tuple(undecodable),
        schema_versions=tuple(sorted(versions)),
        snapshots_checked=len(ids),
        bad_snapshots=tuple(bad),
    )
