"""Checking a journal end to end: contiguous sequence numbers from 1, every payload decodable.

A journal that cannot be replayed is worse than none: start-up would rebuild the wrong state.
`verify_journal` reads the whole `events` table in chunks (never all at once), so it runs on a
live database, on a backup before it is trusted, and on a source before it is restored. Start-up
reads only the records after the snapshot it uses; this reads them all, and every snapshot: run it
before a backup is trusted, and after anything happened to the database.

Problems are named by sequence number, by kind: gaps (the missing numbers), records whose payload
does not decode (and why), records of an event type this tradekernel does not know, records of a
payload schema version it does not read. Snapshots are checked against their sha256 and must not
claim a record beyond the journal; a bad snapshot does not make the journal unusable (start-up
falls back to an older snapshot, or to the whole journal), so it is reported apart.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import attrs
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from application.runtime.journal_decoding import (
    PAYLOAD_SCHEMA_VERSION,
    UndecodableEventError,
    decode_event_text,
)
from infrastructure.persistence.schema import events, snapshots
from infrastructure.persistence.sql_journal import READ_CHUNK

#: Problems of each kind named in full; the rest are counted.
SHOWN_PER_KIND = 10


@attrs.frozen
class JournalVerification:
    """What `verify_journal` found; `journal_ok` when the journal can be replayed as it is."""

    records: int
    first_sequence: int | None
    last_sequence: int | None
    gaps: tuple[tuple[int, int], ...]  # (first missing, last missing)
    undecodable: tuple[tuple[int, str], ...]  # (sequence, why)
    unknown_types: tuple[tuple[int, str], ...]  # (sequence, the type)
    unknown_versions: tuple[tuple[int, int], ...]  # (sequence, the payload schema version)
    schema_versions: tuple[int, ...]
    snapshots_checked: int
    bad_snapshots: tuple[tuple[int, str], ...]  # (snapshot id, what is wrong)

    @property
    def journal_ok(self) -> bool:
        """True when sequences run 1, 2, ... without a gap and every payload decodes."""
        return not (self.gaps or self.undecodable or self.unknown_types or self.unknown_versions)

    @property
    def ok(self) -> bool:
        """True when the journal is sound and every snapshot checks."""
        return self.journal_ok and not self.bad_snapshots

    def summary(self) -> str:
        """One line for a terminal: the verdict and a count of each kind of problem."""
        verdict = "ok" if self.ok else "NOT OK"
        span = f"{self.first_sequence}..{self.last_sequence}" if self.records else "empty"
        return (
            f"journal {verdict}: {self.records} records ({span}), {_missing(self.gaps)} missing in "
            f"{len(self.gaps)} gaps, {len(self.undecodable)} undecodable, {len(self.unknown_types)} "
            f"of unknown types, {len(self.unknown_versions)} of unknown schema versions; "
            f"{self.snapshots_checked} snapshots ({len(self.bad_snapshots)} bad)"
        )

    def problems(self) -> list[str]:
        """One line per kind of problem, naming the first `SHOWN_PER_KIND` by sequence number."""
        lines: list[str] = []
        if self.gaps:
            lines.append(
                _line(
                    f"gaps ({_missing(self.gaps)} records missing)",
                    [f"{first}..{last}" if first != last else str(first) for first, last in self.gaps],
                )
            )
        if self.undecodable:
            lines.append(_line("undecodable", [f"{seq} ({why})" for seq, why in self.undecodable]))
        if self.unknown_types:
            types = [f"{seq} ({kind})" for seq, kind in self.unknown_types]
            lines.append(_line("unknown event types", types))
        if self.unknown_versions:
            lines.append(
                _line(
                    f"unknown payload schema versions (this tradekernel reads 1 to {PAYLOAD_SCHEMA_VERSION})",
                    [f"{seq} (version {version})" for seq, version in self.unknown_versions],
                )
            )
        if self.bad_snapshots:
            lines.append(
                _line(
                    "bad snapshots (start-up skips them: it uses an older one or the whole journal)",
                    [why for _id, why in self.bad_snapshots],
                )
            )
        return lines


def _missing(gaps: Sequence[tuple[int, int]]) -> int:
    return sum(last - first + 1 for first, last in gaps)


def _line(title: str, items: Sequence[str]) -> str:
    shown = ", ".join(items[:SHOWN_PER_KIND])
    more = f", and {len(items) - SHOWN_PER_KIND} more" if len(items) > SHOWN_PER_KIND else ""
    return f"  {title}: {len(items)}: {shown}{more}"


def verify_journal(engine: Engine) -> JournalVerification:
    """Read every record and snapshot of the database and report what is wrong."""
    records = 0
    first: int | None = None
    previous = 0
    gaps: list[tuple[int, int]] = []
    found = _Problems()
    versions: set[int] = set()
    with engine.connect() as connection:
        while True:
            query = (
                sa.select(events.c.sequence, events.c.type, events.c.schema_version, events.c.payload)
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
                    gaps.append((previous + 1, row.sequence - 1))
                versions.add(row.schema_version)
                _check_record(row.sequence, row.type, row.schema_version, row.payload, found)
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
            label = f"snapshot {snapshot_id} (sequence {snap.sequence})"
            if hashlib.sha256(bytes(snap.data)).hexdigest() != snap.sha256:
                bad.append((snapshot_id, f"{label}: its data does not match its sha256"))
            elif snap.sequence > (last or 0):
                bad.append((snapshot_id, f"{label}: beyond the journal's last record {last or 0}"))
    return JournalVerification(
        records=records,
        first_sequence=first,
        last_sequence=last,
        gaps=tuple(gaps),
        undecodable=tuple(found.undecodable),
        unknown_types=tuple(found.unknown_types),
        unknown_versions=tuple(found.unknown_versions),
        schema_versions=tuple(sorted(versions)),
        snapshots_checked=len(ids),
        bad_snapshots=tuple(bad),
    )


@attrs.define
class _Problems:
    undecodable: list[tuple[int, str]] = attrs.field(factory=list)
    unknown_types: list[tuple[int, str]] = attrs.field(factory=list)
    unknown_versions: list[tuple[int, int]] = attrs.field(factory=list)


def _check_record(sequence: int, kind: str, version: int, payload: str, found: _Problems) -> None:
    """File the record under the first thing wrong with it, if anything."""
    if not 1 <= version <= PAYLOAD_SCHEMA_VERSION:
        found.unknown_versions.append((sequence, version))
        return
    try:
        event = decode_event_text(payload)
    except (UndecodableEventError, ValueError, TypeError) as error:
        text = str(error)
        if text.startswith("unknown event type"):
            found.unknown_types.append((sequence, text.removeprefix("unknown event type").strip()))
        else:
            found.undecodable.append((sequence, text))
        return
    if type(event).__name__ != kind:
        found.undecodable.append(
            (sequence, f"the payload holds {type(event).__name__}, the record says {kind}")
        )
