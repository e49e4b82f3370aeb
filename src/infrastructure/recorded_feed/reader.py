"""Streamed reading of recorded feeds: the project's format and cryptofeed's "format 2".

Files are read line by line (never loaded whole), plain, gzip or zstd, detected by magic bytes.
A truncated last line (a crash while recording) is tolerated with a warning; any other malformed
line is an error naming the file and the line number.
"""

from __future__ import annotations

import gzip
import io
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import IO, cast

import msgspec
import zstandard

from infrastructure.recorded_feed.format import (
    FEED_FORMAT_NAME,
    FEED_FORMAT_VERSION,
    FeedHeader,
    FrameLine,
    RecordedFrame,
    RecordedHttp,
)

_GZIP_MAGIC = b"\x1f\x8b"
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
_NS_PER_S = Decimal(1_000_000_000)


class FeedFileError(Exception):
    """A recorded feed cannot be read: missing, unreadable, unknown format, or a malformed line."""


class _CryptofeedLine(msgspec.Struct, frozen=True):
    t: str
    ts: Decimal | None = None  # epoch seconds; decoded exactly from the JSON number text
    conn: str = ""
    data: str = ""
    url: str = ""


def _open_binary(path: Path) -> IO[bytes]:
    try:
        raw = path.open("rb")
    except OSError as error:
        raise FeedFileError(f"{path}: cannot open: {error.strerror or error}") from None
    magic = raw.read(4)
    raw.seek(0)
    if magic.startswith(_GZIP_MAGIC):
        return cast("IO[bytes]", gzip.GzipFile(fileobj=raw, mode="rb"))
    if magic == _ZSTD_MAGIC:
        return zstandard.ZstdDecompressor().stream_reader(raw, closefd=True)
    return raw


def _lines(path: Path) -> Iterator[tuple[int, bytes, bool]]:
    """Yield (line number, line without newline, is_last) from a possibly compressed file."""
    try:
        with _open_binary(path) as binary:
            buffered = io.BufferedReader(cast("io.RawIOBase", binary), buffer_size=1 << 20)
            number = 0
            previous: bytes | None = None
            for line in buffered:
                if previous is not None:
                    yield number, previous.rstrip(b"\r\n"), False
                number += 1
                previous = line
            if previous is not None:
                yield number, previous.rstrip(b"\r\n"), not previous.endswith(b"\n")
    except (OSError, EOFError, zstandard.ZstdError) as error:
        raise FeedFileError(f"{path}: cannot read: {error}") from None


class RecordedFeed:
    """A recorded feed file: its header, its REST bodies, and its frames in file order."""

    def __init__(self, path: Path, header: FeedHeader, kind: str) -> None:
        self.path = path
        self.header = header
        self.kind = kind  # "tradekernel" or "cryptofeed"
        self.warnings: list[str] = []
        self.http: list[RecordedHttp] = []

    def frames(self) -> Iterator[RecordedFrame]:
        """Stream the received frames; REST bodies met on the way are appended to `http`."""
        if self.kind == FEED_FORMAT_NAME:
            return self._own_frames()
        return self._cryptofeed_frames()

    def _tolerate_truncated(self, number: int, is_last: bool, error: Exception) -> bool:
        if is_last:
            self.warnings.append(
                f"{self.path}:{number}: truncated last line ignored (recording interrupted?)"
            )
            return True
        raise FeedFileError(f"{self.path}:{number}: malformed line: {error}") from None

    def _own_frames(self) -> Iterator[RecordedFrame]:
        decoder = msgspec.json.Decoder(FrameLine)
        for number, line, is_last in _lines(self.path):
            if number == 1 or not line.strip():
                continue
            try:
                frame = decoder.decode(line)
            except msgspec.DecodeError as error:
                if self._tolerate_truncated(number, is_last, error):
                    return
                raise  # pragma: no cover - _tolerate_truncated raises
            yield RecordedFrame(frame.ts_ns, frame.conn, frame.data, number)

    def _cryptofeed_frames(self) -> Iterator[RecordedFrame]:
        decoder = msgspec.json.Decoder(_CryptofeedLine)
        for number, line, is_last in _lines(self.path):
            if not line.strip():
                continue
            try:
                record = decoder.decode(line)
            except msgspec.DecodeError as error:
                if self._tolerate_truncated(number, is_last, error):
                    return
                raise  # pragma: no cover - _tolerate_truncated raises
            ts_ns = int(record.ts * _NS_PER_S) if record.ts is not None else 0
            if record.t == "recv":
                yield RecordedFrame(ts_ns, record.conn, record.data, number)
            elif record.t == "http":
                self.http.append(RecordedHttp(record.url, record.data, ts_ns, number))


def open_feed(path: str | Path) -> RecordedFeed:
    """Open a recorded feed, read its header, and detect its format; raise FeedFileError if unusable."""
    path = Path(path)
    if not path.is_file():
        raise FeedFileError(f"{path}: no such file")
    first: bytes | None = None
    for _number, line, _is_last in _lines(path):
        first = line
        break
    if first is None:
        raise FeedFileError(f"{path}: empty file, not a recorded feed")
    try:
        head = msgspec.json.decode(first)
    except msgspec.DecodeError:
        raise FeedFileError(f"{path}:1: not a recorded feed (the first line is not JSON)") from None
    if isinstance(head, dict) and head.get("format") == FEED_FORMAT_NAME:
        try:
            header = msgspec.convert(head, FeedHeader)
        except msgspec.ValidationError as error:
            raise FeedFileError(f"{path}:1: bad header: {error}") from None
        if header.version > FEED_FORMAT_VERSION:
            raise FeedFileError(
                f"{path}: format version {header.version} is newer than this kernel reads "
                f"({FEED_FORMAT_VERSION}); upgrade tradekernel"
            )
        return RecordedFeed(path, header, FEED_FORMAT_NAME)
    if isinstance(head, dict) and head.get("t") == "header" and head.get("format") == 2:
        config = head.get("config") or {}
        instruments = sorted({s for symbols in config.values() if isinstance(symbols, list) for s in symbols})
        header = FeedHeader(
            venue=str(head.get("exchange", "")),
            channels=sorted(config),
            instruments=instruments,
            recorded_at_ns=int(Decimal(str(head.get("recorded", 0))) * _NS_PER_S),
            kernel_version="cryptofeed",
        )
        return RecordedFeed(path, header, "cryptofeed")
    raise FeedFileError(
        f"{path}: unknown format (expected a tradekernel-feed header or a cryptofeed format 2 header)"
    )
