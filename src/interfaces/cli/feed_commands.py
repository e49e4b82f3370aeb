"""`feed ...` commands: look inside recorded feeds."""

from __future__ import annotations

import json
from pathlib import Path

import click

from infrastructure.recorded_feed import FeedFileError
from infrastructure.synthetic_market import SyntheticMarketConfig, write_synthetic_feed
from infrastructure.venues.market_data_codecs import UnknownVenueError
from interfaces.cli.errors import UserError
from interfaces.cli.feed_inspection import inspect_feed, render_text


@click.group()
def feed() -> None:
    """Recorded market-data feeds."""


@feed.command("inspect")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON (see docs/feed-inspect.md).")
@click.option(
    "--depth", default=5, show_default=True, type=click.IntRange(min=0), help="Book levels per side."
)
def inspect_command(file: Path, as_json: bool, depth: int) -> None:
    """Decode FILE with its venue's codec: counts, gaps, stale intervals, crossed and final books."""
    try:
        report = inspect_feed(file, depth)
    except (FeedFileError, UnknownVenueError) as error:
        raise UserError(str(error)) from None
    if as_json:
        click.echo(json.dumps(report, indent=2))
    else:
        click.echo(render_text(report))


@feed.command("generate")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--frames", default=10_000, show_default=True, type=click.IntRange(min=1))
@click.option("--seed", default=1, show_default=True, type=int, help="Same seed, same bytes.")
@click.option(
    "--rate", default=100, show_default=True, type=click.IntRange(min=1), help="Market frames per second."
)
@click.option(
    "--levels", default=50, show_default=True, type=click.IntRange(min=1), help="Book levels per side."
)
@click.option("--overwrite", is_flag=True, help="Replace FILE if it exists.")
def generate_command(*, file: Path, frames: int, seed: int, rate: int, levels: int, overwrite: bool) -> None:
    """Write a synthetic Coinbase feed (BTC-USD, ETH-USD) to FILE (.zst, .gz or plain)."""
    config = SyntheticMarketConfig(
        seed=seed, frame_count=frames, message_rate_per_s=rate, levels_per_side=levels
    )
    try:
        stats = write_synthetic_feed(file, config, overwrite=overwrite)
    except FileExistsError:
        raise UserError(f"{file}: exists (use --overwrite to replace it)") from None
    except OSError as error:
        raise UserError(f"{file}: cannot write: {error.strerror or error}") from None
    click.echo(f"{file}: {stats.frames} frames, {stats.level_changes} level changes, {stats.trades} trades")
