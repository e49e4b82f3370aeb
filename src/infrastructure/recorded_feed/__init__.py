"""Recorded feeds: the project's own JSON Lines format and cryptofeed's format 2, read streamed."""

from infrastructure.recorded_feed.format import (
    FEED_FORMAT_NAME,
    FEED_FORMAT_VERSION,
    FeedHeader,
    RecordedFrame,
    RecordedHttp,
)
from infrastructure.recorded_feed.reader import FeedFileError, RecordedFeed, open_feed
from infrastructure.recorded_feed.recorder import FeedRecorder, compression_for

__all__ = [
    "FEED_FORMAT_NAME",
    "FEED_FORMAT_VERSION",
    "FeedFileError",
    "FeedHeader",
    "FeedRecorder",
    "RecordedFeed",
    "RecordedFrame",
    "RecordedHttp",
    "compression_for",
    "open_feed",
]
