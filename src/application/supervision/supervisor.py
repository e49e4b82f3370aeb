"""The supervisor: one-for-one restarts with backoff and intensity, escalation, health, no lost messages.

Every actor of the kernel runs under one `Supervisor`, described by an `ActorSpec` (name,
factory, optional restart policy). Other actors address it only through its `SupervisedRef`, a
stable handle that outlives the actor instances behind it:

- **One-for-one.** When an actor fails, only that actor is restarted, by calling its factory
  again; the new instance rebuilds its state from the journal/portfolio in `on_start`
  (`SupervisedActor.rebuild_state`), never from nothing.
- **Backoff and intensity.** A `RestartTracker` per actor decides: restart now, restart after
  an exponentially growing delay (scheduled on the injected `Scheduler`; times from the injected
  `Clock`), or escalate once the actor failed more than `max_restarts` times within `within_ns`.
  Intensity is counted per actor, not across the supervisor: a flapping feed does not use up
  the strategies' budget.
- **No lost messages.** The handle numbers every message and keeps it until the instance
  acknowledges it. Messages told while the actor is down are buffered; messages that were in the
  dead instance's inbox (pykka drops them) are still unacknowledged. The next instance receives
  all of them, in the order they were told, before any newer message. Only the message whose
  handling raised (the poison message) is not redelivered by default: it is recorded as a dead
  letter and named in the notification (`ActorSpec.redeliver_failed_message=True` redelivers it,
  for failures known to be transient; a deterministic poison message then escalates).
- **Escalation.** Exceeding the intensity marks the actor FAULTED (never restarted again), calls
  the composition root's `on_escalate(name, cause)` once (the kernel halts trading and cancels
  every open order at every venue there), then notifies CRITICAL. Messages still pending are
  dead-lettered, asks fail with `ActorUnavailableError`, and later tells are refused
  (`TellOutcome.REFUSED`, dead-lettered).
- **Health.** `Supervisor.health()` and `SupervisedRef.health()` return `HealthReport`s
  (RUNNING, DEGRADED, FAULTED, STOPPED) from any thread.

Threading: the supervisor is not an actor. It is a plain object; each `SupervisedRef` guards its
own state with its own re-entrant lock, and the supervisor's lock guards only the set of
children (order: supervisor lock, then a child's lock; a child never takes the supervisor's).
Failure reports run on the failing actor's thread (`on_failure`), delayed restarts on the
scheduler's thread. The escalation hook and the notifier are always called with no lock held,
on one of those threads: they must not block for long, and may tell other actors or query
health. The factory runs under the child's lock (so no message can overtake the replay): it
must only construct and start the actor.

The supervisor does not own the scheduler: the composition root closes a `ThreadingScheduler`
after `Supervisor.stop()`. A handler that raises a BaseException other than Exception (e.g.
KeyboardInterrupt) makes pykka stop every actor; that is a shutdown, not a restart.

Messages must go through the `SupervisedRef`: a message told straight to the pykka `ActorRef`
(or through its proxy) is handled but neither acknowledged nor redelivered.
"""

from __future__ import annotations

import enum
import functools
import logging
import queue
import threading
from collections import deque
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any

import attrs
import pykka

from application.ports.clock import Clock
from application.ports.notifier import Notifier, Severity
from application.supervision.health import ActorHealth, DeadLetter, HealthReport, worst_health
from application.supervision.restart_policy import (
    NS_PER_MS,
    NS_PER_SECOND,
    RestartAction,
    RestartDecision,
    RestartPolicy,
    RestartTracker,
)
from application.supervision.scheduler import Cancellable, Scheduler
from application.supervision.supervised_actor import Delivery, SupervisedActor, SupervisionLink

__all__ = [
    "ActorFactory",
    "ActorSpec",
    "ActorUnavailableError",
    "EscalationHook",
    "SupervisedRef",
    "Supervisor",
    "TellOutcome",
]

_log = logging.getLogger(__name__)

#: Builds and starts one fresh instance (``lambda link: MyActor.start(link, journal=...)``).
ActorFactory = Callable[[SupervisionLink], pykka.ActorRef[Any]]
#: Called once per actor that exceeds its restart intensity: (actor name, the failure's exception).
EscalationHook = Callable[[str, BaseException], None]


def _valid_name(_instance: object, _attribute: attrs.Attribute[str], value: str) -> None:
    if not value or value != value.strip():
        raise ValueError(f"an actor name must be non-empty text without surrounding spaces, got {value!r}")


@attrs.frozen
class ActorSpec:
    """How to run one supervised actor."""

    name: str = attrs.field(validator=_valid_name)
    factory: ActorFactory
    policy: RestartPolicy | None = None  # None: the supervisor's default policy
    redeliver_failed_message: bool = False  # True: the poison message goes to the next instance too


class TellOutcome(enum.Enum):
    """What became of a told message."""

    SENT = "sent"  # in the running instance's inbox
    BUFFERED = "buffered"  # the actor is restarting: delivered, in order, to the next instance
    # (a BUFFERED or SENT message is dead-lettered only if the actor is then stopped or escalates)
    REFUSED = "refused"  # the actor is FAULTED or STOPPED: recorded as a dead letter, never delivered


class ActorUnavailableError(pykka.ActorDeadError):
    """A supervised actor is FAULTED or STOPPED and will not handle the message."""

    def __init__(self, name: str, health: ActorHealth, detail: str = "") -> None:
        super().__init__(f"actor {name} is {health.value}" + (f": {detail}" if detail else ""))
        self.name = name
        self.health = health


class _Phase(enum.Enum):
    NEW = "new"  # constructed, first instance not started yet
    UP = "up"  # an instance is running
    RESTARTING = "restarting"  # no instance: a restart is scheduled or under way
    FAULTED = "faulted"  # escalated: no instance, ever again
    STOPPED = "stopped"  # stopped on purpose


@attrs.frozen
class _AfterFailure:
    """What to do, outside the lock, about one failure decided under it."""

    error: BaseException
    decision: RestartDecision
    incarnation: int
    poison: Delivery | None
    abandoned_asks: tuple[pykka.Future[Any], ...]


def _fail_future(future: pykka.Future[Any], error: BaseException) -> None:
    try:
        future.set_exception((type(error), error, None))
    except queue.Full:  # already answered
        _log.debug("future already set; %r not delivered", error)


class SupervisedRef:
    """The stable address of one supervised actor: tell, ask and health, across restarts.

    Created by `Supervisor.start_child`; thread-safe. Every message is numbered (1, 2, 3, ...)
    and kept until the actor instance acknowledges it.
    """

    def __init__(
        self,
        spec: ActorSpec,
        policy: RestartPolicy,
        *,
        clock: Clock,
        scheduler: Scheduler,
        notifier: Notifier,
        on_escalate: EscalationHook,
        dead_letter_limit: int,
    ) -> None:
        self._spec = spec
        self._clock = clock
        self._scheduler = scheduler
        self._notifier = notifier
        self._on_escalate = on_escalate
        self._lock = threading.RLock()
        self._tracker = RestartTracker(policy)
        self._phase = _Phase.NEW
        self._ref: pykka.ActorRef[Any] | None = None
        self._incarnation = 0
        self._restarts = 0
        self._next_sequence = 1
        self._unacked: deque[Delivery] = deque()
        self._dead_letters: deque[DeadLetter] = deque(maxlen=dead_letter_limit)
        self._dead_letter_count = 0
        self._timer: Cancellable | None = None
        self._last_failure: BaseException | None = None
        self._escalated = False

    def __repr__(self) -> str:
        return f"<SupervisedRef {self.name} {self._phase.value} #{self._incarnation}>"

    @property
    def name(self) -> str:
        """The actor's name (its spec's)."""
        return self._spec.name

    @property
    def policy(self) -> RestartPolicy:
        """The restart policy applied to this actor."""
        return self._tracker.policy

    @property
    def actor_ref(self) -> pykka.ActorRef[Any] | None:
        """The running instance's pykka ref (None while down); for diagnostics, not for messages."""
        with self._lock:
            return self._ref

    # -- messages -------------------------------------------------------------------------------

    def tell(self, message: object) -> TellOutcome:
        """Send `message` without waiting; never raises for a dead actor (see `TellOutcome`)."""
        with self._lock:
            delivery = Delivery(self._take_sequence(), message)
            if self._phase in (_Phase.FAULTED, _Phase.STOPPED):
                self._dead_letter_locked(delivery, self._phase.value)
                _log.debug("%s is %s: refused %r", self.name, self._phase.value, delivery)
                return TellOutcome.REFUSED
            self._unacked.append(delivery)
            if self._phase is _Phase.UP and self._send_locked(delivery):
                return TellOutcome.SENT
            return TellOutcome.BUFFERED

    def ask(self, message: object) -> pykka.Future[Any]:
        """Send `message` and return a future of the answer (``.get(timeout=...)``).

        While the actor restarts the ask waits in the buffer; an exception raised by the handler
        is raised by the future's ``get`` (it does not kill the actor); a FAULTED or STOPPED actor
        answers with `ActorUnavailableError`.
        """
        future: pykka.Future[Any] = pykka.ThreadingFuture()
        with self._lock:
            delivery = Delivery(self._take_sequence(), message, future)
            if self._phase in (_Phase.FAULTED, _Phase.STOPPED):
                self._dead_letter_locked(delivery, self._phase.value)
                refusal: ActorUnavailableError | None = self._unavailable_locked()
            else:
                refusal = None
                self._unacked.append(delivery)
                if self._phase is _Phase.UP:
                    self._send_locked(delivery)
        if refusal is not None:
            _fail_future(future, refusal)
        return future

    # -- health ---------------------------------------------------------------------------------

    def health(self) -> HealthReport:
        """A snapshot of this actor's health."""
        with self._lock:
            in_window = self._tracker.failures_in_window(self._clock.now_ns())
            if self._phase is _Phase.FAULTED:
                health = ActorHealth.FAULTED
            elif self._phase is _Phase.STOPPED:
                health = ActorHealth.STOPPED
            elif self._phase in (_Phase.RESTARTING, _Phase.NEW) or in_window > 0:
                health = ActorHealth.DEGRADED
            else:
                health = ActorHealth.RUNNING
            return HealthReport(
                name=self.name,
                health=health,
                incarnation=self._incarnation,
                restarts=self._restarts,
                failures_in_window=in_window,
                last_failure=None if self._last_failure is None else repr(self._last_failure),
                last_failure_ns=self._tracker.last_failure_ns,
                restarting=self._phase is _Phase.RESTARTING,
                pending_messages=len(self._unacked),
                dead_letters=self._dead_letter_count,
                escalated=self._escalated,
            )

    def dead_letters(self) -> tuple[DeadLetter, ...]:
        """The most recent messages not delivered (bounded by the supervisor's `dead_letter_limit`)."""
        with self._lock:
            return tuple(self._dead_letters)

    # -- the supervisor's side ------------------------------------------------------------------

    def _start(self) -> None:
        """Start the first instance; a factory error propagates (the child is not started)."""
        with self._lock:
            if self._phase is not _Phase.NEW:
                raise RuntimeError(f"{self.name} was already started")
            try:
                self._launch_locked()
            except BaseException:
                self._phase = _Phase.STOPPED
                raise

    def _stop(self, timeout_s: float) -> None:
        """Stop the instance after the messages already in its inbox; later tells are refused."""
        with self._lock:
            if self._phase in (_Phase.FAULTED, _Phase.STOPPED):
                return
            self._phase = _Phase.STOPPED
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            ref = self._ref
            abandoned = () if ref is not None else self._abandon_locked("stopped")
        for future in abandoned:
            _fail_future(future, ActorUnavailableError(self.name, ActorHealth.STOPPED))
        if ref is None:
            return
        try:
            ref.stop(block=True, timeout=timeout_s)
        except pykka.Timeout:
            _log.warning("%s did not stop within %.1f s", self.name, timeout_s)

    def _child_acknowledged(self, incarnation: int, sequence: int) -> None:
        with self._lock:
            if incarnation != self._incarnation:
                return
            while self._unacked and self._unacked[0].sequence <= sequence:
                self._unacked.popleft()

    def _child_failed(self, incarnation: int, error: BaseException, failed_sequence: int | None) -> None:
        with self._lock:
            if incarnation != self._incarnation:
                _log.debug("%s: stale failure report from incarnation %d ignored", self.name, incarnation)
                return
            after: _AfterFailure | None = None
            abandoned: tuple[pykka.Future[Any], ...] = ()
            if self._phase is _Phase.UP:
                after = self._record_failure_locked(error, failed_sequence)
            elif self._phase is _Phase.STOPPED:
                # Failed while stopping: nothing restarts; what it did not handle is dead-lettered.
                self._ref = None
                self._last_failure = error
                self._remove_poison_locked(error, failed_sequence)
                abandoned = self._abandon_locked("stopped")
            else:
                _log.debug("%s: duplicate failure report ignored: %r", self.name, error)
        for future in abandoned:
            _fail_future(future, ActorUnavailableError(self.name, ActorHealth.STOPPED))
        if after is not None:
            self._follow_up(after)

    def _child_stopped(self, incarnation: int) -> None:
        with self._lock:
            if incarnation != self._incarnation:
                return
            if self._phase is _Phase.UP:
                _log.warning("%s was stopped outside its supervisor; it will not be restarted", self.name)
                self._phase = _Phase.STOPPED
            self._ref = None
            abandoned = self._abandon_locked("stopped")
        for future in abandoned:
            _fail_future(future, ActorUnavailableError(self.name, ActorHealth.STOPPED))

    def _restart(self, expected_incarnation: int) -> None:
        after: _AfterFailure | None = None
        with self._lock:
            if self._phase is not _Phase.RESTARTING or self._incarnation != expected_incarnation:
                return
            self._timer = None
            try:
                self._launch_locked()
            except Exception as error:
                _log.exception("%s: the factory failed to start a new instance", self.name)
                after = self._record_failure_locked(error, None)
            else:
                self._restarts += 1
                _log.info("%s restarted (incarnation %d)", self.name, self._incarnation)
        if after is not None:
            self._follow_up(after)

    # -- internals (call with the lock held where named _locked) ---------------------------------

    def _take_sequence(self) -> int:
        sequence = self._next_sequence
        self._next_sequence += 1
        return sequence

    def _send_locked(self, delivery: Delivery) -> bool:
        assert self._ref is not None
        try:
            self._ref.tell(delivery)
        except pykka.ActorDeadError:
            # The instance is dying; its failure report will come and this message stays pending.
            return False
        return True

    def _launch_locked(self) -> None:
        self._incarnation += 1
        incarnation = self._incarnation
        link = SupervisionLink(
            self.name,
            incarnation,
            acknowledge=functools.partial(self._child_acknowledged, incarnation),
            failed=functools.partial(self._child_failed, incarnation),
            stopped=functools.partial(self._child_stopped, incarnation),
        )
        ref = self._spec.factory(link)
        if not issubclass(ref.actor_class, SupervisedActor):
            ref.stop(block=False)
            raise TypeError(
                f"the factory of {self.name} started a {ref.actor_class.__name__}, not a SupervisedActor"
            )
        self._ref = ref
        self._phase = _Phase.UP
        for delivery in tuple(self._unacked):  # replay, in order, before any newer message
            if not self._send_locked(delivery):
                break

    def _record_failure_locked(self, error: BaseException, failed_sequence: int | None) -> _AfterFailure:
        self._ref = None
        self._last_failure = error
        poison = (
            None
            if self._spec.redeliver_failed_message
            else self._remove_poison_locked(error, failed_sequence)
        )
        decision = self._tracker.record_failure(self._clock.now_ns())
        abandoned: tuple[pykka.Future[Any], ...] = ()
        if decision.action is RestartAction.ESCALATE:
            self._phase = _Phase.FAULTED
            self._escalated = True
            abandoned = self._abandon_locked("faulted")
        else:
            self._phase = _Phase.RESTARTING
            if decision.action is RestartAction.RESTART_AFTER_DELAY:
                self._timer = self._scheduler.call_later(
                    decision.delay_ns, functools.partial(self._restart, self._incarnation)
                )
        return _AfterFailure(error, decision, self._incarnation, poison, abandoned)

    def _remove_poison_locked(self, error: BaseException, failed_sequence: int | None) -> Delivery | None:
        """Take the message whose handling raised out of the pending ones, as a dead letter."""
        if failed_sequence is None:
            return None
        poison = next((d for d in self._unacked if d.sequence == failed_sequence), None)
        if poison is not None:
            self._unacked.remove(poison)
            self._dead_letter_locked(poison, f"poison: {error!r}")
        return poison

    def _follow_up(self, after: _AfterFailure) -> None:
        """Notify, escalate or restart at once: never with the lock held."""
        policy = self._tracker.policy
        dropped = "" if after.poison is None else f"; message #{after.poison.sequence} dropped"
        intensity = (
            f"failure {after.decision.failures_in_window} within {policy.within_ns / NS_PER_SECOND:g} s, "
            f"at most {policy.max_restarts} restarts allowed"
        )
        if after.decision.action is RestartAction.ESCALATE:
            unavailable = ActorUnavailableError(self.name, ActorHealth.FAULTED, repr(after.error))
            for future in after.abandoned_asks:
                _fail_future(future, unavailable)
            self._escalate(after.error, f"actor {self.name} FAULTED: {after.error!r} ({intensity}{dropped})")
            return
        when = (
            "now"
            if after.decision.action is RestartAction.RESTART_NOW
            else f"in {after.decision.delay_ns / NS_PER_MS:g} ms"
        )
        _log.warning("%s failed: %r; restarting %s (%s%s)", self.name, after.error, when, intensity, dropped)
        self._notify(
            Severity.WARNING,
            f"actor {self.name} failed: {after.error!r}; restarting {when} ({intensity}{dropped})",
        )
        if after.decision.action is RestartAction.RESTART_NOW:
            self._restart(after.incarnation)

    def _escalate(self, error: BaseException, message: str) -> None:
        _log.critical("%s; escalating", message)
        hook_failed = ""
        try:
            self._on_escalate(self.name, error)
        except Exception as hook_error:
            _log.exception("the escalation hook failed for %s", self.name)
            hook_failed = f"; THE ESCALATION HOOK FAILED: {hook_error!r}"
        self._notify(Severity.CRITICAL, message + hook_failed)

    def _notify(self, severity: Severity, message: str) -> None:
        try:
            self._notifier.notify(severity, message)
        except Exception:
            _log.exception("the notifier failed to deliver: %s", message)

    def _abandon_locked(self, reason: str) -> tuple[pykka.Future[Any], ...]:
        """Dead-letter every pending message; returns the asks' futures, to fail outside the lock."""
        asks = tuple(d.reply_to for d in self._unacked if d.reply_to is not None)
        for delivery in self._unacked:
            self._dead_letter_locked(delivery, reason)
        self._unacked.clear()
        return asks

    def _dead_letter_locked(self, delivery: Delivery, reason: str) -> None:
        self._dead_letter_count += 1
        self._dead_letters.append(
            DeadLetter(self.name, delivery.sequence, delivery.message, reason, self._clock.now_ns())
        )

    def _unavailable_locked(self) -> ActorUnavailableError:
        health = ActorHealth.FAULTED if self._phase is _Phase.FAULTED else ActorHealth.STOPPED
        return ActorUnavailableError(
            self.name, health, "" if self._last_failure is None else repr(self._last_failure)
        )


class Supervisor:
    """Starts, restarts (one-for-one), escalates and reports on the kernel's actors. Thread-safe.

    `clock` times failures (intensity window, health), `scheduler` runs delayed restarts,
    `notifier` hears of every failure (WARNING) and escalation (CRITICAL), `on_escalate` is the
    composition root's halt-and-cancel-all. `policy` applies to children whose spec has none.
    """

    def __init__(
        self,
        *,
        clock: Clock,
        scheduler: Scheduler,
        notifier: Notifier,
        on_escalate: EscalationHook,
        policy: RestartPolicy | None = None,
        dead_letter_limit: int = 1_000,
    ) -> None:
        if dead_letter_limit < 1:
            raise ValueError(f"dead_letter_limit must be >= 1, got {dead_letter_limit}")
        self._clock = clock
        self._scheduler = scheduler
        self._notifier = notifier
        self._on_escalate = on_escalate
        self._policy = policy if policy is not None else RestartPolicy()
        self._dead_letter_limit = dead_letter_limit
        self._lock = threading.Lock()
        self._children: dict[str, SupervisedRef] = {}
        self._stopped = False

    def __enter__(self) -> Supervisor:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def policy(self) -> RestartPolicy:
        """The default restart policy."""
        return self._policy

    def start_child(self, spec: ActorSpec) -> SupervisedRef:
        """Start `spec`'s first instance and return its stable ref; a factory error propagates."""
        with self._lock:
            if self._stopped:
                raise RuntimeError("the supervisor is stopped")
            if spec.name in self._children:
                raise ValueError(f"an actor named {spec.name!r} is already supervised")
            child = SupervisedRef(
                spec,
                spec.policy if spec.policy is not None else self._policy,
                clock=self._clock,
                scheduler=self._scheduler,
                notifier=self._notifier,
                on_escalate=self._on_escalate,
                dead_letter_limit=self._dead_letter_limit,
            )
            child._start()
            self._children[spec.name] = child
            return child

    def child(self, name: str) -> SupervisedRef:
        """The ref of the child named `name` (KeyError if none)."""
        with self._lock:
            return self._children[name]

    @property
    def children(self) -> tuple[SupervisedRef, ...]:
        """Every child, in start order."""
        with self._lock:
            return tuple(self._children.values())

    def health(self) -> Mapping[str, HealthReport]:
        """Every child's health report, by name, in start order."""
        return {child.name: child.health() for child in self.children}

    def overall_health(self) -> ActorHealth:
        """The worst child health (RUNNING with no children)."""
        return worst_health(report.health for report in self.health().values())

    @property
    def escalated(self) -> bool:
        """True once any child exceeded its restart intensity."""
        return any(report.escalated for report in self.health().values())

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop every child, newest first, each after the messages already in its inbox. Idempotent."""
        with self._lock:
            self._stopped = True
            children = tuple(reversed(self._children.values()))
        for child in children:
            child._stop(timeout_s)
