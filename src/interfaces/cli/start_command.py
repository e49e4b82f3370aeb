"""`start`: the threaded kernel in paper mode on a seeded synthetic market, in real time.

No network and no credentials: the synthetic Coinbase feed (`synthetic_frames`) is delivered at
its frames' times relative to the start (system clock) to the data engine; the simulated venue
gets the same market data and is advanced by a timer; the strategy (default: the market maker)
trades against it through risk and execution; the journal is durable (see paper_kernel.py). A
status line goes to stderr; Ctrl-C or SIGTERM stops the strategies, cancels open orders (unless
`[start] cancel_open_orders_on_stop = false`), flushes the journal and prints a summary (exit 0);
a second signal exits at once. A signal during start-up (before `trading:` is printed) stops it
there: nothing more is sent to the venue, the journal is flushed and closed whole, one line
`interrupted during start-up`, exit 0. See docs/start.md.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
import tomllib
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import attrs
import click

from application.recovery import InconsistentJournalError, JournalSequenceError, SnapshotError
from application.recovery.reconciliation import ReconciliationPolicy
from domain.risk.risk_limits import InvalidRiskLimitsError
from infrastructure.persistence.database import DEFAULT_DATABASE_URL, parse_url, safe_url
from infrastructure.persistence.errors import PersistenceError
from infrastructure.replay import ReplayConfigError, ReplaySettings, StrategySettings
from interfaces.cli.errors import UserError
from interfaces.cli.paper_kernel import (
    PaperKernel,
    PersistenceOptions,
    StartOptions,
    StartupInterruptedError,
    VenueStoreError,
)
from interfaces.cli.persistence_commands import DATABASE_ENV
from interfaces.cli.replay_config import ConfigError, build_settings, parse_mapping
from interfaces.cli.stop_signals import StopSignals

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
_PERSISTENCE_KEYS = ("database_url", "venue_store", "snapshot_interval_s", "flush_interval_s")
_RECONCILIATION_KEYS = ("unknown_orders", "balance_tolerance")
#: The venue store's default file (beside the default journal database, in the working directory).
DEFAULT_VENUE_STORE = Path("paper-venue.sqlite")

_log = logging.getLogger(__name__)


@attrs.frozen
class LoadedConfig:
    """Everything `start` reads from its configuration file."""

    settings: ReplaySettings
    options: StartOptions
    persistence: PersistenceOptions
    warnings: tuple[str, ...]


def _table(data: dict[str, Any], name: str, keys: tuple[str, ...], source: str) -> dict[str, Any]:
    table = data.pop(name, {})
    if not isinstance(table, dict):
        raise ConfigError(f"{source}: [{name}] must be a table")
    unknown = sorted(set(table) - set(keys))
    if unknown:
        raise ConfigError(f"{source}: unknown key in [{name}]: {', '.join(unknown)}")
    return table


def _positive_seconds(table: dict[str, Any], key: str, default: Decimal, source: str) -> Decimal:
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, Decimal)) or not value > 0:
        raise ConfigError(f"{source}: [persistence] {key} must be a positive number of seconds")
    return Decimal(value)


def _persistence(data: dict[str, Any], source: str) -> PersistenceOptions:
    table = _table(data, "persistence", _PERSISTENCE_KEYS, source)
    url = table.get("database_url", os.environ.get(DATABASE_ENV) or DEFAULT_DATABASE_URL)
    store = table.get("venue_store", str(DEFAULT_VENUE_STORE))
    if not isinstance(url, str) or not url.strip():
        raise ConfigError(f"{source}: [persistence] database_url must be a database URL")
    if not isinstance(store, str) or not store.strip():
        raise ConfigError(f"{source}: [persistence] venue_store must be a file path")
    reconciliation = _table(data, "reconciliation", _RECONCILIATION_KEYS, source)
    unknown_orders = reconciliation.get("unknown_orders", "cancel")
    if unknown_orders not in ("cancel", "adopt", "leave"):
        raise ConfigError(f"{source}: [reconciliation] unknown_orders must be cancel, adopt or leave")
    tolerance_table = reconciliation.get("balance_tolerance", {})
    if not isinstance(tolerance_table, dict):
        raise ConfigError(f"{source}: [reconciliation] balance_tolerance must be a table (currency = amount)")
    tolerances: dict[str, Decimal] = {}
    for currency, amount in tolerance_table.items():
        try:
            tolerance = Decimal(str(amount)) if not isinstance(amount, bool) else None
        except InvalidOperation:
            tolerance = None
        if tolerance is None or not tolerance.is_finite() or tolerance < 0:
            raise ConfigError(
                f"{source}: [reconciliation] balance_tolerance.{currency} must be a non-negative amount"
            )
        tolerances[str(currency)] = tolerance
    return PersistenceOptions(
        database_url=url,
        venue_store=Path(store),
        snapshot_interval_s=_positive_seconds(table, "snapshot_interval_s", Decimal(60), source),
        flush_interval_s=_positive_seconds(table, "flush_interval_s", Decimal("0.05"), source),
        policy=ReconciliationPolicy(unknown_orders=unknown_orders, balance_tolerance=tolerances),
    )


def _load(path: Path | None, strategy: str | None) -> LoadedConfig:
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
    start_table = _table(data, "start", _START_KEYS, source)
    persistence = _persistence(data, source)
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
    persistence = attrs.evolve(
        persistence, policy=attrs.evolve(persistence.policy, currency=settings.currency)
    )
    return LoadedConfig(settings, StartOptions(cancel, rate, Decimal(probability)), persistence, warnings)


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
        (
            "ran",
            f"{elapsed_s:.1f} s, {numbers['frames']} frames"
            + (" (resumed: orders and fills below are this run's)" if numbers.get("resumed") else ""),
        ),
        (
            "orders",
            f"{numbers['submitted']} submitted, {numbers['accepted']} accepted, {numbers['filled']} filled, "
            f"{numbers['canceled']} canceled, {numbers['denied']} denied, {numbers['rejected']} rejected",
        ),
        ("open", f"{open_left} open orders left"),
        ("fills", f"{numbers['fills']} fills, fees {plain(numbers['fees'])} {currency}"),
        (
            "pnl",
            f"realized {plain(numbers['realized'])}, unrealized {plain(numbers['unrealized'])} {currency}"
            + (" (since the journal began)" if numbers.get("resumed") else ""),
        ),
        ("state", str(numbers["state"])),
        ("journal", f"{numbers['journal']} records"),
    ]
    return "\n".join(f"{name:<10}{value}" for name, value in rows)


@click.command("start")
@click.option(
    "--duration",
    type=click.FloatRange(min=0),
    default=None,
    help="Seconds to trade (0: recover, reconcile and stop without trading; default: until stopped).",
)
@click.option("--strategy", "strategy", default=None, help="Strategy (market_maker, trend_follower).")
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="TOML configuration: the replay's sections, [start], [persistence], [reconciliation].",
)
@click.option("--seed", type=int, default=1, show_default=True, help="The synthetic market's seed.")
@click.option(
    "--db",
    "database_url",
    default=None,
    metavar="URL",
    help=f"Journal database (default: [persistence] database_url, ${DATABASE_ENV}, {DEFAULT_DATABASE_URL}).",
)
@click.option(
    "--venue-store",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help=f"The simulated venue's own store (default: {DEFAULT_VENUE_STORE}).",
)
@click.option("--ephemeral", is_flag=True, help="Keep nothing: journal in memory, venue without a store.")
def start(
    *,
    duration: float | None,
    strategy: str | None,
    config_path: Path | None,
    seed: int,
    database_url: str | None,
    venue_store: Path | None,
    ephemeral: bool,
) -> None:
    """Run the threaded kernel in paper mode on a synthetic market (Ctrl-C to stop)."""
    signals = StopSignals()
    signals.install()  # first: a signal during start-up stops it cleanly
    try:
        paper = _start_up(
            signals,
            strategy=strategy,
            config_path=config_path,
            seed=seed,
            database_url=database_url,
            venue_store=venue_store,
            ephemeral=ephemeral,
        )
    except StartupInterruptedError:
        click.echo("interrupted during start-up", err=True)
        return
    else:
        _trade(paper, signals.stop, duration)
    finally:
        signals.restore()


def _trade(paper: PaperKernel, stop: threading.Event, duration: float | None) -> None:
    """Trade until `stop` or the duration (0: not at all), shut down, print the summary."""
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

    status_thread: threading.Thread | None = None
    try:
        if duration != 0:
            click.echo("trading: Ctrl-C or SIGTERM stops (a second one at once)", err=True)
            paper.start_snapshots()
            status_thread = threading.Thread(target=status, name="status-line", daemon=True)
            status_thread.start()
            paper.run_feed(stop, duration)
        open_left = paper.shutdown()
    finally:
        status_stop.set()
        if status_thread is not None:
            status_thread.join(2.0)
        if tty and status_thread is not None:
            click.echo("", err=True)
        paper.close()
    numbers = paper.snapshot()
    click.echo(render_summary(numbers, open_left, time.monotonic() - started))


def _start_up(
    signals: StopSignals,
    *,
    strategy: str | None,
    config_path: Path | None,
    seed: int,
    database_url: str | None,
    venue_store: Path | None,
    ephemeral: bool,
) -> PaperKernel:
    """Everything before trading: configuration, recovery, reconciliation (see docs/start.md).

    Raises `StartupInterruptedError` (after releasing what it opened, nothing sent to the venue) when a
    stop signal arrived; reconciliation, once begun, is finished first (a few seconds at most).
    """
    stop = signals.stop

    def stopping() -> bool:
        return stop.is_set()

    try:
        loaded = _load(config_path, strategy)
        for warning in loaded.warnings:
            click.echo(f"warning: risk limits: {warning}", err=True)
        loaded.settings.risk_limits().ensure_valid()
        persistence = loaded.persistence
        if ephemeral:
            persistence = attrs.evolve(persistence, database_url=None, venue_store=None)
        else:
            if database_url is not None:
                persistence = attrs.evolve(persistence, database_url=database_url)
            if venue_store is not None:
                persistence = attrs.evolve(persistence, venue_store=venue_store)
        if persistence.database_url is not None:
            parse_url(persistence.database_url)  # a bad URL is the one line, before any other
            click.echo(f"recovering: {safe_url(persistence.database_url)}", err=True)
        paper = PaperKernel(
            loaded.settings,
            loaded.options,
            seed,
            persistence,
            should_stop=stopping,
            warn=lambda line: click.echo(f"warning: {line}", err=True),
        )
    except (
        ConfigError,
        ReplayConfigError,
        InvalidRiskLimitsError,
        PersistenceError,
        SnapshotError,
        JournalSequenceError,
        InconsistentJournalError,
        VenueStoreError,
    ) as error:
        raise UserError(str(error)) from None
    try:
        if paper.recovered is not None:
            click.echo(
                f"recovered: journal at sequence {paper.recovered.last_sequence}, "
                f"{len(paper.recovered.open_orders)} open orders",
                err=True,
            )
        if stopping():
            raise StartupInterruptedError("interrupted during start-up")
        report = paper.reconcile()
        if report is not None:
            click.echo(f"reconciled: {reconciliation_line(report.to_json())}", err=True)
        signals.begin_trading()  # a signal from now on stops trading (and is announced)...
        if stopping():  # ...one before it stopped start-up
            raise StartupInterruptedError("interrupted during start-up")
    except BaseException:
        paper.close()
        raise
    return paper


def reconciliation_line(report: Mapping[str, Any]) -> str:
    """One line for a reconciliation report: what was applied and what differed."""
    applied = len(report.get("reports_applied", []))
    canceled = len(report.get("orders_canceled", []))
    differences = report.get("differences", [])
    halted = " - trading HALTED" if report.get("halted") else ""
    return (
        f"{applied} venue reports applied, {canceled} unknown venue orders canceled, "
        f"{len(differences)} differences{halted}"
    )
