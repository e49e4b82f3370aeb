"""The `tradekernel` command group; each subcommand lives in its own module."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

import click

from interfaces.cli.feed_commands import feed
from interfaces.cli.persistence_commands import backup, db, journal, restore, status
from interfaces.cli.replay_command import replay
from interfaces.cli.start_command import start
from interfaces.cli.stop_signals import release_early
from interfaces.cli.trading_commands import trading


def _version() -> str:
    try:
        return version("tradekernel")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
        return "0+unknown"


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(_version(), prog_name="tradekernel")
@click.pass_context
def cli(context: click.Context) -> None:
    """tradekernel: a trading kernel that never loses a fill and replays markets exactly."""
    if context.invoked_subcommand != "start":  # `start` keeps the early stop-signal handlers
        release_early()


cli.add_command(feed)
cli.add_command(replay)
cli.add_command(start)
for _command in (status, backup, restore, journal, db, trading):
    cli.add_command(_command)


def main() -> None:
    """Entry point for `python -m interfaces.cli`."""
    cli(prog_name="python -m interfaces.cli")
