"""The operator's resume and halt while the kernel is stopped: the records risk would journal."""

from __future__ import annotations

import pytest

from application.commands import HaltTrading, ResumeTrading
from application.engines.messages import RISK_STREAM, TradingStateChanged
from application.ports.event_journal import JournalRecord
from application.recovery import KernelState
from application.recovery.trading_control import TradingControl, TradingControlProjector
from domain.risk.breaker_events import BreakerReset, BreakerTripped, TripReason
from domain.risk.trading_state import TradingState
from tests.application.recovery.test_reconciliation_startup import BALANCE, INSTRUMENTS


class Journal:
    """Records folded by both a `TradingControl` and a `KernelState`, as the next start folds them."""

    def __init__(self) -> None:
        self.control = TradingControl()
        self.projector = TradingControlProjector(self.control)
        self.state = KernelState(INSTRUMENTS, currency="USD", starting_balance=BALANCE, id_seed=7)
        self.sequence = 0

    def append(self, *events: object, stream: str = RISK_STREAM) -> None:
        for event in events:
            self.sequence += 1
            record = JournalRecord(self.sequence, self.sequence, stream, event)
            self.projector.apply(record)
            self.state.apply(record)


def tripped() -> Journal:
    journal = Journal()
    journal.append(
        BreakerTripped(TripReason.MAX_DRAWDOWN, "drawdown 0.01 is at or above 0.001", 1),
        TradingStateChanged(TradingState.HALTED, "circuit breaker", 1),
    )
    journal.projector.drain_rows()
    return journal


def test_a_resume_resets_the_tripped_breaker_and_the_fold_says_active() -> None:
    journal = tripped()
    assert journal.control.breaker_tripped
    assert journal.control.trading_state is TradingState.HALTED

    records = journal.control.resume(" alice ", "checked the venue", 99)

    assert records == (
        ResumeTrading("alice", "checked the venue", 99),
        BreakerReset("alice", "checked the venue", 99, (TripReason.MAX_DRAWDOWN,)),
        TradingStateChanged(TradingState.ACTIVE, "resumed by alice: checked the venue", 99),
    )
    journal.append(*records)
    # The next start folds these records: ACTIVE, the reset (who, why) in the breaker's history.
    assert journal.state.trading_state is TradingState.ACTIVE
    assert journal.state.operator_state is TradingState.ACTIVE
    assert journal.state.breaker_history[-1] == records[1]
    assert journal.control.trading_state is TradingState.ACTIVE
    rows = journal.projector.drain_rows()
    assert [row["kind"] for row in rows.breaker_events] == ["reset"]
    assert rows.breaker_events[0]["by"] == "alice"
    assert rows.breaker_events[0]["reason"] == "checked the venue"
    assert rows.trading_state[0]["state"] == "ACTIVE"
    assert rows.trading_state[0]["last_sequence"] == journal.sequence
    assert journal.control.resume("bob", "again", 100) == ()  # nothing left to resume


def test_a_resume_clears_a_halt_by_reconciliation_without_touching_the_breaker() -> None:
    journal = Journal()
    journal.append(
        HaltTrading("reconciliation at start-up: balance USD", "reconciliation", 5),
        TradingStateChanged(TradingState.HALTED, "halted by reconciliation", 5),
    )
    records = journal.control.resume("alice", "balances fixed", 9)
    assert [type(r) for r in records] == [ResumeTrading, TradingStateChanged]
    journal.append(*records)
    assert journal.state.trading_state is TradingState.ACTIVE
    assert journal.state.breaker_history == ()


def test_a_halt_then_a_resume_round_trip_through_the_fold() -> None:
    journal = Journal()
    assert journal.control.resume("alice", "nothing to do", 1) == ()
    halt = journal.control.halt("alice", "maintenance", 2)
    assert halt == (
        HaltTrading("maintenance", "alice", 2),
        TradingStateChanged(TradingState.HALTED, "halted by alice: maintenance", 2),
    )
    journal.append(*halt)
    assert journal.state.trading_state is TradingState.HALTED
    assert journal.state.operator_state is TradingState.HALTED
    assert journal.control.halt("bob", "again", 3) == ()  # halted already
    journal.append(*journal.control.resume("bob", "done", 4))
    assert journal.state.trading_state is TradingState.ACTIVE


def test_records_of_other_streams_do_not_count() -> None:
    journal = Journal()
    journal.append(
        TradingStateChanged(TradingState.HALTED, "not risk's", 1),
        stream="someone-else",
    )
    assert journal.control.published_state is TradingState.ACTIVE
    assert journal.control.last_sequence == 1


@pytest.mark.parametrize(("by", "why"), [("", "x"), ("  ", "x"), ("alice", " ")])
def test_who_and_why_are_required(by: str, why: str) -> None:
    with pytest.raises(ValueError, match="must not be empty"):
        tripped().control.resume(by, why, 1)
    with pytest.raises(ValueError, match="must not be empty"):
        Journal().control.halt(by, why, 1)
