"""The simulated venue's own durable store: the exchange's state, which outlives our process.

One SQLite file (WAL, synchronous=FULL), separate from the kernel's journal: the simulated venue
stands for an exchange, whose books of record survive a crash of the kernel. It keeps what an
exchange keeps durably: every order it received (closed ones too), every fill, the cash ledger,
the positions, its id counters, and an insert-only log of the submissions it received (one row
per submit, so a test can prove that no client order id was sent twice). It does not keep the
market book, which the feed rebuilds, nor requests and reports in flight (lost like packets).

The venue writes only what changed, in one transaction, before any report about the change
leaves it (see `SimulatedVenue`); the store itself knows nothing of the venue's types and takes
plain JSON text, so it can be read by a separate connection (or a person) at any time.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import attrs

__all__ = ["SimulatedVenueStore", "StoredVenueState", "VenueChanges"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS orders (client_order_id TEXT PRIMARY KEY, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS fills (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, fill_id TEXT NOT NULL UNIQUE, data TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS balances (currency TEXT PRIMARY KEY, amount TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS positions (instrument_id TEXT PRIMARY KEY, size TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS submissions (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, client_order_id TEXT NOT NULL, ts_ns INTEGER NOT NULL
);
CREATE TRIGGER IF NOT EXISTS submissions_insert_only BEFORE UPDATE ON submissions
BEGIN SELECT RAISE(ABORT, 'submissions are insert-only'); END;
CREATE TRIGGER IF NOT EXISTS submissions_no_delete BEFORE DELETE ON submissions
BEGIN SELECT RAISE(ABORT, 'submissions are insert-only'); END;
CREATE TRIGGER IF NOT EXISTS fills_insert_only BEFORE UPDATE ON fills
BEGIN SELECT RAISE(ABORT, 'fills are insert-only'); END;
"""


@attrs.frozen
class VenueChanges:
    """What changed since the last write: upserts (orders, balances, positions, meta) and appends."""

    orders: Mapping[str, Mapping[str, Any]] = attrs.field(factory=dict)  # client order id -> order
    fills: tuple[tuple[str, Mapping[str, Any]], ...] = ()  # (fill id, fill), in execution order
    balances: Mapping[str, str] = attrs.field(factory=dict)  # currency -> amount
    positions: Mapping[str, str] = attrs.field(factory=dict)  # instrument id -> signed size
    submissions: tuple[tuple[str, int], ...] = ()  # (client order id, ts_ns), in arrival order
    meta: Mapping[str, str] = attrs.field(factory=dict)

    @property
    def empty(self) -> bool:
        """True when there is nothing to write."""
        return not (
            self.orders or self.fills or self.balances or self.positions or self.submissions or self.meta
        )


@attrs.frozen
class StoredVenueState:
    """Everything the store holds, as plain data (orders and fills in the order they were written)."""

    meta: Mapping[str, str]
    orders: tuple[Mapping[str, Any], ...]
    fills: tuple[Mapping[str, Any], ...]
    balances: Mapping[str, str]
    positions: Mapping[str, str]
    submissions: tuple[tuple[str, int], ...]


class SimulatedVenueStore:
    """A SQLite file holding one simulated venue's durable state (see the module doc)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(self.path), isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)
        self.writes = 0  # transactions committed by this instance

    def close(self) -> None:
        """Close the connection (the file stays)."""
        with self._lock:
            self._db.close()

    def is_empty(self) -> bool:
        """True when no venue has written here yet."""
        with self._lock:
            return self._db.execute("SELECT 1 FROM meta LIMIT 1").fetchone() is None

    def write(self, changes: VenueChanges) -> None:
        """Write `changes` in one committed transaction (durable when this returns)."""
        if changes.empty:
            return
        with self._lock:
            db = self._db
            db.execute("BEGIN IMMEDIATE")
            try:
                db.executemany(
                    "INSERT INTO orders (client_order_id, data) VALUES (?, ?) "
                    "ON CONFLICT(client_order_id) DO UPDATE SET data = excluded.data",
                    [(key, _dumps(value)) for key, value in changes.orders.items()],
                )
                db.executemany(
                    "INSERT OR IGNORE INTO fills (fill_id, data) VALUES (?, ?)",
                    [(fill_id, _dumps(value)) for fill_id, value in changes.fills],
                )
                db.executemany(
                    "INSERT INTO balances (currency, amount) VALUES (?, ?) "
                    "ON CONFLICT(currency) DO UPDATE SET amount = excluded.amount",
                    list(changes.balances.items()),
                )
                db.executemany(
                    "INSERT INTO positions (instrument_id, size) VALUES (?, ?) "
                    "ON CONFLICT(instrument_id) DO UPDATE SET size = excluded.size",
                    list(changes.positions.items()),
                )
                db.executemany(
                    "INSERT INTO submissions (client_order_id, ts_ns) VALUES (?, ?)", changes.submissions
                )
                db.executemany(
                    "INSERT INTO meta (key, value) VALUES (?, ?) "
                    "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                    list(changes.meta.items()),
                )
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
            self.writes += 1

    def load(self) -> StoredVenueState:
        """Everything stored (empty collections for a new file)."""
        with self._lock:
            db = self._db
            return StoredVenueState(
                meta=dict(db.execute("SELECT key, value FROM meta").fetchall()),
                orders=tuple(
                    json.loads(row[0]) for row in db.execute("SELECT data FROM orders ORDER BY rowid")
                ),
                fills=tuple(json.loads(row[0]) for row in db.execute("SELECT data FROM fills ORDER BY seq")),
                balances=dict(db.execute("SELECT currency, amount FROM balances").fetchall()),
                positions=dict(db.execute("SELECT instrument_id, size FROM positions").fetchall()),
                submissions=tuple(
                    (str(cid), int(ts))
                    for cid, ts in db.execute("SELECT client_order_id, ts_ns FROM submissions ORDER BY seq")
                ),
            )

    def submissions(self) -> tuple[tuple[str, int], ...]:
        """Every submission received, (client order id, ts_ns), in arrival order."""
        with self._lock:
            rows: Iterable[tuple[str, int]] = self._db.execute(
                "SELECT client_order_id, ts_ns FROM submissions ORDER BY seq"
            ).fetchall()
            return tuple((str(cid), int(ts)) for cid, ts in rows)


def _dumps(value: Mapping[str, Any]) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))
