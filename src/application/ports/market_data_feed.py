"""The market-data feed port: raw frames in, so live and replay share one decoding path."""

from __future__ import annotations

from typing import Protocol


class FrameHandler(Protocol):
    """Receives one raw frame: its text, its receive time (ns) and its connection id."""

    def __call__(self, text: str | bytes, receive_ts_ns: int, connection_id: str) -> None:
        """Handle one frame."""
        ...


class MarketDataFeed(Protocol):
    """A source of raw venue frames: a live WebSocket connection, a recording, a generator."""

    venue: str

    def start(self, on_frame: FrameHandler) -> None:
        """Begin delivering frames to `on_frame` (live feeds also resubscribe after a gap)."""
        ...

    def stop(self) -> None:
        """Stop delivering frames and release the connection."""
        ...
