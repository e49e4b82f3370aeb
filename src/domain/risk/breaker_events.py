"""What the circuit breaker emits: BreakerTripped and BreakerReset events, the CancelAllOrders command."""

from __future__ import annotations

import enum

import attrs


class TripReason(enum.StrEnum):
    """Why the breaker tripped; stable snake_case strings."""

    DAILY_LOSS_LIMIT = "daily_loss_limit"
    MAX_DRAWDOWN = "max_drawdown"
    VENUE_FAILURES = "venue_failures"
    VENUE_REJECTS = "venue_rejects"
    MANUAL = "manual"


AUTOMATIC = "breaker"  # the `by` of a trip the breaker decided itself


@attrs.frozen
class BreakerTripped:
    """The breaker tripped (or, while tripped, found a further cause): why, when and by whom."""

    reason_code: TripReason
    detail: str
    ts_ns: int
    by: str = AUTOMATIC


@attrs.frozen
class BreakerReset:
    """An operator reset the tripped breaker: who, why, when, and the causes it cleared."""

    by: str
    why: str
    ts_ns: int
    cleared: tuple[TripReason, ...]


@attrs.frozen
class CancelAllOrders:
    """Command: cancel every open order on every venue."""

    reason: str
    ts_ns: int


BreakerEvent = BreakerTripped | BreakerReset
BreakerOutput = tuple[BreakerTripped | CancelAllOrders, ...]
