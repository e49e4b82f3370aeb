"""open_engine: the SQLite pragmas, and one-line errors for bad URLs, dead servers and non-databases."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from infrastructure.persistence.database import DEFAULT_DATABASE_URL, open_engine, parse_url
from infrastructure.persistence.errors import DatabaseUnavailableError, DatabaseUrlError, NotADatabaseError


def test_sqlite_connections_have_the_journal_pragmas(sqlite_url: str) -> None:
    engine = open_engine(sqlite_url)
    try:
        with engine.connect() as connection:
            pragma = lambda name: connection.exec_driver_sql(f"PRAGMA {name}").scalar()  # noqa: E731
            assert pragma("journal_mode") == "wal"
            assert pragma("synchronous") == 2  # FULL
            assert pragma("busy_timeout") == 5000
            assert pragma("foreign_keys") == 1
    finally:
        engine.dispose()


def test_the_default_is_a_file_in_the_working_directory() -> None:
    assert DEFAULT_DATABASE_URL == "sqlite:///tradekernel.db"
    assert parse_url("postgresql://u@h/db").drivername == "postgresql+psycopg"


@pytest.mark.parametrize(
    "url", ["not a url", "mysql://u@h/db", "sqlite://", "sqlite:///:memory:", "postgresql+psycopg2://u@h/db"]
)
def test_bad_urls_are_refused(url: str) -> None:
    with pytest.raises(DatabaseUrlError):
        open_engine(url)


def test_a_file_that_is_not_a_database(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_bytes(b"hello, this is plainly not SQLite " * 200)
    with pytest.raises(NotADatabaseError, match="is not an SQLite database"):
        open_engine(f"sqlite:///{path}")
    with pytest.raises(NotADatabaseError, match="is a directory"):
        open_engine(f"sqlite:///{tmp_path}")


def test_an_unopenable_sqlite_file(tmp_path: Path) -> None:
    with pytest.raises(DatabaseUnavailableError, match="cannot open SQLite database"):
        open_engine(f"sqlite:///{tmp_path / 'no' / 'such' / 'dir.db'}")


def test_an_unreachable_server_is_one_line_without_the_password() -> None:
    with pytest.raises(
        DatabaseUnavailableError, match=r"cannot connect to postgresql\+psycopg://u:\*\*\*@127\.0\.0\.1:1/x"
    ) as raised:
        open_engine("postgresql+psycopg://u:pw@127.0.0.1:1/x")
    assert "\n" not in str(raised.value)


def test_postgresql_engine_works(database_url: str) -> None:
    engine = open_engine(database_url)
    try:
        with engine.connect() as connection:
            assert connection.execute(sa.text("SELECT 1")).scalar() == 1
    finally:
        engine.dispose()
