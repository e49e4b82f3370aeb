"""Shared test configuration: hypothesis profiles and the location of ../shared data."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

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
