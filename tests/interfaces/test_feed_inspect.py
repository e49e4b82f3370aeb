"""`feed inspect`: the user-facing inspector, driven through its real entry points."""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec
import pytest
import zstandard
from click.testing import CliRunner

from infrastructure.recorded_feed import FeedHeader, FeedRecorder
from infrastructure.synthetic_market import SyntheticMarketConfig, synthetic_frames
from interfaces.cli.app import cli

CAPTURE = "data/coinbase-advanced/capture/coinbase-advanced-2026-08-09-btc-eth.jsonl.zst"


def run_json(*args: str) -> dict[str, Any]:
    result = CliRunner().invoke(cli, ["feed", "inspect", "--json", *args])
    assert result.exit_code == 0, result.output
    report: dict[str, Any] = json.loads(result.output)
    return report


def naive_books(capture: Path) -> dict[str, dict[str, dict[Decimal, Decimal]]]:
    """Final books built straight from the raw capture JSON with plain dicts (the reference)."""
    books: dict[str, dict[str, dict[Decimal, Decimal]]] = {}
    with capture.open("rb") as raw, zstandard.ZstdDecompressor().stream_reader(raw) as reader:
        for line in reader.read().splitlines():
            record = json.loads(line)
            if record.get("t") != "recv":
                continue
            frame = json.loads(record["data"])
            if frame.get("channel") != "l2_data":
                continue
            for event in frame["events"]:
                book = books.setdefault(event["product_id"], {"bid": {}, "offer": {}})
                if event["type"] == "snapshot":
                    book["bid"].clear()
                    book["offer"].clear()
                for update in event["updates"]:
                    side = book[update["side"]]
                    price, size = Decimal(update["price_level"]), Decimal(update["new_quantity"])
                    if size == 0:
                        side.pop(price, None)
                    else:
                        side[price] = size
    return books


def test_the_real_capture_is_reported_with_the_counts_its_readme_gives(shared_dir: Path) -> None:
    report = run_json(str(shared_dir / CAPTURE), "--depth", "10")
    assert report["file"]["venue"] == "COINBASE"
    assert report["frames"] == 1030
    assert report["decode_errors"] == 0
    assert report["channels"] == {
        "candles": 6,
        "heartbeats": 25,
        "l2_data": 775,
        "market_trades": 59,
        "subscriptions": 5,
        "ticker": 160,
    }
    assert report["event_types"]["l2_data.snapshot"] == 2
    assert report["event_types"]["l2_data.update"] == 773
    assert report["level_changes"] == 74_193
    assert report["trades"] == 279
    assert (report["gaps"], report["duplicates"], report["out_of_order"]) == (0, 0, 0)
    assert report["crossed_books"] == {"after_frame": 0, "resolved": 0}
    assert report["stale_intervals"] == []
    assert report["time"]["first"] == "2026-08-09T21:05:48.629007800Z"


def test_the_final_books_equal_a_naive_reference_built_from_the_raw_frames(shared_dir: Path) -> None:
    report = run_json(str(shared_dir / CAPTURE), "--depth", "10")
    reference = naive_books(shared_dir / CAPTURE)
    for product, sides in reference.items():
        book = report["books"][f"{product}.COINBASE"]
        bids = sorted(sides["bid"].items(), reverse=True)[:10]
        asks = sorted(sides["offer"].items())[:10]
        assert [[Decimal(p), Decimal(s)] for p, s in book["bids"]] == [[p, s] for p, s in bids]
        assert [[Decimal(p), Decimal(s)] for p, s in book["asks"]] == [[p, s] for p, s in asks]
        assert book["bid_levels"] == len(sides["bid"])
        assert book["ask_levels"] == len(sides["offer"])
        assert all(isinstance(p, str) and isinstance(s, str) for p, s in book["bids"] + book["asks"])


def synthetic_file(tmp_path: Path, frames: int, *, drop: int | None = None) -> Path:
    config = SyntheticMarketConfig(seed=7, frame_count=frames, message_rate_per_s=200)
    path = tmp_path / "synthetic.jsonl"
    with FeedRecorder(path, FeedHeader(venue="COINBASE", instruments=["BTC-USD", "ETH-USD"])) as recorder:
        for index, (ts_ns, text) in enumerate(synthetic_frames(config)):
            if index != drop:
                recorder.record(ts_ns, "c1", text)
    return path


def test_a_synthetic_feed_inspects_clean(tmp_path: Path) -> None:
    report = run_json(str(synthetic_file(tmp_path, 400)))
    assert report["frames"] == 400
    assert (report["decode_errors"], report["gaps"], report["stale_intervals"]) == (0, 0, [])
    assert set(report["books"]) == {"BTC-USD.COINBASE", "ETH-USD.COINBASE"}
    assert all(not book["crossed"] and book["has_snapshot"] for book in report["books"].values())


def test_a_dropped_frame_is_a_gap_and_books_stay_stale_until_a_snapshot(tmp_path: Path) -> None:
    report = run_json(str(synthetic_file(tmp_path, 400, drop=100)))
    assert report["gaps"] == 1
    stale = {interval["instrument"] for interval in report["stale_intervals"]}
    assert stale == {"BTC-USD.COINBASE", "ETH-USD.COINBASE"}
    assert all(interval["end"] is None for interval in report["stale_intervals"])
    assert all(book["stale"] for book in report["books"].values())


def test_a_dydx_recording_with_its_subscribe_requests_reports_no_false_gap(
    tmp_path: Path, shared_dir: Path
) -> None:
    websocket = shared_dir / "data/dydx-v4/indexer-real/websocket"
    snapshot = msgspec.json.decode((websocket / "v4_orderbook_snapshot.json").read_bytes())
    snapshot["message_id"] = 1
    path = tmp_path / "dydx.jsonl"
    with FeedRecorder(path, FeedHeader(venue="DYDX")) as recorder:
        recorder.record(1, "c1", (websocket / "connected.json").read_text())
        recorder.record_sent(2, "c1", '{"type":"subscribe","channel":"v4_orderbook","id":"ETH-USD"}')
        recorder.record(3, "c1", msgspec.json.encode(snapshot).decode())
    report = run_json(str(path), "--depth", "2")
    assert report["frames_sent"] == 1
    assert report["decode_errors"] == 0
    assert report["gaps"] == 0
    (book,) = report["books"].values()
    assert book["asks"][0] == ["3393.5", "4.946"]


def test_depth_limits_the_levels_shown(shared_dir: Path) -> None:
    report = run_json(str(shared_dir / CAPTURE), "--depth", "2")
    assert all(len(book["bids"]) == 2 and len(book["asks"]) == 2 for book in report["books"].values())


def test_the_text_summary_names_the_counts_and_books(shared_dir: Path) -> None:
    result = CliRunner().invoke(cli, ["feed", "inspect", str(shared_dir / CAPTURE)])
    assert result.exit_code == 0
    assert "1030 received" in result.output
    assert "74193 level changes" in result.output
    assert "book BTC-USD.COINBASE [ok]" in result.output


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no such file"),
        (b"", "empty file"),
        (b"hello\n", "not a recorded feed"),
        (b'{"some": "json"}\n', "unknown format"),
        (b'{"format": "tradekernel-feed", "venue": "KRAKEN"}\n', "no market-data codec for venue 'KRAKEN'"),
    ],
)
def test_a_bad_file_is_one_line_and_exit_2(tmp_path: Path, content: bytes | None, message: str) -> None:
    path = tmp_path / "feed.jsonl"
    if content is not None:
        path.write_bytes(content)
    result = CliRunner().invoke(cli, ["feed", "inspect", str(path)])
    assert result.exit_code == 2
    assert result.output.count("\n") == 1
    assert result.output.startswith("error: ")
    assert message in result.output


def test_python_dash_m_entry_point_runs_the_inspector(shared_dir: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "interfaces.cli", "feed", "inspect", "--json", str(shared_dir / CAPTURE)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["frames"] == 1030


def test_generate_writes_a_deterministic_feed_that_inspects_clean(tmp_path: Path) -> None:
    runner = CliRunner()
    first, second = tmp_path / "a.jsonl.zst", tmp_path / "b.jsonl.zst"
    for path in (first, second):
        result = runner.invoke(cli, ["feed", "generate", str(path), "--frames", "300", "--seed", "5"])
        assert result.exit_code == 0, result.output
        assert "300 frames" in result.output
    assert first.read_bytes() == second.read_bytes()
    report = run_json(str(first))
    assert (report["frames"], report["gaps"], report["decode_errors"]) == (300, 0, 0)


def test_generate_refuses_to_overwrite_without_being_asked(tmp_path: Path) -> None:
    path = tmp_path / "feed.jsonl"
    path.write_text("precious")
    result = CliRunner().invoke(cli, ["feed", "generate", str(path), "--frames", "10"])
    assert result.exit_code == 2
    assert "--overwrite" in result.output
    assert path.read_text() == "precious"
