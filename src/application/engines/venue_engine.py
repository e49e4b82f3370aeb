"""The venue engine: one per venue; hands the venue adapter the market data it matches against.

Requests (submit, cancel) are made by the execution engine, synchronously, right after it has
journaled them; the adapter's answers come back through its report sink as messages to
execution. What a venue adapter may also need is the market: a simulated venue fills resting
orders from public trades and from books that move through them. An adapter that implements
`MarketDataConsumer` gets every book update and trade of its venue here, in feed order; for any
other adapter the messages are dropped (a live venue has its own market).
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from domain.market_data import OrderBookUpdate, TradeTick


@runtime_checkable
class MarketDataConsumer(Protocol):
    """A venue adapter that needs the venue's market data (the simulated venue)."""

    def on_book_update(self, update: OrderBookUpdate) -> None:
        """One frame's changes to one book."""
        ...

    def on_trade(self, trade: TradeTick) -> None:
        """One public trade."""
        ...


class VenueEngine:
    """Forwards market data to a venue adapter that consumes it."""

    def __init__(self, venue: object) -> None:
        self._consumer = venue if isinstance(venue, MarketDataConsumer) else None
        self.updates_forwarded = 0
        self.trades_forwarded = 0

    @property
    def wants_market_data(self) -> bool:
        """True when the adapter consumes market data (the data engine then sends it here)."""
        return self._consumer is not None

    def handle(self, message: object) -> None:
        """Handle an OrderBookUpdate or a TradeTick."""
        if isinstance(message, OrderBookUpdate):
            if self._consumer is not None:
                self._consumer.on_book_update(message)
                self.updates_forwarded += 1
        elif isinstance(message, TradeTick):
            if self._consumer is not None:
                self._consumer.on_trade(message)
                self.trades_forwarded += 1
        else:
            raise TypeError(f"the venue engine does not handle {type(message).__name__}")
