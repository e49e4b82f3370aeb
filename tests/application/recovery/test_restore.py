"""A kernel wired with `recovered=` continues where the journal ends: ids, orders, breaker, strategy."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal

import attrs
import pytest

from application.commands import ResumeTrading
from application.engines.execution_engine import ExecutionEngine
from application.engines.journal_writer import JournalWriter
from application.engines.messages import DATA, EXECUTION, RISK, MarketFrame, TradingStateChanged
from application.market_data_pipeline import MarketDataPipeline
from application.ports.clock import SimulatedClock
from application.ports.event_journal import InMemoryJournal
from application.recovery import KernelState, recover
from application.runtime.deterministic_runtime import DeterministicRuntime
from application.runtime.kernel_wiring import FeedSpec, Kernel, wire_kernel
from application.strategies.strategy_view import StrategyView
from domain.fill import Fill
from domain.identifiers import ClientOrderId, FillId, VenueOrderId
from domain.market_data import BookTop, TradeTick
from domain.order_terms import LiquiditySide
from domain.orders.order_events import OrderAccepted, OrderEvent, OrderFilled
from domain.orders.order_status import OrderStatus
from domain.risk.breaker_events import BreakerReset, BreakerTripped, TripReason
from domain.risk.risk_limits import RiskLimits
from domain.risk.trading_state import TradingState
from domain.signals import Signal
from tests.application.engines import (
    BTC_ID,
    INSTRUMENTS,
    SECOND,
    T0,
    VENUE,
    FakeVenue,
    ScriptedCodec,
    ScriptedStrategy,
    buy,
    snapshot,
)

BALANCE = Decimal(100_000)
SEED = 7
# The first venue failure trips the breaker.
LIMITS = attrs.evolve(RiskLimits.conservative(BALANCE), max_consecutive_venue_failures=1)


@attrs.define
class CountingStrategy(ScriptedStrategy):
    """A scripted strategy with state: how many books and order events it has seen."""

    books: int = 0
    events: int = 0

    def on_book(self, top: BookTop, view: StrategyView) -> Sequence[Signal]:
        self.books += 1
        return super().on_book(top, view)

    def on_order_event(self, event: OrderEvent, view: StrategyView) -> Sequence[Signal]:
        self.events += 1
        return super().on_order_event(event, view)

    def on_trade(self, trade: TradeTick, view: StrategyView) -> Sequence[Signal]:
        return super().on_trade(trade, view)

    def snapshot(self) -> Mapping[str, object]:
        return {"books": self.books, "events": self.events}

    def restore(self, state: Mapping[str, object]) -> None:
        books, events = state["books"], state["events"]
        assert isinstance(books, int)
        assert isinstance(events, int)
        self.books, self.events = books, events


class Process:
    """One kernel process over a (shared, surviving) journal."""

    def __init__(self, journal: InMemoryJournal, start_ns: int, recovered: KernelState | None = None) -> None:
        self.clock = SimulatedClock(start_ns)
        self.runtime = DeterministicRuntime(self.clock)
        self.codec = ScriptedCodec()
        self.venue = FakeVenue()
        self.strategy = CountingStrategy()
        self.kernel: Kernel = wire_kernel(
            self.runtime,
            self.clock,
            journal,
            instruments=INSTRUMENTS,
            feeds={VENUE: FeedSpec(MarketDataPipeline(self.codec))},
            venues={VENUE: self.venue},
            strategies=[self.strategy],
            limits=LIMITS,
            currency="USD",
            starting_balance=BALANCE,
            seed=SEED,
            recovered=recovered,
        )
        self.frames = 0

    def book(self, *signals: Signal) -> None:
        self.strategy.queued.extend(signals)
        self.frames += 1
        text = f"frame-{self.frames}"
        now = self.clock.now_ns() + SECOND
        self.codec.frames[text] = [snapshot(ts=now)]
        self.runtime.deliver_at(now, DATA, MarketFrame(VENUE, text, now, "c1"))

    def report(self, *events: object) -> None:
        for event in events:
            self.runtime.send(EXECUTION, event)
        self.runtime.run_until_idle()

    def fill(self, client_order_id: ClientOrderId, quantity: str, fill_id: str) -> None:
        fill = Fill(
            FillId(fill_id),
            client_order_id,
            BTC_ID,
            buy().side,
            Decimal("100.00"),
            Decimal(quantity),
            Decimal("0.01"),
            "USD",
            LiquiditySide.MAKER,
            self.clock.now_ns(),
            VenueOrderId(f"V-{client_order_id}"),
        )
        self.report(OrderFilled.from_fill(fill))


def first_run(journal: InMemoryJournal) -> Process:
    """Two orders (one accepted and partly filled), then a failing submit trips the breaker."""
    process = Process(journal, T0)
    process.book(buy("0.01"), buy("0.02", "99.95"))
    first, second = (order.client_order_id for order in process.kernel.execution.orders)
    process.report(OrderAccepted(first, process.clock.now_ns(), VenueOrderId(f"V-{first}")))
    process.fill(first, "0.004", "F1")
    process.venue.fail_next.append("submit")
    process.book(buy("0.03", "99.90"))
    assert process.kernel.risk.breaker.is_tripped
    del second
    return process


def recovered_state(journal: InMemoryJournal) -> KernelState:
    return recover(journal, None, INSTRUMENTS, currency="USD", starting_balance=BALANCE, id_seed=SEED)


def test_a_restored_kernel_continues_where_the_journal_ends() -> None:
    journal = InMemoryJournal()
    before = first_run(journal)
    old = before.kernel
    state = recovered_state(journal)
    records_before = journal.last_sequence

    after = Process(journal, before.clock.now_ns(), recovered=state)
    new = after.kernel
    assert journal.last_sequence == records_before  # restoring journals nothing (no spurious change)
    # Execution: the same orders, the same open ones, and the id counter continues.
    assert [(o.client_order_id, o.status, o.filled_quantity) for o in new.execution.orders] == [
        (o.client_order_id, o.status, o.filled_quantity) for o in old.execution.orders
    ]
    assert new.execution.next_counter == old.execution.next_counter == 3
    # Risk: the breaker is still tripped, for the same cause, and trading is halted.
    assert new.risk.breaker.is_tripped
    assert new.risk.breaker.causes == old.risk.breaker.causes
    assert new.risk.breaker.history == old.risk.breaker.history
    assert new.risk.trading_state is TradingState.HALTED
    # Portfolio: the fill is there; delivered again, it is a duplicate.
    assert new.portfolio.portfolio.account.balances() == old.portfolio.portfolio.account.balances()
    position = new.portfolio.portfolio.position(BTC_ID)
    assert position is not None
    assert position.quantity == Decimal("0.004")
    assert new.portfolio.equity_start == old.portfolio.portfolio.equity("USD", {BTC_ID: Decimal(100)})
    # The strategy has its saved state, and its engine knows its open orders and position.
    engine = new.strategies[after.strategy.strategy_id]
    assert after.strategy.snapshot() == before.strategy.snapshot()
    assert after.strategy.books == 2
    assert engine.position(BTC_ID) == Decimal("0.004")
    assert [o.client_order_id for o in engine.open_orders()] == [
        o.client_order_id for o in old.execution.orders if o.is_open
    ]
    assert engine.last_saved_state() == before.strategy.snapshot()

    # A fill delivered again after the restart changes nothing.
    first = old.execution.orders[0].client_order_id
    after.fill(first, "0.004", "F1")
    assert new.portfolio.portfolio.position(BTC_ID) == position
    assert new.execution.counts["duplicate_fills"] == 1

    # An operator resumes; the next order gets the next id, never one issued before the crash.
    after.runtime.send(RISK, ResumeTrading("ops", "venue back", after.clock.now_ns()))
    after.runtime.run_until_idle()
    assert isinstance(journal.read(journal.last_sequence).__next__().event, TradingStateChanged)
    after.book(buy("0.01", "99.98"))
    issued = [o.client_order_id for o in old.execution.orders]
    newest = new.execution.orders[-1]
    assert newest.client_order_id not in issued
    assert newest.client_order_id == ClientOrderId((SEED << 24) | 3)
    assert newest.status is OrderStatus.SUBMITTED
    # The whole journal (both processes) still folds, and the fold agrees with the new engines.
    final = recovered_state(journal)
    assert [(o.client_order_id, o.status) for o in final.orders] == [
        (o.client_order_id, o.status) for o in new.execution.orders
    ]
    assert isinstance(final.breaker_history[-1], BreakerReset)
    assert final.trading_state is TradingState.ACTIVE
    # Its snapshot (resume, reset, trading states and all) round-trips to the same state.
    again = KernelState.from_snapshot(
        final.snapshot_bytes(), INSTRUMENTS, currency="USD", starting_balance=BALANCE, id_seed=SEED
    )
    assert again.state_digest() == final.state_digest()
    assert again.operator_state is TradingState.ACTIVE


def test_the_breaker_restores_only_a_history_it_could_have_made() -> None:
    journal = InMemoryJournal()
    first_run(journal)
    state = recovered_state(journal)
    trip = state.breaker_history[0]
    assert isinstance(trip, BreakerTripped)
    assert trip.reason_code is TripReason.VENUE_FAILURES


def test_restoring_ids_of_another_namespace_is_refused() -> None:
    journal = InMemoryJournal()
    first_run(journal)
    state = recover(journal, None, INSTRUMENTS, currency="USD", starting_balance=BALANCE, id_seed=SEED + 1)
    clock = SimulatedClock(0)
    execution = ExecutionEngine(
        {}, DeterministicRuntime(clock), JournalWriter(InMemoryJournal(), clock), clock, seed=SEED
    )
    with pytest.raises(ValueError, match="namespace"):
        execution.restore(state)


def test_a_kernel_without_a_recovered_state_starts_empty() -> None:
    process = Process(InMemoryJournal(), T0)
    assert process.kernel.execution.next_counter == 0
    assert not process.kernel.risk.breaker.is_tripped
