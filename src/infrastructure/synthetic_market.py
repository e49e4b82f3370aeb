"""A synthetic Coinbase Advanced Trade market feed: seeded, deterministic, in the recorded format.

`synthetic_frames(config)` yields ``(receive ts_ns, frame text)`` for one WebSocket connection,
shaped like the frames of the real capture (../shared/data/coinbase-advanced/capture):

1. a ``subscriptions`` frame (heartbeats, level2, market_trades, ticker for every instrument);
2. an ``l2_data`` snapshot per instrument, then a ``ticker`` snapshot per instrument;
3. then, one per slot of the message rate: ``l2_data`` updates (a few level changes, mostly near
   the top), or a trade, which is a ``market_trades`` frame (price at the best level, ``side``
   the maker side: "SELL" for a trade at the best offer, "BUY" at the best bid) followed by the
   ``l2_data`` update that reduces that level and a ``ticker`` frame;
4. ``heartbeats`` frames every `heartbeat_interval_ns`, on their own clock.

Every frame has ``sequence_num`` 0, 1, 2, ... (per connection, across channels) and a
``timestamp`` derived from the simulated receive time minus `latency_ns` (no system clock),
formatted as Coinbase does (Go RFC 3339 with nanoseconds, trailing zeros trimmed, UTC);
``event_time`` and trade ``time`` have microseconds. Prices and sizes are exact decimal text on
the instrument's grids (see `synthetic_market_model`). `write_synthetic_feed(path, config)` writes
the project's recorded-feed format through `FeedRecorder`; equal configs give byte-identical
files (plain, gzip or zstd) with the same kernel version.
"""

from __future__ import annotations

import importlib.metadata
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Final

import msgspec

from domain.instrument import Instrument, InstrumentId
from infrastructure.recorded_feed.format import FeedHeader
from infrastructure.recorded_feed.recorder import FeedRecorder
from infrastructure.synthetic_market_model import (
    CALM,
    DEFAULT_INSTRUMENTS,
    VOLATILE,
    Grid,
    InstrumentBook,
    LevelChange,
    SyntheticInstrument,
    SyntheticMarket,
    SyntheticMarketConfig,
    Trade,
    VolatilityRegime,
)

__all__ = [
    "CALM",
    "DEFAULT_INSTRUMENTS",
    "SUBSCRIBED_CHANNELS",
    "VOLATILE",
    "SyntheticFeedStats",
    "SyntheticInstrument",
    "SyntheticMarketConfig",
    "VolatilityRegime",
    "synthetic_frames",
    "write_synthetic_feed",
]

SUBSCRIBED_CHANNELS: Final = ("heartbeats", "level2", "market_trades", "ticker")
_NS_PER_S: Final = 1_000_000_000
_PERCENT: Final = Grid(Decimal("1E-14"))  # Coinbase sends price_percent_chg_24_h with 14 decimals


@dataclass(slots=True)
class SyntheticFeedStats:
    """What a synthetic run produced (filled in while frames are generated)."""

    frames: int = 0
    level_changes: int = 0  # entries of l2_data update frames (snapshots not counted)
    trades: int = 0
    heartbeats: int = 0
    first_ts_ns: int = 0
    last_ts_ns: int = 0


class _TimeText:
    """Coinbase's time texts for integer nanoseconds, caching the date and time of one second."""

    __slots__ = ("_date", "_second", "_time")

    def __init__(self) -> None:
        self._second = -1
        self._date = self._time = ""

    def _split(self, second: int) -> tuple[str, str]:
        if second != self._second:
            moment = datetime.fromtimestamp(second, UTC)
            self._second, self._date, self._time = second, f"{moment:%Y-%m-%d}", f"{moment:%H:%M:%S}"
        return self._date, self._time

    def nanos(self, ns: int) -> str:
        """RFC 3339, up to 9 fractional digits, trailing zeros trimmed (Go's RFC3339Nano)."""
        second, fraction = divmod(ns, _NS_PER_S)
        date, time = self._split(second)
        if fraction:
            return f"{date}T{time}.{fraction:09d}".rstrip("0") + "Z"
        return f"{date}T{time}Z"

    def micros(self, ns: int) -> str:
        """RFC 3339 truncated to microseconds, trailing zeros trimmed (event_time, trade time)."""
        second, fraction = divmod(ns // 1000, 1_000_000)
        date, time = self._split(second)
        if fraction:
            return f"{date}T{time}.{fraction:06d}".rstrip("0") + "Z"
        return f"{date}T{time}Z"

    def go_string(self, ns: int) -> str:
        """Go's time.String() in UTC, as heartbeats' current_time: "2026-08-09 21:05:48.85 +0000 UTC"."""
        second, fraction = divmod(ns, _NS_PER_S)
        date, time = self._split(second)
        if fraction:
            return f"{date} {time}.{fraction:09d}".rstrip("0") + " +0000 UTC"
        return f"{date} {time} +0000 UTC"


def _json(text: str) -> str:
    return msgspec.json.encode(text).decode()


class _Renderer:
    """Coinbase `events` JSON for the model's books, trades and tickers."""

    def __init__(self, books: list[InstrumentBook]) -> None:
        self.books = books
        self.product_json = [_json(book.spec.product_id) for book in books]

    def book(self, index: int, kind: str, event_time: str, changes: list[LevelChange]) -> str:
        prices, sizes = self.books[index].prices.cached_text, self.books[index].sizes.text
        bid = f'{{"side":"bid","event_time":"{event_time}","price_level":"'
        offer = f'{{"side":"offer","event_time":"{event_time}","price_level":"'
        updates = ",".join(
            [
                f'{bid if is_bid else offer}{prices(ticks)}","new_quantity":"{sizes(units)}"}}'
                for is_bid, ticks, units in changes
            ]
        )
        return f'[{{"type":"{kind}","product_id":{self.product_json[index]},"updates":[{updates}]}}]'

    def trade(self, index: int, trade: Trade, time: str) -> str:
        book = self.books[index]
        return (
            f'[{{"type":"update","trades":[{{"product_id":{self.product_json[index]},'
            f'"trade_id":"{trade.trade_id}","price":"{book.prices.text(trade.price_ticks)}",'
            f'"size":"{book.sizes.text(trade.size_units)}","time":"{time}",'
            f'"side":"{"BUY" if trade.maker_is_bid else "SELL"}"}}]}}]'
        )

    def ticker(self, index: int, kind: str) -> str:
        book = self.books[index]
        price, size = book.prices.cached_text, book.sizes.text
        bid, bid_units = book.best(is_bid=True)
        ask, ask_units = book.best(is_bid=False)
        change = (book.last_ticks - book.open_ticks) * 100 * 10**14
        percent = (abs(change) // book.open_ticks) * (1 if change >= 0 else -1)  # truncated
        low, high = price(book.low_ticks), price(book.high_ticks)
        return (
            f'[{{"type":"{kind}","tickers":[{{"type":"ticker","product_id":{self.product_json[index]},'
            f'"price":"{price(book.last_ticks)}","volume_24_h":"{size(book.volume_units)}",'
            f'"low_24_h":"{low}","high_24_h":"{high}","low_52_w":"{low}","high_52_w":"{high}",'
            f'"price_percent_chg_24_h":"{_PERCENT.text(percent)}",'
            f'"best_bid":"{price(bid)}","best_ask":"{price(ask)}",'
            f'"best_bid_quantity":"{size(bid_units)}","best_ask_quantity":"{size(ask_units)}"}}]}}]'
        )


def synthetic_frames(
    config: SyntheticMarketConfig, stats: SyntheticFeedStats | None = None
) -> Iterator[tuple[int, str]]:
    """Yield ``(receive ts_ns, frame text)`` of the synthetic feed, in order, for one connection.

    Market frames fall at ``start_ns + i * 1e9 // message_rate_per_s`` (integer ns); heartbeats
    at ``start_ns + k * heartbeat_interval_ns`` for k = 1, 2, ... (first when tied). The
    generator is endless when the config sets neither duration nor frame count. `stats`, if
    given, is updated as frames are produced.
    """
    stats = stats if stats is not None else SyntheticFeedStats()
    market = SyntheticMarket(config)
    render = _Renderer(market.books)
    times = _TimeText()
    start, rate, latency = config.start_ns, config.message_rate_per_s, config.latency_ns
    end = None if config.duration_ns is None else start + config.duration_ns
    limit = config.frame_count
    interval = config.heartbeat_interval_ns or 0
    next_heartbeat = start + interval if interval else None
    ids = ",".join(render.product_json)
    subscriptions = ",".join(
        f'"{channel}":[{ids if channel != "heartbeats" else _json("heartbeats")}]'
        for channel in SUBSCRIBED_CHANNELS
    )
    # (channel, events JSON, level changes it carries, whether it is a trade), emitted one per slot
    pending: deque[tuple[str, str, int, bool]] = deque(
        [("subscriptions", f'[{{"subscriptions":{{{subscriptions}}}}}]', 0, False)]
    )
    opening_time = times.micros(start - latency)
    for index, book in enumerate(market.books):
        pending.append(("l2_data", render.book(index, "snapshot", opening_time, book.snapshot()), 0, False))
    for index in range(len(market.books)):
        pending.append(("ticker", render.ticker(index, "snapshot"), 0, False))

    sequence = slot = heartbeats = 0
    while limit is None or sequence < limit:
        ts = start + slot * _NS_PER_S // rate
        is_heartbeat = next_heartbeat is not None and next_heartbeat <= ts
        if is_heartbeat and next_heartbeat is not None:
            ts = next_heartbeat  # heartbeats keep their own clock, ahead of a tied market frame
        if end is not None and ts >= end:
            return
        if is_heartbeat:
            heartbeats += 1
            elapsed = ts - start
            channel = "heartbeats"
            events = (
                f'[{{"current_time":"{times.go_string(ts - latency)} m=+{elapsed // _NS_PER_S}.'
                f'{elapsed % _NS_PER_S:09d}","heartbeat_counter":{heartbeats}}}]'
            )
            next_heartbeat = ts + interval
            stats.heartbeats += 1
        else:
            slot += 1
            if not pending:
                index, changes, trade = market.step(ts)
                event_time = times.micros(ts - latency)
                if trade is not None:
                    pending.append(("market_trades", render.trade(index, trade, event_time), 0, True))
                pending.append(
                    ("l2_data", render.book(index, "update", event_time, changes), len(changes), False)
                )
                if trade is not None:
                    pending.append(("ticker", render.ticker(index, "update"), 0, False))
            channel, events, changes_count, is_trade = pending.popleft()
            stats.level_changes += changes_count
            stats.trades += is_trade
        if sequence == 0:
            stats.first_ts_ns = ts
        stats.frames += 1
        stats.last_ts_ns = ts
        yield (
            ts,
            (
                f'{{"channel":"{channel}","timestamp":"{times.nanos(ts - latency)}",'
                f'"sequence_num":{sequence},"events":{events}}}'
            ),
        )
        sequence += 1


def _kernel_version() -> str:
    try:
        return importlib.metadata.version("tradekernel")
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover - running from a bare checkout
        return "unknown"


def write_synthetic_feed(
    path: str | Path, config: SyntheticMarketConfig, *, overwrite: bool = False
) -> SyntheticFeedStats:
    """Write the synthetic feed to `path` in the project's recorded format; return what was written.

    Compression follows the suffix (.zst, .gz, else plain). The header's `recorded_at_ns` is the
    config's `start_ns` and flushing is by size only, so the bytes depend on the config (and the
    kernel version in the header) alone. Needs a duration or a frame count; refuses to replace
    an existing file unless `overwrite`.
    """
    if config.duration_ns is None and config.frame_count is None:
        raise ValueError("a synthetic feed file needs a duration or a frame count")
    header = FeedHeader(
        venue="COINBASE",
        channels=list(SUBSCRIBED_CHANNELS),
        instruments=[instrument.product_id for instrument in config.instruments],
        recorded_at_ns=config.start_ns,
        kernel_version=_kernel_version(),
    )
    stats = SyntheticFeedStats()
    with FeedRecorder(
        path, header, overwrite=overwrite, flush_every_frames=None, flush_interval_s=None
    ) as recorder:
        record, connection = recorder.record, config.connection_id
        for ts_ns, text in synthetic_frames(config, stats):
            record(ts_ns, connection, text)
    return stats


def synthetic_instruments(venue: str, currency: str) -> dict[InstrumentId, Instrument]:
    """The default synthetic instruments quoted in `currency`, as domain instruments on `venue`."""
    found: dict[InstrumentId, Instrument] = {}
    for synthetic in DEFAULT_INSTRUMENTS:
        base, _, quote = synthetic.product_id.partition("-")
        if quote == currency:
            instrument = Instrument(
                InstrumentId(venue, synthetic.product_id),
                base,
                quote,
                synthetic.price_increment,
                synthetic.size_increment,
            )
            found[instrument.id] = instrument
    return found
