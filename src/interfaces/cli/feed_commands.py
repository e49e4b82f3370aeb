"""`feed ...` commands: look inside recorded feeds."""

from __future__ import annotations

import json
from pathlib import Path

import click

from infrastructure.recorded_feed import FeedFileError
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
