"""The kernel lock: one holder per journal database, released when its process ends, however it ends."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from infrastructure.persistence.database import sqlite_path
from infrastructure.persistence.errors import DatabaseUrlError, KernelRunningError
from infrastructure.persistence.kernel_lock import KernelLock, lock_path
from infrastructure.persistence.sql_journal import SqlJournal
from tests.conftest import PROJECT_ROOT


def test_a_second_holder_is_refused_until_the_first_releases(database_url: str) -> None:
    SqlJournal.open(database_url).close()
    first = KernelLock(database_url, holder="start")
    with pytest.raises(KernelRunningError, match="in use by"):
        KernelLock(database_url, holder="trading resume")
    first.release()
    first.release()  # idempotent
    with KernelLock(database_url, holder="trading resume"):
        pass


def test_the_sqlite_lock_file_names_its_holder(sqlite_url: str) -> None:
    path = sqlite_path(sqlite_url)
    assert path is not None
    with KernelLock(sqlite_url, holder="start"):
        assert lock_path(path).read_text() == f"start (pid {os.getpid()})\n"
        with pytest.raises(
            KernelRunningError, match=rf"in use by start \(pid {os.getpid()}\): stop it first"
        ):
            KernelLock(sqlite_url, holder="restore")


def test_the_lock_dies_with_a_killed_process(database_url: str, tmp_path: Path) -> None:
    SqlJournal.open(database_url).close()
    script = (
        "import sys, time\n"
        "from infrastructure.persistence.kernel_lock import KernelLock\n"
        "lock = KernelLock(sys.argv[1], holder='child')\n"
        "print('locked', flush=True)\n"
        "time.sleep(60)\n"
    )
    env = dict(os.environ, PYTHONPATH=str(PROJECT_ROOT / "src"))
    child = subprocess.Popen(
        [sys.executable, "-c", script, database_url], stdout=subprocess.PIPE, text=True, env=env
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "locked"
        with pytest.raises(KernelRunningError):
            KernelLock(database_url, holder="test")
    finally:
        child.kill()
        child.communicate(timeout=30)
    with KernelLock(database_url, holder="test"):  # SIGKILL released it
        pass


def test_a_malformed_url_is_a_url_error() -> None:
    with pytest.raises(DatabaseUrlError):
        KernelLock("foo", holder="start")
