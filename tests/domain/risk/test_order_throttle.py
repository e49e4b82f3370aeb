"""The order throttle and its sliding window: N per window, time as input, never backwards."""

from __future__ import annotations

from decimal import Decimal

import pytest

from domain.errors import DomainError, InvalidValueError
from domain.risk import ClockWentBackwardsError, OrderThrottle, RiskLimits, SlidingWindow, count_in_window
from tests.domain.risk import NOW, SECOND

D = Decimal


def test_the_throttle_admits_n_orders_per_window_and_frees_a_slot_when_the_oldest_leaves() -> None:
    throttle = OrderThrottle(max_orders=3, window_ns=SECOND)
    for offset in (0, 10, 20):
        assert throttle.would_allow(NOW + offset)
        throttle.record(NOW + offset)

    assert not throttle.would_allow(NOW + 30)
    assert not throttle.would_allow(NOW + SECOND - 1)  # the first order is still inside the window
    assert throttle.would_allow(NOW + SECOND)  # ...and now exactly one window old: gone
    assert throttle.count(NOW + SECOND) == 2


def test_would_allow_records_nothing_and_try_acquire_records_only_when_allowed() -> None:
    throttle = OrderThrottle(max_orders=1, window_ns=SECOND)

    assert throttle.would_allow(NOW)
    assert throttle.would_allow(NOW)
    assert throttle.try_acquire(NOW)
    assert not throttle.try_acquire(NOW + 1)
    assert throttle.count(NOW + 1) == 1
    assert throttle.snapshot() == (NOW,)


def test_an_order_sent_anyway_is_recorded_even_over_the_limit() -> None:
    throttle = OrderThrottle(max_orders=1, window_ns=SECOND)
    throttle.record(NOW)
    throttle.record(NOW + 1)

    assert throttle.count(NOW + 2) == 2
    assert not throttle.would_allow(NOW + SECOND)  # only the first has left the window


def test_time_going_backwards_is_a_domain_error() -> None:
    throttle = OrderThrottle(max_orders=5, window_ns=SECOND)
    throttle.record(NOW)

    with pytest.raises(ClockWentBackwardsError):
        throttle.record(NOW - 1)
    with pytest.raises(DomainError):
        throttle.would_allow(NOW - 1)
    throttle.record(NOW)  # the same instant again is fine


def test_the_snapshot_feeds_the_same_count_the_pre_trade_rule_makes() -> None:
    throttle = OrderThrottle(max_orders=10, window_ns=SECOND)
    for ts in (NOW, NOW + SECOND // 2, NOW + SECOND, NOW + SECOND + 5):
        throttle.record(ts)
    now = NOW + SECOND + 10

    assert count_in_window(throttle.snapshot(), now, SECOND) == throttle.count(now) == 3


def test_count_in_window_counts_times_after_now_too() -> None:
    assert count_in_window((NOW - SECOND, NOW - 1, NOW, NOW + 7), NOW, SECOND) == 3
    assert count_in_window((), NOW, SECOND) == 0


def test_the_throttle_is_built_from_limits_or_absent_when_off() -> None:
    throttle = OrderThrottle.from_limits(RiskLimits(max_orders_per_window=7, order_window_ns=2 * SECOND))

    assert throttle is not None
    assert (throttle.max_orders, throttle.window_ns) == (7, 2 * SECOND)
    assert OrderThrottle.from_limits(RiskLimits()) is None
    with pytest.raises(InvalidValueError):
        OrderThrottle.from_limits(RiskLimits(max_orders_per_window=7))


@pytest.mark.parametrize("max_orders", [0, -1, True])
def test_the_throttle_needs_a_positive_integer_count(max_orders: int) -> None:
    with pytest.raises(InvalidValueError):
        OrderThrottle(max_orders, SECOND)


@pytest.mark.parametrize("window_ns", [0, -1, True, 1.5])
def test_a_window_needs_a_positive_integer_length(window_ns: int) -> None:
    with pytest.raises(InvalidValueError):
        SlidingWindow(window_ns)


def test_clearing_a_window_forgets_events_but_not_the_time() -> None:
    window = SlidingWindow(SECOND)
    window.record(NOW)
    window.clear()

    assert window.count(NOW) == 0
    with pytest.raises(ClockWentBackwardsError):
        window.count(NOW - 1)
