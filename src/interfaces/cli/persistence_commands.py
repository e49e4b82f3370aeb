"""Commands on the journal database: `status`, `backup`, `restore`, `journal verify`, `db upgrade`.

Every command takes `--db URL` (default: `$TK_DATABASE_URL`, else `sqlite:///tradekernel.db` in
the working directory, the same default as `start`). None of them needs the kernel to be
stopped except `restore` (which replaces the database) and `db upgrade`.
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
from infrastructure.persistence.migrations import check_schema, current_revision, head_revision, upgrade
from infrastructure.persistence.status_report import read_status, render_status
from infrastructure.persistence.verify import verify_journal
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
def _existing_database(url: str) -> Iterator[Engine]:
    """An engine on a database that must already exist (never create a file by looking at it)."""
    path = sqlite_path(url)
    if path is not None and not path.exists():
        raise UserError(f"{path}: no journal database here (start the kernel first, or pass --db)")
    try:
        engine = open_engine(url)
    except PersistenceError as error:
        raise UserError(str(error)) from None
    try:
        yield engine
    finally:
        engine.dispose()


def _checked(engine: Engine) -> None:
    try:
        check_schema(engine, create=False)
    except PersistenceError as error:
        raise UserError(str(error)) from None


@click.command("status")
@database_option
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
def status(*, database_url: str | None, as_json: bool) -> None:
    """Trading state, breaker, open orders, positions, balances, journal, last reconciliation."""
    url = database_url or default_database_url()
    with _existing_database(url) as engine:
        _checked(engine)
        try:
            document = read_status(engine)
        except PersistenceError as error:
            raise UserError(str(error)) from None
    document["database"] = safe_url(url)
    if as_json:
        click.echo(json.dumps(document, indent=2, sort_keys=True))
    else:
        click.echo(f"database         {document['database']}")
        click.echo(render_status(document))


@click.command("backup")
@database_option
@click.argument("dest", type=click.Path(path_type=Path, dir_okay=False))
def backup(*, database_url: str | None, dest: Path) -> None:
    """Copy the journal database to DEST (SQLite online backup, checked; safe while running)."""
    url = database_url or default_database_url()
    try:
        verification = backup_database(url, dest)
    except PersistenceError as error:
        raise UserError(str(error)) from None
    click.echo(f"backed up {safe_url(url)} to {dest}: {verification.summary()}")


@click.command("restore")
@database_option
@click.argument("src", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--force", is_flag=True, help="Replace an existing database (stop the kernel first).")
def restore(*, database_url: str | None, src: Path, force: bool) -> None:
    """Restore the journal database from a backup SRC (checked before and after)."""
    url = database_url or default_database_url()
    try:
        verification = restore_database(src, url, force=force)
    except PersistenceError as error:
        raise UserError(str(error)) from None
    click.echo(f"restored {src} to {safe_url(url)}: {verification.summary()}")


@click.group("journal")
def journal() -> None:
    """Inspect the event journal."""


@journal.command("verify")
@database_option
def journal_verify(*, database_url: str | None) -> None:
    """Check that sequences are contiguous and every payload and snapshot decodes (exit 1 if not)."""
    url = database_url or default_database_url()
    with _existing_database(url) as engine:
        _checked(engine)
        try:
            verification = verify_journal(engine)
        except PersistenceError as error:
            raise UserError(str(error)) from None
    click.echo(verification.summary())
    if not verification.ok:
        raise SystemExit(1)


@click.group("db")
def db() -> None:
    """Journal database schema (Alembic migrations)."""


@db.command("upgrade")
@database_option
def db_upgrade(*, database_url: str | None) -> None:
    """Migrate the database schema to this tradekernel's version."""
    url = database_url or default_database_url()
    try:
        engine = open_engine(url)
    except PersistenceError as error:
        raise UserError(str(error)) from None
    try:
        before = current_revision(engine)
        upgrade(engine)
        after = current_revision(engine)
    except PersistenceError as error:
        raise UserError(str(error)) from None
    finally:
        engine.dispose()
    click.echo(f"{safe_url(url)}: schema {before or 'empty'} -> {after}")


@db.command("current")
@database_option
def db_current(*, database_url: str | None) -> None:
    """Print the database's schema revision and this tradekernel's."""
    url = database_url or default_database_url()
    with _existing_database(url) as engine:
        revision = current_revision(engine)
    click.echo(f"database {revision or 'empty'}; tradekernel {head_revision()}")
