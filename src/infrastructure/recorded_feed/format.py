"""The project's recorded-feed format (JSON Lines) and the records every reader yields.

File layout, one JSON object per line (plain, gzip or zstd; detected by magic bytes):

    {"format": "tradekernel-feed", "version": 1, "venue": "COINBASE", "channels": [...],
     "instruments": [...], "recorded_at_ns": 1786309548026294000, "kernel_version": "0.1.0"}
    {"ts_ns": 1786309548629007800, "conn": "c1", "data": "<the frame text, byte for byte>"}
    ...

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


class FrameLine(msgspec.Struct, frozen=True):
    """One received frame as stored in the project's format."""

    ts_ns: int
    conn: str
    data: str


class RecordedFrame(msgspec.Struct, frozen=True):
    """A received frame: receive time (ns), connection id, exact text, and its line in the file."""

    receive_ts_ns: int
    connection_id: str
    text: str
    line_number: int


class RecordedHttp(msgspec.Struct, frozen=True):
    """A REST response body stored in a recording (cryptofeed's `http` lines)."""

    url: str
    body: str
    receive_ts_ns: int
    line_number: int
