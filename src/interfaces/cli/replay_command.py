"""`replay FEED`: a recorded feed through the whole kernel against the simulated venue.

Prints a summary (or the JSON report with --json) and writes the JSON report to --report PATH;
the report's fields are documented in docs/replay.md. With --report (next to it, suffix .png) or
--chart PATH it also writes an equity and drawdown chart (PNG) and names it in the report's
"chart". A progress bar goes to stderr. A missing
file, an unknown format or venue, a bad configuration or impossible risk limits exit with
status 2 and one line; dangerous risk limits are printed as warnings and the replay runs.
"""

from __future__ import annotations

import json
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import click
from click._termui_impl import ProgressBar

from domain.risk.risk_limits import InvalidRiskLimitsError
from infrastructure.recorded_feed import FeedFileError
from infrastructure.replay import ReplayConfigError, ReplayResult, ReplaySettings, run_replay
from infrastructure.venues.market_data_codecs import UnknownVenueError
from interfaces.cli.errors import UserError
from interfaces.cli.replay_config import ConfigError, ReplayConfig, build_settings, load_config

SPEEDS: dict[str, Decimal | None] = {"max": None, "1x": Decimal(1), "10x": Decimal(10)}


class _Progress:
    """A click progress bar on stderr, opened when the replay knows how many frames there are."""

    def __init__(self, enabled: bool) -> None:
        self._enabled = enabled
        self._bar: ProgressBar[int] | None = None
        self._done = 0

    def __call__(self, done: int, total: int) -> None:
        if not self._enabled:
            return
        if self._bar is None:
            self._bar = click.progressbar(length=total, label="replaying", file=sys.stderr)
        self._bar.update(done - self._done)
        self._done = done

    def close(self) -> None:
        if self._bar is not None:
            self._bar.render_finish()
            self._bar = None


def _settings(config_path: Path | None, strategy: str | None, speed: str) -> ReplaySettings:
    try:
        config = load_config(config_path) if config_path is not None else ReplayConfig()
        settings, warnings = build_settings(config, strategy_name=strategy, speed=SPEEDS[speed])
    except ConfigError as error:
        raise UserError(str(error)) from None
    for warning in warnings:
        click.echo(f"warning: risk limits: {warning}", err=True)
    return settings


def chart_path(report_path: Path | None, chart: Path | None) -> Path | None:
    """Where the chart goes: --chart, else next to --report with suffix .png, else nowhere."""
    if chart is not None:
        return chart
    return None if report_path is None else report_path.with_suffix(".png")


def _write_chart(path: Path, result: ReplayResult) -> None:
    report = result.report
    strategy = report["settings"]["strategy"]
    what = "market data only" if strategy is None else ", ".join(strategy["strategy_ids"])
    title = f"{Path(report['input']['path']).name}: {what}"
    portfolio = result.kernel.portfolio
    # Imported here: matplotlib takes half a second to import, which every other command would pay.
    from infrastructure.replay.equity_chart import write_equity_chart

    try:
        write_equity_chart(path, portfolio.equity_samples, title, currency=portfolio.currency)
    except OSError as error:
        raise UserError(f"{path}: cannot write the chart: {error.strerror or error}") from None


def _denied(denied: dict[str, int]) -> str:
    total = sum(denied.values())
    if not denied:
        return "0 denied"
    return f"{total} denials (" + ", ".join(f"{reason} {count}" for reason, count in denied.items()) + ")"


def _maybe(value: object) -> str:
    return "n/a" if value is None else str(value)


def render_summary(report: dict[str, Any]) -> str:
    """The report as a short table for people."""
    source, counts, orders = report["input"], report["counts"], report["orders"]
    fills, pnl, stats, runtime = report["fills"], report["pnl"], report["stats"], report["runtime"]
    settings = report["settings"]
    strategy = settings["strategy"]
    currency = pnl["currency"]
    breaker = ", ".join(report["breaker_trips"])
    rows = [
        ("feed", f"{source['path']} ({source['venue']}, {source['frames']} frames)"),
        ("sha256", source["sha256"]),
        (
            "strategy",
            "none (market data only)"
            if strategy is None
            else f"{strategy['name']} as {', '.join(strategy['strategy_ids'])} (seed {settings['seed']})",
        ),
        (
            "frames",
            f"{counts['frames']} ({counts['decoded']} decoded, {counts['decode_errors']} decode errors), "
            f"{counts['gaps']} gaps, {counts['duplicates']} duplicates, "
            f"{counts['stale_intervals']} stale intervals",
        ),
        (
            "orders",
            f"{orders['submitted']} submitted, {orders['accepted']} accepted, {orders['rejected']} rejected, "
            f"{orders['canceled']} canceled, {orders['filled']} filled; {_denied(orders['denied'])}",
        ),
        ("stale", f"{report['orders_while_stale']} orders sent on a stale book"),
        ("fills", f"{fills['count']} fills, volume {fills['volume']}, fees {fills['fees']} {currency}"),
        ("pnl", f"realized {pnl['realized']}, unrealized {pnl['unrealized']}, fees {pnl['fees']} {currency}"),
        ("equity", f"{pnl['equity_start']} -> {pnl['equity_end']}, max drawdown {pnl['max_drawdown']}"),
        (
            "stats",
            f"{stats['round_trips']} round trips, win rate {_maybe(stats['win_rate'])}, "
            f"profit factor {_maybe(stats['profit_factor'])}, sharpe {_maybe(stats['sharpe'])}",
        ),
        ("state", report["trading_state"] + (f" (breaker: {breaker})" if breaker else "")),
        (
            "runtime",
            f"{runtime['wall_s']} s, {runtime['frames_per_s']} frames/s, "
            f"{runtime['level_updates_per_s']} level updates/s",
        ),
        ("journal", f"{report['journal_records']} records, sha256 {report['journal_sha256']}"),
    ]
    lines = [f"{name:<10}{value}" for name, value in rows]
    for instrument, book in report["books"].items():
        state = "STALE" if book["stale"] else "ok"
        bid = " @ ".join(reversed(book["bids"][0])) if book["bids"] else "-"
        ask = " @ ".join(reversed(book["asks"][0])) if book["asks"] else "-"
        lines.append(f"{'book':<10}{instrument} [{state}] bid {bid} / ask {ask}")
    return "\n".join(lines)


@click.command("replay")
@click.argument("feed", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--strategy", "strategy", default=None, help="Strategy to run (market_maker, trend_follower).")
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="TOML configuration: [strategy], [risk], [venue], [kernel] (see docs/replay.md).",
)
@click.option(
    "--speed",
    type=click.Choice(list(SPEEDS)),
    default="max",
    show_default=True,
    help="Pace frames to wall time.",
)
@click.option(
    "--report",
    "report_path",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Write the JSON report here (and the chart next to it, suffix .png).",
)
@click.option(
    "--chart",
    "chart",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Write the equity and drawdown chart (PNG) here.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the JSON report instead of the summary.")
@click.option(
    "--no-progress", is_flag=True, help="No progress bar (none is shown unless stderr is a terminal)."
)
def replay(
    *,
    feed: Path,
    strategy: str | None,
    config_path: Path | None,
    speed: str,
    report_path: Path | None,
    chart: Path | None,
    as_json: bool,
    no_progress: bool,
) -> None:
    """Replay FEED through the kernel (strategy, risk, execution) against the simulated venue."""
    settings = _settings(config_path, strategy, speed)
    progress = _Progress(enabled=not no_progress and sys.stderr.isatty())
    try:
        result = run_replay(feed, settings, progress=progress)
    except (FeedFileError, UnknownVenueError, ReplayConfigError, InvalidRiskLimitsError) as error:
        raise UserError(str(error)) from None
    finally:
        progress.close()
    report = result.report
    chart_to = chart_path(report_path, chart)
    if chart_to is not None and chart_to == report_path:
        raise UserError(f"{chart_to}: the chart would overwrite the report; choose another --chart PATH")
    report["chart"] = None if chart_to is None else str(chart_to)
    if chart_to is not None:
        _write_chart(chart_to, result)
    text = json.dumps(report, indent=2)
    if report_path is not None:
        try:
            report_path.write_text(text + "\n", encoding="utf-8")
        except OSError as error:
            raise UserError(f"{report_path}: cannot write the report: {error.strerror or error}") from None
    click.echo(text if as_json else render_summary(report))
