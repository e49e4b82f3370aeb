"""The circuit breaker: trips on losses, drawdown, venue trouble or by hand; only a person resets it.

Decisions (see the tests):
- The first cause trips the breaker and returns a `BreakerTripped` event and a `CancelAllOrders`
  command. While tripped, a cause of a *new* kind is recorded and returns its `BreakerTripped`
  but no second cancel-all (one was already issued, and trading is halted); a repeat of a kind
  already recorded returns nothing and records nothing.
- Only `reset` (by a named person, with a reason) clears it; resetting an untripped breaker is
  an error. A reset clears the venue-failure count and the reject window, so old events cannot
  re-trip it; a loss or drawdown still over its limit trips it again on the next report.
- Thresholds come from `RiskLimits`; a trigger whose limit is None never trips.
- Times are inputs (ns). Reject times must not go backwards (`ClockWentBackwardsError`); other
  times are only recorded on the events.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from domain.errors import DomainError, InvalidValueError
from domain.numbers import to_decimal
from domain.risk.breaker_events import (
    BreakerEvent,
    BreakerOutput,
    BreakerReset,
    BreakerTripped,
    CancelAllOrders,
    TripReason,
)
from domain.risk.risk_limits import RiskLimits
from domain.risk.sliding_window import SlidingWindow
from domain.risk.trading_state import TradingState


class BreakerNotTrippedError(DomainError):
    """A reset of a breaker that is not tripped."""


def _require_text(name: str, value: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidValueError(f"{name} must be a non-empty string, got {value!r}")
    return value.strip()


class CircuitBreaker:
    """Halts trading when a limit is reached, records why, and stays tripped until a manual reset."""

    def __init__(self, limits: RiskLimits) -> None:
        limits.ensure_valid()
        self._limits = limits
        self._causes: list[BreakerTripped] = []
        self._history: list[BreakerEvent] = []
        self._consecutive_failures = 0
        self._rejects = None if limits.reject_window_ns is None else SlidingWindow(limits.reject_window_ns)

    @property
    def is_tripped(self) -> bool:
        """True from the first trip until a manual reset."""
        return bool(self._causes)

    @property
    def trading_state(self) -> TradingState:
        """HALTED while tripped, ACTIVE otherwise."""
        return TradingState.HALTED if self._causes else TradingState.ACTIVE

    @property
    def causes(self) -> tuple[BreakerTripped, ...]:
        """Why the breaker is tripped now (empty when it is not)."""
        return tuple(self._causes)

    @property
    def history(self) -> tuple[BreakerEvent, ...]:
        """Every trip and reset, oldest first."""
        return tuple(self._history)

    @property
    def consecutive_venue_failures(self) -> int:
        """Venue failures since the last success (or reset)."""
        return self._consecutive_failures

    def on_daily_pnl(self, pnl: Decimal, ts_ns: int) -> BreakerOutput:
        """Report the day's P&L; trips when it is at or below -daily_loss_limit."""
        pnl = to_decimal(pnl)
        limit = self._limits.daily_loss_limit
        if limit is None or pnl > -limit:
            return ()
        return self._trip(TripReason.DAILY_LOSS_LIMIT, f"daily P&L {pnl} is at or below -{limit}", ts_ns)

    def on_drawdown(self, fraction: Decimal, ts_ns: int) -> BreakerOutput:
        """Report the drawdown from the high-water mark (a fraction); trips at or above the limit."""
        fraction = to_decimal(fraction)
        limit = self._limits.max_drawdown_fraction
        if limit is None or fraction < limit:
            return ()
        return self._trip(TripReason.MAX_DRAWDOWN, f"drawdown {fraction} is at or above {limit}", ts_ns)

    def on_venue_failure(self, ts_ns: int) -> BreakerOutput:
        """Report a failed venue call; trips after max_consecutive_venue_failures in a row."""
        self._consecutive_failures += 1
        limit = self._limits.max_consecutive_venue_failures
        if limit is None or self._consecutive_failures < limit:
            return ()
        return self._trip(
            TripReason.VENUE_FAILURES, f"{self._consecutive_failures} consecutive venue failures", ts_ns
        )

    def on_venue_success(self) -> None:
        """Report a successful venue call: the run of failures is over."""
        self._consecutive_failures = 0

    def on_reject(self, ts_ns: int) -> BreakerOutput:
        """Report an order rejected by the venue; trips on max_rejects within reject_window_ns."""
        limit = self._limits.max_rejects
        if self._rejects is None or limit is None:
            return ()
        self._rejects.record(ts_ns)
        count = self._rejects.count(ts_ns)
        if count < limit:
            return ()
        return self._trip(
            TripReason.VENUE_REJECTS, f"{count} rejects within {self._rejects.window_ns} ns", ts_ns
        )

    def trip(self, who: str, why: str, ts_ns: int) -> BreakerOutput:
        """Trip by hand: `who` pulled it and `why`."""
        who = _require_text("who", who)
        why = _require_text("why", why)
        return self._trip(TripReason.MANUAL, why, ts_ns, by=who)

    def reset(self, who: str, why: str, ts_ns: int) -> BreakerReset:
        """Clear a tripped breaker by hand, recording who and why; raises if it is not tripped."""
        who = _require_text("who", who)
        why = _require_text("why", why)
        if not self._causes:
            raise BreakerNotTrippedError(f"{who} reset a breaker that is not tripped")
        event = BreakerReset(by=who, why=why, ts_ns=ts_ns, cleared=tuple(c.reason_code for c in self._causes))
        self._causes.clear()
        self._consecutive_failures = 0
        if self._rejects is not None:
            self._rejects.clear()
        self._history.append(event)
        return event

    def restore(self, history: Iterable[BreakerEvent]) -> None:
        """Re-apply journaled trips and resets (oldest first) to a fresh breaker, after a restart.

        Causes and history end as they were; the venue-failure count and the reject window start
        empty (they are not journaled). A history the breaker could not have produced raises.
        """
        if self._history:
            raise InvalidValueError("only a fresh breaker can be restored")
        for event in history:
            if isinstance(event, BreakerReset):
                if not self._causes:
                    raise InvalidValueError(f"restored history resets an untripped breaker: {event}")
                self._causes.clear()
            elif isinstance(event, BreakerTripped):
                if any(cause.reason_code is event.reason_code for cause in self._causes):
                    raise InvalidValueError(f"restored history trips twice for {event.reason_code}: {event}")
                self._causes.append(event)
            else:
                raise InvalidValueError(f"not a breaker event: {event!r}")
            self._history.append(event)

    def _trip(self, reason: TripReason, detail: str, ts_ns: int, by: str | None = None) -> BreakerOutput:
        if any(cause.reason_code is reason for cause in self._causes):
            return ()
        event = (
            BreakerTripped(reason, detail, ts_ns) if by is None else BreakerTripped(reason, detail, ts_ns, by)
        )
        first = not self._causes
        self._causes.append(event)
        self._history.append(event)
        if not first:
            return (event,)
        return (event, CancelAllOrders(reason=f"circuit breaker tripped: {reason}: {detail}", ts_ns=ts_ns))
