"""Opening the journal's database: SQLite files by default, PostgreSQL in production.

SQLite is configured for a write-ahead journal of money: WAL mode (readers never block the
writer, and a backup can run while the kernel writes), `synchronous=FULL` (a committed
transaction survives a power cut, not only a process crash), a 5 s busy timeout (a second
process, e.g. `status` or a backup, waits instead of failing) and foreign keys on. The pragmas
are set on every new DBAPI connection by a connect listener, so every pooled connection has them.

Failures to open are turned into one-line `PersistenceError`s: a bad URL, an unreachable server,
a file that is not a database.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError

from infrastructure.persistence.errors import (
    DatabaseUnavailableError,
    DatabaseUrlError,
    NotADatabaseError,
)

#: The default database: a file in the working directory.
DEFAULT_DATABASE_URL = "sqlite:///tradekernel.db"

#: Seconds to wait for a PostgreSQL server before giving up.
CONNECT_TIMEOUT_S = 5

_SQLITE_BUSY_TIMEOUT_MS = 5000


def parse_url(url: str) -> URL:
    """The parsed URL, with `postgresql://` mapped to the psycopg 3 driver; raises `DatabaseUrlError`."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise DatabaseUrlError(f"not a database URL: {url!r} (e.g. {DEFAULT_DATABASE_URL})") from exc
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        if parsed.get_driver_name() != "pysqlite":
            raise DatabaseUrlError(f"unsupported SQLite driver in {url!r}: use sqlite:///path/to/file.db")
        if not parsed.database or parsed.database == ":memory:" or parsed.database.startswith("file:"):
            raise DatabaseUrlError(
                f"the journal needs an SQLite file, not {url!r}: use sqlite:///path/file.db"
            )
        return parsed
    if backend in ("postgresql", "postgres"):
        if parsed.drivername in ("postgresql", "postgres"):
            parsed = parsed.set(drivername="postgresql+psycopg")
        if parsed.get_driver_name() != "psycopg":
            raise DatabaseUrlError(
                f"unsupported PostgreSQL driver in {safe_url(parsed)}: use postgresql+psycopg://"
            )
        return parsed
    raise DatabaseUrlError(
        f"unsupported database {backend!r} in {url!r}: use sqlite:/// or postgresql+psycopg://"
    )


def safe_url(url: str | URL) -> str:
    """The URL as text with its password hidden (for messages and logs); text that is no URL as is."""
    try:
        parsed = url if isinstance(url, URL) else make_url(url)
    except ArgumentError:
        return str(url)
    return parsed.render_as_string(hide_password=True)


def sqlite_path(url: str | URL) -> Path | None:
    """The file of an SQLite URL, or None for another database."""
    parsed = parse_url(url) if isinstance(url, str) else url
    if parsed.get_backend_name() != "sqlite" or parsed.database is None:
        return None
    return Path(parsed.database)


def _set_sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute(f"PRAGMA busy_timeout={_SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
    finally:
        cursor.close()


def open_engine(url: str) -> Engine:
    """An engine for `url`, connected once to prove the database is there and usable."""
    parsed = parse_url(url)
    shown = safe_url(parsed)
    if parsed.get_backend_name() == "sqlite":
        path = sqlite_path(parsed)
        if path is not None and path.exists() and path.is_dir():
            raise NotADatabaseError(f"{path} is a directory, not an SQLite database")
        engine = sa.create_engine(parsed)
        event.listen(engine, "connect", _set_sqlite_pragmas)
    else:
        engine = sa.create_engine(
            parsed, pool_pre_ping=True, connect_args={"connect_timeout": CONNECT_TIMEOUT_S}
        )
    try:
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
    except NoSuchModuleError as exc:  # pragma: no cover - the drivers are dependencies
        engine.dispose()
        raise DatabaseUrlError(f"no driver for {shown}: {exc}") from exc
    except (DBAPIError, sqlite3.Error) as exc:
        engine.dispose()
        original = exc.orig if isinstance(exc, DBAPIError) else exc
        text = _first_line(original)
        if parsed.get_backend_name() == "sqlite":
            if "not a database" in text or "malformed" in text:
                raise NotADatabaseError(f"{parsed.database} is not an SQLite database ({text})") from exc
            raise DatabaseUnavailableError(f"cannot open SQLite database {parsed.database}: {text}") from exc
        raise DatabaseUnavailableError(f"cannot connect to {shown}: {text}") from exc
    return engine


def _first_line(exc: BaseException | None) -> str:
    text = str(exc).strip() if exc is not None else ""
    return text.splitlines()[0] if text else type(exc).__name__
