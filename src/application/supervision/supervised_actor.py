"""The base class of every supervised actor, and the link through which it reports to its supervisor.

A `SupervisedActor` is a `pykka.ThreadingActor` with three obligations, all enforced here:

- **It rebuilds its state on every start.** `on_start` calls `rebuild_state()`, which reloads
  whatever the actor knows from its injected sources (the journal, the portfolio): the first
  instance and every restarted one take the same path, so a restart never starts from nothing.
  A failing rebuild counts as a failure of that instance (pykka itself would only log it).
- **It acknowledges every message it has handled.** Messages arrive from its `SupervisedRef`
  wrapped in a `Delivery` with a sequence number; after `handle()` returns, the instance
  acknowledges the number. The supervisor keeps every unacknowledged message, so when the
  instance dies (and pykka silently drops the tells still in its inbox) the next instance gets
  them all, in order.
- **It reports how it ended.** An exception in `handle()` for a told message stops the actor
  (pykka) and `on_failure` reports it with the sequence number of the message that caused it
  (the poison message); `on_stop` reports a deliberate stop.

For the same reason `on_start`, `on_receive`, `on_failure` and `on_stop` are final; subclasses
implement `rebuild_state` and `handle`, and may override the hooks `on_crash` (clean up after a
failure) and `on_shutdown` (clean up on a deliberate stop).

An asked message (`SupervisedRef.ask`) that raises does not stop the actor: like pykka's own
`ask`, the exception goes to the asker's future.
"""

from __future__ import annotations

import abc
import logging
import queue
import sys
from collections.abc import Callable
from types import TracebackType
from typing import Any, final

import pykka

__all__ = ["Delivery", "SupervisedActor", "SupervisionLink"]

_log = logging.getLogger(__name__)


@final
class Delivery:
    """One message from a `SupervisedRef` to its actor: sequence number, message, reply future."""

    __slots__ = ("message", "reply_to", "sequence")

    def __init__(self, sequence: int, message: object, reply_to: pykka.Future[Any] | None = None) -> None:
        self.sequence = sequence
        self.message = message
        self.reply_to = reply_to  # None for a tell

    def __repr__(self) -> str:
        kind = "tell" if self.reply_to is None else "ask"
        return f"Delivery(#{self.sequence} {kind} {self.message!r})"


def _ignore_ack(_sequence: int) -> None:
    """Unsupervised: nothing to acknowledge to."""


def _log_failure(error: BaseException, sequence: int | None) -> None:
    _log.error("unsupervised actor failed (message #%s): %r", sequence, error)


def _ignore_stop() -> None:
    """Unsupervised: nobody to tell."""


@final
class SupervisionLink:
    """What one actor instance knows of its supervision: its name, incarnation and where to report.

    The supervisor creates one per instance and binds the callbacks to that incarnation, so a
    report from an instance that has already been replaced is ignored.
    """

    __slots__ = ("_acknowledge", "_failed", "_stopped", "incarnation", "name")

    def __init__(
        self,
        name: str,
        incarnation: int,
        *,
        acknowledge: Callable[[int], None],
        failed: Callable[[BaseException, int | None], None],
        stopped: Callable[[], None],
    ) -> None:
        self.name = name
        self.incarnation = incarnation  # 1 for the first instance, +1 per restart
        self._acknowledge = acknowledge
        self._failed = failed
        self._stopped = stopped

    @classmethod
    def unsupervised(cls, name: str = "unsupervised") -> SupervisionLink:
        """A link to nobody, to run a supervised actor on its own (tests, tools)."""
        return cls(name, 1, acknowledge=_ignore_ack, failed=_log_failure, stopped=_ignore_stop)

    @property
    def is_restart(self) -> bool:
        """True for every instance after the first."""
        return self.incarnation > 1

    def acknowledge(self, sequence: int) -> None:
        """The instance has handled message `sequence` (every earlier one too)."""
        self._acknowledge(sequence)

    def report_failure(self, error: BaseException, failed_sequence: int | None) -> None:
        """The instance died of `error`, while handling message `failed_sequence` (None: not in a message)."""
        try:
            self._failed(error, failed_sequence)
        except Exception:
            _log.exception("supervisor of %s could not take a failure report", self.name)

    def report_stopped(self) -> None:
        """The instance stopped on request."""
        try:
            self._stopped()
        except Exception:
            _log.exception("supervisor of %s could not take a stop report", self.name)


def _set_reply(future: pykka.Future[Any], value: object) -> None:
    try:
        future.set(value)
    except queue.Full:  # already answered (the supervisor gave up on it)
        _log.debug("reply dropped: future already set")


def _set_reply_exception(future: pykka.Future[Any]) -> None:
    try:
        future.set_exception(sys.exc_info())
    except queue.Full:
        _log.debug("reply exception dropped: future already set")


class SupervisedActor(pykka.ThreadingActor, abc.ABC):
    """A pykka actor that rebuilds its state on start, acknowledges messages and reports failures.

    Construct through a factory given to the supervisor: ``lambda link: MyActor.start(link, ...)``,
    injecting the sources `rebuild_state` reads (journal, portfolio) as further arguments.
    """

    def __init__(self, link: SupervisionLink) -> None:
        super().__init__()
        self._supervision = link
        self._current_sequence: int | None = None

    @property
    def supervision(self) -> SupervisionLink:
        """This instance's link: its name, its incarnation (`is_restart`)."""
        return self._supervision

    @abc.abstractmethod
    def rebuild_state(self) -> None:
        """Load this actor's state from its injected sources; runs in the actor's thread before any message.

        Called on the first start and on every restart. A stateless actor does nothing here, and
        says so. Raising counts as a failure of this instance (restart with backoff, or escalation).
        """

    @abc.abstractmethod
    def handle(self, message: object) -> object:
        """Handle one message; the return value answers an ask (ignored for a tell).

        Raising while handling a told message kills this instance: the supervisor restarts a new
        one (which rebuilds its state) and delivers it every message after this one.
        """

    def on_crash(self, error: BaseException) -> None:
        """Hook: clean up after a failure (before the supervisor hears of it). Must not raise."""

    def on_shutdown(self) -> None:
        """Hook: clean up on a deliberate stop."""

    @final
    def on_start(self) -> None:
        """Rebuild the state; a failure is reported to the supervisor, then pykka stops the actor."""
        try:
            self.rebuild_state()
        except Exception as error:
            self._supervision.report_failure(error, None)
            raise

    @final
    def on_receive(self, message: Any) -> Any:
        """Unwrap a `Delivery`, handle it and acknowledge it; a bare message is handled as is."""
        if not isinstance(message, Delivery):
            return self.handle(message)
        if message.reply_to is None:
            self._current_sequence = message.sequence
            self.handle(message.message)  # a raise propagates: pykka stops us, on_failure reports
            self._current_sequence = None
            self._supervision.acknowledge(message.sequence)
            return None
        try:
            result = self.handle(message.message)
        except Exception:
            self._supervision.acknowledge(message.sequence)
            _set_reply_exception(message.reply_to)
        else:
            self._supervision.acknowledge(message.sequence)
            _set_reply(message.reply_to, result)
        return None

    @final
    def on_failure(
        self,
        exception_type: type[BaseException] | None,
        exception_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Run `on_crash`, then report the failure and the poison message's number to the supervisor."""
        error: BaseException = (
            exception_value
            if exception_value is not None
            else RuntimeError(f"actor failed with {exception_type!r} and no exception value")
        )
        try:
            self.on_crash(error)
        except Exception:
            _log.exception("on_crash of %s raised", self._supervision.name)
        self._supervision.report_failure(error, self._current_sequence)

    @final
    def on_stop(self) -> None:
        """Run `on_shutdown`, then report the stop (even if `on_shutdown` raised)."""
        try:
            self.on_shutdown()
        finally:
            self._supervision.report_stopped()
