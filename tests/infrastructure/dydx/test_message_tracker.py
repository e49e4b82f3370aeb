"""The message_id rules of a dYdX connection, as the indexer's socks server assigns the ids:
one counter per connection; a subscription's reply keeps the id taken when it was requested;
errors reuse the counter; within a (channel, id) stream ids only increase.
"""

from __future__ import annotations

from domain.market_data import FeedIssueKind
from infrastructure.venues.dydx.message_tracker import FrameRole, MessageTracker, Verdict

BOOK = "v4_orderbook"
SEQ = FrameRole.SEQUENCED
SECOND = 1_000_000_000


def connected() -> MessageTracker:
    tracker = MessageTracker("c1")
    assert tracker.observe(FrameRole.CONNECTED, 0, None, None, 0) == Verdict(True)
    return tracker


def kinds(verdict: Verdict) -> list[FeedIssueKind]:
    return [issue.kind for issue in verdict.issues]


def test_consecutive_ids_across_streams_are_clean() -> None:
    tracker = connected()
    assert tracker.observe(FrameRole.REPLY, 1, BOOK, "ETH-USD", 1) == Verdict(True)
    assert tracker.observe(FrameRole.REPLY, 2, "v4_trades", "ETH-USD", 2) == Verdict(True)
    for message_id, stream in [(3, BOOK), (4, "v4_trades"), (5, BOOK)]:
        assert tracker.observe(SEQ, message_id, stream, "ETH-USD", message_id) == Verdict(True)


def test_a_skipped_id_with_no_subscription_pending_is_a_gap_on_the_connection() -> None:
    tracker = connected()
    tracker.observe(FrameRole.REPLY, 1, BOOK, "ETH-USD", 1)
    verdict = tracker.observe(SEQ, 4, BOOK, "ETH-USD", 2)
    assert verdict.accept
    [gap] = verdict.issues
    assert (gap.kind, gap.stream, gap.expected, gap.received) == (FeedIssueKind.GAP, "c1", 2, 4)
    assert gap.detail.startswith("2 message(s) lost")
    assert tracker.observe(SEQ, 5, BOOK, "ETH-USD", 3) == Verdict(True)  # reported once


def test_a_pending_subscription_excuses_one_skipped_id_until_its_reply_fills_it() -> None:
    tracker = connected()
    tracker.subscribe_sent(0)
    tracker.subscribe_sent(0)
    tracker.observe(FrameRole.REPLY, 1, BOOK, "ETH-USD", 1)  # answers the first subscribe
    assert tracker.observe(SEQ, 3, BOOK, "ETH-USD", 2) == Verdict(True)  # 2 is the second reply's
    assert tracker.unresolved_skips == 1
    assert tracker.observe(FrameRole.REPLY, 2, BOOK, "BTC-USD", 3) == Verdict(True)
    assert (tracker.unresolved_skips, tracker.pending_subscriptions) == (0, 0)
    assert tracker.observe(SEQ, 4, BOOK, "BTC-USD", 4) == Verdict(True)


def test_skips_beyond_the_pending_subscriptions_are_a_gap() -> None:
    tracker = connected()
    tracker.subscribe_sent(0)
    tracker.observe(SEQ, 1, BOOK, "ETH-USD", 1)
    verdict = tracker.observe(SEQ, 4, BOOK, "ETH-USD", 2)  # 2 and 3 skipped, one reply pending
    assert kinds(verdict) == [FeedIssueKind.GAP]
    assert verdict.issues[0].detail.startswith("1 message(s) lost")
    assert tracker.unresolved_skips == 1


def test_a_subscription_unanswered_for_too_long_stops_excusing_a_skip() -> None:
    tracker = MessageTracker("c1", reply_timeout_ns=30 * SECOND)
    tracker.observe(FrameRole.CONNECTED, 0, None, None, 0)
    tracker.subscribe_sent(0)
    assert tracker.observe(SEQ, 2, BOOK, "ETH-USD", 10 * SECOND) == Verdict(True)
    assert kinds(tracker.observe(SEQ, 3, BOOK, "ETH-USD", 31 * SECOND)) == [FeedIssueKind.GAP]


def test_a_failed_subscription_reply_fills_its_id_but_an_error_reusing_the_counter_does_not() -> None:
    tracker = connected()
    tracker.subscribe_sent(0)
    tracker.observe(SEQ, 2, BOOK, "ETH-USD", 1)  # id 1 was taken by the subscription
    assert tracker.observe(FrameRole.ERROR, 1, None, None, 2) == Verdict(True)
    assert (tracker.unresolved_skips, tracker.pending_subscriptions) == (0, 0)
    assert tracker.observe(FrameRole.ERROR, 2, None, None, 3) == Verdict(True)  # "invalid message"
    assert tracker.observe(SEQ, 3, BOOK, "ETH-USD", 4) == Verdict(True)


def test_a_repeated_id_in_a_stream_is_a_duplicate_and_a_lower_one_is_out_of_order() -> None:
    tracker = connected()
    tracker.observe(SEQ, 1, BOOK, "ETH-USD", 1)
    tracker.observe(SEQ, 2, BOOK, "ETH-USD", 2)
    duplicate = tracker.observe(SEQ, 2, BOOK, "ETH-USD", 3)
    assert (duplicate.accept, kinds(duplicate)) == (False, [FeedIssueKind.DUPLICATE])
    assert duplicate.issues[0].stream == "c1:v4_orderbook:ETH-USD"
    late = tracker.observe(SEQ, 1, BOOK, "ETH-USD", 4)
    assert (late.accept, kinds(late)) == (False, [FeedIssueKind.OUT_OF_ORDER])
    assert tracker.observe(SEQ, 3, BOOK, "ETH-USD", 5) == Verdict(True)


def test_a_frame_of_another_stream_arriving_late_is_out_of_order_on_the_connection() -> None:
    tracker = connected()
    tracker.observe(SEQ, 1, BOOK, "ETH-USD", 1)
    assert kinds(tracker.observe(SEQ, 3, BOOK, "ETH-USD", 2)) == [FeedIssueKind.GAP]
    late = tracker.observe(SEQ, 2, BOOK, "BTC-USD", 3)
    assert (late.accept, kinds(late), late.issues[0].stream) == (False, [FeedIssueKind.OUT_OF_ORDER], "c1")


def test_unsubscribing_forgets_the_stream_and_a_new_connection_forgets_everything() -> None:
    tracker = connected()
    tracker.observe(SEQ, 1, BOOK, "ETH-USD", 1)
    tracker.observe(FrameRole.ENDS_STREAM, 2, BOOK, "ETH-USD", 2)
    tracker.subscribe_sent(3)
    assert tracker.observe(FrameRole.CONNECTED, 0, None, None, 4) == Verdict(True)
    assert (tracker.pending_subscriptions, tracker.unresolved_skips) == (0, 0)
    assert tracker.observe(SEQ, 1, BOOK, "ETH-USD", 5) == Verdict(True)


def test_a_tracker_that_joins_mid_stream_starts_from_the_first_id_it_sees() -> None:
    tracker = MessageTracker("c1")
    assert tracker.observe(SEQ, 3219, BOOK, "BTC-USD", 1) == Verdict(True)
    assert tracker.observe(SEQ, 3220, BOOK, "BTC-USD", 2) == Verdict(True)
