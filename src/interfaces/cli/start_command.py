"""`start`: the threaded kernel in paper mode on a seeded synthetic market, in real time.

No network and no credentials: the synthetic Coinbase feed (`synthetic_frames`) is delivered at
its frames' times relative to the start (system clock) to the data engine; the simulated venue
gets the same market data and is advanced by a timer; the strategy (default: the market maker)
trades against it through risk and execution; the journal is in memory. A status line goes to
stderr; Ctrl-C or SIGTERM stops the strategies, cancels open orders (unless
`[start] cancel_open_orders_on_stop = false`), flushes the journal and prints a summary (exit 0);
a second signal exits at once. See docs/start.md.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import time
import tomllib
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from types import FrameType
from typing import Any

import attrs
import click

from application.engines.messages import DATA, EXECUTION, MarketFrame, strategy_destination
from application.market_data_pipeline import MarketDataPipeline
from application.ports.event_journal import InMemoryJournal
from application.ports.notifier import Severity
from application.ports.venue_gateway import VenueReport
from application.runtime.kernel_wiring import FeedSpec, Kernel, wire_kernel
from application.runtime.threaded_runtime import ThreadedRuntime
from domain.numbers import ZERO
from domain.orders.order_status import OrderStatus
from domain.risk.breaker_events import CancelAllOrders
from domain.risk.risk_limits import InvalidRiskLimitsError
from infrastructure.replay import ReplayConfigError, ReplaySettings, StrategySettings
from infrastructure.replay.replay_runner import build_strategy, simulated_venue_config
from infrastructure.synthetic_market import SyntheticMarketConfig, synthetic_frames, synthetic_instruments
from infrastructure.system_clock import SystemClock
from infrastructure.venues.market_data_codecs import market_data_for
from infrastructure.venues.simulated import SimulatedVenue
from interfaces.cli.errors import UserError
from interfaces.cli.replay_config import ConfigError, build_settings, parse_mapping

VENUE = "COINBASE"
CONNECTION = "COINBASE.ws.synthetic"
_NS_PER_S = 1_000_000_000
#: The market maker's defaults under `start`: quotes within the first second, near the touch.
START_DEFAULT_PARAMS: Mapping[str, Mapping[str, object]] = {
    "market_maker": {
        "quote_size": "0.001",
        "max_position": "0.005",
        "base_spread_bps": "1",
        "min_spread_bps": "0.5",
        "vol_window": 2,
        "vol_sample_interval_ns": 100_000_000,
        "min_requote_interval_ns": 200_000_000,
    },
    "trend_follower": {"trade_size": "0.001"},
}
_START_KEYS = ("cancel_open_orders_on_stop", "message_rate_per_s", "trade_probability")

_log = logging.getLogger(__name__)


@attrs.frozen
class StartOptions:
    """The `[start]` section: what `start` adds to the replay configuration."""

    cancel_open_orders_on_stop: bool = True
    message_rate_per_s: int = 200
    trade_probability: Decimal = Decimal("0.3")


class _StderrNotifier:
    def notify(self, severity: Severity, message: str) -> None:
        click.echo(f"{severity.value}: {message}", err=True)


def _load(path: Path | None, strategy: str | None) -> tuple[ReplaySettings, StartOptions, tuple[str, ...]]:
    data: dict[str, Any] = {}
    source = str(path)
    if path is not None:
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ConfigError(f"{path}: no such configuration file") from None
        except (OSError, UnicodeError) as error:
            raise ConfigError(f"{path}: cannot read: {error}") from None
        try:
            data = tomllib.loads(text, parse_float=Decimal)
        except tomllib.TOMLDecodeError as error:
            raise ConfigError(f"{source}: not valid TOML: {error}") from None
    start_table = data.pop("start", {})
    if not isinstance(start_table, dict):
        raise ConfigError(f"{source}: [start] must be a table")
    unknown = sorted(set(start_table) - set(_START_KEYS))
    if unknown:
        raise ConfigError(f"{source}: unknown key in [start]: {', '.join(unknown)}")
    cancel = start_table.get("cancel_open_orders_on_stop", True)
    rate = start_table.get("message_rate_per_s", 200)
    probability = start_table.get("trade_probability", Decimal("0.3"))
    if not isinstance(cancel, bool):
        raise ConfigError(f"{source}: [start] cancel_open_orders_on_stop must be true or false")
    if not isinstance(rate, int) or isinstance(rate, bool) or not 1 <= rate <= 10_000:
        raise ConfigError(f"{source}: [start] message_rate_per_s must be an integer in [1, 10000]")
    if not isinstance(probability, (int, Decimal)) or not 0 <= probability <= 1:
        raise ConfigError(f"{source}: [start] trade_probability must be a number in [0, 1]")
    config = parse_mapping(data, source)
    name = strategy or (config.strategy.name if config.strategy is not None else "market_maker")
    strategy_settings = config.strategy or StrategySettings(name, instrument="BTC-USD")
    strategy_settings = attrs.evolve(strategy_settings, name=name)
    if not strategy_settings.params:
        strategy_settings = attrs.evolve(strategy_settings, params=dict(START_DEFAULT_PARAMS.get(name, {})))
    config = attrs.evolve(config, strategy=strategy_settings)
    settings, warnings = build_settings(config)
    return settings, StartOptions(cancel, rate, Decimal(probability)), warnings


class PaperKernel:
    """The threaded kernel, the simulated venue and the synthetic feed, wired for `start`."""

    def __init__(self, settings: ReplaySettings, options: StartOptions, seed: int) -> None:
        self.settings = settings
        self.options = options
        self.clock = SystemClock()
        self.notifier = _StderrNotifier()
        self.runtime = ThreadedRuntime(
            self.clock, notifier=self.notifier, timer_interval_ns=settings.timer_interval_ns
        )
        self.instruments = synthetic_instruments(VENUE, settings.currency)
        if not self.instruments:
            raise ReplayConfigError(f"no synthetic instrument is quoted in {settings.currency}")
        strategies = (
            [] if settings.strategy is None else [build_strategy(settings.strategy, VENUE, self.instruments)]
        )
        runtime = self.runtime

        def sink(report: VenueReport) -> None:
            runtime.send(EXECUTION, report)

        self.venue = SimulatedVenue(
            self.clock,
            sink,
            self.instruments.values(),
            simulated_venue_config(settings),
        )
        market = market_data_for(VENUE)
        self.pipeline = MarketDataPipeline(market, resolve_crossing=market.resolve_crossing)
        self.journal = InMemoryJournal()
        self.kernel: Kernel = wire_kernel(
            runtime,
            self.clock,
            self.journal,
            instruments=self.instruments,
            feeds={VENUE: FeedSpec(self.pipeline, market.on_sent)},
            venues={VENUE: self.venue},
            strategies=strategies,
            limits=settings.risk_limits(),
            currency=settings.currency,
            starting_balance=settings.starting_balance,
            seed=settings.seed,
            notifier=self.notifier,
            depth=settings.depth,
        )
        runtime.add_source(self.venue)
        runtime.add_gateway(self.venue)
        self.strategy_destinations = [strategy_destination(s.strategy_id) for s in strategies]
        for destination in self.strategy_destinations:
            runtime.add_timer_destination(destination)
        self.market_seed = seed
        self.frames = 0

    def run_feed(self, stop: threading.Event, duration_s: float | None) -> None:
        """Deliver synthetic frames at their times (relative to now) until `stop` or the duration."""
        start_ns = self.clock.now_ns()
        config = SyntheticMarketConfig(
            seed=self.market_seed,
            start_ns=start_ns,
            duration_ns=None if duration_s is None else int(duration_s * _NS_PER_S),
            message_rate_per_s=self.options.message_rate_per_s,
            trade_probability=float(self.options.trade_probability),
            connection_id=CONNECTION,
        )
        self.runtime.start_timers()
        for ts_ns, text in synthetic_frames(config):
            delay_s = (ts_ns - self.clock.now_ns()) / _NS_PER_S
            if delay_s > 0 and stop.wait(delay_s):
                return
            if stop.is_set():
                return
            self.runtime.send(DATA, MarketFrame(VENUE, text, ts_ns, CONNECTION))
            self.frames += 1

    def shutdown(self) -> int:
        """Stop strategies, cancel open orders (per config), drain, flush; returns open orders left."""
        runtime = self.runtime
        for destination in self.strategy_destinations:
            runtime.mute(destination)
        if self.options.cancel_open_orders_on_stop:
            runtime.send(EXECUTION, CancelAllOrders("shutdown", self.clock.now_ns()))
        deadline = time.monotonic() + 5.0
        while time.monotonic() < deadline:
            runtime.wait_idle(timeout_s=5.0)
            runtime.poll_sources()
            runtime.wait_idle(timeout_s=5.0)
            due = self.venue.next_event_ns()
            if not self.options.cancel_open_orders_on_stop or (due is None and not self.open_orders()):
                break
            time.sleep(0.01)
        runtime.stop_timers()
        runtime.wait_idle(timeout_s=5.0)
        self.journal.flush()
        return self.open_orders()

    def open_orders(self) -> int:
        """Orders of ours not yet in a terminal state."""
        return sum(1 for order in tuple(self.kernel.execution.orders) if not order.status.is_terminal)

    def snapshot(self) -> dict[str, Any]:
        """The numbers of the status line and the summary (best effort while running)."""
        execution = self.kernel.execution
        portfolio_engine = self.kernel.portfolio
        portfolio = portfolio_engine.portfolio
        currency = self.settings.currency
        counts = dict(execution.counts)
        orders = tuple(execution.orders)
        fills = dict(portfolio_engine.fills)
        marks = portfolio_engine.marks()
        return {
            "frames": self.frames,
            "submitted": counts.get("submitted", 0),
            "accepted": counts.get("accepted", 0),
            "filled": sum(1 for order in orders if order.status is OrderStatus.FILLED),
            "canceled": counts.get("canceled", 0),
            "denied": sum(dict(self.kernel.risk.denials).values()),
            "rejected": counts.get("rejected", 0),
            "open": sum(1 for order in orders if not order.status.is_terminal),
            "fills": sum(totals.count for totals in fills.values()),
            "fees": sum((totals.fees for totals in fills.values()), ZERO),
            "realized": portfolio.realized_pnl(currency),
            "unrealized": portfolio.unrealized_pnl(currency, marks),
            "state": self.kernel.risk.trading_state.value,
            "journal": self.journal.last_sequence,
            "currency": currency,
        }


def plain(value: Decimal) -> str:
    """A decimal in plain notation without trailing zeros: 0E-10 -> 0, -0.0032800000 -> -0.00328."""
    return format(value.normalize(), "f") if value else "0"


def status_line(numbers: Mapping[str, Any], elapsed_s: float) -> str:
    """One status line."""
    return (
        f"[{elapsed_s:6.1f}s] frames {numbers['frames']} | orders {numbers['submitted']} "
        f"(open {numbers['open']}, filled {numbers['filled']}) | fills {numbers['fills']} | "
        f"pnl realized {numbers['realized']:.2f} unrealized {numbers['unrealized']:.2f} "
        f"{numbers['currency']} | {numbers['state']}"
    )


def render_summary(numbers: Mapping[str, Any], open_left: int, elapsed_s: float) -> str:
    """The final summary."""
    currency = numbers["currency"]
    rows = [
        ("ran", f"{elapsed_s:.1f} s, {numbers['frames']} frames"),
        (
            "orders",
            f"{numbers['submitted']} submitted, {numbers['accepted']} accepted, {numbers['filled']} filled, "
            f"{numbers['canceled']} canceled, {numbers['denied']} denied, {numbers['rejected']} rejected",
        ),
        ("open", f"{open_left} open orders left"),
        ("fills", f"{numbers['fills']} fills, fees {plain(numbers['fees'])} {currency}"),
        (
            "pnl",
            f"realized {plain(numbers['realized'])}, unrealized {plain(numbers['unrealized'])} {currency}",
        ),
        ("state", str(numbers["state"])),
        ("journal", f"{numbers['journal']} records"),
    ]
    return "\n".join(f"{name:<10}{value}" for name, value in rows)


class _Signals:
    """The first SIGINT/SIGTERM asks for a clean stop; the second exits at once."""

    def __init__(self, stop: threading.Event) -> None:
        self._stop = stop
        self._previous: dict[int, Any] = {}

    def install(self) -> None:
        for signum in (signal.SIGINT, signal.SIGTERM):
            self._previous[signum] = signal.signal(signum, self._handle)

    def restore(self) -> None:
        for signum, previous in self._previous.items():
            signal.signal(signum, previous)

    def _handle(self, signum: int, _frame: FrameType | None) -> None:
        if self._stop.is_set():
            os._exit(128 + signum)
        click.echo(f"\n{signal.Signals(signum).name}: stopping (again to exit at once)", err=True)
        self._stop.set()


@click.command("start")
@click.option("--duration", type=click.FloatRange(min=0, min_open=True), default=None, help="Seconds to run.")
@click.option("--strategy", "strategy", default=None, help="Strategy (market_maker, trend_follower).")
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="TOML configuration: the replay's sections and [start] (see docs/start.md).",
)
@click.option("--seed", type=int, default=1, show_default=True, help="The synthetic market's seed.")
def start(*, duration: float | None, strategy: str | None, config_path: Path | None, seed: int) -> None:
    """Run the threaded kernel in paper mode on a synthetic market (Ctrl-C to stop)."""
    try:
        settings, options, warnings = _load(config_path, strategy)
        for warning in warnings:
            click.echo(f"warning: risk limits: {warning}", err=True)
        settings.risk_limits().ensure_valid()
        paper = PaperKernel(settings, options, seed)
    except (ConfigError, ReplayConfigError, InvalidRiskLimitsError) as error:
        raise UserError(str(error)) from None
    stop = threading.Event()
    signals = _Signals(stop)
    signals.install()
    started = time.monotonic()
    tty = sys.stderr.isatty()
    status_stop = threading.Event()

    def status() -> None:
        period = 1.0 if tty else 5.0
        while not status_stop.wait(period):
            try:
                line = status_line(paper.snapshot(), time.monotonic() - started)
            except Exception:  # a racy read while the engines run: skip this refresh
                continue
            click.echo(f"\r{line}" if tty else line, err=True, nl=not tty)

    status_thread = threading.Thread(target=status, name="status-line", daemon=True)
    status_thread.start()
    try:
        paper.run_feed(stop, duration)
        open_left = paper.shutdown()
    finally:
        status_stop.set()
        status_thread.join(2.0)
        if tty:
            click.echo("", err=True)
        paper.runtime.stop()
    numbers = paper.snapshot()
    signals.restore()
    click.echo(render_summary(numbers, open_left, time.monotonic() - started))
