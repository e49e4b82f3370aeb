"""Shared test configuration: hypothesis profiles, the location of ../shared data, and databases.

Every journal test runs on SQLite (a temp file) and on PostgreSQL (a fresh database per test, from
TK_PG_URL, default trust auth on 127.0.0.1:5432, dropped afterwards). An unreachable server skips
the PostgreSQL cases locally but fails them when CI is set: CI must exercise the production database.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, settings
from sqlalchemy.engine import Engine, make_url

settings.register_profile("ci", max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", max_examples=100, deadline=None)
settings.register_profile("thorough", max_examples=5_000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))

PROJECT_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """The shared data folder (TK_SHARED_DIR, default ../shared); skip only when absent and unset."""
    configured = os.environ.get("TK_SHARED_DIR")
    path = Path(configured) if configured else PROJECT_ROOT.parent / "shared"
    if not path.is_dir():
        if configured:
            pytest.fail(f"TK_SHARED_DIR={configured} is not a directory")
        pytest.skip("shared data not found: set TK_SHARED_DIR to the shared folder")
    return path


PG_SERVER_URL = os.environ.get("TK_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


@pytest.fixture(scope="session")
def pg_server() -> Iterator[Engine]:
    """An autocommit engine on the PostgreSQL server (skip, or fail under CI, when unreachable)."""
    engine = sa.create_engine(
        PG_SERVER_URL, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3}
    )
    try:
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
    except sa.exc.OperationalError as exc:
        engine.dispose()
        message = f"PostgreSQL unreachable at {PG_SERVER_URL}: {str(exc.orig).splitlines()[0]}"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    yield engine
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of a fresh, empty database of each kind."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'journal.db'}"
        return
    server: Engine = request.getfixturevalue("pg_server")
    name = f"tk_test_{uuid.uuid4().hex}"
    with server.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(PG_SERVER_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with server.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
