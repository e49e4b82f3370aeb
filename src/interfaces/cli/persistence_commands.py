"""Commands on the journal database: `status`, `backup`, `restore`, `journal verify`, `db upgrade`.

Every command takes `--db URL` (default: `$TK_DATABASE_URL`, else `sqlite:///tradekernel.db` in
the working directory, the same default as `start`). None of them needs the kernel to be
stopped except `restore` (which replaces the database) and `db upgrade`: those take the
database's kernel lock and refuse while a kernel holds it. Every failure a user can cause (a
malformed URL, an unsupported database, a missing file) is one line on stderr and exit 2.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import click
from sqlalchemy.engine import Engine

from infrastructure.persistence.backup import backup_database, restore_database
from infrastructure.persistence.database import DEFAULT_DATABASE_URL, open_engine, safe_url, sqlite_path
from infrastructure.persistence.errors import PersistenceError
from infrastructure.persistence.kernel_lock import KernelLock
from infrastructure.persistence.migrations import check_schema, current_revision, head_revision, upgrade
from infrastructure.persistence.status_report import read_status, render_status
from infrastructure.persistence.verify import JournalVerification, verify_journal
from interfaces.cli.errors import UserError

DATABASE_ENV = "TK_DATABASE_URL"
_F = TypeVar("_F", bound=Any)


def default_database_url() -> str:
    """`$TK_DATABASE_URL`, else the SQLite file `tradekernel.db` in the working directory."""
    return os.environ.get(DATABASE_ENV) or DEFAULT_DATABASE_URL


def database_option(function: _F) -> _F:
    """The `--db URL` option every persistence command shares."""
    return click.option(
        "--db",
        "database_url",
        default=None,
        metavar="URL",
        help=f"Journal database URL (default: ${DATABASE_ENV}, else {DEFAULT_DATABASE_URL}).",
    )(function)


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn a persistence failure (a bad URL, a missing driver, a corrupt file...) into one line, exit 2."""
    try:
        yield
    except PersistenceError as error:
        raise UserError(str(error)) from None


def _open_existing(url: str) -> Engine:
    """An engine on a database that must exist: a missing SQLite file is a `UserError`, never created."""
    path = sqlite_path(url)
    if path is not None and not path.exists():
        raise UserError(f"{path}: no journal database here (start the kernel first, or pass --db)")
    return open_engine(url)


@contextmanager
def existing_database(url: str) -> Iterator[Engine]:
    """An engine on a journal database that must already exist, at this tradekernel's schema.

    Never creates a file by looking at it; every failure is a `UserError`.
    """
    with user_errors():
        engine = _open_existing(url)
    try:
        with user_errors():
            check_schema(engine, create=False)
        yield engine
    finally:
        engine.dispose()


def kernel_lock(url: str, holder: str) -> KernelLock:
    """The database's kernel lock for `holder`; refuses (one line) when a kernel or command holds it."""
    with user_errors():
        return KernelLock(url, holder=holder)


@click.command("status")
@database_option
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
def status(*, database_url: str | None, as_json: bool) -> None:
    """Trading state, breaker, open orders, positions, balances, journal, last reconciliation."""
    url = database_url or default_database_url()
    with existing_database(url) as engine, user_errors():
        document = read_status(engine)
    document["database"] = safe_url(url)
    if as_json:
        click.echo(json.dumps(document, indent=2, sort_keys=True))
    else:
        click.echo(f"database         {document['database']}")
        click.echo(render_status(document))


def _snapshot_warnings(verification: JournalVerification) -> None:
    for _snapshot_id, why in verification.bad_snapshots:
        click.echo(f"warning: {why} (start-up skips it; the journal is sound)", err=True)


@click.command("backup")
@database_option
@click.argument("dest", type=click.Path(path_type=Path, dir_okay=False))
def backup(*, database_url: str | None, dest: Path) -> None:
    """Copy the journal database to DEST (SQLite online backup, checked; safe while running)."""
    url = database_url or default_database_url()
    with user_errors():
        verification = backup_database(url, dest)
    _snapshot_warnings(verification)
    click.echo(f"backed up {safe_url(url)} to {dest}: {verification.summary()}")


@click.command("restore")
@database_option
@click.argument("src", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--force", is_flag=True, help="Replace an existing database (stop the kernel first).")
def restore(*, database_url: str | None, src: Path, force: bool) -> None:
    """Restore the journal database from a backup SRC (checked before and after)."""
    url = database_url or default_database_url()
    with user_errors():
        # SQLite only (restore_database names pg_restore for PostgreSQL): lock the file's database.
        lock = KernelLock(url, holder="restore") if sqlite_path(url) is not None else None
        try:
            verification = restore_database(src, url, force=force)
        finally:
            if lock is not None:
                lock.release()
    _snapshot_warnings(verification)
    click.echo(f"restored {src} to {safe_url(url)}: {verification.summary()}")


@click.group("journal")
def journal() -> None:
    """Inspect the event journal."""


@journal.command("verify")
@database_option
def journal_verify(*, database_url: str | None) -> None:
    """Check every record (contiguous sequences, payloads that decode) and snapshot (exit 1 if not ok).

    Problems are named by sequence number (the first few of each kind, and how many).
    """
    url = database_url or default_database_url()
    with existing_database(url) as engine, user_errors():
        verification = verify_journal(engine)
    click.echo(verification.summary())
    for line in verification.problems():
        click.echo(line)
    if not verification.ok:
        raise SystemExit(1)


@click.group("db")
def db() -> None:
    """Journal database schema (Alembic migrations)."""


@db.command("upgrade")
@database_option
def db_upgrade(*, database_url: str | None) -> None:
    """Migrate the database schema to this tradekernel's version (stop the kernel first)."""
    url = database_url or default_database_url()
    with user_errors():
        engine = open_engine(url)
    try:
        with kernel_lock(url, "db upgrade"), user_errors():
            before = current_revision(engine)
            upgrade(engine)
            after = current_revision(engine)
    finally:
        engine.dispose()
    click.echo(f"{safe_url(url)}: schema {before or 'empty'} -> {after}")


@db.command("current")
@database_option
def db_current(*, database_url: str | None) -> None:
    """Print the database's schema revision and this tradekernel's."""
    url = database_url or default_database_url()
    with user_errors():
        engine = _open_existing(url)
        try:
            revision = current_revision(engine)
        finally:
            engine.dispose()
    click.echo(f"database {revision or 'empty'}; tradekernel {head_revision()}")
