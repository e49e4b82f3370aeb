"""A deterministic replay of the real Coinbase capture (market maker, tight breaker), shared by the tests."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import attrs
import pytest

from application.recovery import KernelState
from domain.risk.risk_limits import RiskLimits
from infrastructure.replay import ReplaySettings, StrategySettings, VenueSettings, run_replay
from infrastructure.replay.replay_runner import ReplayResult

CAPTURE = "data/coinbase-advanced/capture/coinbase-advanced-2026-08-09-btc-eth.jsonl.zst"
MM_PARAMS = {
    "quote_size": "0.001",
    "max_position": "0.005",
    "base_spread_bps": "0",
    "vol_multiplier": "0",
    "min_spread_bps": "0.0001",
    "vol_window": 3,
    "vol_sample_interval_ns": 0,
    "min_requote_interval_ns": 0,
    "requote_threshold_bps": "0",
}
BALANCE = Decimal(100_000)
SETTINGS = ReplaySettings(
    strategy=StrategySettings("market_maker", "ETH-USD", params=MM_PARAMS),
    venue=VenueSettings(maker_fee_bps=Decimal("1"), taker_fee_bps=Decimal("5"), latency_ns=1_000_000),
    seed=3,
    starting_balance=BALANCE,
    # A drawdown of 0.001 USD trips the breaker (after 42 orders and 3 round trips), so the
    # journal holds a trip and what follows it.
    limits=attrs.evolve(RiskLimits.conservative(BALANCE), max_drawdown_fraction=Decimal("0.00000001")),
)


@pytest.fixture(scope="session")
def replay(shared_dir: Path) -> ReplayResult:
    """The capture replayed once: its journal and the engines as they ended."""
    return run_replay(shared_dir / CAPTURE, SETTINGS)


def empty_state(result: ReplayResult) -> KernelState:
    """A state with nothing folded, configured as the replay's kernel was."""
    return KernelState(
        result.kernel.portfolio.instruments,
        currency=SETTINGS.currency,
        starting_balance=SETTINGS.starting_balance,
        id_seed=SETTINGS.seed,
    )
