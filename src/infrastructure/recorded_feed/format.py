"""The project's recorded-feed format (JSON Lines) and the records every reader yields.

File layout, one JSON object per line (plain, gzip or zstd; detected by magic bytes):

    {"format": "tradekernel-feed", "version": 1, "venue": "COINBASE", "channels": [...],
     "instruments": [...], "recorded_at_ns": 1786309548026294000, "kernel_version": "0.1.0"}
    {"ts_ns": 1786309548629007800, "conn": "c1", "data": "<the frame text, byte for byte>"}
    {"ts_ns": 1786309548100000000, "conn": "c1", "data": "<a frame we sent>", "dir": "send"}
    ...

A line without `dir` is a received frame. Sent frames (subscribe requests) are kept because some
codecs need them: dYdX reserves a message id per subscription.

`data` is the frame exactly as received, so replay runs the same codec as live. See
docs/recorded-feeds.md.
"""

from __future__ import annotations

import msgspec

FEED_FORMAT_NAME = "tradekernel-feed"
FEED_FORMAT_VERSION = 1


class FeedHeader(msgspec.Struct, frozen=True, kw_only=True):
    """What a recording holds and who made it."""

    format: str = FEED_FORMAT_NAME
    version: int = FEED_FORMAT_VERSION
    venue: str
    channels: list[str] = []
    instruments: list[str] = []
    recorded_at_ns: int = 0
    kernel_version: str = ""


RECEIVED = "recv"
SENT = "send"


class FrameLine(msgspec.Struct, frozen=True, omit_defaults=True):
    """One frame as stored in the project's format; `dir` is omitted for received frames."""

    ts_ns: int
    conn: str
    data: str
    dir: str = RECEIVED


class RecordedFrame(msgspec.Struct, frozen=True):
    """A frame: receive (or send) time in ns, connection id, exact text, its line, its direction."""

    receive_ts_ns: int
    connection_id: str
    text: str
    line_number: int
    direction: str = RECEIVED

    @property
    def is_sent(self) -> bool:
        """True for a frame we sent (a subscribe request), False for one we received."""
        return self.direction == SENT


class RecordedHttp(msgspec.Struct, frozen=True):
    """A REST response body stored in a recording (cryptofeed's `http` lines)."""

    url: str
    body: str
    receive_ts_ns: int
    line_number: int
