"""When a failed actor is restarted, and when its supervisor gives up: pure, time passed in.

A `RestartPolicy` says how often an actor may fail (`max_restarts` R within `within_ns` T, the
restart intensity) and how long to wait before each restart (exponential backoff). A
`RestartTracker` applies one policy to one actor: given the time of each failure it decides
`RESTART_NOW`, `RESTART_AFTER_DELAY` or `ESCALATE`. It reads no clock and starts no thread, so
every decision is a function of the failure times it was given.

The rules, for the n-th failure inside the window (the window holds the failures at times t with
``now - t < T``, the current one included):

- n <= R: restart, after ``min(backoff_max_ns, floor(backoff_initial_ns * backoff_multiplier**(n-1)))``
  nanoseconds (0 means at once, `RESTART_NOW`);
- n == R + 1: escalate (R restarts within T were allowed; the next failure is one too many);
- after a quiet period of T without failure the window is empty again, so the next failure is
  n = 1 and the backoff starts over from `backoff_initial_ns`.

Once a tracker has escalated it stays escalated (every later failure escalates too) until `reset`.
"""

from __future__ import annotations

import enum
import math
from collections import deque
from fractions import Fraction
from typing import Final

import attrs

__all__ = [
    "NS_PER_MS",
    "NS_PER_SECOND",
    "RestartAction",
    "RestartDecision",
    "RestartPolicy",
    "RestartTracker",
]

NS_PER_MS: Final = 1_000_000
NS_PER_SECOND: Final = 1_000_000_000


def _non_negative(_instance: object, attribute: attrs.Attribute[int], value: int) -> None:
    if value < 0:
        raise ValueError(f"{attribute.name} must be >= 0, got {value}")


def _positive(_instance: object, attribute: attrs.Attribute[int], value: int) -> None:
    if value <= 0:
        raise ValueError(f"{attribute.name} must be > 0, got {value}")


def _multiplier(_instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not math.isfinite(value) or value < 1:
        raise ValueError(f"{attribute.name} must be a finite number >= 1, got {value}")


@attrs.frozen
class RestartPolicy:
    """Restart intensity (at most `max_restarts` restarts within `within_ns`) and backoff, in ns."""

    max_restarts: int = attrs.field(default=3, validator=_non_negative)  # R; 0: the first failure escalates
    within_ns: int = attrs.field(default=60 * NS_PER_SECOND, validator=_positive)  # T
    backoff_initial_ns: int = attrs.field(default=100 * NS_PER_MS, validator=_non_negative)
    backoff_multiplier: float = attrs.field(default=2.0, validator=_multiplier)
    backoff_max_ns: int = attrs.field(default=30 * NS_PER_SECOND, validator=_non_negative)

    def __attrs_post_init__(self) -> None:
        if self.backoff_max_ns < self.backoff_initial_ns:
            raise ValueError(
                f"backoff_max_ns ({self.backoff_max_ns}) must be >= backoff_initial_ns "
                f"({self.backoff_initial_ns})"
            )

    def backoff_ns(self, failure_number: int) -> int:
        """The delay before the restart that follows the `failure_number`-th failure in the window.

        ``min(backoff_max_ns, floor(backoff_initial_ns * backoff_multiplier ** (failure_number - 1)))``,
        computed exactly (the multiplier's binary value as a fraction), never overflowing.
        """
        if failure_number < 1:
            raise ValueError(f"failure_number must be >= 1, got {failure_number}")
        delay = Fraction(self.backoff_initial_ns)
        factor = Fraction(self.backoff_multiplier)
        for _ in range(failure_number - 1):
            if delay == 0 or delay >= self.backoff_max_ns or factor == 1:
                break
            delay *= factor
        return min(self.backoff_max_ns, math.floor(delay))


class RestartAction(enum.Enum):
    """What the supervisor does about one failure."""

    RESTART_NOW = "restart_now"
    RESTART_AFTER_DELAY = "restart_after_delay"
    ESCALATE = "escalate"


@attrs.frozen
class RestartDecision:
    """The tracker's answer to one failure."""

    action: RestartAction
    delay_ns: int  # 0 unless RESTART_AFTER_DELAY
    failures_in_window: int  # the current failure included

    @property
    def restarts(self) -> bool:
        """True for either kind of restart."""
        return self.action is not RestartAction.ESCALATE


class RestartTracker:
    """Applies one `RestartPolicy` to one actor's failures; mutable, not thread-safe (lock around it).

    Times must not go backwards: an earlier time than the latest failure counts as that failure's
    time, so a clock step back can neither empty the window nor shrink a backoff.
    """

    def __init__(self, policy: RestartPolicy) -> None:
        self._policy = policy
        self._window: deque[int] = deque()  # failure times inside the window, oldest first
        self._total_failures = 0
        self._last_failure_ns: int | None = None
        self._escalated = False

    @property
    def policy(self) -> RestartPolicy:
        """The policy applied."""
        return self._policy

    @property
    def total_failures(self) -> int:
        """Every failure recorded since construction (or the last `reset`)."""
        return self._total_failures

    @property
    def last_failure_ns(self) -> int | None:
        """The time of the latest failure, or None."""
        return self._last_failure_ns

    @property
    def escalated(self) -> bool:
        """True once a failure exceeded the intensity (until `reset`)."""
        return self._escalated

    def failures_in_window(self, now_ns: int) -> int:
        """How many failures happened in ``(now_ns - within_ns, now_ns]``."""
        self._expire(now_ns)
        return len(self._window)

    def is_quiet(self, now_ns: int) -> bool:
        """True when no failure happened within the last `within_ns` (the actor is healthy again)."""
        return self.failures_in_window(now_ns) == 0

    def record_failure(self, now_ns: int) -> RestartDecision:
        """Record a failure at `now_ns` and decide what to do about it."""
        if self._last_failure_ns is not None:
            now_ns = max(now_ns, self._last_failure_ns)
        self._expire(now_ns)
        self._window.append(now_ns)
        self._total_failures += 1
        self._last_failure_ns = now_ns
        count = len(self._window)
        if self._escalated or count > self._policy.max_restarts:
            self._escalated = True
            return RestartDecision(RestartAction.ESCALATE, 0, count)
        delay = self._policy.backoff_ns(count)
        if delay == 0:
            return RestartDecision(RestartAction.RESTART_NOW, 0, count)
        return RestartDecision(RestartAction.RESTART_AFTER_DELAY, delay, count)

    def reset(self) -> None:
        """Forget every failure and the escalation (an operator cleared the fault)."""
        self._window.clear()
        self._total_failures = 0
        self._last_failure_ns = None
        self._escalated = False

    def _expire(self, now_ns: int) -> None:
        horizon = now_ns - self._policy.within_ns
        while self._window and self._window[0] <= horizon:
            self._window.popleft()
