"""The message bus: how one engine hands a message to another, by the destination's name.

Engines never call each other: they `send` immutable messages to a destination name (see
`application.engines.messages` for the names). A runtime delivers them by calling the
destination's `Handler.handle`, one message at a time per destination, in the order they were
sent. The deterministic runtime runs every handler on one thread from one FIFO queue; a threaded
runtime gives each handler its own actor (inbox), and the same handler classes run unchanged.
"""

from __future__ import annotations

from typing import Protocol


class Bus(Protocol):
    """Delivers messages to named handlers."""

    def send(self, destination: str, message: object) -> None:
        """Queue `message` for `destination`; returns at once (never runs the handler inline)."""
        ...


class Handler(Protocol):
    """An engine: all of its state is changed only inside `handle`, one message at a time."""

    def handle(self, message: object) -> None:
        """Act on one message (may send further messages on the bus)."""
        ...


class UnknownDestinationError(LookupError):
    """A message was sent to a destination no handler is registered under."""
