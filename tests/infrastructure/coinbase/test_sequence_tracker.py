"""Sequence tracking per connection: gaps, duplicates, out-of-order frames, silence, recovery."""

from __future__ import annotations

import pytest

from domain.instrument import InstrumentId
from infrastructure.venues.coinbase.sequence_tracker import (
    SequenceCheck,
    SequenceTracker,
    SequenceVerdict,
)

BTC = InstrumentId("COINBASE", "BTC-USD")
ETH = InstrumentId("COINBASE", "ETH-USD")
SOL = InstrumentId("COINBASE", "SOL-USD")
S = 1_000_000_000


def feed(tracker: SequenceTracker, numbers: list[int], connection: str = "c1") -> list[SequenceCheck | None]:
    return [tracker.observe(connection, number, index * 1000) for index, number in enumerate(numbers)]


def test_in_order_frames_report_nothing() -> None:
    tracker = SequenceTracker()
    assert feed(tracker, [0, 1, 2, 3]) == [None] * 4
    assert tracker.last_sequence("c1") == 3


def test_first_frame_is_the_baseline_by_default() -> None:
    tracker = SequenceTracker()
    assert feed(tracker, [500, 501]) == [None, None]


def test_expected_first_number_reports_a_gap_before_it() -> None:
    tracker = SequenceTracker(expected_first=0)
    tracker.snapshot_received("c1", BTC)
    check = tracker.observe("c1", 3, 0)
    assert check == SequenceCheck(SequenceVerdict.GAP, "c1", 0, 3, (BTC,))
    assert check.missing == 3
    assert tracker.observe("c1", 1, 0) == SequenceCheck(SequenceVerdict.OUT_OF_ORDER, "c1", 4, 1)


def test_expected_first_number_refuses_a_lower_one_and_waits() -> None:
    tracker = SequenceTracker(expected_first=5)
    assert tracker.observe("c1", 2, 0) == SequenceCheck(SequenceVerdict.OUT_OF_ORDER, "c1", 5, 2)
    assert tracker.last_sequence("c1") is None
    assert tracker.observe("c1", 5, 0) is None


def test_gap_is_reported_with_expected_and_received() -> None:
    tracker = SequenceTracker()
    results = feed(tracker, [0, 1, 4, 5])
    assert results[:2] == [None, None]
    gap = results[2]
    assert gap is not None
    assert (gap.verdict, gap.expected, gap.received, gap.missing, gap.accepted) == (
        SequenceVerdict.GAP,
        2,
        4,
        2,
        True,
    )
    assert results[3] is None


def test_gap_makes_every_book_of_the_connection_stale_until_its_snapshot() -> None:
    tracker = SequenceTracker()
    feed(tracker, [0])
    tracker.snapshot_received("c1", ETH)
    tracker.snapshot_received("c1", BTC)
    tracker.snapshot_received("c2", SOL)
    assert tracker.is_live(BTC)
    assert tracker.is_live(ETH)
    gap = tracker.observe("c1", 9, 0)
    assert gap is not None
    assert gap.stale_instruments == (BTC, ETH)  # sorted
    assert not tracker.is_live(BTC)
    assert tracker.is_stale(BTC)
    assert tracker.is_stale(ETH)
    assert tracker.is_live(SOL)  # another connection's book is untouched
    assert tracker.stale_instruments() == {BTC, ETH}
    assert tracker.stale_instruments("c1") == {BTC, ETH}
    assert tracker.stale_instruments("c2") == frozenset()
    assert tracker.stale_instruments("nope") == frozenset()
    # Recovery: a snapshot of one instrument makes only that one live again.
    tracker.snapshot_received("c1", BTC)
    assert tracker.is_live(BTC)
    assert not tracker.is_stale(BTC)
    assert tracker.is_stale(ETH)
    tracker.snapshot_received("c1", ETH)
    assert tracker.stale_instruments() == frozenset()


def test_an_instrument_without_snapshot_is_neither_live_nor_stale() -> None:
    tracker = SequenceTracker()
    assert not tracker.is_live(BTC)
    assert not tracker.is_stale(BTC)


def test_duplicates_are_reported() -> None:
    tracker = SequenceTracker()
    results = feed(tracker, [0, 1, 2, 2, 1, 0, 3])
    verdicts = [None if r is None else r.verdict for r in results]
    assert verdicts == [None, None, None, *[SequenceVerdict.DUPLICATE] * 3, None]
    duplicate = results[3]
    assert duplicate is not None
    assert (duplicate.expected, duplicate.received, duplicate.missing, duplicate.accepted) == (3, 2, 0, False)


def test_late_frame_of_a_gap_is_out_of_order_then_duplicate() -> None:
    tracker = SequenceTracker()
    results = feed(tracker, [0, 2, 1, 1, 3])
    assert results[1] is not None
    assert results[1].verdict is SequenceVerdict.GAP
    assert results[2] == SequenceCheck(SequenceVerdict.OUT_OF_ORDER, "c1", 3, 1)
    assert results[3] == SequenceCheck(SequenceVerdict.DUPLICATE, "c1", 3, 1)
    assert results[4] is None


def test_a_frame_older_than_the_first_is_out_of_order() -> None:
    tracker = SequenceTracker()
    results = feed(tracker, [10, 11, 4])
    assert results[2] == SequenceCheck(SequenceVerdict.OUT_OF_ORDER, "c1", 12, 4)


def test_frames_beyond_the_window_are_out_of_order() -> None:
    tracker = SequenceTracker(window=4)
    feed(tracker, list(range(10)))
    assert tracker.observe("c1", 2, 0) == SequenceCheck(SequenceVerdict.OUT_OF_ORDER, "c1", 10, 2)
    assert tracker.observe("c1", 7, 0) == SequenceCheck(SequenceVerdict.DUPLICATE, "c1", 10, 7)


def test_a_huge_gap_keeps_memory_bounded() -> None:
    tracker = SequenceTracker(window=8)
    feed(tracker, [0])
    gap = tracker.observe("c1", 10**15, 0)
    assert gap is not None
    assert gap.missing == 10**15 - 1
    for number in (10, 20, 30):  # more gaps: the set of missing numbers is pruned to the window
        tracker.observe("c1", 10**15 + number, 0)
    late = tracker.observe("c1", 10**15 + 25, 0)
    assert late is not None
    assert late.verdict is SequenceVerdict.OUT_OF_ORDER
    old = tracker.observe("c1", 10**15 + 5, 0)
    assert old is not None
    assert old.verdict is SequenceVerdict.OUT_OF_ORDER


def test_connections_are_numbered_independently() -> None:
    tracker = SequenceTracker()
    assert tracker.observe("a", 0, 0) is None
    assert tracker.observe("b", 0, 0) is None
    assert tracker.observe("a", 1, 0) is None
    assert tracker.observe("b", 1, 0) is None


def test_frames_without_number_only_prove_liveness() -> None:
    tracker = SequenceTracker(max_silence_ns=S)
    assert tracker.observe("c1", None, 0) is None
    assert tracker.last_sequence("c1") is None
    assert tracker.last_sequence("other") is None
    assert tracker.check_silence(S) == []
    assert [r.connection_id for r in tracker.check_silence(S + 1)] == ["c1"]


def test_silence_marks_books_stale_once_per_spell() -> None:
    tracker = SequenceTracker(max_silence_ns=5 * S)
    tracker.observe("c1", 0, 10 * S)
    tracker.snapshot_received("c1", BTC)
    tracker.observe("c2", 0, 12 * S)
    assert tracker.check_silence(15 * S) == []  # exactly the limit is not yet silence
    (report,) = tracker.check_silence(15 * S + 1)
    assert (report.connection_id, report.last_frame_ns, report.silent_for_ns, report.stale_instruments) == (
        "c1",
        10 * S,
        5 * S + 1,
        (BTC,),
    )
    assert tracker.is_silent("c1")
    assert not tracker.is_silent("c2")
    assert not tracker.is_silent("nope")
    assert tracker.is_stale(BTC)
    assert [r.connection_id for r in tracker.check_silence(16 * S)] == []  # c1 reported already
    assert [r.connection_id for r in tracker.check_silence(17 * S + 1)] == ["c2"]
    # A frame ends the spell; the book stays stale until a snapshot.
    assert tracker.observe("c1", 1, 20 * S) is None
    assert not tracker.is_silent("c1")
    assert tracker.is_stale(BTC)
    tracker.snapshot_received("c1", BTC)
    assert tracker.is_live(BTC)
    # A second spell is reported again.
    assert [r.connection_id for r in tracker.check_silence(26 * S)] == ["c1"]  # c2 is still in its spell
    assert tracker.is_stale(BTC)


def test_a_snapshot_on_another_connection_moves_the_book() -> None:
    tracker = SequenceTracker()
    tracker.observe("old", 0, 0)
    tracker.snapshot_received("old", BTC)
    tracker.snapshot_received("new", BTC)
    assert tracker.instruments_of("old") == frozenset()
    assert tracker.instruments_of("new") == {BTC}
    assert tracker.instruments_of("nope") == frozenset()
    gap = tracker.observe("old", 5, 0)
    assert gap is not None
    assert gap.stale_instruments == ()
    assert tracker.is_live(BTC)


def test_a_book_moves_from_a_forgotten_connection() -> None:
    tracker = SequenceTracker()
    tracker.snapshot_received("old", BTC)
    tracker.snapshot_received("old", ETH)
    tracker.snapshot_received("new", ETH)
    assert tracker.forget("old") == (BTC,)  # ETH's book had moved to "new"
    assert tracker.is_live(ETH)
    assert not tracker.is_live(BTC)
    tracker.snapshot_received("newer", BTC)  # the old connection is gone: nothing to detach from
    assert tracker.is_live(BTC)


def test_mark_stale_and_forget() -> None:
    tracker = SequenceTracker()
    tracker.observe("c1", 0, 0)
    tracker.snapshot_received("c1", BTC)
    assert tracker.mark_stale("nope") == ()
    assert tracker.mark_stale("c1") == (BTC,)
    assert tracker.is_stale(BTC)
    tracker.snapshot_received("c1", BTC)
    assert tracker.forget("c1") == (BTC,)
    assert tracker.forget("c1") == ()
    assert tracker.is_stale(BTC)
    assert not tracker.is_live(BTC)
    assert tracker.last_sequence("c1") is None
    assert tracker.observe("c1", 77, 0) is None  # a reused id starts a new numbering
    tracker.snapshot_received("c1", BTC)
    assert tracker.is_live(BTC)


@pytest.mark.parametrize("kwargs", [{"max_silence_ns": 0}, {"window": 0}])
def test_bad_settings_are_refused(kwargs: dict[str, int]) -> None:
    with pytest.raises(ValueError, match="must be positive"):
        SequenceTracker(**kwargs)
