"""The recorded-feed reader: the real cryptofeed capture, the project's own format in every
compression, tolerated truncation, and errors that name the file and the line.

Files are built by hand here (not with FeedRecorder) so the reader is tested on its own.
"""

from __future__ import annotations

import gc
import gzip
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import msgspec
import pytest
import zstandard

from infrastructure.recorded_feed import (
    FEED_FORMAT_NAME,
    FEED_FORMAT_VERSION,
    FeedFileError,
    FeedHeader,
    RecordedFeed,
    RecordedFrame,
    open_feed,
)

CAPTURE = "coinbase-advanced/capture/coinbase-advanced-2026-08-09-btc-eth.jsonl.zst"
HEADER = FeedHeader(
    venue="COINBASE",
    channels=["heartbeats", "level2"],
    instruments=["BTC-USD"],
    recorded_at_ns=1_786_309_548_026_294_000,
    kernel_version="0.1.0",
)
FRAMES = [
    (1_786_309_548_629_007_800, "c1", '{"channel":"l2_data","sequence_num":0,"events":[]}'),
    (1_786_309_548_631_066_800, "c1", 'quote " backslash \\ newline \n unicode é 😀'),
    (1_786_309_548_631_147_000, "c2", ""),
]
GZIP_CLOSE_BUG = (
    "reader.py _open_binary: gzip.GzipFile(fileobj=raw) does not close raw, so every gzip read "
    "leaks the file (ResourceWarning; a test failure under filterwarnings=error)"
)
GZIP_TRUNCATION_BUG = (
    "reader.py _lines: a gzip stream cut short (a crash while recording .gz) raises EOFError, "
    "turned into FeedFileError, instead of ending with a truncated-last-line warning"
)


def own_lines(header: FeedHeader = HEADER, frames: list[tuple[int, str, str]] = FRAMES) -> list[bytes]:
    lines = [msgspec.json.encode(header)]
    lines += [msgspec.json.encode({"ts_ns": ts, "conn": conn, "data": data}) for ts, conn, data in frames]
    return lines


def write(path: Path, lines: list[bytes], *, final_newline: bool = True) -> Path:
    data = b"\n".join(lines) + (b"\n" if final_newline else b"")
    if path.suffix == ".gz":
        data = gzip.compress(data, mtime=0)
    elif path.suffix == ".zst":
        data = zstandard.ZstdCompressor().compress(data)
    path.write_bytes(data)
    return path


@contextmanager
def gzip_leak_silenced(path: Path) -> Iterator[None]:
    """Silence the reported gzip file leak (test_reading_gzip_closes_the_file), for gzip only."""
    if not path.read_bytes().startswith(b"\x1f\x8b"):
        yield
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        try:
            yield
        finally:
            gc.collect()


def read_all(path: Path) -> tuple[RecordedFeed, list[RecordedFrame]]:
    with gzip_leak_silenced(path):
        feed = open_feed(path)
        return feed, list(feed.frames())


# --- the real capture (cryptofeed format 2) ------------------------------------------------


def test_the_cryptofeed_capture_reads_with_its_header_frames_and_http_body(shared_dir: Path) -> None:
    feed, frames = read_all(shared_dir / "data" / CAPTURE)
    assert feed.kind == "cryptofeed"
    assert feed.header.venue == "COINBASE"
    assert feed.header.instruments == ["BTC-USD", "ETH-USD"]
    assert feed.header.channels == ["candles", "l2_book", "ticker", "trades"]
    assert feed.header.recorded_at_ns == 1_786_309_548_026_294_000
    assert len(frames) == 1030
    assert len(feed.http) == 1
    assert feed.http[0].url == "https://api.coinbase.com/api/v3/brokerage/market/products"
    assert feed.http[0].body.startswith('{"products":[{"product_id":"BTC-USD"')
    assert feed.warnings == []
    first = frames[0]
    assert (first.receive_ts_ns, first.connection_id) == (1_786_309_548_629_007_800, "COINBASE.ws.2")
    assert first.text.startswith('{"channel":"market_trades","timestamp":"2026-08-09T21:05:48.228568804Z"')
    assert all(frame.connection_id == "COINBASE.ws.2" for frame in frames)
    assert [frame.receive_ts_ns for frame in frames] == sorted(frame.receive_ts_ns for frame in frames)
    sequence = [msgspec.json.decode(frame.text)["sequence_num"] for frame in frames]
    assert sequence == list(range(len(frames)))


def test_reading_the_frames_twice_gives_the_same_frames(shared_dir: Path) -> None:
    feed = open_feed(shared_dir / "data" / CAPTURE)
    assert list(feed.frames()) == list(feed.frames())


def test_reading_the_frames_twice_does_not_duplicate_http_bodies(shared_dir: Path) -> None:
    feed = open_feed(shared_dir / "data" / CAPTURE)
    list(feed.frames())
    list(feed.frames())
    assert len(feed.http) == 1


def test_cryptofeed_lines_other_than_recv_and_http_are_skipped(tmp_path: Path) -> None:
    header = b'{"t":"header","format":2,"exchange":"X","config":{"trades":["A-B"]},"recorded":1.5}'
    lines = [
        header,
        b'{"t":"connect","conn":"w","ts":2.0,"addr":"wss://x"}',
        b'{"t":"send","conn":"w","ts":2.1,"data":"sub"}',
        b'{"t":"recv","conn":"w","ts":2.000000001,"data":"frame"}',
    ]
    feed, frames = read_all(write(tmp_path / "cf.jsonl", lines))
    assert feed.header.recorded_at_ns == 1_500_000_000
    assert [(f.receive_ts_ns, f.text, f.line_number) for f in frames] == [(2_000_000_001, "frame", 4)]


# --- the project's own format --------------------------------------------------------------


@pytest.mark.parametrize("suffix", ["jsonl", "jsonl.gz", "jsonl.zst", "bin"])
def test_the_own_format_round_trips_in_every_compression(tmp_path: Path, suffix: str) -> None:
    feed, frames = read_all(write(tmp_path / f"feed.{suffix}", own_lines()))
    assert feed.kind == FEED_FORMAT_NAME
    assert feed.header == HEADER
    assert [(f.receive_ts_ns, f.connection_id, f.text) for f in frames] == FRAMES
    assert [f.line_number for f in frames] == [2, 3, 4]
    assert feed.warnings == []
    assert feed.http == []


def test_compression_is_detected_by_content_not_by_name(tmp_path: Path) -> None:
    path = tmp_path / "feed.jsonl"
    path.write_bytes(zstandard.ZstdCompressor().compress(b"\n".join(own_lines()) + b"\n"))
    assert [f.text for f in read_all(path)[1]] == [text for _, _, text in FRAMES]


def test_reading_gzip_closes_the_file(tmp_path: Path) -> None:
    path = write(tmp_path / "feed.jsonl.gz", own_lines())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        feed = open_feed(path)
        list(feed.frames())
        del feed
        gc.collect()
    assert [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)] == []


def test_blank_lines_and_crlf_endings_are_accepted(tmp_path: Path) -> None:
    path = tmp_path / "feed.jsonl"
    path.write_bytes(b"\r\n".join([*own_lines()[:2], b"", b"  ", *own_lines()[2:]]) + b"\r\n")
    _feed, frames = read_all(path)
    assert [f.text for f in frames] == [text for _, _, text in FRAMES]
    assert [f.line_number for f in frames] == [2, 5, 6]


def test_a_header_only_file_has_no_frames(tmp_path: Path) -> None:
    feed, frames = read_all(write(tmp_path / "feed.jsonl", own_lines(frames=[])))
    assert (feed.header, frames, feed.warnings) == (HEADER, [], [])


@pytest.mark.parametrize("suffix", ["jsonl", "jsonl.zst"])
def test_a_truncated_last_line_is_tolerated_with_a_warning(tmp_path: Path, suffix: str) -> None:
    lines = own_lines()
    lines[-1] = lines[-1][:-9]
    feed, frames = read_all(write(tmp_path / f"feed.{suffix}", lines, final_newline=False))
    assert [f.text for f in frames] == [text for _, _, text in FRAMES[:-1]]
    assert len(feed.warnings) == 1
    assert f"feed.{suffix}:4: truncated last line ignored" in feed.warnings[0]


def test_a_gzip_stream_cut_short_is_tolerated_with_a_warning(tmp_path: Path) -> None:
    data = gzip.compress(b"\n".join(own_lines()) + b"\n", mtime=0)
    path = tmp_path / "feed.jsonl.gz"
    path.write_bytes(data[: len(data) - 30])
    with gzip_leak_silenced(path):
        try:
            feed = open_feed(path)
            frames = list(feed.frames())
        except FeedFileError as error:
            message = str(error)  # re-raised below, without the traceback that holds the leak
        else:
            assert frames
            assert any("ends early" in warning for warning in feed.warnings)
            return
    raise FeedFileError(message)


def test_a_truncated_last_line_of_a_cryptofeed_file_is_tolerated(tmp_path: Path) -> None:
    lines = [
        b'{"t":"header","format":2,"exchange":"X","config":{},"recorded":1}',
        b'{"t":"recv","conn":"w","ts":2,"data":"a"}',
        b'{"t":"recv","conn":"w","ts":3,"da',
    ]
    feed, frames = read_all(write(tmp_path / "cf.jsonl", lines, final_newline=False))
    assert [f.text for f in frames] == ["a"]
    assert "cf.jsonl:3: truncated last line" in feed.warnings[0]


def test_a_malformed_last_line_ending_in_a_newline_is_an_error(tmp_path: Path) -> None:
    lines = [*own_lines(), b'{"ts_ns":1,"conn":"c"']
    feed = open_feed(write(tmp_path / "feed.jsonl", lines, final_newline=True))
    with pytest.raises(FeedFileError, match=r"feed\.jsonl:5: malformed line"):
        list(feed.frames())


@pytest.mark.parametrize(
    "bad_line",
    [
        b'{"ts_ns":1,"conn":"c"',  # cut
        b"not json at all",
        b'{"ts_ns":"1","conn":"c","data":"x"}',  # wrong type
        b'{"conn":"c","data":"x"}',  # missing field
        b'["ts_ns",1]',
    ],
)
def test_a_malformed_middle_line_is_an_error_naming_the_line(tmp_path: Path, bad_line: bytes) -> None:
    lines = own_lines()
    lines.insert(2, bad_line)
    feed = open_feed(write(tmp_path / "feed.jsonl", lines))
    frames = feed.frames()
    assert next(frames).line_number == 2
    with pytest.raises(FeedFileError, match=r"feed\.jsonl:3: malformed line"):
        next(frames)


def test_a_malformed_middle_line_of_a_cryptofeed_file_is_an_error(tmp_path: Path) -> None:
    lines = [
        b'{"t":"header","format":2,"exchange":"X","config":{},"recorded":1}',
        b'{"t":"recv","conn":"w","ts":2,"data":"a"',
        b'{"t":"recv","conn":"w","ts":3,"data":"b"}',
    ]
    feed = open_feed(write(tmp_path / "cf.jsonl", lines))
    with pytest.raises(FeedFileError, match=r"cf\.jsonl:2: malformed line"):
        list(feed.frames())


# --- files that are not recorded feeds -----------------------------------------------------


def test_a_missing_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(FeedFileError, match="no such file"):
        open_feed(tmp_path / "absent.jsonl")
    with pytest.raises(FeedFileError, match="no such file"):
        open_feed(tmp_path)  # a directory is not a feed


@pytest.mark.parametrize(
    "content",
    [b"", zstandard.ZstdCompressor().compress(b""), gzip.compress(b"", mtime=0)],
    ids=["plain", "zstd", "gzip"],
)
def test_an_empty_file_is_an_error(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "empty.jsonl"
    path.write_bytes(content)
    with gzip_leak_silenced(path), pytest.raises(FeedFileError, match="empty file"):
        open_feed(path)


@pytest.mark.parametrize(
    ("first_line", "message"),
    [
        (b'{"format":"someone-elses","version":1}', "unknown format"),
        (b'{"t":"header","format":3,"exchange":"X"}', "unknown format"),
        (b"[1,2,3]", "unknown format"),
        (b"garbage", r"empty\.jsonl:1: not a recorded feed"),
        (b'{"format":"tradekernel-feed","version":1,"venue":7}', r"empty\.jsonl:1: bad header"),
        (b'{"format":"tradekernel-feed","version":1}', r"empty\.jsonl:1: bad header"),
    ],
)
def test_a_file_that_is_not_a_recorded_feed_is_an_error(
    tmp_path: Path, first_line: bytes, message: str
) -> None:
    path = tmp_path / "empty.jsonl"
    path.write_bytes(first_line + b"\n")
    with pytest.raises(FeedFileError, match=message):
        open_feed(path)


def test_a_newer_format_version_is_an_error(tmp_path: Path) -> None:
    newer = FeedHeader(venue="COINBASE", version=FEED_FORMAT_VERSION + 1)
    path = write(tmp_path / "feed.jsonl", own_lines(header=newer))
    with pytest.raises(FeedFileError, match=f"format version {FEED_FORMAT_VERSION + 1} is newer"):
        open_feed(path)


def test_a_corrupt_compressed_stream_is_an_error(tmp_path: Path) -> None:
    data = zstandard.ZstdCompressor().compress(b"\n".join(own_lines()) + b"\n")
    path = tmp_path / "feed.jsonl.zst"
    path.write_bytes(data[:4] + b"\xff" * (len(data) - 4))
    with pytest.raises(FeedFileError, match="corrupt zstd stream"):
        list(open_feed(path).frames())


def test_a_corrupt_gzip_stream_is_an_error(tmp_path: Path) -> None:
    data = gzip.compress(b"\n".join(own_lines()) + b"\n", mtime=0)
    path = tmp_path / "feed.jsonl.gz"
    path.write_bytes(data[:12] + b"\xff" * (len(data) - 12))
    with pytest.raises(FeedFileError, match="corrupt gzip stream"):
        list(open_feed(path).frames())


def test_sent_frames_are_skipped_unless_asked_for(tmp_path: Path) -> None:
    from infrastructure.recorded_feed.recorder import FeedRecorder

    path = tmp_path / "feed.jsonl"
    with FeedRecorder(path, FeedHeader(venue="DYDX")) as recorder:
        recorder.record_sent(1, "c1", '{"type":"subscribe"}')
        recorder.record(2, "c1", '{"type":"subscribed"}')
    feed = open_feed(path)
    assert [frame.text for frame in feed.frames()] == ['{"type":"subscribed"}']
    both = list(feed.frames(include_sent=True))
    assert [(frame.is_sent, frame.receive_ts_ns) for frame in both] == [(True, 1), (False, 2)]
    assert b'"dir"' not in path.read_bytes().splitlines()[2]  # received lines stay compact


def test_an_unknown_frame_direction_is_an_error_naming_the_line(tmp_path: Path) -> None:
    lines = [*own_lines()[:1], b'{"ts_ns":1,"conn":"c","data":"x","dir":"sideways"}']
    path = write(tmp_path / "feed.jsonl", lines)
    with pytest.raises(FeedFileError, match=r"feed\.jsonl:2: unknown frame direction"):
        list(open_feed(path).frames())
