"""Alembic environment for the journal: runs migrations on a connection handed over by the caller.

`infrastructure.persistence.migrations` (the module) passes its connection in
`config.attributes["connection"]`; run by the `alembic` command instead (developers, with
`-c src/infrastructure/persistence/alembic.ini`), the URL comes from `sqlalchemy.url` or TK_DB_URL.
"""

from __future__ import annotations

import os

from alembic import context
from sqlalchemy.engine import Connection

from infrastructure.persistence.database import DEFAULT_DATABASE_URL, open_engine
from infrastructure.persistence.schema import metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Migrate the handed-over connection, or open the configured database."""
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = (
        os.environ.get("TK_DB_URL")
        or context.config.get_main_option("sqlalchemy.url")
        or DEFAULT_DATABASE_URL
    )
    engine = open_engine(url)
    try:
        with engine.begin() as new_connection:
            _run(new_connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported: run against a database")
run_migrations_online()
