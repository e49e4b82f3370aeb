"""Replay of synthetic feeds: determinism, report against an independent count, gaps and staleness."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from application.runtime.journal_encoding import journal_sha256
from domain.market_data import BookTop, TradeTick
from domain.orders.order_events import OrderDenied, OrderFilled, OrderSubmitted
from infrastructure.replay import (
    ReplayConfigError,
    ReplaySettings,
    StrategySettings,
    VenueSettings,
    run_replay,
)
from infrastructure.replay.replay_runner import REPLAY_STREAM, ReplayInput
from infrastructure.replay.replay_stats import equity_sharpe, round_trip_stats
from infrastructure.synthetic_market import SyntheticMarketConfig, write_synthetic_feed

MM_PARAMS = {
    "quote_size": "0.05",
    "max_position": "0.2",
    "base_spread_bps": "0",
    "vol_multiplier": "0",
    "min_spread_bps": "0.0001",
    "vol_window": 3,
    "vol_sample_interval_ns": 0,
    "min_requote_interval_ns": 0,
    "requote_threshold_bps": "0",
}
SETTINGS = ReplaySettings(
    strategy=StrategySettings("market_maker", "ETH-USD", params=MM_PARAMS),
    venue=VenueSettings(maker_fee_bps=Decimal("1"), taker_fee_bps=Decimal("5"), latency_ns=1_000_000),
    seed=11,
)


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("feeds") / "synthetic.jsonl"
    write_synthetic_feed(path, SyntheticMarketConfig(seed=5, frame_count=3000, message_rate_per_s=100))
    return path


def edited(source: Path, target: Path, line_number: int, *, drop: bool = False) -> Path:
    """`source` with one frame line changed (a level size) or dropped (a sequence gap)."""
    lines = source.read_text().splitlines()
    record = json.loads(lines[line_number])
    frame = json.loads(record["data"])
    assert frame["channel"] == "l2_data", frame["channel"]
    if drop:
        del lines[line_number]
    else:
        update = frame["events"][0]["updates"][0]
        update["new_quantity"] = str(Decimal(update["new_quantity"]) + Decimal("0.001"))
        record["data"] = json.dumps(frame, separators=(",", ":"))
        lines[line_number] = json.dumps(record, separators=(",", ":"))
    target.write_text("\n".join(lines) + "\n")
    return target


def l2_line(path: Path, after: int) -> int:
    for number, line in enumerate(path.read_text().splitlines()):
        if number >= after and '\\"channel\\":\\"l2_data\\"' in line and '\\"update\\"' in line:
            return number
    raise AssertionError("no l2 update line")


def test_a_replay_trades_and_its_report_matches_the_venue_and_the_journal(synthetic: Path) -> None:
    result = run_replay(synthetic, SETTINGS)
    report = result.report
    assert report["counts"]["frames"] == 3000
    assert (report["counts"]["decode_errors"], report["counts"]["gaps"]) == (0, 0)
    assert report["orders_while_stale"] == 0
    # Fills, recomputed from the venue's own record of what it executed.
    venue_fills = result.venue.fills_since(0)
    assert len(venue_fills) > 0
    assert report["fills"]["count"] == len(venue_fills)
    assert Decimal(report["fills"]["volume"]) == sum(f.price * f.quantity for f in venue_fills)
    assert Decimal(report["fills"]["fees"]) == sum(f.fee for f in venue_fills)
    # ... and from the journal.
    journaled = [r.event for r in result.journal.read() if isinstance(r.event, OrderFilled)]
    assert [e.fill for e in journaled] == list(venue_fills)
    submitted = [r.event for r in result.journal.read() if isinstance(r.event, OrderSubmitted)]
    assert report["orders"]["submitted"] == len(submitted)
    denied = [r.event for r in result.journal.read() if isinstance(r.event, OrderDenied)]
    assert sum(report["orders"]["denied"].values()) >= len(denied)
    # P&L is exact: equity moved by realized + unrealized - fees.
    pnl = report["pnl"]
    assert Decimal(pnl["equity_end"]) - Decimal(pnl["equity_start"]) == (
        Decimal(pnl["realized"]) + Decimal(pnl["unrealized"]) - Decimal(pnl["fees"])
    )
    venue_position = result.venue.positions()
    kernel_position = result.kernel.portfolio.portfolio.positions()
    assert {p.instrument_id: p.quantity for p in kernel_position if p.quantity} == venue_position
    assert report["journal_sha256"] == journal_sha256(result.journal.read())


def test_the_same_input_and_settings_give_the_same_journal_and_one_changed_frame_does_not(
    synthetic: Path, tmp_path: Path
) -> None:
    first = run_replay(synthetic, SETTINGS).report["journal_sha256"]
    second = run_replay(synthetic, SETTINGS).report["journal_sha256"]
    assert first == second
    changed = edited(synthetic, tmp_path / "changed.jsonl", l2_line(synthetic, 1500))
    assert run_replay(changed, SETTINGS).report["journal_sha256"] != first
    other_seed = ReplaySettings(strategy=SETTINGS.strategy, venue=SETTINGS.venue, seed=12)
    assert run_replay(synthetic, other_seed).report["journal_sha256"] != first


def test_the_journal_starts_with_the_input_and_holds_no_market_data(synthetic: Path) -> None:
    # ADR 0005: decisions and money are journaled; tops and trades are reproduced from the file.
    result = run_replay(synthetic, SETTINGS)
    records = list(result.journal.read())
    first = records[0]
    assert first.stream_id == REPLAY_STREAM
    assert first.event == ReplayInput(
        result.report["input"]["sha256"], result.report["input"]["venue"], result.report["input"]["frames"], 0
    )
    assert not [r for r in records if isinstance(r.event, (BookTop, TradeTick))]
    assert any(isinstance(r.event, OrderFilled) for r in records)


def test_a_gap_makes_the_book_stale_and_nothing_is_sent_on_it(synthetic: Path, tmp_path: Path) -> None:
    gapped = edited(synthetic, tmp_path / "gap.jsonl", l2_line(synthetic, 1000), drop=True)
    result = run_replay(gapped, SETTINGS)
    report = result.report
    assert report["counts"]["gaps"] == 1
    assert report["counts"]["stale_intervals"] >= 1
    assert report["books"]["ETH-USD.COINBASE"]["stale"] is True
    assert report["orders_while_stale"] == 0
    stale_from = min(
        interval.start_ns for interval in result.kernel.data.pipeline("COINBASE").stale_intervals
    )
    late_submits = [
        r for r in result.journal.read() if isinstance(r.event, OrderSubmitted) and r.ts_ns >= stale_from
    ]
    assert late_submits == []


def test_a_data_only_replay_and_bad_settings(synthetic: Path) -> None:
    report = run_replay(synthetic, ReplaySettings()).report
    assert report["orders"]["submitted"] == 0
    assert report["settings"]["strategy"] is None
    with pytest.raises(ReplayConfigError, match="not in the recording"):
        run_replay(synthetic, ReplaySettings(strategy=StrategySettings("market_maker", "DOGE-USD")))
    with pytest.raises(ReplayConfigError, match="unknown strategy"):
        run_replay(synthetic, ReplaySettings(strategy=StrategySettings("nope")))
    with pytest.raises(ReplayConfigError, match="quote_size"):
        run_replay(synthetic, ReplaySettings(strategy=StrategySettings("market_maker", params={"x": "1"})))


def test_pacing_asks_to_sleep_in_proportion_to_the_feed_time(synthetic: Path) -> None:
    slept: list[float] = []
    progress: list[tuple[int, int]] = []
    settings = ReplaySettings(speed=Decimal(10))
    run_replay(
        synthetic, settings, sleep=slept.append, progress=lambda done, total: progress.append((done, total))
    )
    # 30 s of feed at 10x: the frame furthest ahead of the wall clock is at most 3 s ahead.
    assert slept
    assert max(slept) <= 3.0
    assert progress[-1] == (3000, 3000)


def test_statistics() -> None:
    assert round_trip_stats([]) == {"round_trips": 0, "win_rate": None, "profit_factor": None, "net_pnl": "0"}
    second = 1_000_000_000
    samples = [(0, Decimal(100)), (second, Decimal(101)), (3 * second, Decimal(100))]
    # Returns +1%, 0 (the missing second repeats 101), -0.990099%: mean 0.0000330, sd 0.00995
    assert equity_sharpe(samples, second) == "0.003317"
    assert equity_sharpe(samples[:1], second) is None
    assert equity_sharpe([(0, Decimal(1)), (second, Decimal(1)), (2 * second, Decimal(1))], second) is None
