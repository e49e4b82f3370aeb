"""What a Coinbase codec has seen: frames per channel and event type, levels, trades, faults."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


@dataclass(slots=True)
class CodecStats:
    """Counters of a `CoinbaseMarketDataCodec`, updated as frames are fed.

    - `frames`: every frame fed, malformed ones included; `decode_errors`: the malformed ones.
    - `frames_by_channel`: decoded frames per channel (dropped duplicates included); unknown
      channels are counted here and in `unknown_channels`; error frames under "error".
    - `events_by_type`: events of accepted frames, e.g. "l2_data.snapshot", "l2_data.update",
      "market_trades.update"; `level_changes`, `trades`, `tickers`, `user_orders`: items in
      accepted frames.
    - `book_updates_emitted` / `suppressed_book_updates` / `suppressed_level_changes`: book updates
      emitted, and withheld because the instrument's book was stale or had no snapshot yet.
    - `unknown_fields`: field path -> number of sampled frames in which it appeared (see the codec
      for the sampling rule); `unknown_field_checks`: frames sampled.
    - `gaps`, `missing_frames` (numbers skipped by gaps), `duplicates`, `out_of_order`,
      `silences`, `venue_errors`, `candles`, `heartbeats`.
    """

    frames: int = 0
    decode_errors: int = 0
    frames_by_channel: Counter[str] = field(default_factory=Counter)
    events_by_type: Counter[str] = field(default_factory=Counter)
    level_changes: int = 0
    trades: int = 0
    tickers: int = 0
    candles: int = 0
    heartbeats: int = 0
    user_orders: int = 0
    book_updates_emitted: int = 0
    suppressed_book_updates: int = 0
    suppressed_level_changes: int = 0
    unknown_channels: Counter[str] = field(default_factory=Counter)
    unknown_fields: Counter[str] = field(default_factory=Counter)
    unknown_field_checks: int = 0
    venue_errors: int = 0
    gaps: int = 0
    missing_frames: int = 0
    duplicates: int = 0
    out_of_order: int = 0
    silences: int = 0
