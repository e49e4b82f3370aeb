"""Online backup and checked restore of an SQLite journal.

A backup uses SQLite's online backup API (through the engine's raw DBAPI connection), which
copies a consistent snapshot page by page while the kernel keeps writing in WAL mode; the copy is
then checked (`PRAGMA integrity_check` and `verify_journal`) before it is called a backup. An
existing file is never overwritten, and the copy is one self-contained file (not in WAL mode). A
journal with a bad snapshot is still copied (start-up skips a bad snapshot): the result lists it.
A restore checks its source the same way (and that its schema is not newer than this code),
without leaving `-wal`/`-shm` files beside it, BEFORE it touches the target; it refuses to
replace an existing database unless forced, and re-verifies the result. PostgreSQL has its own
tools: `pg_dump` and `pg_restore`, which the errors name.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import URL, Engine

from infrastructure.persistence.database import open_engine, parse_url, safe_url, sqlite_path
from infrastructure.persistence.errors import BackupError, PersistenceError
from infrastructure.persistence.migrations import current_revision, head_revision, is_known_revision
from infrastructure.persistence.verify import JournalVerification, verify_journal


def _libpq_url(parsed: URL) -> str:
    return parsed.set(drivername="postgresql").render_as_string(hide_password=True)


def _sqlite_file(url: str, *, action: str) -> Path:
    parsed = parse_url(url)
    path = sqlite_path(parsed)
    if path is None:
        if action == "backup":
            raise BackupError(
                f"backup of {safe_url(parsed)} is not supported here: use pg_dump, e.g. "
                f"`pg_dump --format=custom --file=tradekernel.dump '{_libpq_url(parsed)}'`"
            )
        raise BackupError(
            f"restore into {safe_url(parsed)} is not supported here: use pg_restore, e.g. "
            f"`pg_restore --clean --if-exists --dbname '{_libpq_url(parsed)}' tradekernel.dump`"
        )
    return path


def _read_only_uri(path: Path) -> str:
    """A URI that opens `path` read-only and, when no write-ahead log lies beside it, as immutable.

    Immutable: SQLite then takes no lock and creates no `-wal`/`-shm` files beside a backup that is
    only being checked; a file with a `-wal` beside it is read through it (its content may be there).
    """
    immutable = "" if Path(f"{path}-wal").exists() else "&immutable=1"
    return f"{path.resolve().as_uri()}?mode=ro{immutable}".replace("file://", "file:", 1)


@contextlib.contextmanager
def _read_only_engine(path: Path) -> Iterator[Engine]:
    """An engine on an SQLite file that never writes to it (no pragmas, mode=ro, see `_read_only_uri`)."""
    uri = _read_only_uri(path)
    engine = sa.create_engine(
        "sqlite://", creator=lambda: sqlite3.connect(uri, uri=True, check_same_thread=False)
    )
    try:
        yield engine
    finally:
        engine.dispose()


def _check_copy(path: Path) -> JournalVerification:
    """integrity_check and verify_journal on an SQLite file; raises `BackupError` naming the problem.

    A bad snapshot does not fail the check (start-up skips it); the verification lists it.
    """
    try:
        with _read_only_engine(path) as engine:
            with engine.connect() as connection:
                integrity = [row[0] for row in connection.exec_driver_sql("PRAGMA integrity_check").all()]
            if integrity != ["ok"]:
                raise BackupError(f"{path} fails integrity_check: {'; '.join(integrity[:3])}")
            if current_revision(engine) is None:
                raise BackupError(f"{path} holds no tradekernel journal (no schema revision)")
            verification = verify_journal(engine)
    except sa.exc.DBAPIError as exc:
        raise BackupError(f"{path} cannot be read as an SQLite journal: {exc.orig}") from exc
    if not verification.journal_ok:
        first = verification.problems()[0].strip()
        raise BackupError(f"{path}: {verification.summary()}; {first} (run `journal verify` for all)")
    return verification


def backup_database(url: str, dest: Path) -> JournalVerification:
    """Copy the SQLite journal at `url` to the new file `dest` (online) and verify the copy."""
    source = _sqlite_file(url, action="backup")
    if not source.is_file():
        raise BackupError(f"no database to back up at {source}")
    if dest.exists():
        raise BackupError(f"backup target {dest} already exists: choose a new file")
    engine = open_engine(url)
    try:
        with engine.connect() as connection:
            raw = connection.connection.driver_connection
            if not isinstance(raw, sqlite3.Connection):  # pragma: no cover - sqlite URLs use sqlite3
                raise BackupError(f"unexpected SQLite driver connection {type(raw).__name__}")
            target = sqlite3.connect(dest)
            try:
                raw.backup(target)
                # One self-contained file: the copy leaves WAL mode (restore puts it back in).
                target.execute("PRAGMA journal_mode=DELETE")
            finally:
                target.close()
    except sqlite3.Error as exc:
        dest.unlink(missing_ok=True)
        raise BackupError(f"backup of {source} to {dest} failed: {exc}") from exc
    finally:
        engine.dispose()
    try:
        return _check_copy(dest)
    except PersistenceError:
        dest.unlink(missing_ok=True)  # a copy that fails its checks is not a backup
        raise


def restore_database(src: Path, url: str, *, force: bool = False) -> JournalVerification:
    """Replace the SQLite journal at `url` with the checked backup `src` (an existing one only if forced)."""
    target = _sqlite_file(url, action="restore")
    if not src.is_file():
        raise BackupError(f"no backup at {src}")
    _check_copy(src)
    with _read_only_engine(src) as engine:
        revision = current_revision(engine)
    if revision is None or not is_known_revision(revision):
        raise BackupError(
            f"backup {src} has schema {revision}, newer than this tradekernel ({head_revision()}): "
            "upgrade tradekernel"
        )
    if target.exists() and not force:
        raise BackupError(f"{target} already exists: pass --force to replace it (stop the kernel first)")
    if target.resolve() == src.resolve():
        raise BackupError(f"{src} cannot be restored onto itself")
    source_connection = sqlite3.connect(_read_only_uri(src), uri=True)
    try:
        target_connection = sqlite3.connect(target)
        try:
            source_connection.backup(target_connection)
        finally:
            target_connection.close()
    except sqlite3.Error as exc:
        raise BackupError(f"restore of {src} into {target} failed: {exc}") from exc
    finally:
        source_connection.close()
    restored = open_engine(url)  # also puts the restored file in WAL mode
    restored.dispose()
    return _check_copy(target)
