"""One writer per journal: the lock a running kernel holds on its database, and offline commands take.

Two kernels appending to one journal would interleave sequence numbers and send orders neither
knows about; an offline `trading resume` beside a running kernel would be overwritten by the
kernel's own state. So `start` holds this lock for its whole life, and the commands that write
the journal or replace the database (`trading`, `restore`, `db upgrade`) take it for their
duration and refuse, in one line, when it is held.

The lock dies with its process, however it dies (SIGKILL included), so it never needs clearing:
- SQLite: an exclusive `flock` on the file `<database>.lock` beside the database (the file stays;
  it holds the pid of the last holder, for the message);
- PostgreSQL: a session advisory lock (`pg_try_advisory_lock`) held on a connection of its own,
  scoped to the database.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import IO

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from infrastructure.persistence.database import open_engine, parse_url, safe_url, sqlite_path
from infrastructure.persistence.errors import DatabaseUnavailableError, KernelRunningError

#: The advisory lock key on PostgreSQL ("tkjrnl" in ASCII).
ADVISORY_LOCK_KEY = int.from_bytes(b"tkjrnl", "big")


def lock_path(database: Path) -> Path:
    """The lock file of an SQLite database: `<database>.lock` beside it."""
    return database.with_name(database.name + ".lock")


class KernelLock:
    """The exclusive lock on a journal database (see the module doc); `release()` or use `with`."""

    def __init__(self, url: str, *, holder: str) -> None:
        """Take the lock on the database at `url` for `holder` (e.g. "start"), or raise
        `KernelRunningError` naming who holds it."""
        parsed = parse_url(url)
        self._file: IO[str] | None = None
        self._engine: Engine | None = None
        self._connection: Connection | None = None
        path = sqlite_path(parsed)
        if path is not None:
            self._lock_file(path, holder)
        else:
            self._lock_server(url)

    def _lock_file(self, database: Path, holder: str) -> None:
        path = lock_path(database)
        try:
            handle = path.open("a+", encoding="utf-8")
        except OSError as error:
            raise DatabaseUnavailableError(f"cannot open the lock file {path}: {error.strerror}") from None
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.seek(0)
            owner = handle.read().strip() or "another process"
            handle.close()
            raise KernelRunningError(
                f"{database} is in use by {owner}: stop it first (a kernel holds {path} while it runs)"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{holder} (pid {os.getpid()})\n")
        handle.flush()
        self._file = handle

    def _lock_server(self, url: str) -> None:
        engine = open_engine(url)
        try:
            connection = engine.connect()
            taken = connection.execute(
                sa.text("SELECT pg_try_advisory_lock(:key)"), {"key": ADVISORY_LOCK_KEY}
            ).scalar_one()
            connection.commit()
        except BaseException:
            engine.dispose()
            raise
        if not taken:
            connection.close()
            engine.dispose()
            raise KernelRunningError(
                f"{safe_url(url)} is in use by another kernel or command: stop it first "
                "(a kernel holds an advisory lock on its database while it runs)"
            )
        self._engine = engine
        self._connection = connection

    def release(self) -> None:
        """Let go of the lock (idempotent)."""
        handle, self._file = self._file, None
        if handle is not None:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
            handle.close()
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.close()  # the session ends: PostgreSQL releases its advisory locks
        engine, self._engine = self._engine, None
        if engine is not None:
            engine.dispose()

    def __enter__(self) -> KernelLock:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.release()
