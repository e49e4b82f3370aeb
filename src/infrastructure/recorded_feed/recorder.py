"""Writing the project's recorded-feed format: a header line, then one line per received frame.

`FeedRecorder` is what the live `record` command (and the synthetic market generator) call. The
layout is the one `format.py` describes and `reader.open_feed` reads back:

    {"format":"tradekernel-feed","version":1,"venue":...}        <- written and flushed first
    {"ts_ns":1786309548629007800,"conn":"c1","data":"<frame text>"}
    ...

- Compression follows the file suffix: ``.zst`` zstd, ``.gz`` gzip, anything else plain.
- The frame text is stored byte for byte: msgspec escapes it as a JSON string and the reader
  decodes the identical ``str`` (quotes, backslashes, newlines, any Unicode).
- Lines are buffered in memory and pushed to the file (and through the compressor's block or
  sync flush) every `flush_every_frames` frames, every `flush_interval_s` seconds of the
  recorder's monotonic clock, on `flush()`, and on close. A crash therefore loses at most the
  unflushed tail and leaves at worst a truncated last line, which the reader tolerates with a
  warning. `fsync=True` also survives a power loss, at a cost per flush.
- An existing file is never replaced unless `overwrite=True`.

Not thread-safe: one recorder belongs to one writer (thread or actor).
"""

from __future__ import annotations

import gzip
import os
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import IO, Final, Literal, Protocol, Self

import msgspec
import zstandard

from infrastructure.recorded_feed.format import (
    FEED_FORMAT_NAME,
    FEED_FORMAT_VERSION,
    SENT,
    FeedHeader,
    FrameLine,
)

Compression = Literal["zstd", "gzip", "plain"]


class _ByteSink(Protocol):
    def write(self, data: bytes | bytearray, /) -> int: ...
    def flush(self) -> object: ...
    def close(self) -> object: ...


_WRITE_CHUNK: Final = 1 << 16  # bytes gathered in memory before one write to the stream
_NS_PER_S: Final = 1_000_000_000


def compression_for(path: str | Path) -> Compression:
    """The compression a recording at `path` gets: ``.zst`` zstd, ``.gz`` gzip, else plain."""
    suffix = Path(path).suffix.lower()
    if suffix == ".zst":
        return "zstd"
    if suffix == ".gz":
        return "gzip"
    return "plain"


class FeedRecorder:
    """Writes a recorded feed in the project's format; use as a context manager.

    ``with FeedRecorder(path, header) as recorder: recorder.record(ts_ns, conn, text)``.
    The file is created (and the header written and flushed) on construction.
    """

    def __init__(
        self,
        path: str | Path,
        header: FeedHeader,
        *,
        overwrite: bool = False,
        flush_every_frames: int | None = 1_000,
        flush_interval_s: float | None = 1.0,
        fsync: bool = False,
        compression_level: int | None = None,
        clock_ns: Callable[[], int] = time.monotonic_ns,
    ) -> None:
        """Create the file and write the header.

        `flush_every_frames` / `flush_interval_s`: flush after that many frames / that much time
        on `clock_ns` since the last flush (None disables the trigger; close always flushes).
        Time-based flushing makes compressed output depend on timing, so callers that need
        byte-identical files (the synthetic generator) disable it. `compression_level` defaults
        to 3 for zstd and 6 for gzip. Raises FileExistsError if `path` exists and not
        `overwrite`, ValueError for a header of another format or version.
        """
        if header.format != FEED_FORMAT_NAME or header.version != FEED_FORMAT_VERSION:
            raise ValueError(
                f"a recorder writes {FEED_FORMAT_NAME} version {FEED_FORMAT_VERSION}, "
                f"got header format {header.format!r} version {header.version}"
            )
        if flush_every_frames is not None and flush_every_frames < 1:
            raise ValueError(f"flush_every_frames must be >= 1 or None, got {flush_every_frames}")
        if flush_interval_s is not None and not flush_interval_s > 0:
            raise ValueError(f"flush_interval_s must be > 0 or None, got {flush_interval_s}")
        self.path: Final = Path(path)
        self.header: Final = header
        self.compression: Final = compression_for(self.path)
        self._flush_every = flush_every_frames
        self._flush_interval_ns = None if flush_interval_s is None else int(flush_interval_s * _NS_PER_S)
        self._fsync = fsync
        self._clock_ns = clock_ns
        self._encoder = msgspec.json.Encoder()
        self._buffer = bytearray()
        self._frames = 0
        self._unflushed = 0
        self._closed = False
        self._last_flush_ns = 0
        try:
            self._raw: IO[bytes] = self.path.open("wb" if overwrite else "xb")
        except FileExistsError:
            raise FileExistsError(
                f"{self.path}: already exists; refusing to overwrite a recording (pass overwrite=True)"
            ) from None
        self._zstd: zstandard.ZstdCompressionWriter | None = None
        self._stream: _ByteSink = self._raw
        try:
            if self.compression == "zstd":
                level = 3 if compression_level is None else compression_level
                compressor = zstandard.ZstdCompressor(level=level)
                self._zstd = compressor.stream_writer(self._raw, closefd=False)
                self._stream = self._zstd
            elif self.compression == "gzip":
                level = 6 if compression_level is None else compression_level
                # mtime from the header (not the clock) and no file name: reproducible bytes.
                self._stream = gzip.GzipFile(
                    filename="",
                    mode="wb",
                    compresslevel=level,
                    fileobj=self._raw,
                    mtime=header.recorded_at_ns // _NS_PER_S,
                )
            self._buffer += self._encoder.encode(header)
            self._buffer += b"\n"
            self.flush()
        except BaseException:
            self._raw.close()
            self.path.unlink(missing_ok=True)  # no half-made recording left behind
            raise

    @property
    def frames_recorded(self) -> int:
        """How many frames `record` has accepted (flushed or not)."""
        return self._frames

    @property
    def closed(self) -> bool:
        """True once `close` has run."""
        return self._closed

    def record(self, receive_ts_ns: int, connection_id: str, text: str) -> None:
        """Append one received frame: receive time (ns since the epoch), connection id, exact text.

        Raises ValueError once closed, and UnicodeEncodeError (a ValueError) for text holding a
        lone surrogate, which no WebSocket text frame can (they are valid UTF-8); the file is
        unchanged by a refused frame.
        """
        self._append(FrameLine(receive_ts_ns, connection_id, text))

    def record_sent(self, send_ts_ns: int, connection_id: str, text: str) -> None:
        """Append one frame we sent (a subscribe request), so replay can tell the codec about it."""
        self._append(FrameLine(send_ts_ns, connection_id, text, SENT))

    def _append(self, line: FrameLine) -> None:
        if self._closed:
            raise ValueError(f"{self.path}: recorder is closed")
        buffer = self._buffer
        size = len(buffer)
        try:
            self._encoder.encode_into(line, buffer, -1)
        except BaseException:
            del buffer[size:]
            raise
        buffer += b"\n"
        self._frames += 1
        self._unflushed += 1
        due = (self._flush_every is not None and self._unflushed >= self._flush_every) or (
            self._flush_interval_ns is not None
            and self._clock_ns() - self._last_flush_ns >= self._flush_interval_ns
        )
        if due:
            self.flush()
        elif len(buffer) >= _WRITE_CHUNK:
            self._stream.write(buffer)
            buffer.clear()

    def flush(self) -> None:
        """Push every recorded line to the file, through the compressor, so a reader can see it."""
        if self._closed:
            return
        if self._buffer:
            self._stream.write(self._buffer)
            self._buffer.clear()
        if self._zstd is not None:
            self._zstd.flush(zstandard.FLUSH_BLOCK)
        elif self._stream is not self._raw:
            self._stream.flush()  # gzip: zlib sync flush, then the file
        self._raw.flush()
        if self._fsync:
            os.fsync(self._raw.fileno())
        self._unflushed = 0
        self._last_flush_ns = self._clock_ns()

    def close(self) -> None:
        """Flush, end the compressed stream, and close the file; closing twice is harmless."""
        if self._closed:
            return
        try:
            self.flush()
            if self._stream is not self._raw:
                self._stream.close()  # ends the zstd frame / writes the gzip trailer; the file stays open
            self._raw.flush()
            if self._fsync:
                os.fsync(self._raw.fileno())
        finally:
            self._closed = True
            self._raw.close()

    def __enter__(self) -> Self:
        """Return the recorder itself."""
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Close, flushing what was recorded even when the block raised."""
        self.close()
