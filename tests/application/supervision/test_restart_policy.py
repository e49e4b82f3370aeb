"""Restart policy and tracker: backoff sequence, sliding intensity window, escalation, quiet reset."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from application.supervision import (
    NS_PER_MS,
    NS_PER_SECOND,
    RestartAction,
    RestartDecision,
    RestartPolicy,
    RestartTracker,
)

MS = NS_PER_MS
S = NS_PER_SECOND

POLICY = RestartPolicy(
    max_restarts=3,
    within_ns=10 * S,
    backoff_initial_ns=100 * MS,
    backoff_multiplier=2.0,
    backoff_max_ns=1 * S,
)


# -- the policy -------------------------------------------------------------------------------


def test_the_default_policy_is_three_restarts_in_a_minute_from_100_ms_doubling_up_to_30_s() -> None:
    policy = RestartPolicy()
    assert (policy.max_restarts, policy.within_ns) == (3, 60 * S)
    assert policy.backoff_initial_ns == 100 * MS
    assert (policy.backoff_multiplier, policy.backoff_max_ns) == (2.0, 30 * S)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_restarts": -1},
        {"within_ns": 0},
        {"within_ns": -5},
        {"backoff_initial_ns": -1},
        {"backoff_max_ns": -1},
        {"backoff_multiplier": 0.5},
        {"backoff_multiplier": math.nan},
        {"backoff_multiplier": math.inf},
        {"backoff_initial_ns": 2 * S, "backoff_max_ns": 1 * S},
    ],
)
def test_an_invalid_policy_is_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="must be"):
        RestartPolicy(**kwargs)  # type: ignore[arg-type]


def test_the_policy_is_frozen() -> None:
    with pytest.raises(AttributeError):
        POLICY.max_restarts = 9  # type: ignore[misc]


def test_backoff_doubles_from_the_initial_delay_and_stops_at_the_maximum() -> None:
    assert [POLICY.backoff_ns(n) for n in range(1, 8)] == [
        100 * MS,
        200 * MS,
        400 * MS,
        800 * MS,
        1 * S,
        1 * S,
        1 * S,
    ]


def test_backoff_with_a_fractional_multiplier_is_exact_and_rounded_down() -> None:
    policy = RestartPolicy(backoff_initial_ns=101, backoff_multiplier=1.5, backoff_max_ns=1_000)
    # 101, 151.5, 227.25, 340.875, 511.3125, 766.96875, 1150.45... -> capped
    assert [policy.backoff_ns(n) for n in range(1, 8)] == [101, 151, 227, 340, 511, 766, 1_000]


def test_backoff_with_multiplier_one_is_constant_and_with_zero_initial_is_always_immediate() -> None:
    constant = RestartPolicy(backoff_initial_ns=5 * MS, backoff_multiplier=1.0, backoff_max_ns=1 * S)
    assert {constant.backoff_ns(n) for n in range(1, 50)} == {5 * MS}
    immediate = RestartPolicy(backoff_initial_ns=0, backoff_max_ns=0)
    assert {immediate.backoff_ns(n) for n in range(1, 50)} == {0}


def test_backoff_of_a_huge_failure_number_is_the_maximum_without_overflow() -> None:
    assert POLICY.backoff_ns(10**9) == 1 * S
    assert RestartPolicy(backoff_multiplier=1e300).backoff_ns(10**6) == 30 * S


def test_backoff_is_numbered_from_the_first_failure() -> None:
    with pytest.raises(ValueError, match="failure_number"):
        POLICY.backoff_ns(0)


# -- the tracker: restart, backoff, escalation ------------------------------------------------


def test_r_failures_within_t_restart_with_growing_backoff_and_the_next_one_escalates() -> None:
    tracker = RestartTracker(POLICY)
    decisions = [tracker.record_failure(t * S) for t in (0, 1, 2, 3)]
    assert decisions == [
        RestartDecision(RestartAction.RESTART_AFTER_DELAY, 100 * MS, 1),
        RestartDecision(RestartAction.RESTART_AFTER_DELAY, 200 * MS, 2),
        RestartDecision(RestartAction.RESTART_AFTER_DELAY, 400 * MS, 3),
        RestartDecision(RestartAction.ESCALATE, 0, 4),
    ]
    assert [d.restarts for d in decisions] == [True, True, True, False]
    assert tracker.escalated
    assert tracker.total_failures == 4
    assert tracker.last_failure_ns == 3 * S


def test_failures_at_the_same_instant_count_separately() -> None:
    tracker = RestartTracker(POLICY)
    actions = [tracker.record_failure(5).action for _ in range(4)]
    assert actions[-1] is RestartAction.ESCALATE
    assert actions[:3] == [RestartAction.RESTART_AFTER_DELAY] * 3


def test_zero_initial_backoff_restarts_now() -> None:
    policy = RestartPolicy(max_restarts=2, within_ns=S, backoff_initial_ns=0, backoff_max_ns=0)
    tracker = RestartTracker(policy)
    assert tracker.record_failure(0) == RestartDecision(RestartAction.RESTART_NOW, 0, 1)
    assert tracker.record_failure(1) == RestartDecision(RestartAction.RESTART_NOW, 0, 2)
    assert tracker.record_failure(2) == RestartDecision(RestartAction.ESCALATE, 0, 3)


def test_max_restarts_zero_escalates_the_first_failure() -> None:
    tracker = RestartTracker(RestartPolicy(max_restarts=0))
    assert tracker.record_failure(0) == RestartDecision(RestartAction.ESCALATE, 0, 1)


def test_the_window_slides_a_failure_exactly_t_old_no_longer_counts() -> None:
    tracker = RestartTracker(POLICY)
    for t in (0, 1 * S, 2 * S):
        tracker.record_failure(t)
    # At 10 s the failure at 0 is exactly T old: out of the window; three remain with this one.
    assert tracker.record_failure(10 * S) == RestartDecision(RestartAction.RESTART_AFTER_DELAY, 400 * MS, 3)
    # At 11 s - 1 ns the failure at 1 s is still inside: four in the window escalates.
    assert tracker.record_failure(11 * S - 1) == RestartDecision(RestartAction.ESCALATE, 0, 4)


def test_one_nanosecond_inside_the_window_still_counts() -> None:
    tracker = RestartTracker(POLICY)
    for t in (0, 1, 2):
        tracker.record_failure(t)
    assert tracker.record_failure(10 * S - 1).action is RestartAction.ESCALATE


def test_failures_spread_wider_than_t_never_escalate() -> None:
    tracker = RestartTracker(POLICY)
    decisions = [tracker.record_failure(n * 4 * S) for n in range(100)]  # at most 3 in any 10 s
    assert all(d.restarts for d in decisions)
    assert max(d.failures_in_window for d in decisions) == 3
    assert not tracker.escalated


def test_after_a_quiet_period_of_t_the_backoff_starts_over() -> None:
    tracker = RestartTracker(POLICY)
    assert tracker.record_failure(0).delay_ns == 100 * MS
    assert tracker.record_failure(1 * S).delay_ns == 200 * MS
    assert tracker.record_failure(2 * S).delay_ns == 400 * MS
    assert not tracker.is_quiet(11 * S)
    assert tracker.is_quiet(12 * S)
    assert tracker.record_failure(12 * S) == RestartDecision(RestartAction.RESTART_AFTER_DELAY, 100 * MS, 1)


def test_failures_in_window_counts_only_the_last_t() -> None:
    tracker = RestartTracker(POLICY)
    assert tracker.failures_in_window(0) == 0
    assert tracker.is_quiet(0)
    tracker.record_failure(0)
    tracker.record_failure(5 * S)
    assert tracker.failures_in_window(5 * S) == 2
    assert tracker.failures_in_window(10 * S - 1) == 2
    assert tracker.failures_in_window(10 * S) == 1
    assert tracker.failures_in_window(15 * S) == 0
    assert tracker.total_failures == 2


def test_once_escalated_every_later_failure_escalates_until_reset() -> None:
    tracker = RestartTracker(RestartPolicy(max_restarts=1, within_ns=S))
    tracker.record_failure(0)
    assert tracker.record_failure(1).action is RestartAction.ESCALATE
    # After a quiet period: still escalated.
    assert tracker.record_failure(100 * S) == RestartDecision(RestartAction.ESCALATE, 0, 1)
    tracker.reset()
    assert not tracker.escalated
    assert (tracker.total_failures, tracker.last_failure_ns) == (0, None)
    assert tracker.record_failure(200 * S) == RestartDecision(RestartAction.RESTART_AFTER_DELAY, 100 * MS, 1)


def test_a_clock_step_back_counts_as_the_latest_failure_time() -> None:
    tracker = RestartTracker(POLICY)
    tracker.record_failure(20 * S)
    decision = tracker.record_failure(1 * S)  # earlier than the previous failure: taken as 20 s
    assert decision == RestartDecision(RestartAction.RESTART_AFTER_DELAY, 200 * MS, 2)
    assert tracker.last_failure_ns == 20 * S


def test_the_tracker_exposes_its_policy() -> None:
    assert RestartTracker(POLICY).policy is POLICY


# -- a model check -----------------------------------------------------------------------------


@given(
    gaps=st.lists(st.integers(min_value=0, max_value=4 * S), min_size=1, max_size=40),
    max_restarts=st.integers(min_value=0, max_value=5),
    within_s=st.integers(min_value=1, max_value=10),
)
def test_decisions_match_a_brute_force_model(gaps: list[int], max_restarts: int, within_s: int) -> None:
    policy = RestartPolicy(
        max_restarts=max_restarts,
        within_ns=within_s * S,
        backoff_initial_ns=10 * MS,
        backoff_multiplier=3.0,
        backoff_max_ns=1 * S,
    )
    tracker = RestartTracker(policy)
    times: list[int] = []
    now = 0
    escalated = False
    for gap in gaps:
        now += gap
        times.append(now)
        in_window = sum(1 for t in times if now - t < policy.within_ns)
        decision = tracker.record_failure(now)
        assert decision.failures_in_window == in_window
        escalated = escalated or in_window > max_restarts
        if escalated:
            assert decision.action is RestartAction.ESCALATE
        else:
            expected = min(10 * MS * 3 ** (in_window - 1), 1 * S)
            assert decision == RestartDecision(RestartAction.RESTART_AFTER_DELAY, expected, in_window)
