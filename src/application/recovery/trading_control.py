"""The operator's halt and resume while the kernel is stopped: the records risk would journal.

Once the breaker trips (or reconciliation halts trading), every later start stays HALTED: the
trips, the halts and the trading state are folded from the journal. Clearing that is a person's
decision, recorded with who and why, exactly as the risk engine records a `ResumeTrading` it
receives while running (`RiskEngine._on_resume`):
1. the `ResumeTrading` command (the operator's halts and halted instruments end);
2. if the breaker is tripped, the domain's manual reset (`CircuitBreaker.reset`: a `BreakerReset`
   naming who, why and the causes it cleared);
3. a `TradingStateChanged` to ACTIVE, if that is not the state last published.
A halt journals the `HaltTrading` and a `TradingStateChanged` to HALTED. No `CancelAllOrders`:
the kernel is stopped, so nothing would carry it out (a clean stop cancels open orders anyway).

`TradingControl` folds only what decides this (risk's breaker events, halts, resumes and trading
state changes, in journal order), the same records `KernelState` folds for it, so the next start
folds the appended records into the state these records describe: ACTIVE after a resume, with the
reset in the breaker's history. `TradingControlProjector` writes their projection rows (breaker
history and trading state) in the same transaction, for `status`.
"""

from __future__ import annotations

import attrs

from application.commands import HaltTrading, ResumeTrading
from application.engines.messages import RISK_STREAM, TradingStateChanged
from application.ports.event_journal import JournalRecord, ProjectionRow, ProjectionRows
from application.recovery.kernel_state import ControlFold
from application.recovery.projector import breaker_event_row, trading_state_row
from domain.instrument import InstrumentId
from domain.risk.breaker_events import BreakerReset, BreakerTripped
from domain.risk.circuit_breaker import CircuitBreaker
from domain.risk.risk_limits import RiskLimits
from domain.risk.trading_state import TradingState

__all__ = ["CONTROL_EVENT_TYPES", "TradingControl", "TradingControlProjector"]

#: The types of risk's records that decide the trading state (what `TradingControl` reads).
CONTROL_EVENT_TYPES = (
    BreakerTripped.__name__,
    BreakerReset.__name__,
    TradingStateChanged.__name__,
    HaltTrading.__name__,
    ResumeTrading.__name__,
)


def _text(name: str, value: str) -> str:
    if not value.strip():
        raise ValueError(f"{name} must not be empty")
    return value.strip()


class TradingControl:
    """The breaker, the operator's halts and the trading state last published, folded from risk's records."""

    def __init__(self) -> None:
        self._fold = ControlFold()
        self.last_sequence = 0

    def apply(self, record: JournalRecord) -> None:
        """Fold one record (others than risk's control records are ignored)."""
        self.last_sequence = max(self.last_sequence, record.sequence)
        if record.stream_id == RISK_STREAM:
            self._fold.apply(record.event)

    def _breaker(self) -> CircuitBreaker:
        breaker = CircuitBreaker(RiskLimits())  # limits only decide automatic trips: none here
        breaker.restore(self._fold.breaker_history)
        return breaker

    @property
    def breaker_tripped(self) -> bool:
        """True while the breaker is tripped (a trip not followed by a reset)."""
        return self._breaker().is_tripped

    @property
    def operator_state(self) -> TradingState:
        """HALTED after an operator's (or reconciliation's) halt, until a resume."""
        return self._fold.operator_state

    @property
    def halted_instruments(self) -> dict[InstrumentId, str]:
        """Instruments halted one by one, with why."""
        return self._fold.halted_instruments

    @property
    def trading_state(self) -> TradingState:
        """The trading state the next start begins in: the operator's or the breaker's, the stricter."""
        return self.operator_state.most_restrictive(self._breaker().trading_state)

    @property
    def published_state(self) -> TradingState:
        """The trading state risk last journaled (ACTIVE before any change)."""
        return self._fold.published_state

    def resume(self, by: str, why: str, ts_ns: int) -> tuple[object, ...]:
        """The records of a resume by `by` because `why` (empty when trading is ACTIVE already)."""
        by, why = _text("--by", by), _text("--reason", why)
        breaker = self._breaker()
        if (
            self.operator_state is TradingState.ACTIVE
            and not self.halted_instruments
            and not breaker.is_tripped
            and self.published_state is TradingState.ACTIVE
        ):
            return ()
        records: list[object] = [ResumeTrading(by, why, ts_ns)]
        if breaker.is_tripped:
            records.append(breaker.reset(by, why, ts_ns))
        if self.published_state is not TradingState.ACTIVE:
            records.append(TradingStateChanged(TradingState.ACTIVE, f"resumed by {by}: {why}", ts_ns))
        return tuple(records)

    def halt(self, by: str, why: str, ts_ns: int) -> tuple[object, ...]:
        """The records of a halt of all trading by `by` because `why` (empty when halted already)."""
        by, why = _text("--by", by), _text("--reason", why)
        if self.operator_state is TradingState.HALTED:
            return ()
        records: list[object] = [HaltTrading(why, by, ts_ns)]
        if self.published_state is not TradingState.HALTED:
            records.append(TradingStateChanged(TradingState.HALTED, f"halted by {by}: {why}", ts_ns))
        return tuple(records)


@attrs.define
class TradingControlProjector:
    """A `Projector` for the records a `TradingControl` appends: breaker history and trading state rows."""

    control: TradingControl
    _breaker_rows: list[ProjectionRow] = attrs.field(factory=list)
    _state_rows: list[ProjectionRow] = attrs.field(factory=list)

    def apply(self, record: JournalRecord) -> None:
        """Fold the record into the control and note its rows."""
        self.control.apply(record)
        event = record.event
        if record.stream_id != RISK_STREAM:
            return
        if isinstance(event, (BreakerTripped, BreakerReset)):
            self._breaker_rows.append(breaker_event_row(record.sequence, event))
        elif isinstance(event, TradingStateChanged):
            self._state_rows[:] = [trading_state_row(record, event)]

    def drain_rows(self) -> ProjectionRows:
        """The rows noted since the last drain (then forgets them)."""
        rows = ProjectionRows(trading_state=tuple(self._state_rows), breaker_events=tuple(self._breaker_rows))
        self._breaker_rows.clear()
        self._state_rows.clear()
        return rows
