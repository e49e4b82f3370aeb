"""FeedRecorder: byte-for-byte round trips through the reader, compression by suffix, no overwrite,
flushing, and what a crash leaves behind."""

from __future__ import annotations

import gc
import gzip
import shutil
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from infrastructure.recorded_feed.format import FeedHeader, RecordedFrame
from infrastructure.recorded_feed.reader import FeedFileError, RecordedFeed, open_feed
from infrastructure.recorded_feed.recorder import FeedRecorder, compression_for

HEADER = FeedHeader(
    venue="COINBASE",
    channels=["level2", "market_trades"],
    instruments=["BTC-USD", "ETH-USD"],
    recorded_at_ns=1_786_309_548_026_294_000,
    kernel_version="0.1.0",
)
TRICKY_TEXTS = [
    '{"channel":"l2_data","timestamp":"2026-08-09T21:05:48.88621Z","sequence_num":18,"events":[]}',
    "",
    'quotes " and \\" and backslashes \\ \\\\ \\n (escaped in the text, not newlines)',
    "real newlines\nin\r\nthe text\n",
    "tab\tnul\x00 bell\x07 del\x7f escape\x1b",
    "unicode é ñ ü ß 中文 日本語 😀 🚀 \u2028 line separator \u2029 paragraph",
    '{"price":"65083.67","note":"caf\\u00e9 \\ud83d\\ude00"}',
    "x" * 200_000,  # longer than the recorder's write chunk and the reader's buffer
]
SUFFIXES = ["jsonl", "jsonl.gz", "jsonl.zst"]
# The lead's reader leaks the file under a gzip stream (reported; see test_reader.py's strict
# xfail test_reading_gzip_closes_the_file), so gzip reads here silence that one ResourceWarning.
GZIP_CLOSE_BUG = "reader.py _open_binary: GzipFile(fileobj=raw) never closes raw (ResourceWarning)"
GZIP_TRUNCATION_BUG = (
    "reader.py _lines: a gzip stream cut short raises EOFError -> FeedFileError instead of a "
    "truncated-last-line warning"
)


def read_all(path: Path) -> tuple[RecordedFeed, list[RecordedFrame]]:
    if path.suffix != ".gz":
        feed = open_feed(path)
        return feed, list(feed.frames())
    with warnings.catch_warnings():  # only the reported gzip leak is silenced, and only here
        warnings.simplefilter("ignore", ResourceWarning)
        try:
            feed = open_feed(path)
            return feed, list(feed.frames())
        except FeedFileError as error:
            message = str(error)
        gc.collect()  # the leaked file hangs off the dropped traceback: let it go in here
    raise FeedFileError(message)


def record_all(path: Path, frames: list[tuple[int, str, str]], **options: object) -> None:
    with FeedRecorder(path, HEADER, **options) as recorder:  # type: ignore[arg-type]
        for ts_ns, connection, text in frames:
            recorder.record(ts_ns, connection, text)


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_tricky_frame_texts_come_back_identical(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"feed.{suffix}"
    frames = [(1_786_309_548_629_007_800 + i, f"c{i % 2}", text) for i, text in enumerate(TRICKY_TEXTS)]
    record_all(path, frames)
    feed, read = read_all(path)
    assert feed.kind == "tradekernel-feed"
    assert feed.header == HEADER
    assert feed.warnings == []
    assert [(f.receive_ts_ns, f.connection_id, f.text) for f in read] == frames
    assert [f.text.encode("utf-8") for f in read] == [t.encode("utf-8") for _, _, t in frames]
    assert [f.line_number for f in read] == list(range(2, 2 + len(frames)))


@given(texts=st.lists(st.text(alphabet=st.characters(exclude_categories=["Cs"])), max_size=20))
def test_any_valid_text_comes_back_identical(
    tmp_path_factory: pytest.TempPathFactory, texts: list[str]
) -> None:
    path = tmp_path_factory.mktemp("texts") / "feed.jsonl"
    record_all(path, [(i, "c", text) for i, text in enumerate(texts)])
    assert [frame.text for frame in read_all(path)[1]] == texts


def test_each_frame_is_one_line_and_the_header_comes_first(tmp_path: Path) -> None:
    path = tmp_path / "feed.jsonl"
    record_all(path, [(5, "c1", "a\nb"), (6, "c1", "{}")])
    lines = path.read_bytes().split(b"\n")
    assert lines[0].startswith(b'{"format":"tradekernel-feed","version":1,')
    assert lines[1:] == [
        b'{"ts_ns":5,"conn":"c1","data":"a\\nb"}',
        b'{"ts_ns":6,"conn":"c1","data":"{}"}',
        b"",
    ]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("a.jsonl.zst", "zstd"),
        ("a.ZST", "zstd"),
        ("a.jsonl.gz", "gzip"),
        ("a.jsonl", "plain"),
        ("a.zst.jsonl", "plain"),
        ("a", "plain"),
    ],
)
def test_compression_follows_the_suffix(name: str, expected: str) -> None:
    assert compression_for(name) == expected


@pytest.mark.parametrize(
    ("suffix", "magic"),
    [("jsonl", b'{"format"'), ("jsonl.gz", b"\x1f\x8b"), ("jsonl.zst", b"\x28\xb5\x2f\xfd")],
)
def test_the_file_is_compressed_as_its_suffix_says(tmp_path: Path, suffix: str, magic: bytes) -> None:
    path = tmp_path / f"feed.{suffix}"
    record_all(path, [(1, "c", "frame " * 1000)] * 50)
    data = path.read_bytes()
    assert data.startswith(magic)
    if suffix != "jsonl":
        assert len(data) < 50 * 6000 // 10  # really compressed
    recorder = FeedRecorder(tmp_path / f"other.{suffix}", HEADER)
    recorder.close()
    assert recorder.compression == compression_for(path)


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_equal_recordings_are_byte_identical(tmp_path: Path, suffix: str) -> None:
    frames = [(i, "c1", f'{{"n":{i}}}') for i in range(1000)]
    record_all(tmp_path / f"a.{suffix}", frames)
    record_all(tmp_path / f"b.{suffix}", frames)
    assert (tmp_path / f"a.{suffix}").read_bytes() == (tmp_path / f"b.{suffix}").read_bytes()


def test_gzip_member_carries_the_header_time_not_the_clock(tmp_path: Path) -> None:
    path = tmp_path / "feed.jsonl.gz"
    record_all(path, [])
    assert int.from_bytes(path.read_bytes()[4:8], "little") == HEADER.recorded_at_ns // 1_000_000_000
    assert gzip.decompress(path.read_bytes()).count(b"\n") == 1


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_an_existing_file_is_not_overwritten(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"feed.{suffix}"
    path.write_bytes(b"precious")
    with pytest.raises(FileExistsError, match="overwrite"):
        FeedRecorder(path, HEADER)
    assert path.read_bytes() == b"precious"
    record_all(path, [(1, "c", "new")], overwrite=True)
    assert [frame.text for frame in read_all(path)[1]] == ["new"]


def test_a_header_of_another_format_or_version_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="tradekernel-feed version 1"):
        FeedRecorder(tmp_path / "a.jsonl", FeedHeader(venue="X", version=2))
    with pytest.raises(ValueError, match="tradekernel-feed version 1"):
        FeedRecorder(tmp_path / "b.jsonl", FeedHeader(venue="X", format="other"))
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "options", [{"flush_every_frames": 0}, {"flush_interval_s": 0.0}, {"flush_interval_s": -1.0}]
)
def test_bad_flush_options_are_refused(tmp_path: Path, options: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="flush"):
        FeedRecorder(tmp_path / "a.jsonl", HEADER, **options)  # type: ignore[arg-type]


@pytest.mark.parametrize("suffix", ["jsonl", "jsonl.zst"])
def test_the_header_is_on_disk_before_any_frame(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"feed.{suffix}"
    with FeedRecorder(path, HEADER):
        feed, frames = read_all(path)
        assert feed.header == HEADER
        assert frames == []


def test_the_header_is_on_disk_before_any_frame_gzip(tmp_path: Path) -> None:
    path = tmp_path / "feed.jsonl.gz"
    with FeedRecorder(path, HEADER):
        assert read_all(path)[0].header == HEADER


def test_frames_are_flushed_every_n_frames(tmp_path: Path) -> None:
    path = tmp_path / "feed.jsonl"
    with FeedRecorder(path, HEADER, flush_every_frames=10, flush_interval_s=None) as recorder:
        for i in range(25):
            recorder.record(i, "c", f"frame {i}")
        assert len(read_all(path)[1]) == 20
        recorder.flush()
        assert len(read_all(path)[1]) == 25
        assert recorder.frames_recorded == 25


def test_frames_are_flushed_on_the_interval_of_the_clock(tmp_path: Path) -> None:
    now = [0]
    path = tmp_path / "feed.jsonl"
    with FeedRecorder(
        path, HEADER, flush_every_frames=None, flush_interval_s=0.5, clock_ns=lambda: now[0]
    ) as recorder:
        recorder.record(1, "c", "a")
        now[0] = 499_999_999
        recorder.record(2, "c", "b")
        assert read_all(path)[1] == []
        now[0] = 500_000_000
        recorder.record(3, "c", "c")
        assert [frame.text for frame in read_all(path)[1]] == ["a", "b", "c"]
        now[0] = 600_000_000
        recorder.record(4, "c", "d")
        assert len(read_all(path)[1]) == 3
    assert len(read_all(path)[1]) == 4


def test_fsync_mode_writes_the_same_file(tmp_path: Path) -> None:
    frames = [(i, "c", str(i)) for i in range(5)]
    record_all(tmp_path / "a.jsonl", frames, fsync=True, flush_every_frames=2)
    record_all(tmp_path / "b.jsonl", frames)
    assert (tmp_path / "a.jsonl").read_bytes() == (tmp_path / "b.jsonl").read_bytes()


def test_closing_flushes_even_when_the_block_raises(tmp_path: Path) -> None:
    path = tmp_path / "feed.jsonl.zst"
    recorder = FeedRecorder(path, HEADER, flush_every_frames=None, flush_interval_s=None)

    def record_then_fail() -> None:
        with recorder:
            recorder.record(1, "c", "kept")
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        record_then_fail()
    feed, frames = read_all(path)
    assert [frame.text for frame in frames] == ["kept"]
    assert feed.warnings == []
    assert recorder.closed


def test_a_recorder_that_cannot_start_leaves_no_file(tmp_path: Path) -> None:
    path = tmp_path / "feed.jsonl.gz"
    with pytest.raises(ValueError, match="Invalid initialization option"):  # zlib's words
        FeedRecorder(path, HEADER, compression_level=42)
    assert not path.exists()


def test_a_closed_recorder_refuses_frames_and_closes_once(tmp_path: Path) -> None:
    recorder = FeedRecorder(tmp_path / "feed.jsonl", HEADER)
    recorder.close()
    recorder.close()
    recorder.flush()
    with pytest.raises(ValueError, match="closed"):
        recorder.record(1, "c", "late")


def test_a_lone_surrogate_is_refused_and_leaves_no_trace(tmp_path: Path) -> None:
    path = tmp_path / "feed.jsonl"
    with FeedRecorder(path, HEADER) as recorder:
        recorder.record(1, "c", "before")
        with pytest.raises(UnicodeEncodeError):
            recorder.record(2, "c", "half a pair \ud83d")
        recorder.record(3, "c", "after")
        assert recorder.frames_recorded == 2
    assert [frame.text for frame in read_all(path)[1]] == ["before", "after"]


# --- crashes -------------------------------------------------------------------------------


def frame_text(i: int) -> str:
    return f'{{"n":{i},"pad":"{"é" * (i % 7)}"}}'


@contextmanager
def crashed_copy(path: Path, frames: int, **options: object) -> Iterator[Path]:
    """Record `frames` frames and give a copy of the file as a process killed then leaves it."""
    recorder = FeedRecorder(path, HEADER, **options)  # type: ignore[arg-type]
    try:
        for i in range(frames):
            recorder.record(1_000 + i, "c1", frame_text(i))
        copy = path.with_name("crashed-" + path.name)
        shutil.copyfile(path, copy)  # the process dies here: no final flush, no close
        yield copy
    finally:
        recorder.close()


def test_a_crash_before_the_first_flush_leaves_the_header(tmp_path: Path) -> None:
    with crashed_copy(tmp_path / "feed.jsonl", 5) as copy:  # flushes every 1000 frames or 1 s
        feed, frames = read_all(copy)
        assert (feed.header, frames, feed.warnings) == (HEADER, [], [])


def test_a_crash_mid_line_loses_only_the_cut_line(tmp_path: Path) -> None:
    with crashed_copy(tmp_path / "feed.jsonl", 30, flush_every_frames=1) as copy:
        copy.write_bytes(copy.read_bytes()[:-7])  # the last write was cut mid-line
        feed, frames = read_all(copy)
        assert [frame.text for frame in frames] == [frame_text(i) for i in range(29)]
        assert len(feed.warnings) == 1
        assert ":31: truncated last line" in feed.warnings[0]


@pytest.mark.parametrize("cut", [1, 10, 20, 37])
def test_a_cut_anywhere_in_the_last_line_is_tolerated(tmp_path: Path, cut: int) -> None:
    path = tmp_path / "feed.jsonl"
    record_all(path, [(i, "c", f"frame number {i}") for i in range(3)])
    data = path.read_bytes()
    last_line_start = data.rstrip(b"\n").rfind(b"\n") + 1
    path.write_bytes(data[: last_line_start + cut])
    feed, frames = read_all(path)
    assert [frame.text for frame in frames] == ["frame number 0", "frame number 1"]
    assert len(feed.warnings) == 1


def test_a_crash_loses_at_most_the_unflushed_tail_zstd(tmp_path: Path) -> None:
    options = {"flush_every_frames": 10, "flush_interval_s": None}
    with crashed_copy(tmp_path / "feed.jsonl.zst", 25, **options) as copy:
        feed, frames = read_all(copy)
        assert [frame.text for frame in frames] == [frame_text(i) for i in range(20)]
        assert feed.warnings == []


def test_a_crash_loses_at_most_the_unflushed_tail_gzip(tmp_path: Path) -> None:
    options = {"flush_every_frames": 10, "flush_interval_s": None}
    with crashed_copy(tmp_path / "feed.jsonl.gz", 25, **options) as copy:
        _feed, frames = read_all(copy)
        assert [frame.text for frame in frames] == [frame_text(i) for i in range(20)]


def test_a_recording_cut_inside_a_zstd_block_still_reads(tmp_path: Path) -> None:
    path = tmp_path / "feed.jsonl.zst"
    frames = [(i, "c", f"frame {i} " + "abcdefgh" * (i % 50)) for i in range(2_000)]
    record_all(path, frames, flush_every_frames=100, flush_interval_s=None)
    data = path.read_bytes()
    for fraction in (0.3, 0.55, 0.8, 0.97):
        copy = tmp_path / f"cut{fraction}.jsonl.zst"
        copy.write_bytes(data[: int(len(data) * fraction)])
        feed, read = read_all(copy)
        assert 0 < len(read) < len(frames)
        assert [(f.receive_ts_ns, f.connection_id, f.text) for f in read] == frames[: len(read)]
        assert len(feed.warnings) <= 1
