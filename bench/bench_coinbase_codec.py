"""Benchmark: the Coinbase codec on the real capture, looped: frames/s and level changes/s.

The capture (../shared, or TK_SHARED_DIR) has 1,030 frames and 74,193 level changes, of which
69,334 are in its two opening snapshots (multi-megabyte frames) and 4,859 in 773 small update
frames. Both are reported: snapshot frames measure the per-level cost, update frames the per-frame
cost. Every pass feeds the whole capture through ONE codec under a new connection id (a new
connection restarts the numbering), as a long-running session would.

    .venv/bin/python bench/bench_coinbase_codec.py                  # 10 passes, CPU time
    .venv/bin/python bench/bench_coinbase_codec.py --passes 30 --clock wall

Measured: `decode` (the typed msgspec decode alone), `codec` (CoinbaseMarketDataCodec.feed: decode,
validation, sequencing, events) and `codec+book` (the same, each OrderBookUpdate applied to a
domain OrderBook). The default clock is this process's CPU time, so that other work on a shared
machine does not count.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

from domain.instrument import InstrumentId
from domain.market_data import OrderBookUpdate
from domain.order_book import OrderBook
from infrastructure.recorded_feed import open_feed
from infrastructure.venues.coinbase.market_data_codec import CoinbaseMarketDataCodec
from infrastructure.venues.coinbase.messages import L2DataMessage, decode_message

CAPTURE = "data/coinbase-advanced/capture/coinbase-advanced-2026-08-09-btc-eth.jsonl.zst"


def _capture_path() -> Path:
    shared = os.environ.get("TK_SHARED_DIR")
    root = Path(shared) if shared else Path(__file__).resolve().parent.parent.parent / "shared"
    return root / CAPTURE


def _split(frames: list[tuple[str, int]]) -> tuple[list[tuple[str, int]], int, int]:
    """The frames, the snapshot frames' level count, and the update frames' level count."""
    snapshot_levels = update_levels = 0
    for text, _ in frames:
        message = decode_message(text)
        if isinstance(message, L2DataMessage):
            count = sum(len(event.updates) for event in message.events)
            if message.events[0].type == "snapshot":
                snapshot_levels += count
            else:
                update_levels += count
    return frames, snapshot_levels, update_levels


def _run(
    name: str,
    *,
    frames: list[tuple[str, int]],
    passes: int,
    clock: Callable[[], float],
    step: Callable[[str, int, str], None],
    levels: tuple[int, int],
) -> None:
    is_big = [len(text) > 100_000 for text, _ in frames]
    big_time = small_time = 0.0
    for number in range(passes):
        connection = f"pass-{number}"
        for (text, ts), big in zip(frames, is_big, strict=True):
            start = clock()
            step(text, ts, connection)
            elapsed = clock() - start
            if big:
                big_time += elapsed
            else:
                small_time += elapsed
    total = big_time + small_time
    snapshot_levels, update_levels = levels
    all_levels = snapshot_levels + update_levels
    big_frames = sum(is_big)
    small_frames = len(frames) - big_frames
    print(
        f"{name:<11} all: {passes * len(frames) / total:>9,.0f} frames/s"
        f" {passes * all_levels / total:>11,.0f} levels/s"
        f" | snapshots: {passes * snapshot_levels / big_time:>11,.0f} levels/s"
        f" | other frames: {passes * small_frames / small_time:>9,.0f} frames/s"
        f" {passes * update_levels / small_time:>11,.0f} levels/s"
    )


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; print one line per measurement."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--passes", type=int, default=10)
    parser.add_argument("--clock", choices=["cpu", "wall"], default="cpu")
    arguments = parser.parse_args(argv)
    clock = time.process_time if arguments.clock == "cpu" else time.perf_counter
    path = _capture_path()
    if not path.is_file():
        print(f"capture not found: {path} (set TK_SHARED_DIR)", file=sys.stderr)
        return 2
    feed = open_feed(path)
    frames, snapshot_levels, update_levels = _split([(f.text, f.receive_ts_ns) for f in feed.frames()])
    levels = (snapshot_levels, update_levels)
    print(
        f"{len(frames)} frames, {snapshot_levels + update_levels:,} level changes "
        f"({snapshot_levels:,} in snapshots, {update_levels:,} in updates); {arguments.passes} passes, "
        f"{arguments.clock} clock"
    )

    def decode(text: str, _ts: int, _connection: str) -> None:
        decode_message(text)

    codec = CoinbaseMarketDataCodec()

    def codec_only(text: str, ts: int, connection: str) -> None:
        codec.feed(text, ts, connection)

    book_codec = CoinbaseMarketDataCodec()
    books: dict[InstrumentId, OrderBook] = {}

    def codec_and_book(text: str, ts: int, connection: str) -> None:
        for event in book_codec.feed(text, ts, connection):
            if type(event) is OrderBookUpdate:
                book = books.get(event.instrument_id)
                if book is None:
                    book = books[event.instrument_id] = OrderBook(event.instrument_id)
                book.apply(event)

    for name, step in (("decode", decode), ("codec", codec_only), ("codec+book", codec_and_book)):
        _run(name, frames=frames, passes=arguments.passes, clock=clock, step=step, levels=levels)
    stats = codec.stats
    assert stats.gaps == stats.decode_errors == stats.suppressed_book_updates == 0, stats
    assert stats.level_changes == arguments.passes * (snapshot_levels + update_levels)
    return 0


if __name__ == "__main__":
    sys.exit(main())
