"""The one way a command reports a user error: one line on stderr, exit status 2."""

from __future__ import annotations

import click

USAGE_ERROR_EXIT = 2


class UserError(click.ClickException):
    """An error the user can fix (a missing file, a bad config): one clear line, exit 2."""

    exit_code = USAGE_ERROR_EXIT

    def show(self, file: object = None) -> None:
        """Print `error: <message>` on one line to stderr."""
        click.echo(f"error: {self.format_message()}", err=True)
