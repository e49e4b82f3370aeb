"""Schema migrations, run from code: Alembic scripts shipped inside this package.

The migration scripts live in this package (env.py, versions/ as package data), so an installed
tradekernel can create and upgrade its database without an alembic.ini or a source checkout.
`check_schema` is what every start-up calls: an empty database is created at the head revision;
a database migrated by a NEWER tradekernel is refused (this code would misread it); an OLDER one
is refused too, naming the command that upgrades it, because an upgrade is a deliberate,
backed-up step, not a side effect of starting the kernel.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy.engine import Engine

from infrastructure.persistence.database import safe_url
from infrastructure.persistence.errors import SchemaOutdatedError, SchemaTooNewError, SchemaUnknownError

#: The packaged migration scripts (env.py and versions/).
SCRIPT_LOCATION = Path(__file__).resolve().parent


def alembic_config(script_location: Path | None = None) -> Config:
    """An Alembic config whose scripts are the packaged migrations (no alembic.ini needed)."""
    config = Config()
    config.set_main_option("script_location", str(script_location or SCRIPT_LOCATION))
    return config


def head_revision(script_location: Path | None = None) -> str:
    """The newest revision this code knows."""
    head = ScriptDirectory.from_config(alembic_config(script_location)).get_current_head()
    if head is None:  # pragma: no cover - the package always ships a revision
        raise SchemaUnknownError("no migration scripts found")
    return head


def is_known_revision(revision: str, *, script_location: Path | None = None) -> bool:
    """True when this code has the migration script of `revision` (so it is not newer than the code)."""
    try:
        ScriptDirectory.from_config(alembic_config(script_location)).get_revision(revision)
    except CommandError:
        return False
    return True


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at, or None when it has none (empty or not ours)."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine, revision: str = "head", *, script_location: Path | None = None) -> None:
    """Migrate the database to `revision` (default: the head) in one transaction."""
    config = alembic_config(script_location)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def check_schema(engine: Engine, *, script_location: Path | None = None, create: bool = True) -> str:
    """Create an empty database at the head (unless `create` is False: then refuse it); refuse a
    newer or older schema. Returns the revision."""
    head = head_revision(script_location)
    current = current_revision(engine)
    if current is None:
        tables = set(sa.inspect(engine).get_table_names()) - {"alembic_version"}
        if tables:
            raise SchemaUnknownError(
                f"database {safe_url(engine.url)} has tables ({', '.join(sorted(tables)[:5])}) "
                "but no tradekernel schema revision: use an empty database"
            )
        if not create:
            raise SchemaUnknownError(f"database {safe_url(engine.url)} holds no tradekernel journal yet")
        upgrade(engine, script_location=script_location)
        return head
    if current == head:
        return head
    if not is_known_revision(current, script_location=script_location):
        raise SchemaTooNewError(
            f"database schema {current} is newer than this tradekernel ({head}): upgrade tradekernel"
        )
    raise SchemaOutdatedError(
        f"database schema {current} is older than this tradekernel ({head}): "
        f"back it up, then run `python -m interfaces.cli db upgrade --db {safe_url(engine.url)}`"
    )
