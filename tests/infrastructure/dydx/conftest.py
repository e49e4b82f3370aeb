"""Fixtures for the dYdX tests: the shared dYdX data folder and its files read as text."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def dydx_dir(shared_dir: Path) -> Path:
    """../shared/data/dydx-v4: real and hand-written indexer messages (never copied into the repo)."""
    path = shared_dir / "data" / "dydx-v4"
    if not path.is_dir():
        pytest.fail(f"{path} is missing from the shared folder")
    return path


@pytest.fixture(scope="session")
def real_ws(dydx_dir: Path) -> Callable[[str], str]:
    """A real WebSocket message's text: real_ws("v4_trades") is indexer-real/websocket/v4_trades.json."""

    def read(name: str) -> str:
        return (dydx_dir / "indexer-real" / "websocket" / f"{name}.json").read_text(encoding="utf-8")

    return read


@pytest.fixture(scope="session")
def real_http(dydx_dir: Path) -> Callable[[str], str]:
    """The text of a real REST body: real_http("orders") reads indexer-real/http/orders.json."""

    def read(name: str) -> str:
        return (dydx_dir / "indexer-real" / "http" / f"{name}.json").read_text(encoding="utf-8")

    return read


@pytest.fixture(scope="session")
def vectors_dir(shared_dir: Path) -> Path:
    """../shared/vectors/dydx: golden values built with the official client (quantums, subticks)."""
    path = shared_dir / "vectors" / "dydx"
    if not path.is_dir():
        pytest.fail(f"{path} is missing from the shared folder")
    return path
