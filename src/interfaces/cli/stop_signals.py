"""SIGINT and SIGTERM for `start`, from the process's first instant to its last.

A kernel stopped during start-up must stop as cleanly as one stopped while trading, so the
handlers are in place before anything slow happens:
- `install_early()` runs first in `python -m interfaces.cli`, before the heavy imports: a signal
  that arrives while the program loads is remembered, not raised as a KeyboardInterrupt
  traceback (nor, for SIGTERM, a silent death). `start` takes it over (`StopSignals.install`) and
  treats it as a stop during start-up; every other command puts the original handlers back
  (`release_early`) and a remembered signal then acts as it would have.
- `StopSignals`: the first signal sets the `stop` event. During start-up it is silent (start-up
  checks the event between its steps and stops before trading, saying so in one line); while
  trading it says `SIGTERM: stopping (again to exit at once)`. A second signal exits at once.

Handlers replace the inherited disposition even when it is "ignore" (a shell's background job
starts with SIGINT ignored), so `kill -INT` reaches a kernel started with `&`.
"""

from __future__ import annotations

import os
import signal
import threading
from types import FrameType
from typing import Any

_SIGNALS = (signal.SIGINT, signal.SIGTERM)
_early_pending: list[int] = []
_early_originals: dict[int, Any] = {}


def _remember(signum: int, _frame: FrameType | None) -> None:
    _early_pending.append(signum)


def install_early() -> None:
    """Remember SIGINT/SIGTERM from now on, until `start` takes over or `release_early` is called."""
    for signum in _SIGNALS:
        _early_originals[signum] = signal.signal(signum, _remember)


def release_early() -> None:
    """Put the original handlers back (commands other than `start`); re-raise a remembered signal."""
    if not _early_originals:
        return
    for signum, handler in _early_originals.items():
        signal.signal(signum, handler)
    _early_originals.clear()
    if _early_pending:
        signum = _early_pending[0]
        _early_pending.clear()
        signal.raise_signal(signum)


class StopSignals:
    """The first SIGINT/SIGTERM asks for a clean stop (`stop` is set); the second exits at once."""

    def __init__(self) -> None:
        self.stop = threading.Event()
        self._trading = False
        self._previous: dict[int, Any] = {}

    def install(self) -> None:
        """Handle both signals from now on (a signal remembered while loading counts as received)."""
        for signum in _SIGNALS:
            self._previous[signum] = signal.signal(signum, self._handle)
        _early_originals.clear()
        if _early_pending:
            _early_pending.clear()
            self.stop.set()

    def begin_trading(self) -> None:
        """From now on a first signal is announced (it stops trading, not start-up)."""
        self._trading = True

    def restore(self) -> None:
        """Put back the handlers found at `install`."""
        for signum, previous in self._previous.items():
            signal.signal(signum, previous)
        self._previous.clear()

    def _handle(self, signum: int, _frame: FrameType | None) -> None:
        if self.stop.is_set():
            os._exit(128 + signum)  # the second signal: at once, no cleanup
        if self._trading:
            # Imported here: this module loads before anything else, so it imports nothing heavy.
            import click

            click.echo(f"\n{signal.Signals(signum).name}: stopping (again to exit at once)", err=True)
        self.stop.set()
