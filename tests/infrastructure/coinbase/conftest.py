"""Shared fixtures of the Coinbase adapter tests: the real capture and the hand-written fixtures."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from infrastructure.recorded_feed import RecordedFrame, RecordedHttp, open_feed

CAPTURE = "data/coinbase-advanced/capture/coinbase-advanced-2026-08-09-btc-eth.jsonl.zst"
FIXTURES = "data/coinbase-advanced/fixtures-handwritten"


@pytest.fixture(scope="session")
def fixtures_dir(shared_dir: Path) -> Path:
    """The folder of hand-written Coinbase fixtures."""
    path = shared_dir / FIXTURES
    if not path.is_dir():
        pytest.fail(f"{path} is missing: is TK_SHARED_DIR the shared folder?")
    return path


@pytest.fixture(scope="session")
def ws_fixture(fixtures_dir: Path) -> Any:
    """A loader: ws_fixture("ws_ticker.json") -> the fixture as a dict (a fresh copy each call)."""

    def load(name: str) -> Any:
        return json.loads((fixtures_dir / name).read_text())

    return load


@pytest.fixture(scope="session")
def capture(shared_dir: Path) -> tuple[list[RecordedFrame], list[RecordedHttp]]:
    """Every received frame of the real capture, and its REST bodies (read once per session)."""
    path = shared_dir / CAPTURE
    if not path.is_file():
        pytest.fail(f"{path} is missing: is TK_SHARED_DIR the shared folder?")
    feed = open_feed(path)
    frames = list(feed.frames())
    return frames, list(feed.http)


@pytest.fixture(scope="session")
def capture_frames(capture: tuple[list[RecordedFrame], list[RecordedHttp]]) -> list[RecordedFrame]:
    """The capture's received frames, in file order."""
    return capture[0]
