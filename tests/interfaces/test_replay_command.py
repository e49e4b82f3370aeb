"""`replay`: the real capture through the CLI entry point, checked against independent counts."""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from domain.orders.order_events import OrderDenied, OrderFilled, OrderSubmitted
from infrastructure.replay import run_replay
from interfaces.cli.app import cli
from interfaces.cli.replay_config import build_settings, parse_config

CAPTURE = "data/coinbase-advanced/capture/coinbase-advanced-2026-08-09-btc-eth.jsonl.zst"
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
starting_balance = "100000"
"""


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, ["replay", *args])


def run_json(*args: str) -> dict[str, Any]:
    result = invoke("--json", *args)
    assert result.exit_code == 0, result.output
    report: dict[str, Any] = json.loads(result.stdout)
    return report


@pytest.fixture(scope="module")
def capture(shared_dir: Path) -> Path:
    return shared_dir / CAPTURE


@pytest.fixture(scope="module")
def config_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("config") / "replay.toml"
    path.write_text(CONFIG)
    return path


@pytest.fixture(scope="module")
def report(capture: Path, config_file: Path) -> dict[str, Any]:
    return run_json(str(capture), "--config", str(config_file))


def test_the_capture_is_counted_as_its_readme_says(report: dict[str, Any], capture: Path) -> None:
    counts = report["counts"]
    assert counts["frames"] == 1030
    assert counts["decoded"] == 1030
    assert (counts["decode_errors"], counts["gaps"], counts["duplicates"]) == (0, 0, 0)
    assert counts["stale_intervals"] == 0
    assert counts["level_changes"] == 74_193
    assert report["input"]["frames"] == 1030
    assert report["input"]["sha256"] == __import__("hashlib").sha256(capture.read_bytes()).hexdigest()
    assert report["orders_while_stale"] == 0


def test_the_final_books_are_those_of_feed_inspect(report: dict[str, Any], capture: Path) -> None:
    result = CliRunner().invoke(cli, ["feed", "inspect", "--json", "--depth", "10", str(capture)])
    assert result.exit_code == 0, result.output
    inspected = json.loads(result.stdout)["books"]
    assert set(report["books"]) == set(inspected) == {"BTC-USD.COINBASE", "ETH-USD.COINBASE"}
    for instrument, book in report["books"].items():
        assert (book["stale"], book["bids"], book["asks"]) == (
            inspected[instrument]["stale"],
            inspected[instrument]["bids"],
            inspected[instrument]["asks"],
        )
        assert len(book["bids"]) == len(book["asks"]) == 10


def test_the_report_agrees_with_the_journal_of_the_same_run(
    report: dict[str, Any], capture: Path, config_file: Path
) -> None:
    settings, _warnings = build_settings(parse_config(config_file.read_text()))
    result = run_replay(capture, settings)
    assert result.report["journal_sha256"] == report["journal_sha256"]  # the same run, in-process
    records = list(result.journal.read())
    fills = [record.event.fill for record in records if isinstance(record.event, OrderFilled)]
    assert fills, "the configuration is meant to trade"
    assert report["fills"]["count"] == len(fills)
    assert Decimal(report["fills"]["volume"]) == sum(fill.price * fill.quantity for fill in fills)
    assert Decimal(report["fills"]["fees"]) == sum(fill.fee for fill in fills)
    assert Decimal(report["pnl"]["fees"]) == sum(fill.fee for fill in fills)
    # Taker fills at 6.5 bps of their notional, exactly.
    assert all(fill.fee == fill.price * fill.quantity * Decimal("6.5") / 10_000 for fill in fills)
    submitted = sum(isinstance(record.event, OrderSubmitted) for record in records)
    assert report["orders"]["submitted"] == submitted
    denied = [record.event for record in records if isinstance(record.event, OrderDenied)]
    by_reason: dict[str, int] = {}
    for event in denied:
        for reason in event.reason.split(","):
            by_reason[reason] = by_reason.get(reason, 0) + 1
    assert report["orders"]["denied"] == dict(sorted(by_reason.items()))
    assert report["journal_records"] == len(records)
    pnl = report["pnl"]
    assert Decimal(pnl["equity_end"]) - Decimal(pnl["equity_start"]) == (
        Decimal(pnl["realized"]) + Decimal(pnl["unrealized"]) - Decimal(pnl["fees"])
    )
    assert report["stats"]["round_trips"] == len(result.kernel.portfolio.round_trips)


def test_two_runs_give_the_same_journal_sha256(
    report: dict[str, Any], capture: Path, config_file: Path
) -> None:
    again = run_json(str(capture), "--config", str(config_file))
    assert again["journal_sha256"] == report["journal_sha256"]
    assert len(report["journal_sha256"]) == 64


def test_the_summary_and_the_report_file(capture: Path, tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    result = invoke(str(capture), "--strategy", "market_maker", "--report", str(out))
    assert result.exit_code == 0, result.output
    written = json.loads(out.read_text())
    assert written["settings"]["strategy"]["name"] == "market_maker"
    assert written["journal_sha256"] in result.stdout
    for heading in ("feed", "frames", "orders", "fills", "pnl", "equity", "stats", "journal", "book"):
        assert any(line.startswith(heading) for line in result.stdout.splitlines()), heading


def test_dangerous_limits_are_warned_about_and_the_replay_runs(capture: Path, tmp_path: Path) -> None:
    config = tmp_path / "loose.toml"
    config.write_text('[risk]\nprice_band_bps = "off"\nmax_drawdown_fraction = "0.5"\n')
    result = invoke(str(capture), "--config", str(config))
    assert result.exit_code == 0, result.output
    assert "warning: risk limits: no_price_band" in result.stderr
    assert "drawdown_over_30pct" in result.stderr


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ("[kernel]\nsed = 1\n", "unknown key 'sed' in [kernel]"),
        ('[risk]\nmax_order_notional = "-5"\n', "impossible risk limits"),
        ('[risk]\nmax_open_orders = "many"\n', "[risk] max_open_orders must be an integer"),
        ("[risk]\nmax_orders = 3\n", "unknown key 'max_orders' in [risk]"),
        (
            '[strategy]\nname = "market_maker"\n[strategy.params]\nquote_size = 0.01\n',
            "missing key 'max_position'",
        ),
        ('[strategy]\nname = "martingale"\n', "unknown strategy 'martingale'"),
        (
            '[strategy]\nname = "market_maker"\ninstrument = "SOL-USD"\n',
            "SOL-USD.COINBASE is not in the recording",
        ),
        ("[venue\n", "not valid TOML"),
        ("[venue]\nlatency_ns = -1\n", "[venue] latency_ns must be at least 0"),
    ],
)
def test_a_bad_configuration_exits_2_with_one_line(
    capture: Path, tmp_path: Path, config: str, message: str
) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(config)
    result = invoke(str(capture), "--config", str(path))
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("error: ")
    assert message in lines[0]


def test_missing_and_unreadable_inputs_exit_2(capture: Path, tmp_path: Path) -> None:
    missing = invoke(str(tmp_path / "nope.jsonl"))
    assert missing.exit_code == 2
    assert "no such file" in missing.stderr
    junk = tmp_path / "junk.txt"
    junk.write_text("hello\n")
    unknown = invoke(str(junk))
    assert unknown.exit_code == 2
    assert "not a recorded feed" in unknown.stderr
    no_config = invoke(str(capture), "--config", str(tmp_path / "absent.toml"))
    assert no_config.exit_code == 2
    assert "no such configuration file" in no_config.stderr
    bad_speed = invoke(str(capture), "--speed", "2x")
    assert bad_speed.exit_code == 2


def test_the_module_entry_point_runs_a_replay(capture: Path) -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "interfaces.cli", "replay", str(capture), "--json"],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stderr
    assert json.loads(completed.stdout)["counts"]["frames"] == 1030


def test_risk_denials_appear_in_the_report_with_their_reasons(
    capture: Path, config_file: Path, tmp_path: Path
) -> None:
    # The configuration that trades, with one order notional limit far below its order size.
    tight = tmp_path / "tight.toml"
    tight.write_text(config_file.read_text() + '\n[risk]\nmax_order_notional = "1"\n')
    report = run_json(str(capture), "--config", str(tight))
    denied = report["orders"]["denied"]
    assert denied.get("max_order_notional", 0) > 0
    assert report["orders"]["submitted"] == 0
    assert report["fills"]["count"] == 0
    # The same denials, read back from the journal of an identical in-process run.
    settings, _warnings = build_settings(parse_config(tight.read_text()))
    records = list(run_replay(capture, settings).journal.read())
    reasons = [r.event.reason for r in records if isinstance(r.event, OrderDenied)]
    assert sum("max_order_notional" in reason for reason in reasons) == denied["max_order_notional"]
