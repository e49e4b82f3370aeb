"""Schema checks at start-up: an empty database is created, a newer or an older schema is refused."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import sqlalchemy as sa

from infrastructure.persistence.database import open_engine
from infrastructure.persistence.errors import SchemaOutdatedError, SchemaTooNewError, SchemaUnknownError
from infrastructure.persistence.migrations import (
    SCRIPT_LOCATION,
    check_schema,
    current_revision,
    head_revision,
    upgrade,
)
from infrastructure.persistence.schema import metadata
from infrastructure.persistence.sql_journal import SqlJournal


def test_an_empty_database_is_upgraded_to_head_with_the_tables_of_schema_py(database_url: str) -> None:
    engine = open_engine(database_url)
    try:
        assert current_revision(engine) is None
        assert check_schema(engine) == head_revision() == "0001"
        assert current_revision(engine) == "0001"
        inspector = sa.inspect(engine)
        assert set(inspector.get_table_names()) == set(metadata.tables) | {"alembic_version"}
        for table in metadata.sorted_tables:
            columns = {c["name"]: c for c in inspector.get_columns(table.name)}
            assert list(columns) == [c.name for c in table.columns], table.name
            for column in table.columns:
                assert columns[column.name]["nullable"] == column.nullable, (table.name, column.name)
            assert inspector.get_pk_constraint(table.name)["constrained_columns"] == [
                c.name for c in table.primary_key.columns
            ]
        assert {i["name"] for i in inspector.get_indexes("events")} == {"ix_events_stream_id"}
        check_schema(engine)  # idempotent
    finally:
        engine.dispose()


def test_a_newer_schema_is_refused(database_url: str) -> None:
    SqlJournal.open(database_url).close()
    engine = open_engine(database_url)
    try:
        with engine.begin() as connection:
            connection.execute(sa.text("UPDATE alembic_version SET version_num = '9999_future'"))
        with pytest.raises(
            SchemaTooNewError,
            match=r"database schema 9999_future is newer than this tradekernel \(0001\): upgrade tradekernel",
        ):
            check_schema(engine)
    finally:
        engine.dispose()
    with pytest.raises(SchemaTooNewError):
        SqlJournal.open(database_url)


def test_an_older_schema_is_refused_naming_the_upgrade_command(database_url: str, tmp_path: Path) -> None:
    scripts = tmp_path / "scripts"
    shutil.copytree(SCRIPT_LOCATION, scripts, ignore=shutil.ignore_patterns("__pycache__"))
    (scripts / "versions" / "0002_next.py").write_text(
        '"""A later revision."""\n\nrevision = "0002"\ndown_revision = "0001"\nbranch_labels = None\n'
        "depends_on = None\n\n\ndef upgrade() -> None:\n    pass\n\n\ndef downgrade() -> None:\n    pass\n"
    )
    engine = open_engine(database_url)
    try:
        upgrade(engine)  # the shipped head, 0001
        with pytest.raises(
            SchemaOutdatedError, match=r"python -m interfaces\.cli db upgrade --db \S+"
        ) as raised:
            check_schema(engine, script_location=scripts)
        assert "schema 0001 is older than this tradekernel (0002)" in str(raised.value)
        upgrade(engine, script_location=scripts)
        assert check_schema(engine, script_location=scripts) == "0002"
    finally:
        engine.dispose()


def test_a_foreign_database_is_not_taken_over(database_url: str) -> None:
    engine = open_engine(database_url)
    try:
        with engine.begin() as connection:
            connection.execute(sa.text("CREATE TABLE someone_elses (id INTEGER PRIMARY KEY)"))
        with pytest.raises(SchemaUnknownError, match="no tradekernel schema revision"):
            check_schema(engine)
    finally:
        engine.dispose()
