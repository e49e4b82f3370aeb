"""Streamed reading of recorded feeds: the project's format and cryptofeed's "format 2".

Files are read line by line (never loaded whole), plain, gzip or zstd, detected by magic bytes.
A truncated last line (a crash while recording) is tolerated with a warning; any other malformed
line is an error naming the file and the line number.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import IO

import msgspec
import zstandard

from infrastructure.recorded_feed.format import (
    FEED_FORMAT_NAME,
    FEED_FORMAT_VERSION,
    RECEIVED,
    SENT,
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


_CHUNK = 1 << 20
_GZIP_WBITS = 16 + zlib.MAX_WBITS  # a gzip header and trailer around a deflate stream


def _gzip_chunks(raw: IO[bytes], path: Path, warnings: list[str]) -> Iterator[bytes]:
    # zlib directly rather than GzipFile: GzipFile discards what it decompressed when the stream
    # ends early, and a recorder killed mid-write leaves exactly such a stream.
    decompressor = zlib.decompressobj(_GZIP_WBITS)
    consumed = False  # has the current member seen any input?
    while chunk := raw.read(_CHUNK):
        while chunk:
            consumed = True
            try:
                out = decompressor.decompress(chunk)
            except zlib.error as error:
                raise FeedFileError(f"{path}: corrupt gzip stream: {error}") from None
            if out:
                yield out
            if decompressor.eof:  # a file may hold several gzip members back to back
                chunk = decompressor.unused_data
                decompressor = zlib.decompressobj(_GZIP_WBITS)
                consumed = False
            else:
                chunk = b""
    if consumed and not decompressor.eof:
        if tail := decompressor.flush():
            yield tail
        warnings.append(f"{path}: compressed stream ends early (recording interrupted?)")


def _decompressed_chunks(path: Path, warnings: list[str]) -> Iterator[bytes]:
    try:
        with path.open("rb") as raw:
            magic = raw.read(4)
            raw.seek(0)
            if magic.startswith(_GZIP_MAGIC):
                yield from _gzip_chunks(raw, path, warnings)
            elif magic == _ZSTD_MAGIC:
                reader = zstandard.ZstdDecompressor().stream_reader(raw)
                while chunk := reader.read(_CHUNK):
                    yield chunk
            else:
                while chunk := raw.read(_CHUNK):
                    yield chunk
    except zstandard.ZstdError as error:
        raise FeedFileError(f"{path}: corrupt zstd stream: {error}") from None
    except OSError as error:
        raise FeedFileError(f"{path}: cannot read: {error.strerror or error}") from None


def _lines(path: Path, warnings: list[str]) -> Iterator[tuple[int, bytes, bool]]:
    """Yield (line number, line without its newline, truncated) from a possibly compressed file.

    Only a last line without a newline is `truncated`: the recorder always ends a line with one.
    """
    number = 0
    pending = b""
    for chunk in _decompressed_chunks(path, warnings):
        lines = (pending + chunk).split(b"\n")
        pending = lines.pop()
        for line in lines:
            number += 1
            yield number, line.rstrip(b"\r"), False
    if pending:
        yield number + 1, pending.rstrip(b"\r"), True


class RecordedFeed:
    """A recorded feed file: its header, its REST bodies, and its frames in file order."""

    def __init__(self, path: Path, header: FeedHeader, kind: str) -> None:
        self.path = path
        self.header = header
        self.kind = kind  # "tradekernel" or "cryptofeed"
        self.warnings: list[str] = []
        self.http: list[RecordedHttp] = []

    def frames(self, *, include_sent: bool = False) -> Iterator[RecordedFrame]:
        """Stream the received frames (and the sent ones if asked), in file order.

        REST bodies met on the way are collected in `http` (refilled on each pass).
        """
        if self.kind == FEED_FORMAT_NAME:
            return self._own_frames(include_sent)
        return self._cryptofeed_frames(include_sent)

    def _tolerate_truncated(self, number: int, is_last: bool, error: Exception) -> bool:
        if is_last:
            self.warnings.append(
                f"{self.path}:{number}: truncated last line ignored (recording interrupted?)"
            )
            return True
        raise FeedFileError(f"{self.path}:{number}: malformed line: {error}") from None

    def _own_frames(self, include_sent: bool) -> Iterator[RecordedFrame]:
        decoder = msgspec.json.Decoder(FrameLine)
        for number, line, is_last in _lines(self.path, self.warnings):
            if number == 1 or not line.strip():
                continue
            try:
                frame = decoder.decode(line)
            except msgspec.DecodeError as error:
                if self._tolerate_truncated(number, is_last, error):
                    return
                raise  # pragma: no cover - _tolerate_truncated raises
            if frame.dir == RECEIVED:
                yield RecordedFrame(frame.ts_ns, frame.conn, frame.data, number)
            elif frame.dir == SENT:
                if include_sent:
                    yield RecordedFrame(frame.ts_ns, frame.conn, frame.data, number, SENT)
            else:
                raise FeedFileError(f"{self.path}:{number}: unknown frame direction {frame.dir!r}")

    def _cryptofeed_frames(self, include_sent: bool) -> Iterator[RecordedFrame]:
        decoder = msgspec.json.Decoder(_CryptofeedLine)
        self.http = []  # refilled on every pass, never duplicated
        for number, line, is_last in _lines(self.path, self.warnings):
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
            elif record.t == "send" and include_sent:
                yield RecordedFrame(ts_ns, record.conn, record.data, number, SENT)
            elif record.t == "http":
                self.http.append(RecordedHttp(record.url, record.data, ts_ns, number))


def open_feed(path: str | Path) -> RecordedFeed:
    """Open a recorded feed, read its header, and detect its format; raise FeedFileError if unusable."""
    path = Path(path)
    if not path.is_file():
        raise FeedFileError(f"{path}: no such file")
    first: bytes | None = None
    for _number, line, _is_last in _lines(path, []):  # a short stream is reported when read
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
