"""The fold of the journal equals the engines' own state; snapshots plus tails equal the whole fold."""

from __future__ import annotations

import zlib

import attrs
import pytest

from application.engines.messages import CancelNotSent, OrderInitialized, ReportNotApplied, StrategyStateSaved
from application.ports.event_journal import InMemoryJournal, JournalRecord, StoredSnapshot
from application.recovery import (
    InconsistentJournalError,
    JournalSequenceError,
    KernelState,
    SnapshotError,
    fold,
    recover,
)
from domain.orders.order import OrderUpdate
from domain.orders.order_events import OrderFilled
from domain.orders.order_status import OrderStatus
from domain.portfolio.equity_tracker import EquitySnapshot
from domain.risk.breaker_events import BreakerTripped
from infrastructure.replay.replay_runner import ReplayResult
from tests.application.recovery.conftest import SETTINGS, empty_state


def folded(replay: ReplayResult, upto: int | None = None) -> KernelState:
    records = list(replay.journal.read())
    return fold(empty_state(replay), records if upto is None else records[:upto])


def test_the_replay_trades_trips_the_breaker_and_saves_strategy_state(replay: ReplayResult) -> None:
    events = [record.event for record in replay.journal.read()]
    assert sum(isinstance(event, OrderFilled) for event in events) >= 5
    assert any(isinstance(event, BreakerTripped) for event in events)
    assert any(isinstance(event, StrategyStateSaved) for event in events)


def test_the_fold_of_the_journal_equals_the_engines_state(replay: ReplayResult) -> None:
    kernel = replay.kernel
    state = folded(replay)
    assert state.last_sequence == replay.journal.last_sequence
    assert [
        (o.client_order_id, o.status, o.filled_quantity, o.leaves_quantity, o.venue_order_id, o.fill_ids)
        for o in state.orders
    ] == [
        (o.client_order_id, o.status, o.filled_quantity, o.leaves_quantity, o.venue_order_id, o.fill_ids)
        for o in kernel.execution.orders
    ]
    assert [o.client_order_id for o in state.open_orders] == [
        o.client_order_id for o in kernel.execution.orders if o.is_open
    ]
    portfolio = kernel.portfolio.portfolio
    assert [(p.instrument_id, p.quantity, p.realized_pnl, p.lots) for p in state.portfolio.positions()] == [
        (p.instrument_id, p.quantity, p.realized_pnl, p.lots) for p in portfolio.positions()
    ]
    assert state.portfolio.account.balances() == portfolio.account.balances()
    assert state.portfolio.realized_pnl("USD") == portfolio.realized_pnl("USD")
    fills = [fill for order in kernel.execution.orders for fill in order.fills]
    assert state.fill_ids == {fill.fill_id for fill in fills}
    assert state.last_fill_ts_ns == max(fill.ts_ns for fill in fills)
    assert state.next_id_counter == kernel.execution.next_counter
    assert state.breaker_history == kernel.risk.breaker.history
    assert state.breaker_history  # the tight reject limit tripped it
    assert state.trading_state is kernel.risk.trading_state
    assert {iid: (t.count, t.quantity, t.notional, t.fees) for iid, t in state.fill_totals.items()} == {
        iid: (t.count, t.quantity, t.notional, t.fees) for iid, t in kernel.portfolio.fills.items()
    }
    (engine,) = kernel.strategies.values()
    assert state.strategy_states[engine.strategy.strategy_id] == engine.strategy.snapshot()


def test_refused_and_unapplied_reports_are_skipped(replay: ReplayResult) -> None:
    # Execution journals a refused report (a duplicate fill) as an OrderUpdate, and reports it
    # could not apply as ReportNotApplied: the fold must skip both, as execution did.
    records = list(replay.journal.read())
    fill_record = next(r for r in records if isinstance(r.event, OrderFilled))
    event = fill_record.event
    assert isinstance(event, OrderFilled)
    state = fold(empty_state(replay), records)
    before = state.describe()
    order = state.order(event.client_order_id)
    assert order is not None
    refusal = order.apply(event)  # the rebuilt order refuses it as a duplicate, changing nothing
    assert isinstance(refusal, OrderUpdate)
    assert not refusal.applied
    stream = fill_record.stream_id
    state.apply(JournalRecord(state.last_sequence + 1, 0, stream, refusal))
    state.apply(JournalRecord(state.last_sequence + 1, 0, stream, ReportNotApplied(event, "no", 0)))
    state.apply(
        JournalRecord(state.last_sequence + 1, 0, stream, CancelNotSent(event.client_order_id, "x", 0))
    )
    after = state.describe()
    assert after.pop("last_sequence") == replay.journal.last_sequence + 3
    before.pop("last_sequence")
    assert after == before


@pytest.mark.parametrize("fraction", [0, 1, 3, 7, 10], ids=lambda f: f"{f}0pct")
def test_a_snapshot_plus_the_tail_folds_to_the_same_state(replay: ReplayResult, fraction: int) -> None:
    records = list(replay.journal.read())
    k = len(records) * fraction // 10
    whole = folded(replay)
    head = folded(replay, k)
    data = head.snapshot_bytes()
    restored = KernelState.from_snapshot(
        data,
        replay.kernel.portfolio.instruments,
        currency=SETTINGS.currency,
        starting_balance=SETTINGS.starting_balance,
        id_seed=SETTINGS.seed,
    )
    assert restored.last_sequence == k
    assert restored.state_digest() == head.state_digest()
    assert restored.snapshot_bytes() == data  # the round trip is exact
    fold(restored, records[k:])
    assert restored.state_digest() == whole.state_digest()
    # ... and through `recover`, as start-up does it.
    journal = InMemoryJournal()
    for record in records:
        journal.append(record.ts_ns, record.stream_id, record.event)
    recovered = recover(
        journal,
        StoredSnapshot(k, 0, data),
        replay.kernel.portfolio.instruments,
        currency=SETTINGS.currency,
        starting_balance=SETTINGS.starting_balance,
        id_seed=SETTINGS.seed,
    )
    assert recovered.state_digest() == whole.state_digest()


def test_a_snapshot_is_smaller_than_the_journal(replay: ReplayResult) -> None:
    state = folded(replay)
    kept = state.compacted_records()
    assert len(kept) < replay.journal.last_sequence
    assert sum(isinstance(r.event, StrategyStateSaved) for r in kept) == 1  # the last one only
    assert sum(isinstance(r.event, OrderInitialized) for r in kept) == len(state.orders)


def _load(replay: ReplayResult, data: bytes) -> KernelState:
    return KernelState.from_snapshot(
        data,
        replay.kernel.portfolio.instruments,
        currency=SETTINGS.currency,
        starting_balance=SETTINGS.starting_balance,
        id_seed=SETTINGS.seed,
    )


def test_a_corrupt_snapshot_raises(replay: ReplayResult) -> None:
    data = folded(replay).snapshot_bytes()
    with pytest.raises(SnapshotError, match="zlib"):
        _load(replay, data[:-10])
    with pytest.raises(SnapshotError, match="zlib"):
        _load(replay, b"not a snapshot")
    lines = zlib.decompress(data).split(b"\n")
    with pytest.raises(SnapshotError, match="records"):
        _load(replay, zlib.compress(b"\n".join(lines[:-1])))
    with pytest.raises(SnapshotError, match="unknown snapshot format"):
        _load(replay, zlib.compress(b"\n".join([b'{"format":"x","version":1}', *lines[1:]])))
    with pytest.raises(SnapshotError, match="record 2"):
        _load(replay, zlib.compress(b"\n".join([lines[0], lines[1], b'{"seq":', *lines[3:]])))
    swapped = lines[2].replace(b'"type":"Order"', b'"type":"NoSuchType"', 1)
    if swapped != lines[2]:
        with pytest.raises(SnapshotError):
            _load(replay, zlib.compress(b"\n".join([lines[0], lines[1], swapped, *lines[3:]])))
    with pytest.raises(SnapshotError, match="out of order"):
        _load(replay, zlib.compress(b"\n".join([lines[0], lines[1], lines[1], *lines[3:]])))


def test_a_gap_or_a_repeat_in_the_sequence_raises(replay: ReplayResult) -> None:
    records = list(replay.journal.read())
    state = fold(empty_state(replay), records[:10])
    with pytest.raises(JournalSequenceError, match=r"a gap .*expected sequence 11"):
        state.apply(records[11])
    with pytest.raises(JournalSequenceError, match=r"a repeat .*expected sequence 11"):
        state.apply(records[9])
    state.apply(records[10])  # nothing was changed by the refused ones
    assert state.last_sequence == 11
    with pytest.raises(JournalSequenceError, match="expected sequence 1"):
        empty_state(replay).apply(records[1])


def test_an_event_for_an_order_never_initialized_raises(replay: ReplayResult) -> None:
    records = list(replay.journal.read())
    fill = next(r for r in records if isinstance(r.event, OrderFilled))
    state = empty_state(replay)
    with pytest.raises(InconsistentJournalError, match="never initialized"):
        state.apply(attrs.evolve(fill, sequence=1))


def test_ids_of_another_namespace_do_not_move_the_counter(replay: ReplayResult) -> None:
    other = KernelState(
        replay.kernel.portfolio.instruments,
        currency=SETTINGS.currency,
        starting_balance=SETTINGS.starting_balance,
        id_seed=SETTINGS.seed + 1,
    )
    fold(other, replay.journal.read())
    assert other.next_id_counter == 0
    assert len(other.orders) == len(replay.kernel.execution.orders)


def test_unsent_orders_are_kept_but_not_open(replay: ReplayResult) -> None:
    records = list(replay.journal.read())
    first = next(i for i, r in enumerate(records) if isinstance(r.event, OrderInitialized))
    state = fold(empty_state(replay), records[: first + 1])
    (order,) = state.orders
    assert order.status is OrderStatus.INITIALIZED
    assert state.unsent_orders == (order,)
    assert state.open_orders == ()


def test_the_equity_baselines_survive_the_fold_and_a_restore(replay: ReplayResult) -> None:
    engine = replay.kernel.portfolio
    tracker = engine.portfolio.equity_tracker(SETTINGS.currency)
    assert tracker is not None
    assert tracker.last is not None
    live = tracker.last
    state = fold(empty_state(replay), replay.journal.read())
    folded = state.portfolio.equity_tracker(SETTINGS.currency)
    assert folded is not None
    assert folded.last is not None
    # The high-water mark and the day's start are the live ones (the limits' baselines).
    assert folded.last.high_water_mark == live.high_water_mark
    assert folded.last.start_of_day_equity == live.start_of_day_equity
    baselines = [r for r in replay.journal.read() if isinstance(r.event, EquitySnapshot)]
    assert baselines, "the replay journaled no equity baseline"
    assert len({(r.event.high_water_mark, r.event.start_of_day_equity) for r in baselines}) == len(baselines)
    # A snapshot keeps only the last baseline, and folds back to it.
    again = KernelState.from_snapshot(
        state.snapshot_bytes(),
        state.instruments,
        currency=SETTINGS.currency,
        starting_balance=SETTINGS.starting_balance,
        id_seed=SETTINGS.seed,
    )
    restored = again.portfolio.equity_tracker(SETTINGS.currency)
    assert restored is not None
    assert restored.last == folded.last
    assert sum(isinstance(r.event, EquitySnapshot) for r in state.compacted_records()) == 1
