"""Actor health as the supervisor sees it: a value per supervised actor, queryable from any thread."""

from __future__ import annotations

import enum
from collections.abc import Iterable

import attrs

__all__ = ["ActorHealth", "DeadLetter", "HealthReport", "worst_health"]


class ActorHealth(enum.Enum):
    """How a supervised actor is doing."""

    RUNNING = "running"  # up, and no failure within the restart-intensity window
    DEGRADED = "degraded"  # restarting now, or restarted within the window (T) and up again
    FAULTED = "faulted"  # failed beyond the restart intensity: escalated, never restarted
    STOPPED = "stopped"  # stopped on purpose (shutdown), not by a failure

    @property
    def severity(self) -> int:
        """0 RUNNING, 1 DEGRADED, 2 STOPPED, 3 FAULTED: a larger number is worse."""
        return _SEVERITY[self]


_SEVERITY = {ActorHealth.RUNNING: 0, ActorHealth.DEGRADED: 1, ActorHealth.STOPPED: 2, ActorHealth.FAULTED: 3}


def worst_health(healths: Iterable[ActorHealth]) -> ActorHealth:
    """The worst of some healths (RUNNING when there are none)."""
    return max(healths, key=lambda health: health.severity, default=ActorHealth.RUNNING)


@attrs.frozen
class DeadLetter:
    """A message the supervisor could not (or chose not to) deliver, kept for the record."""

    actor: str
    sequence: int  # the supervised ref's delivery number, 1, 2, 3, ...
    message: object
    reason: str  # "poison: <error>", "faulted", "stopped", ...
    ts_ns: int


@attrs.frozen
class HealthReport:
    """One supervised actor's health and the numbers behind it (a snapshot)."""

    name: str
    health: ActorHealth
    incarnation: int  # 1 for the first instance, +1 per restart
    restarts: int  # restarts done so far
    failures_in_window: int  # failures within the last `within_ns`
    last_failure: str | None  # repr of the latest failure's exception
    last_failure_ns: int | None
    restarting: bool  # down and waiting for (or in the middle of) a restart
    pending_messages: int  # accepted but not yet processed: in the inbox or buffered for a restart
    dead_letters: int  # messages not delivered: poison messages dropped, tells refused or abandoned
    escalated: bool  # the failure that exceeded the intensity was escalated
