"""Replay: recorded feeds through the whole kernel under the deterministic runtime (see docs/replay.md)."""

from infrastructure.replay.replay_runner import (
    ReplayConfigError,
    ReplayResult,
    ReplaySettings,
    StrategySettings,
    VenueSettings,
    run_replay,
)

__all__ = [
    "ReplayConfigError",
    "ReplayResult",
    "ReplaySettings",
    "StrategySettings",
    "VenueSettings",
    "run_replay",
]
