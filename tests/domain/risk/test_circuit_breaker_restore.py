"""Restoring a circuit breaker from its journaled trips and resets, after a restart."""

from __future__ import annotations

from decimal import Decimal

import pytest

from domain.errors import InvalidValueError
from domain.risk import BreakerReset, BreakerTripped, CircuitBreaker, RiskLimits, TradingState, TripReason
from tests.domain.risk import NOW, SECOND

LIMITS = RiskLimits(
    daily_loss_limit=Decimal(1_000),
    max_drawdown_fraction=Decimal("0.2"),
    max_consecutive_venue_failures=2,
    max_rejects=3,
    reject_window_ns=10 * SECOND,
)


def lived() -> CircuitBreaker:
    """A breaker that tripped on a loss, was reset, then tripped on drawdown and by hand."""
    breaker = CircuitBreaker(LIMITS)
    breaker.on_daily_pnl(Decimal(-1_000), NOW)
    breaker.reset("ops", "checked", NOW + SECOND)
    breaker.on_drawdown(Decimal("0.25"), NOW + 2 * SECOND)
    breaker.trip("ops", "investigating", NOW + 3 * SECOND)
    return breaker


def test_a_restored_breaker_has_the_same_causes_history_and_state() -> None:
    original = lived()
    restored = CircuitBreaker(LIMITS)
    restored.restore(original.history)
    assert restored.is_tripped
    assert restored.causes == original.causes
    assert [cause.reason_code for cause in restored.causes] == [TripReason.MAX_DRAWDOWN, TripReason.MANUAL]
    assert restored.history == original.history
    assert restored.trading_state is TradingState.HALTED
    # It behaves as the original: a repeat cause is ignored, a reset clears both causes.
    assert restored.on_drawdown(Decimal("0.3"), NOW + 4 * SECOND) == ()
    reset = restored.reset("ops", "done", NOW + 5 * SECOND)
    assert reset.cleared == (TripReason.MAX_DRAWDOWN, TripReason.MANUAL)
    assert not restored.is_tripped


def test_a_history_ending_in_a_reset_restores_an_untripped_breaker() -> None:
    original = lived()
    original.reset("ops", "done", NOW + 4 * SECOND)
    restored = CircuitBreaker(LIMITS)
    restored.restore(original.history)
    assert not restored.is_tripped
    assert restored.history == original.history
    assert restored.consecutive_venue_failures == 0


def test_an_impossible_history_or_a_used_breaker_is_refused() -> None:
    reset = BreakerReset("ops", "x", NOW, (TripReason.MANUAL,))
    with pytest.raises(InvalidValueError, match="untripped"):
        CircuitBreaker(LIMITS).restore([reset])
    trip = BreakerTripped(TripReason.MANUAL, "x", NOW, "ops")
    with pytest.raises(InvalidValueError, match="twice"):
        CircuitBreaker(LIMITS).restore([trip, trip])
    with pytest.raises(InvalidValueError, match="fresh"):
        lived().restore([trip])
