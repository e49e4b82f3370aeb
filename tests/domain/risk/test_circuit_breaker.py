"""The circuit breaker: trips on losses, drawdown, venue failures, rejects or by hand; a person resets it."""

from __future__ import annotations

from decimal import Decimal

import pytest

from domain.errors import InvalidValueError
from domain.risk import (
    AUTOMATIC,
    BreakerNotTrippedError,
    BreakerReset,
    BreakerTripped,
    CancelAllOrders,
    CircuitBreaker,
    ClockWentBackwardsError,
    InvalidRiskLimitsError,
    RiskLimits,
    TradingState,
    TripReason,
)
from tests.domain.risk import NOW, SECOND

D = Decimal
LIMITS = RiskLimits(
    daily_loss_limit=D(1_000),
    max_drawdown_fraction=D("0.2"),
    max_consecutive_venue_failures=3,
    max_rejects=3,
    reject_window_ns=10 * SECOND,
)


def tripped_by(output: tuple[object, ...]) -> TripReason:
    assert len(output) == 2
    event, command = output
    assert isinstance(event, BreakerTripped)
    assert isinstance(command, CancelAllOrders)
    assert command.ts_ns == event.ts_ns
    assert event.reason_code in command.reason
    return event.reason_code


def test_a_new_breaker_is_not_tripped_and_trading_is_active() -> None:
    breaker = CircuitBreaker(LIMITS)

    assert not breaker.is_tripped
    assert breaker.trading_state is TradingState.ACTIVE
    assert breaker.causes == ()
    assert breaker.history == ()


def test_it_trips_when_the_daily_loss_reaches_the_limit() -> None:
    breaker = CircuitBreaker(LIMITS)

    assert breaker.on_daily_pnl(D("-999.99"), NOW) == ()
    assert breaker.on_daily_pnl(D(5_000), NOW) == ()
    output = breaker.on_daily_pnl(D(-1_000), NOW + 1)

    assert tripped_by(output) is TripReason.DAILY_LOSS_LIMIT
    event = output[0]
    assert isinstance(event, BreakerTripped)
    assert (event.ts_ns, event.by) == (NOW + 1, AUTOMATIC)
    assert "-1000" in event.detail
    assert breaker.trading_state is TradingState.HALTED


def test_it_trips_when_the_drawdown_reaches_the_limit() -> None:
    breaker = CircuitBreaker(LIMITS)

    assert breaker.on_drawdown(D("0.1999"), NOW) == ()
    assert tripped_by(breaker.on_drawdown(D("0.2"), NOW)) is TripReason.MAX_DRAWDOWN


def test_it_trips_on_n_consecutive_venue_failures_and_a_success_breaks_the_run() -> None:
    breaker = CircuitBreaker(LIMITS)
    assert breaker.on_venue_failure(NOW) == ()
    assert breaker.on_venue_failure(NOW + 1) == ()
    breaker.on_venue_success()
    assert breaker.consecutive_venue_failures == 0
    assert breaker.on_venue_failure(NOW + 2) == ()
    assert breaker.on_venue_failure(NOW + 3) == ()

    output = breaker.on_venue_failure(NOW + 4)

    assert tripped_by(output) is TripReason.VENUE_FAILURES
    assert "3 consecutive" in output[0].detail  # type: ignore[union-attr]


def test_it_trips_on_m_rejects_within_the_window_but_not_when_they_are_spread_out() -> None:
    spread = CircuitBreaker(LIMITS)
    for ts in (NOW, NOW + 6 * SECOND, NOW + 12 * SECOND, NOW + 18 * SECOND):
        assert spread.on_reject(ts) == ()
    assert not spread.is_tripped

    bunched = CircuitBreaker(LIMITS)
    assert bunched.on_reject(NOW) == ()
    assert bunched.on_reject(NOW + SECOND) == ()
    assert tripped_by(bunched.on_reject(NOW + 10 * SECOND - 1)) is TripReason.VENUE_REJECTS


def test_rejects_going_back_in_time_are_a_domain_error() -> None:
    breaker = CircuitBreaker(LIMITS)
    breaker.on_reject(NOW)

    with pytest.raises(ClockWentBackwardsError):
        breaker.on_reject(NOW - 1)


def test_it_trips_by_hand_recording_who_and_why() -> None:
    breaker = CircuitBreaker(LIMITS)

    output = breaker.trip("alice", "exchange announced maintenance", NOW)

    assert tripped_by(output) is TripReason.MANUAL
    assert breaker.causes == (
        BreakerTripped(TripReason.MANUAL, "exchange announced maintenance", NOW, "alice"),
    )


@pytest.mark.parametrize(("who", "why"), [("", "why"), ("  ", "why"), ("alice", ""), ("alice", " ")])
def test_a_manual_trip_or_reset_needs_a_name_and_a_reason(who: str, why: str) -> None:
    breaker = CircuitBreaker(LIMITS)

    with pytest.raises(InvalidValueError):
        breaker.trip(who, why, NOW)
    breaker.trip("ops", "drill", NOW)
    with pytest.raises(InvalidValueError):
        breaker.reset(who, why, NOW)
    assert breaker.is_tripped


def test_a_new_kind_of_cause_while_tripped_is_recorded_without_a_second_cancel_all() -> None:
    breaker = CircuitBreaker(LIMITS)
    breaker.on_daily_pnl(D(-1_000), NOW)

    output = breaker.on_drawdown(D("0.5"), NOW + 1)

    assert len(output) == 1
    assert isinstance(output[0], BreakerTripped)
    assert output[0].reason_code is TripReason.MAX_DRAWDOWN
    assert [cause.reason_code for cause in breaker.causes] == [
        TripReason.DAILY_LOSS_LIMIT,
        TripReason.MAX_DRAWDOWN,
    ]


def test_a_repeated_cause_while_tripped_records_and_emits_nothing() -> None:
    breaker = CircuitBreaker(LIMITS)
    breaker.on_daily_pnl(D(-1_000), NOW)
    breaker.trip("alice", "first", NOW + 1)

    assert breaker.on_daily_pnl(D(-2_000), NOW + 2) == ()
    assert breaker.trip("bob", "second", NOW + 3) == ()
    assert breaker.on_venue_failure(NOW + 4) == ()
    assert breaker.on_venue_failure(NOW + 5) == ()
    assert len(breaker.on_venue_failure(NOW + 6)) == 1
    assert breaker.on_venue_failure(NOW + 7) == ()
    assert len(breaker.history) == 3


def test_only_a_manual_reset_clears_it_and_it_records_who_why_and_what_it_cleared() -> None:
    breaker = CircuitBreaker(LIMITS)
    breaker.on_daily_pnl(D(-1_000), NOW)
    breaker.on_daily_pnl(D(0), NOW + 1)  # the loss recovering does not clear it
    breaker.on_venue_success()
    assert [cause.reason_code for cause in breaker.causes] == [TripReason.DAILY_LOSS_LIMIT]

    reset = breaker.reset("carol", "loss reviewed, limits unchanged", NOW + 2)

    assert reset == BreakerReset(
        "carol", "loss reviewed, limits unchanged", NOW + 2, (TripReason.DAILY_LOSS_LIMIT,)
    )
    assert not breaker.is_tripped
    assert breaker.trading_state is TradingState.ACTIVE
    assert breaker.causes == ()
    assert [type(event) for event in breaker.history] == [BreakerTripped, BreakerReset]


def test_resetting_a_breaker_that_is_not_tripped_is_an_error() -> None:
    breaker = CircuitBreaker(LIMITS)

    with pytest.raises(BreakerNotTrippedError, match="dave"):
        breaker.reset("dave", "just in case", NOW)
    assert breaker.history == ()


def test_a_reset_clears_the_failure_run_and_the_reject_window_so_old_events_cannot_retrip_it() -> None:
    breaker = CircuitBreaker(LIMITS)
    breaker.on_venue_failure(NOW)
    breaker.on_venue_failure(NOW + 1)
    breaker.on_reject(NOW)
    breaker.on_reject(NOW + 1)
    breaker.trip("alice", "manual", NOW + 2)
    breaker.on_venue_failure(NOW + 3)  # now three in a row: recorded as a further cause
    breaker.reset("alice", "fixed", NOW + 4)

    assert breaker.consecutive_venue_failures == 0
    assert breaker.on_venue_failure(NOW + 5) == ()
    assert breaker.on_reject(NOW + 5) == ()
    assert breaker.on_reject(NOW + 6) == ()


def test_a_loss_still_over_the_limit_trips_it_again_after_a_reset() -> None:
    breaker = CircuitBreaker(LIMITS)
    breaker.on_daily_pnl(D(-1_500), NOW)
    breaker.reset("alice", "reviewed", NOW + 1)

    assert tripped_by(breaker.on_daily_pnl(D(-1_500), NOW + 2)) is TripReason.DAILY_LOSS_LIMIT
    assert len(breaker.history) == 3


def test_a_trigger_whose_limit_is_off_never_trips() -> None:
    breaker = CircuitBreaker(RiskLimits())

    assert breaker.on_daily_pnl(D(-(10**9)), NOW) == ()
    assert breaker.on_drawdown(D(1), NOW) == ()
    for offset in range(100):
        assert breaker.on_venue_failure(NOW + offset) == ()
        assert breaker.on_reject(NOW + offset) == ()
    assert breaker.consecutive_venue_failures == 100
    assert not breaker.is_tripped
    assert tripped_by(breaker.trip("ops", "still possible by hand", NOW)) is TripReason.MANUAL
    assert breaker.reset("ops", "done", NOW).cleared == (TripReason.MANUAL,)
    assert breaker.consecutive_venue_failures == 0


def test_invalid_limits_are_refused() -> None:
    with pytest.raises(InvalidRiskLimitsError):
        CircuitBreaker(RiskLimits(max_rejects=3))


def test_floats_are_refused() -> None:
    breaker = CircuitBreaker(LIMITS)

    with pytest.raises(InvalidValueError):
        breaker.on_daily_pnl(-2000.0, NOW)  # type: ignore[arg-type]
    with pytest.raises(InvalidValueError):
        breaker.on_drawdown(0.5, NOW)  # type: ignore[arg-type]
    assert not breaker.is_tripped
