"""Which market-data codec decodes which venue: the one place a recording's venue picks a codec.

Each entry wraps a venue's sans-I/O codec with what the pipeline and reports need around it: the
crossed-book rule (dYdX), what to do with frames we sent (dYdX reserves a message id per
subscription), silence detection (Coinbase heartbeats), and venue-neutral counters.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import attrs

from application.market_data_pipeline import CrossingResolver
from infrastructure.venues.coinbase.market_data_codec import CoinbaseMarketDataCodec
from infrastructure.venues.dydx.book_crossing import DydxCrossingResolver
from infrastructure.venues.dydx.market_data_codec import DydxMarketDataCodec


class UnknownVenueError(ValueError):
    """No market-data codec is known for a venue."""


@attrs.frozen
class CodecCounts:
    """Venue-neutral counters of what a codec decoded."""

    frames: int
    decode_errors: int
    frames_by_channel: dict[str, int]
    events_by_type: dict[str, int]
    unknown_channels: dict[str, int]
    unknown_fields: dict[str, int]


class CoinbaseMarketData:
    """Coinbase Advanced Trade: silence on a connection (no heartbeat) marks its books stale."""

    venue = "COINBASE"
    resolve_crossing: CrossingResolver | None = None  # Coinbase books must never cross: count only

    def __init__(self) -> None:
        self.codec = CoinbaseMarketDataCodec()

    def feed_safe(self, text: str | bytes, receive_ts_ns: int, connection_id: str) -> Sequence[object]:
        """Check for silence up to this frame's arrival, then decode the frame."""
        silence = self.codec.check_silence(receive_ts_ns)
        events = self.codec.feed_safe(text, receive_ts_ns, connection_id)
        return [*silence, *events] if silence else events

    def on_sent(self, text: str, ts_ns: int, connection_id: str) -> None:
        """Frames we sent need no bookkeeping on Coinbase."""

    def counts(self) -> CodecCounts:
        """Counters of the codec so far."""
        stats = self.codec.stats
        return CodecCounts(
            frames=stats.frames,
            decode_errors=stats.decode_errors,
            frames_by_channel=dict(stats.frames_by_channel),
            events_by_type=dict(stats.events_by_type),
            unknown_channels=dict(stats.unknown_channels),
            unknown_fields=dict(stats.unknown_fields),
        )


class DydxMarketData:
    """dYdX v4 indexer: crossed books are resolved by the venue rule; subscribes reserve ids."""

    venue = "DYDX"

    def __init__(self) -> None:
        self.codec = DydxMarketDataCodec()
        self.resolver = DydxCrossingResolver()
        self.resolve_crossing: CrossingResolver | None = self.resolver

    def feed_safe(self, text: str | bytes, receive_ts_ns: int, connection_id: str) -> Sequence[object]:
        """Decode one frame."""
        return self.codec.feed_safe(text, receive_ts_ns, connection_id)

    def on_sent(self, text: str, ts_ns: int, connection_id: str) -> None:
        """A subscribe we sent reserves a message id; tell the codec so it is not seen as a gap."""
        if '"subscribe"' in text:
            self.codec.subscribe_sent(connection_id, ts_ns)

    def counts(self) -> CodecCounts:
        """Counters of the codec so far."""
        stats = self.codec.stats
        channels: Counter[str] = Counter()
        for kind, count in stats.frames_by_kind.items():
            channels[kind.split("/", 1)[0]] += count
        return CodecCounts(
            frames=stats.frames,
            decode_errors=stats.decode_errors,
            frames_by_channel=dict(channels),
            events_by_type=dict(stats.frames_by_kind),  # "channel/type", e.g. v4_orderbook/channel_data
            unknown_channels=dict(stats.unknown_channels),
            unknown_fields=dict(stats.unknown_fields),
        )


VenueMarketData = CoinbaseMarketData | DydxMarketData
_VENUES: dict[str, type[CoinbaseMarketData] | type[DydxMarketData]] = {
    "COINBASE": CoinbaseMarketData,
    "DYDX": DydxMarketData,
}


def market_data_for(venue: str) -> VenueMarketData:
    """A fresh codec bundle for `venue` (case-insensitive); UnknownVenueError if none."""
    factory = _VENUES.get(venue.upper())
    if factory is None:
        known = ", ".join(sorted(_VENUES))
        raise UnknownVenueError(f"no market-data codec for venue {venue!r} (known: {known})")
    return factory()
