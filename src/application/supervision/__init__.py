"""Supervision: every actor of the kernel runs under one `Supervisor`.

One-for-one restarts with exponential backoff and a restart intensity (at most R restarts in T),
state rebuilt from the journal/portfolio on every start, no message lost across a restart, and
escalation (the composition root halts trading and cancels every open order; the notifier is
told) once an actor fails too often. Health (RUNNING, DEGRADED, FAULTED, STOPPED) is queryable
from any thread. See `supervisor.py` for the design.
"""

from application.supervision.health import ActorHealth, DeadLetter, HealthReport, worst_health
from application.supervision.restart_policy import (
    NS_PER_MS,
    NS_PER_SECOND,
    RestartAction,
    RestartDecision,
    RestartPolicy,
    RestartTracker,
)
from application.supervision.scheduler import Cancellable, ManualScheduler, Scheduler, ThreadingScheduler
from application.supervision.supervised_actor import Delivery, SupervisedActor, SupervisionLink
from application.supervision.supervisor import (
    ActorFactory,
    ActorSpec,
    ActorUnavailableError,
    EscalationHook,
    SupervisedRef,
    Supervisor,
    TellOutcome,
)

__all__ = [
    "NS_PER_MS",
    "NS_PER_SECOND",
    "ActorFactory",
    "ActorHealth",
    "ActorSpec",
    "ActorUnavailableError",
    "Cancellable",
    "DeadLetter",
    "Delivery",
    "EscalationHook",
    "HealthReport",
    "ManualScheduler",
    "RestartAction",
    "RestartDecision",
    "RestartPolicy",
    "RestartTracker",
    "Scheduler",
    "SupervisedActor",
    "SupervisedRef",
    "SupervisionLink",
    "Supervisor",
    "TellOutcome",
    "ThreadingScheduler",
    "worst_health",
]
