"""`replay --report/--chart`: the equity and drawdown chart (PNG) of a replay."""

from __future__ import annotations

import itertools
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from infrastructure.replay.equity_chart import drawdowns, thin, write_equity_chart
from infrastructure.synthetic_market import SyntheticMarketConfig, write_synthetic_feed
from interfaces.cli.app import cli

CAPTURE = "data/coinbase-advanced/capture/coinbase-advanced-2026-08-09-btc-eth.jsonl.zst"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
CONFIG = """
[strategy]
name = "trend_follower"
instrument = "ETH-USD"

[strategy.params]
trade_size = "0.01"
bar_interval_ns = 1_000_000_000
fast_period = 2
slow_period = 3
vol_window = 2
atr_period = 1
max_vol_bps = 10000.0

[venue]
maker_fee_bps = 2
taker_fee_bps = 6.5
latency_ns = 1_000_000

[kernel]
seed = 3
"""


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, ["replay", "--no-progress", *args])


def assert_png(path: Path) -> bytes:
    data = path.read_bytes()
    assert data.startswith(PNG_SIGNATURE)
    assert len(data) > 5_000, len(data)
    return data


@pytest.fixture(scope="module")
def capture(shared_dir: Path) -> Path:
    return shared_dir / CAPTURE


@pytest.fixture(scope="module")
def config_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("config") / "replay.toml"
    path.write_text(CONFIG)
    return path


@pytest.fixture(scope="module")
def traded(capture: Path, config_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A replay that trades, with --report: returns the report's path."""
    report = tmp_path_factory.mktemp("traded") / "report.json"
    result = invoke(str(capture), "--config", str(config_file), "--report", str(report))
    assert result.exit_code == 0, result.output
    return report


def test_report_writes_the_chart_next_to_it_and_names_it(traded: Path) -> None:
    chart = traded.with_suffix(".png")
    assert chart.name == "report.png"
    assert_png(chart)
    report: dict[str, Any] = json.loads(traded.read_text())
    assert report["chart"] == str(chart)
    assert report["fills"]["count"] > 0, "the configuration is meant to trade"


def test_replaying_twice_gives_the_same_png_bytes(
    traded: Path, capture: Path, config_file: Path, tmp_path: Path
) -> None:
    again = tmp_path / "elsewhere" / "again.png"
    again.parent.mkdir()
    result = invoke(str(capture), "--config", str(config_file), "--chart", str(again), "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["chart"] == str(again)
    assert assert_png(again) == traded.with_suffix(".png").read_bytes()


def test_a_replay_without_fills_still_writes_a_flat_chart(capture: Path, tmp_path: Path) -> None:
    chart = tmp_path / "charts-flat.png"
    report_path = tmp_path / "flat.json"
    result = invoke(str(capture), "--report", str(report_path), "--chart", str(chart))
    assert result.exit_code == 0, result.output
    report = json.loads(report_path.read_text())
    assert report["fills"]["count"] == 0
    assert report["pnl"]["equity_start"] == report["pnl"]["equity_end"]
    assert report["chart"] == str(chart)
    assert_png(chart)
    assert not report_path.with_suffix(".png").exists()  # --chart chose the path


def test_no_chart_without_report_or_chart(tmp_path: Path) -> None:
    feed = tmp_path / "synthetic.jsonl"
    write_synthetic_feed(
        feed,
        SyntheticMarketConfig(
            seed=7, frame_count=300, message_rate_per_s=100, start_ns=1_786_000_000_000_000_000
        ),
    )
    result = invoke(str(feed), "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["chart"] is None
    assert sorted(path.name for path in tmp_path.iterdir()) == ["synthetic.jsonl"]


def test_a_chart_may_not_overwrite_the_report(capture: Path, tmp_path: Path) -> None:
    result = invoke(str(capture), "--report", str(tmp_path / "out.png"))
    assert result.exit_code == 2
    assert "would overwrite the report" in result.stderr


def test_drawdown_is_equity_less_its_running_maximum() -> None:
    equity = [Decimal(v) for v in ("100", "101", "99.5", "102", "101.25")]
    samples = [(i * 1_000_000_000, value) for i, value in enumerate(equity)]
    assert drawdowns(samples) == [Decimal(0), Decimal(0), Decimal("-1.5"), Decimal(0), Decimal("-0.75")]


def test_thinning_keeps_at_most_max_points_with_a_fixed_stride_and_the_last() -> None:
    assert thin(5, 10) == [0, 1, 2, 3, 4]
    kept = thin(100_001, 10_000)
    assert len(kept) <= 10_000
    assert kept[0] == 0
    assert kept[-1] == 100_000
    strides = {b - a for a, b in itertools.pairwise(kept[:-1])}
    assert len(strides) == 1
    assert thin(100_001, 10_000) == kept


def test_an_empty_series_and_a_thinned_one_still_chart(tmp_path: Path) -> None:
    assert_png(write_equity_chart(tmp_path / "empty.png", [], "nothing"))
    samples = [
        (1_786_000_000_000_000_000 + i * 1_000_000_000, Decimal(100_000 + i % 7)) for i in range(25_000)
    ]
    assert_png(write_equity_chart(tmp_path / "long.png", samples, "long", currency="USD", max_points=500))
