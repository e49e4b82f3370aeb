"""Replay: a recorded feed through the whole kernel, single-threaded, against the simulated venue.

`run_replay(path, settings)`:
1. opens the recording (`open_feed`) and picks its venue's codec (`market_data_for`); hashes the
   file (sha256 of its bytes) and counts its frames in a first pass, which also collects the
   REST bodies it holds;
2. takes the instruments from the recording's products body (Coinbase `parse_products`), kept to
   the instruments the header lists; a recording without one (the project's own format, e.g. a
   synthetic feed) gets default instruments for the symbols its header lists (BASE-QUOTE, price
   increment 0.01, size increment 0.00000001). Only instruments quoted in the kernel's currency
   are traded (the simulated venue settles in one currency);
3. builds the strategy (`strategy_from_spec`), a `SimulatedVenue` (fees, latencies, seed), and
   the engines (`wire_kernel`) on a `DeterministicRuntime` whose clock follows the frames'
   receive times; the venue is a scheduled source of the runtime, so its acknowledgements and
   fills are handled at the times it produces them;
4. delivers every frame (sent frames too, for codecs that count them) in file order, each one
   processed to completion before the next; `speed` paces frames to wall time (None: as fast as
   possible);
   The journal's first record is a `ReplayInput` (the file's sha256, venue and frame counts):
   market data itself is not journaled, the recording reproduces it (adr/0005-journal-content.md);
5. returns a `ReplayResult` with the report (see docs/replay.md), the journal and the engines.

The report's `orders_while_stale` is measured by a probe between execution and the venue: at
each submit it looks at the data pipeline's own book of the order's instrument (stale, without
a snapshot, or crossed), independently of the strategy's guard and of risk's.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol

import attrs

from application.commands import SaveStrategyState
from application.engines.data_engine import untrusted
from application.engines.messages import (
    DATA,
    EXECUTION,
    MarketFrame,
    ReplayInput,
    SentFrame,
    strategy_destination,
)
from application.market_data_pipeline import MarketDataPipeline
from application.ports.clock import SimulatedClock
from application.ports.event_journal import InMemoryJournal
from application.ports.venue_gateway import VenueReport
from application.runtime.bus import Handler
from application.runtime.deterministic_runtime import DeterministicRuntime, ScheduledSource
from application.runtime.journal_encoding import journal_sha256
from application.runtime.kernel_wiring import FeedSpec, Kernel, wire_kernel
from application.strategies.registry import UnknownStrategyError, strategy_from_spec
from application.strategies.strategy import Strategy, StrategyConfigError
from domain.errors import InvalidValueError
from domain.instrument import Instrument, InstrumentId
from domain.market_data import FeedIssueKind
from domain.numbers import ZERO
from domain.order_book import OrderBook
from domain.orders.order import Order
from domain.orders.order_status import OrderStatus
from domain.risk.risk_limits import RiskLimits
from infrastructure.recorded_feed import RecordedFeed, RecordedHttp, open_feed
from infrastructure.replay.replay_stats import equity_sharpe, round_trip_stats
from infrastructure.venues.coinbase.instrument_provider import ProductsError, parse_products
from infrastructure.venues.market_data_codecs import VenueMarketData, market_data_for
from infrastructure.venues.simulated import SimulatedVenue, SimulatedVenueConfig
from infrastructure.venues.simulated.forwarding_gateway import ForwardingGateway

REPORT_VERSION = 1
DEFAULT_PRICE_INCREMENT = Decimal("0.01")
DEFAULT_SIZE_INCREMENT = Decimal("0.00000001")
_NS_PER_S = 1_000_000_000
_PROGRESS_EVERY = 100


REPLAY_STREAM = "replay"


class ReplayConfigError(ValueError):
    """The replay cannot run with these settings (unknown strategy or instrument, bad params)."""


@attrs.frozen
class StrategySettings:
    """Which strategy to run: its registry name, instrument (SYMBOL or SYMBOL.VENUE), id, params."""

    name: str
    instrument: str | None = None  # None: the recording's first instrument
    strategy_id: str | None = None  # None: "<name>-<symbol>"
    params: Mapping[str, object] = attrs.field(factory=dict)


@attrs.frozen
class VenueSettings:
    """The simulated venue's fees (bps of notional) and latencies (ns)."""

    maker_fee_bps: Decimal = Decimal(0)
    taker_fee_bps: Decimal = Decimal(0)
    latency_ns: int = 0
    report_latency_ns: int = 0
    latency_jitter_ns: int = 0


@attrs.frozen
class ReplaySettings:
    """Everything a replay depends on besides the recording; equal settings, equal journal."""

    strategy: StrategySettings | None = None
    limits: RiskLimits | None = None  # None: RiskLimits.conservative(starting_balance)
    venue: VenueSettings = attrs.field(factory=VenueSettings)
    seed: int = 1
    starting_balance: Decimal = Decimal(100_000)
    currency: str = "USD"
    speed: Decimal | None = None  # None: as fast as possible; 1: real time; 10: ten times faster
    timer_interval_ns: int | None = _NS_PER_S
    depth: int = 10

    def risk_limits(self) -> RiskLimits:
        """The limits in force."""
        return self.limits if self.limits is not None else RiskLimits.conservative(self.starting_balance)


@attrs.define
class ReplayResult:
    """A finished replay: its report, its journal, and the engines and venue as they ended."""

    report: dict[str, Any]
    journal: InMemoryJournal
    kernel: Kernel
    venue: SimulatedVenue


class ReplayRuntime(Protocol):
    """What the replay needs of a runtime: the deterministic one, or the threaded one in lockstep."""

    messages_handled: int

    def send(self, destination: str, message: object) -> None:
        """Queue a message."""
        ...

    def register(self, destination: str, handler: Handler) -> None:
        """Deliver `destination`'s messages to `handler`."""
        ...

    def add_source(self, source: ScheduledSource) -> None:
        """Advance `source` with time."""
        ...

    def add_timer_destination(self, destination: str) -> None:
        """Send timer ticks to `destination`."""
        ...

    def deliver_at(self, ts_ns: int, destination: str, message: object) -> None:
        """Advance time to `ts_ns` and handle `message` to completion."""
        ...


#: Builds the runtime of a replay from its clock and timer interval (default: deterministic).
RuntimeFactory = Callable[[SimulatedClock, int | None], ReplayRuntime]


def _deterministic(clock: SimulatedClock, timer_interval_ns: int | None) -> ReplayRuntime:
    return DeterministicRuntime(clock, timer_interval_ns=timer_interval_ns)


#: Told (frames done, frames in the file) as the replay goes.
ProgressCallback = Callable[[int, int], None]


def file_sha256(path: Path) -> str:
    """The sha256 of a file's bytes."""
    sha = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            sha.update(chunk)
    return sha.hexdigest()


def default_instrument(venue: str, symbol: str) -> Instrument:
    """An instrument for a symbol written BASE-QUOTE, on the default grid."""
    base, dash, quote = symbol.partition("-")
    if not dash or not base or not quote:
        raise ReplayConfigError(f"cannot guess base and quote of symbol {symbol!r} (expected BASE-QUOTE)")
    return Instrument(
        InstrumentId(venue, symbol),
        base,
        quote.split("-")[0],
        DEFAULT_PRICE_INCREMENT,
        DEFAULT_SIZE_INCREMENT,
    )


def recording_instruments(
    venue: str, symbols: Sequence[str], http: Sequence[RecordedHttp], currency: str
) -> dict[InstrumentId, Instrument]:
    """The instruments to trade: from a products body if the recording has one, else defaults."""
    found: dict[str, Instrument] = {}
    for body in http:
        if venue != "COINBASE" or not body.url.rstrip("/").endswith("/products"):
            continue
        try:
            found.update(parse_products(body.body, venue=venue).by_symbol())
        except ProductsError:
            continue
    wanted = list(symbols) if symbols else sorted(found)
    instruments: dict[InstrumentId, Instrument] = {}
    for symbol in wanted:
        instrument = found.get(symbol) or default_instrument(venue, symbol)
        if instrument.quote == currency:
            instruments[instrument.id] = instrument
    return instruments


class _StaleProbe(ForwardingGateway):
    """Stands between execution and the venue: counts orders sent while their book was untrusted."""

    def __init__(self, venue: SimulatedVenue) -> None:
        super().__init__(venue)
        self.books: Mapping[InstrumentId, OrderBook] = {}
        self.orders_while_stale = 0
        self.submits = 0

    def _untrusted(self, instrument_id: InstrumentId) -> bool:
        book = self.books.get(instrument_id)
        return book is None or untrusted(book)

    def submit(self, order: Order) -> None:
        self.submits += 1
        if self._untrusted(order.instrument_id):
            self.orders_while_stale += 1
        super().submit(order)


def simulated_venue_config(settings: ReplaySettings) -> SimulatedVenueConfig:
    """The simulated venue's configuration from replay (or start) settings: one place for both."""
    venue = settings.venue
    return SimulatedVenueConfig(
        venue="SIM",
        maker_fee_bps=venue.maker_fee_bps,
        taker_fee_bps=venue.taker_fee_bps,
        latency_ns=venue.latency_ns,
        report_latency_ns=venue.report_latency_ns,
        latency_jitter_ns=venue.latency_jitter_ns,
        seed=settings.seed,
        starting_balances={settings.currency: settings.starting_balance},
        quote_currency=settings.currency,
    )


def build_strategy(
    settings: StrategySettings, venue: str, instruments: Mapping[InstrumentId, Instrument]
) -> Strategy:
    text = settings.instrument
    if text is None:
        if not instruments:
            raise ReplayConfigError("the recording lists no instrument the strategy could trade")
        instrument_id = next(iter(instruments))
    else:
        instrument_id = InstrumentId.parse(text) if "." in text else InstrumentId(venue, text)
    if instrument_id not in instruments:
        known = ", ".join(str(iid) for iid in instruments) or "(none)"
        raise ReplayConfigError(
            f"strategy instrument {instrument_id} is not in the recording (known: {known})"
        )
    strategy_id = settings.strategy_id or f"{settings.name}-{instrument_id.symbol}"
    spec = {
        "name": settings.name,
        "strategy_id": strategy_id,
        "instrument_id": str(instrument_id),
        "config": dict(settings.params),
    }
    try:
        return strategy_from_spec(spec)
    except (UnknownStrategyError, StrategyConfigError, InvalidValueError) as error:
        raise ReplayConfigError(f"strategy {settings.name!r}: {error}") from None


def _first_pass(feed: RecordedFeed) -> tuple[int, int, list[RecordedHttp]]:
    received = sent = 0
    for frame in feed.frames(include_sent=True):
        if frame.is_sent:
            sent += 1
        else:
            received += 1
    return received, sent, list(feed.http)


def run_replay(
    path: str | Path,
    settings: ReplaySettings | None = None,
    *,
    progress: ProgressCallback | None = None,
    sleep: Callable[[float], None] = time.sleep,
    runtime_factory: RuntimeFactory = _deterministic,
) -> ReplayResult:
    """Replay the recording at `path` with `settings` (raises FeedFileError, UnknownVenueError,
    ReplayConfigError, InvalidRiskLimitsError)."""
    settings = settings or ReplaySettings()
    path = Path(path)
    feed = open_feed(path)
    market = market_data_for(feed.header.venue)
    limits = settings.risk_limits()
    limits.ensure_valid()
    input_sha = file_sha256(path)
    frames_in_file, sent_in_file, http = _first_pass(feed)
    venue_name = market.venue
    instruments = recording_instruments(venue_name, feed.header.instruments, http, settings.currency)
    strategies = (
        [] if settings.strategy is None else [build_strategy(settings.strategy, venue_name, instruments)]
    )

    clock = SimulatedClock(0)
    runtime = runtime_factory(clock, settings.timer_interval_ns)

    def sink(report: VenueReport) -> None:
        runtime.send(EXECUTION, report)

    venue = SimulatedVenue(
        clock,
        sink,
        instruments.values(),
        simulated_venue_config(settings),
    )
    probe = _StaleProbe(venue)
    pipeline = MarketDataPipeline(market, resolve_crossing=market.resolve_crossing)
    journal = InMemoryJournal()
    kernel = wire_kernel(
        runtime,
        clock,
        journal,
        instruments=instruments,
        feeds={venue_name: FeedSpec(pipeline, market.on_sent)},
        venues={venue_name: probe},
        strategies=strategies,
        limits=limits,
        currency=settings.currency,
        starting_balance=settings.starting_balance,
        seed=settings.seed,
        depth=settings.depth,
    )
    probe.books = pipeline.books
    kernel.journal.record(REPLAY_STREAM, ReplayInput(input_sha, venue_name, frames_in_file, sent_in_file))
    runtime.add_source(venue)
    for strategy in strategies:
        runtime.add_timer_destination(strategy_destination(strategy.strategy_id))

    started = time.perf_counter()
    first_ts: int | None = None
    done = 0
    for frame in feed.frames(include_sent=True):
        ts = frame.receive_ts_ns
        if settings.speed is not None:
            first_ts = ts if first_ts is None else first_ts
            due = started + float(Decimal(ts - first_ts) / _NS_PER_S / settings.speed)
            delay = due - time.perf_counter()
            if delay > 0:
                sleep(delay)
        if frame.is_sent:
            runtime.deliver_at(ts, DATA, SentFrame(venue_name, frame.text, ts, frame.connection_id))
            continue
        runtime.deliver_at(ts, DATA, MarketFrame(venue_name, frame.text, ts, frame.connection_id))
        done += 1
        if progress is not None and (done % _PROGRESS_EVERY == 0 or done == frames_in_file):
            progress(done, frames_in_file)
    end_ns = clock.now_ns()
    for strategy in strategies:  # the journal ends with every strategy's state
        runtime.deliver_at(end_ns, strategy_destination(strategy.strategy_id), SaveStrategyState(end_ns))
    wall_s = time.perf_counter() - started

    report = build_report(
        path=path,
        input_sha=input_sha,
        frames_in_file=frames_in_file,
        sent_in_file=sent_in_file,
        market=market,
        pipeline=pipeline,
        kernel=kernel,
        probe=probe,
        journal=journal,
        runtime=runtime,
        settings=settings,
        wall_s=wall_s,
        warnings=list(feed.warnings),
    )
    return ReplayResult(report, journal, kernel, venue)


def _money(value: Decimal) -> str:
    return str(value)


def build_report(
    *,
    path: Path,
    input_sha: str,
    frames_in_file: int,
    sent_in_file: int,
    market: VenueMarketData,
    pipeline: MarketDataPipeline,
    kernel: Kernel,
    probe: _StaleProbe,
    journal: InMemoryJournal,
    runtime: ReplayRuntime,
    settings: ReplaySettings,
    wall_s: float,
    warnings: list[str],
) -> dict[str, Any]:
    """The replay report (see docs/replay.md); prices, sizes and money are decimal strings."""
    stats = pipeline.stats
    codec_counts = market.counts()
    execution = kernel.execution
    portfolio_engine = kernel.portfolio
    portfolio = portfolio_engine.portfolio
    currency = settings.currency
    marks = portfolio_engine.marks()
    fills = portfolio_engine.fills
    filled_orders = sum(1 for order in execution.orders if order.status is OrderStatus.FILLED)
    level_changes = stats.level_changes
    strategy = settings.strategy
    limits = settings.risk_limits()
    return {
        "report_version": REPORT_VERSION,
        "input": {
            "path": str(path),
            "sha256": input_sha,
            "frames": frames_in_file,
            "frames_sent": sent_in_file,
            "venue": market.venue,
            "warnings": warnings,
        },
        "settings": {
            "strategy": None
            if strategy is None
            else {
                "name": strategy.name,
                "strategy_ids": [str(sid) for sid in kernel.strategies],
                "params": {key: str(value) for key, value in strategy.params.items()},
            },
            "seed": settings.seed,
            "currency": currency,
            "starting_balance": _money(settings.starting_balance),
            "speed": "max" if settings.speed is None else f"{settings.speed}x",
            "risk_warnings": [str(warning) for warning in limits.validate().warnings],
        },
        "counts": {
            "frames": stats.frames,
            "decoded": stats.frames - codec_counts.decode_errors,
            "decode_errors": codec_counts.decode_errors,
            "gaps": stats.issues[FeedIssueKind.GAP],
            "duplicates": stats.issues[FeedIssueKind.DUPLICATE],
            "stale_intervals": len(pipeline.stale_intervals),
            "book_updates": stats.book_updates,
            "level_changes": level_changes,
            "trades": stats.trades,
        },
        "books": {
            str(instrument_id): {
                "stale": book.stale,
                "has_snapshot": book.has_snapshot,
                "bids": [[str(price), str(size)] for price, size in book.bids(settings.depth)],
                "asks": [[str(price), str(size)] for price, size in book.asks(settings.depth)],
            }
            for instrument_id, book in sorted(pipeline.books.items(), key=lambda item: str(item[0]))
        },
        "orders": {
            "submitted": execution.counts["submitted"],
            "accepted": execution.counts["accepted"],
            "rejected": execution.counts["rejected"],
            "canceled": execution.counts["canceled"],
            "expired": execution.counts["expired"],
            "filled": filled_orders,
            "denied": dict(sorted(kernel.risk.denials.items())),
            "cancel_requests": execution.counts["cancel_requests"],
            "venue_failures": execution.counts["venue_failures"],
            "duplicate_fills": execution.counts["duplicate_fills"],
            "overfills": execution.counts["overfills"],
            "reports_not_applied": execution.counts["reports_not_applied"],
        },
        "orders_while_stale": probe.orders_while_stale,
        "fills": {
            "count": sum(totals.count for totals in fills.values()),
            "volume": _money(sum((totals.notional for totals in fills.values()), ZERO)),
            "fees": _money(sum((totals.fees for totals in fills.values()), ZERO)),
            "by_instrument": {
                str(instrument_id): {
                    "count": totals.count,
                    "quantity": str(totals.quantity),
                    "volume": _money(totals.notional),
                    "fees": _money(totals.fees),
                }
                for instrument_id, totals in sorted(fills.items(), key=lambda item: str(item[0]))
            },
        },
        "pnl": {
            "currency": currency,
            "realized": _money(portfolio.realized_pnl(currency)),
            "unrealized": _money(portfolio.unrealized_pnl(currency, marks)),
            "fees": _money(portfolio.fees(currency)),
            "equity_start": _money(portfolio_engine.equity_start),
            "equity_end": _money(portfolio.equity(currency, marks)),
            "max_drawdown": _money(portfolio_engine.max_drawdown),
        },
        "stats": {
            **round_trip_stats(portfolio_engine.round_trips),
            "sharpe": equity_sharpe(portfolio_engine.equity_samples, _NS_PER_S),
        },
        "trading_state": kernel.risk.trading_state.value,
        "breaker_trips": [str(cause.reason_code) for cause in kernel.risk.breaker.causes],
        "runtime": {
            "wall_s": round(wall_s, 3),
            "frames_per_s": round(stats.frames / wall_s, 1) if wall_s > 0 else None,
            "level_updates_per_s": round(level_changes / wall_s, 1) if wall_s > 0 else None,
            "messages": runtime.messages_handled,
        },
        "journal_records": journal.last_sequence,
        "journal_sha256": journal_sha256(journal.read()),
    }
