"""The synthetic Coinbase market: determinism, Coinbase frame shapes, a book that is never crossed,
prices on the grid, trades against the book, heartbeats and message rate on the simulated clock.

The book is rebuilt here from the frames alone, with plain dicts and Decimals, independently of
the generator's own integer-tick book.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from itertools import islice
from pathlib import Path
from typing import Any, Literal

import msgspec
import pytest

from infrastructure.recorded_feed.reader import open_feed
from infrastructure.synthetic_market import (
    SUBSCRIBED_CHANNELS,
    SyntheticFeedStats,
    SyntheticInstrument,
    SyntheticMarketConfig,
    VolatilityRegime,
    synthetic_frames,
    write_synthetic_feed,
)
from infrastructure.synthetic_market_model import Grid, SyntheticMarket

START_NS = 1_786_309_548_000_000_000
NS = 1_000_000_000


def config(**overrides: object) -> SyntheticMarketConfig:
    fields: dict[str, object] = {
        "seed": 42,
        "frame_count": 4_000,
        "message_rate_per_s": 200,
        "levels_per_side": 20,
        "start_ns": START_NS,
    }
    fields.update(overrides)
    return SyntheticMarketConfig(**fields)  # type: ignore[arg-type]


# --- Coinbase shapes (every field, nothing more) -------------------------------------------


class Frame(msgspec.Struct, forbid_unknown_fields=True):
    channel: str
    timestamp: str
    sequence_num: int
    events: msgspec.Raw


class Level(msgspec.Struct, forbid_unknown_fields=True):
    side: Literal["bid", "offer"]
    event_time: str
    price_level: str
    new_quantity: str


class BookEvent(msgspec.Struct, forbid_unknown_fields=True):
    type: Literal["snapshot", "update"]
    product_id: str
    updates: list[Level]


class TradeItem(msgspec.Struct, forbid_unknown_fields=True):
    product_id: str
    trade_id: str
    price: str
    size: str
    time: str
    side: Literal["BUY", "SELL"]


class TradesEvent(msgspec.Struct, forbid_unknown_fields=True):
    type: Literal["update"]
    trades: list[TradeItem]


class TickerItem(msgspec.Struct, forbid_unknown_fields=True):
    type: Literal["ticker"]
    product_id: str
    price: str
    volume_24_h: str
    low_24_h: str
    high_24_h: str
    low_52_w: str
    high_52_w: str
    price_percent_chg_24_h: str
    best_bid: str
    best_ask: str
    best_bid_quantity: str
    best_ask_quantity: str


class TickerEvent(msgspec.Struct, forbid_unknown_fields=True):
    type: Literal["snapshot", "update"]
    tickers: list[TickerItem]


class HeartbeatEvent(msgspec.Struct, forbid_unknown_fields=True):
    current_time: str
    heartbeat_counter: int


class SubscriptionsEvent(msgspec.Struct, forbid_unknown_fields=True):
    subscriptions: dict[str, list[str]]


DECODERS: dict[str, msgspec.json.Decoder[Any]] = {
    "l2_data": msgspec.json.Decoder(list[BookEvent]),
    "market_trades": msgspec.json.Decoder(list[TradesEvent]),
    "ticker": msgspec.json.Decoder(list[TickerEvent]),
    "heartbeats": msgspec.json.Decoder(list[HeartbeatEvent]),
    "subscriptions": msgspec.json.Decoder(list[SubscriptionsEvent]),
}
Event = BookEvent | TradesEvent | TickerEvent | HeartbeatEvent | SubscriptionsEvent


@dataclass
class Parsed:
    ts_ns: int
    text: str
    frame: Frame
    event: Event  # every synthetic frame carries exactly one event


def parse(frames: list[tuple[int, str]]) -> list[Parsed]:
    parsed = []
    for ts_ns, text in frames:
        frame = msgspec.json.decode(text, type=Frame)
        events = DECODERS[frame.channel].decode(frame.events)
        assert len(events) == 1
        parsed.append(Parsed(ts_ns, text, frame, events[0]))
    return parsed


RFC3339 = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d*[1-9]))?Z")
DECIMAL_TEXT = re.compile(r"-?(0|[1-9]\d*)(\.\d*[1-9])?")


def time_ns(text: str, max_digits: int) -> int:
    """Nanoseconds of a Coinbase time text; asserts Go's trimmed form with at most `max_digits`."""
    match = RFC3339.fullmatch(text)
    assert match, text
    whole = int(datetime.strptime(match[1], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC).timestamp())
    fraction = match[2] or ""
    assert len(fraction) <= max_digits, text
    return whole * NS + int(fraction.ljust(9, "0"))


def exact(text: str, increment: Decimal) -> Decimal:
    """A price or size text: canonical decimal (no exponent, no trailing zero), on the grid."""
    assert DECIMAL_TEXT.fullmatch(text), text
    value = Decimal(text)
    assert value % increment == 0, (text, increment)
    return value


@pytest.fixture(scope="module")
def default_run() -> tuple[SyntheticMarketConfig, list[Parsed], SyntheticFeedStats]:
    run_config = config()
    stats = SyntheticFeedStats()
    return run_config, parse(list(synthetic_frames(run_config, stats))), stats


# --- determinism ---------------------------------------------------------------------------


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("suffix", ["jsonl", "jsonl.zst", "jsonl.gz"])
def test_the_same_config_writes_a_byte_identical_file(tmp_path: Path, suffix: str) -> None:
    first, second, other = (tmp_path / f"{name}.{suffix}" for name in ("a", "b", "c"))
    write_synthetic_feed(first, config(frame_count=3_000))
    write_synthetic_feed(second, config(frame_count=3_000))
    write_synthetic_feed(other, config(frame_count=3_000, seed=43))
    assert sha256(first) == sha256(second)
    assert sha256(first) != sha256(other)


GOLDEN_SHA256 = "63f5bbe064f41155760fcf8790ea2dfdb15f29c03f333ffb5a2f2d5832a0b1a6"


def test_the_frames_are_pinned() -> None:
    # Golden hash of a small run: it pins the output across platforms and versions (the walk
    # uses no libm function). A deliberate change to the generator updates this hash.
    digest = hashlib.sha256()
    for ts_ns, text in synthetic_frames(config(frame_count=2_000)):
        digest.update(f"{ts_ns} {text}\n".encode())
    assert digest.hexdigest() == GOLDEN_SHA256


# --- frame shapes and sequencing ------------------------------------------------------------


def test_sequence_num_counts_every_frame_from_zero(default_run: tuple[object, list[Parsed], object]) -> None:
    _config, parsed, _stats = default_run
    assert [p.frame.sequence_num for p in parsed] == list(range(len(parsed)))


def test_the_feed_opens_with_subscriptions_then_snapshots(
    default_run: tuple[SyntheticMarketConfig, list[Parsed], object],
) -> None:
    run_config, parsed, _stats = default_run
    ids = [instrument.product_id for instrument in run_config.instruments]
    first = parsed[0].event
    assert isinstance(first, SubscriptionsEvent)
    assert first.subscriptions == {
        "heartbeats": ["heartbeats"],
        "level2": ids,
        "market_trades": ids,
        "ticker": ids,
    }
    assert sorted(first.subscriptions) == sorted(SUBSCRIBED_CHANNELS)
    snapshots = [p.event for p in parsed[1 : 1 + len(ids)]]
    assert [(e.type, e.product_id) for e in snapshots if isinstance(e, BookEvent)] == [
        ("snapshot", i) for i in ids
    ]
    tickers = [p.event for p in parsed[1 + len(ids) : 1 + 2 * len(ids)]]
    assert [(e.type, e.tickers[0].product_id) for e in tickers if isinstance(e, TickerEvent)] == [
        ("snapshot", i) for i in ids
    ]
    later = [p.event for p in parsed[1 + 2 * len(ids) :]]
    assert all(getattr(event, "type", "update") == "update" for event in later)
    assert not any(isinstance(event, SubscriptionsEvent) for event in later)


def test_every_channel_appears_in_a_realistic_mix(
    default_run: tuple[object, list[Parsed], SyntheticFeedStats],
) -> None:
    _config, parsed, stats = default_run
    channels = Counter(p.frame.channel for p in parsed)
    assert set(channels) == {"subscriptions", "l2_data", "market_trades", "ticker", "heartbeats"}
    assert channels["l2_data"] > 0.7 * len(parsed)
    assert channels["market_trades"] == channels["ticker"] - 2 == stats.trades > 0
    assert stats.frames == len(parsed)
    assert stats.heartbeats == channels["heartbeats"]
    updates = [p.event for p in parsed if isinstance(p.event, BookEvent) and p.event.type == "update"]
    assert stats.level_changes == sum(len(event.updates) for event in updates)
    assert all(event.updates for event in updates)
    assert 3 < stats.level_changes / len(updates) < 12  # several changes a frame, not dozens


def test_level_changes_are_mostly_near_the_top() -> None:
    run_config = config(levels_per_side=50, frame_count=3_000)
    books: dict[str, tuple[list[Decimal], list[Decimal]]] = {}
    depths = []
    for p in parse(list(synthetic_frames(run_config))):
        event = p.event
        if not isinstance(event, BookEvent):
            continue
        bids, asks = books.setdefault(event.product_id, ([], []))
        if event.type == "snapshot":
            bids[:], asks[:] = [], []
        for level in event.updates:
            price = Decimal(level.price_level)
            side = bids if level.side == "bid" else asks
            if event.type == "update":
                depths.append(sum(1 for other in side if (other > price if side is bids else other < price)))
            if level.new_quantity == "0":
                side.remove(price)
            elif price not in side:
                side.append(price)
    near_top = sum(1 for depth in depths if depth < 10) / len(depths)
    assert near_top > 0.6  # the rest is mostly the deep end following the top (a depth-50 window)


def test_timestamps_are_coinbase_rfc3339_from_the_simulated_clock(
    default_run: tuple[SyntheticMarketConfig, list[Parsed], object],
) -> None:
    run_config, parsed, _stats = default_run
    for p in parsed:
        assert time_ns(p.frame.timestamp, 9) == p.ts_ns - run_config.latency_ns
        event = p.event
        times: list[str] = []
        if isinstance(event, BookEvent):
            times = [level.event_time for level in event.updates]
        elif isinstance(event, TradesEvent):
            times = [trade.time for trade in event.trades]
        for text in times:
            assert time_ns(text, 6) <= p.ts_ns - run_config.latency_ns
    assert [p.ts_ns for p in parsed] == sorted(p.ts_ns for p in parsed)


def test_heartbeats_come_at_the_configured_interval() -> None:
    run_config = config(frame_count=None, duration_ns=10 * NS + 1, heartbeat_interval_ns=NS // 4)
    parsed = parse(list(synthetic_frames(run_config)))
    beats = [(p.ts_ns, p.event) for p in parsed if isinstance(p.event, HeartbeatEvent)]
    assert [ts for ts, _ in beats] == [START_NS + k * NS // 4 for k in range(1, 41)]
    assert [event.heartbeat_counter for _, event in beats] == list(range(1, 41))
    first_time = beats[0][1].current_time
    assert first_time == "2026-08-09 21:05:48.249 +0000 UTC m=+0.250000000"


def test_no_heartbeats_when_the_interval_is_none() -> None:
    parsed = parse(list(synthetic_frames(config(heartbeat_interval_ns=None))))
    assert not any(p.frame.channel == "heartbeats" for p in parsed)


@pytest.mark.parametrize("rate", [1, 7, 200, 1_000, 12_345])
def test_market_frames_follow_the_configured_message_rate(rate: int) -> None:
    run_config = config(message_rate_per_s=rate, frame_count=None, duration_ns=3 * NS)
    frames = list(synthetic_frames(run_config))
    market = [ts for ts, text in frames if not text.startswith('{"channel":"heartbeats"')]
    assert market == [START_NS + i * NS // rate for i in range(3 * rate)]
    per_second = Counter((ts - START_NS) // NS for ts in market)
    assert per_second == {0: rate, 1: rate, 2: rate}
    assert all(ts < START_NS + 3 * NS for ts, _ in frames)


def test_the_run_stops_at_the_frame_count_or_the_duration() -> None:
    assert len(list(synthetic_frames(config(frame_count=123)))) == 123
    assert list(synthetic_frames(config(frame_count=0))) == []
    both = list(synthetic_frames(config(frame_count=10_000, duration_ns=NS)))
    assert len(both) == 200 + 1 - 1  # 200 market frames in 1 s; the heartbeat at 1 s is excluded
    endless = synthetic_frames(config(frame_count=None))
    assert len(list(islice(endless, 5_000))) == 5_000


# --- the book, rebuilt from the frames ------------------------------------------------------


@dataclass
class Book:
    bids: dict[Decimal, Decimal] = field(default_factory=dict)
    asks: dict[Decimal, Decimal] = field(default_factory=dict)

    def apply(self, level: Level, price: Decimal, size: Decimal) -> None:
        side = self.bids if level.side == "bid" else self.asks
        if size == 0:
            assert price in side, f"removal of an absent level {level}"
            del side[price]
        else:
            side[price] = size

    def assert_not_crossed(self) -> None:
        if self.bids and self.asks:
            assert max(self.bids) < min(self.asks)


def replay_books(run_config: SyntheticMarketConfig, parsed: list[Parsed]) -> None:
    """Rebuild every book from the frames and check the book-related invariants on the way."""
    specs = {instrument.product_id: instrument for instrument in run_config.instruments}
    books: dict[str, Book] = {}
    last_trade: tuple[str, TradeItem] | None = None
    for p in parsed:
        event = p.event
        if isinstance(event, BookEvent):
            spec = specs[event.product_id]
            if event.type == "snapshot":
                books[event.product_id] = Book()
            book = books[event.product_id]
            before = dict(book.bids if event.updates[0].side == "bid" else book.asks)
            for level in event.updates:
                price = exact(level.price_level, spec.price_increment)
                size = exact(level.new_quantity, spec.size_increment)
                assert price > 0
                assert size >= 0
                book.apply(level, price, size)
                book.assert_not_crossed()  # not even between two changes of one frame
            assert len(book.bids) == len(book.asks) == run_config.levels_per_side
            if last_trade is not None:  # the update right after a trade reduces the traded level
                product, trade = last_trade
                assert event.product_id == product
                first = event.updates[0]
                assert first.side == ("bid" if trade.side == "BUY" else "offer")
                assert first.price_level == trade.price
                assert Decimal(first.new_quantity) == before[Decimal(trade.price)] - Decimal(trade.size)
                last_trade = None
        elif isinstance(event, TradesEvent):
            (trade,) = event.trades
            spec = specs[trade.product_id]
            book = books[trade.product_id]
            price = exact(trade.price, spec.price_increment)
            size = exact(trade.size, spec.size_increment)
            maker = book.bids if trade.side == "BUY" else book.asks
            best = max(maker) if trade.side == "BUY" else min(maker)
            assert price == best, "a trade executes at the best level of the maker side"
            assert 0 < size <= maker[price]
            time_ns(trade.time, 6)
            last_trade = (trade.product_id, trade)
        elif isinstance(event, TickerEvent):
            (ticker,) = event.tickers
            spec = specs[ticker.product_id]
            book = books[ticker.product_id]
            assert exact(ticker.best_bid, spec.price_increment) == max(book.bids)
            assert exact(ticker.best_ask, spec.price_increment) == min(book.asks)
            assert exact(ticker.best_bid_quantity, spec.size_increment) == book.bids[max(book.bids)]
            assert exact(ticker.best_ask_quantity, spec.size_increment) == book.asks[min(book.asks)]
            low, high = (
                exact(ticker.low_24_h, spec.price_increment),
                exact(ticker.high_24_h, spec.price_increment),
            )
            assert low <= exact(ticker.price, spec.price_increment) <= high
            assert (ticker.low_52_w, ticker.high_52_w) == (ticker.low_24_h, ticker.high_24_h)
            exact(ticker.volume_24_h, spec.size_increment)
            change = (Decimal(ticker.price) - spec.start_price) / spec.start_price * 100
            assert abs(Decimal(ticker.price_percent_chg_24_h) - change) < Decimal("1E-14")
            assert DECIMAL_TEXT.fullmatch(ticker.price_percent_chg_24_h)


def test_the_book_is_never_crossed_and_trades_hit_the_book(
    default_run: tuple[SyntheticMarketConfig, list[Parsed], object],
) -> None:
    run_config, parsed, _stats = default_run
    replay_books(run_config, parsed)


def test_volatile_markets_with_many_trades_keep_every_invariant() -> None:
    wild = VolatilityRegime(name="wild", daily_volatility=1.5, switch_probability=0.5)
    run_config = config(
        seed=7,
        frame_count=3_000,
        message_rate_per_s=20,
        levels_per_side=5,
        trade_probability=0.6,
        regimes=(wild, VolatilityRegime(name="calm", daily_volatility=0.01, switch_probability=0.5)),
        max_changes_per_update=12,
    )
    replay_books(run_config, parse(list(synthetic_frames(run_config))))


def test_any_number_of_instruments_on_any_grid() -> None:
    instruments = (
        SyntheticInstrument(
            product_id="DOGE-USD",
            start_price=Decimal("0.15432"),
            price_increment=Decimal("0.00001"),
            size_increment=Decimal("0.1"),
            top_size=Decimal("5000"),
        ),
        SyntheticInstrument(
            product_id="SHIB-USD",
            start_price=Decimal("0.00001234"),
            price_increment=Decimal("0.00000001"),
            size_increment=Decimal("1"),
            top_size=Decimal("1000000"),
            level_spacing_ticks=1,
            quote_width_ticks=1,
        ),
        SyntheticInstrument(
            product_id="BIG-USD",
            start_price=Decimal("1.5E+5"),
            price_increment=Decimal("1E+1"),
            size_increment=Decimal("0.001"),
        ),
        SyntheticInstrument(
            product_id="HALF-USD",
            start_price=Decimal("100.0"),
            price_increment=Decimal("0.5"),
            size_increment=Decimal("0.25"),
            top_size=Decimal("10"),
        ),
        *(
            SyntheticInstrument(
                product_id=f"T{i}-USD",
                start_price=Decimal(100 + i),
                price_increment=Decimal("0.01"),
                size_increment=Decimal("0.0001"),
            )
            for i in range(6)
        ),
    )
    run_config = config(instruments=instruments, frame_count=6_000, message_rate_per_s=500)
    parsed = parse(list(synthetic_frames(run_config)))
    replay_books(run_config, parsed)
    updated = Counter(p.event.product_id for p in parsed if isinstance(p.event, BookEvent))
    assert set(updated) == {instrument.product_id for instrument in instruments}
    assert min(updated.values()) > 6_000 / len(instruments) / 2


def test_a_single_level_book_survives_trades_that_take_it_all() -> None:
    run_config = config(levels_per_side=1, trade_probability=0.9, frame_count=2_000)
    replay_books(run_config, parse(list(synthetic_frames(run_config))))


# --- volatility regimes ---------------------------------------------------------------------


def best_prices(
    run_config: SyntheticMarketConfig, product_id: str = "BTC-USD"
) -> list[tuple[Decimal, Decimal]]:
    best = []
    for p in parse(list(synthetic_frames(run_config))):
        if isinstance(p.event, TickerEvent) and p.event.tickers[0].product_id == product_id:
            ticker = p.event.tickers[0]
            best.append((Decimal(ticker.best_bid), Decimal(ticker.best_ask)))
    return best


def only(volatility: float) -> tuple[VolatilityRegime]:
    return (VolatilityRegime(name="only", daily_volatility=volatility, switch_probability=0.0),)


def test_without_volatility_the_start_price_stays_inside_the_spread() -> None:
    best = best_prices(config(regimes=only(0.0), trade_probability=0.5))
    assert len(best) > 400
    assert all(bid < Decimal("65000.00") < ask for bid, ask in best)


def test_volatility_sets_how_far_the_price_walks() -> None:
    def walk(volatility: float) -> Decimal:
        mids = [
            (bid + ask) / 2
            for bid, ask in best_prices(config(regimes=only(volatility), trade_probability=0.5))
        ]
        return max(mids) - min(mids)

    assert walk(0.0) < walk(0.02) < walk(0.5)


def test_regimes_switch_once_per_simulated_second_with_their_probability() -> None:
    always = VolatilityRegime(name="a", daily_volatility=0.01, switch_probability=1.0)
    never = VolatilityRegime(name="b", daily_volatility=0.05, switch_probability=0.0)
    market = SyntheticMarket(config(regimes=(always, always)))
    seen = []
    for second in range(6):
        market.step(START_NS + second * NS + 1)
        seen.append(market.regime_index)
    assert seen == [0, 1, 0, 1, 0, 1]
    sticky = SyntheticMarket(config(regimes=(always, never)))
    sticky.step(START_NS + 100 * NS)
    assert sticky.regime is never


# --- writing the recorded format ------------------------------------------------------------


def test_write_synthetic_feed_writes_the_project_format(tmp_path: Path) -> None:
    run_config = config(frame_count=1_500)
    path = tmp_path / "synthetic.jsonl.zst"
    stats = write_synthetic_feed(path, run_config)
    feed = open_feed(path)
    frames = list(feed.frames())
    assert feed.kind == "tradekernel-feed"
    assert feed.header.venue == "COINBASE"
    assert feed.header.channels == list(SUBSCRIBED_CHANNELS)
    assert feed.header.instruments == ["BTC-USD", "ETH-USD"]
    assert feed.header.recorded_at_ns == START_NS
    assert feed.header.kernel_version
    assert [(f.receive_ts_ns, f.text) for f in frames] == list(synthetic_frames(run_config))
    assert {f.connection_id for f in frames} == {run_config.connection_id}
    assert stats.frames == len(frames) == 1_500
    assert (stats.first_ts_ns, stats.last_ts_ns) == (frames[0].receive_ts_ns, frames[-1].receive_ts_ns)
    assert feed.warnings == []


def test_write_synthetic_feed_needs_a_bound_and_keeps_existing_files(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="duration or a frame count"):
        write_synthetic_feed(tmp_path / "endless.jsonl", config(frame_count=None))
    path = tmp_path / "feed.jsonl"
    path.write_text("precious")
    with pytest.raises(FileExistsError):
        write_synthetic_feed(path, config(frame_count=10))
    assert path.read_text() == "precious"
    write_synthetic_feed(path, config(frame_count=10), overwrite=True)
    assert len(list(open_feed(path).frames())) == 10


# --- configuration --------------------------------------------------------------------------


def btc(**overrides: object) -> SyntheticInstrument:
    fields: dict[str, object] = {
        "product_id": "BTC-USD",
        "start_price": Decimal("65000.00"),
        "price_increment": Decimal("0.01"),
        "size_increment": Decimal("0.00000001"),
    }
    fields.update(overrides)
    return SyntheticInstrument(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "overrides",
    [
        {"start_price": Decimal("65000.005")},
        {"start_price": Decimal(0)},
        {"start_price": 65000.0},
        {"price_increment": Decimal(0)},
        {"price_increment": Decimal("NaN")},
        {"size_increment": Decimal(-1)},
        {"top_size": Decimal("0.000000001")},
        {"top_size": Decimal("0.000000015")},
        {"product_id": ""},
        {"product_id": 'BTC"USD'},
        {"level_spacing_ticks": 0},
        {"quote_width_ticks": 0},
    ],
)
def test_an_unusable_instrument_is_refused(overrides: dict[str, object]) -> None:
    with pytest.raises((ValueError, TypeError)):
        btc(**overrides)


@pytest.mark.parametrize(
    "overrides",
    [
        {"instruments": ()},
        {"instruments": (btc(), btc())},
        {"message_rate_per_s": 0},
        {"levels_per_side": 0},
        {"max_changes_per_update": 0},
        {"duration_ns": -1},
        {"frame_count": -1},
        {"regimes": ()},
        {"trade_probability": 1.5},
        {"depth_growth": -0.1},
        {"heartbeat_interval_ns": 0},
        {"latency_ns": -1},
        {"start_ns": 5, "latency_ns": 10},
    ],
)
def test_an_inconsistent_config_is_refused(overrides: dict[str, object]) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - each case has its own message
        config(**overrides)


def test_a_regime_with_a_probability_outside_zero_one_is_refused() -> None:
    with pytest.raises(ValueError, match="bad regime"):
        VolatilityRegime(name="x", daily_volatility=0.1, switch_probability=1.5)
    with pytest.raises(ValueError, match="bad regime"):
        VolatilityRegime(name="x", daily_volatility=-0.1, switch_probability=0.5)


@pytest.mark.parametrize(
    ("increment", "steps", "text"),
    [
        ("0.01", 6_500_000, "65000"),
        ("0.01", 6_508_367, "65083.67"),
        ("0.01", 6_508_360, "65083.6"),
        ("0.00000001", 1, "0.00000001"),
        ("0.00000001", 2_500_000_000, "25"),
        ("0.5", 3, "1.5"),
        ("1E+1", 15_000, "150000"),
        ("25", 4, "100"),
        ("0.01", -150, "-1.5"),
        ("0.01", 0, "0"),
    ],
)
def test_grid_text_is_exact_and_trimmed(increment: str, steps: int, text: str) -> None:
    grid = Grid(Decimal(increment))
    assert grid.text(steps) == grid.cached_text(steps) == text
    assert Decimal(text) == steps * Decimal(increment)
    assert grid.steps(Decimal(text)) == steps
