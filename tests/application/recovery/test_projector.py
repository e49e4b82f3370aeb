"""Projection rows derived from the journal agree with the engines, and each change is drained once."""

from __future__ import annotations

import json
from decimal import Decimal

from application.ports.event_journal import Projector
from application.recovery import KernelProjector
from infrastructure.replay.replay_runner import ReplayResult
from tests.application.recovery.conftest import empty_state

ORDER_COLUMNS = {
    "client_order_id", "strategy_id", "instrument_id", "side", "order_type", "time_in_force", "price",
    "quantity", "filled_quantity", "status", "venue_order_id", "created_ts_ns", "updated_ts_ns",
    "last_sequence",
}  # fmt: skip
FILL_COLUMNS = {
    "fill_id", "client_order_id", "instrument_id", "side", "price", "quantity", "fee", "fee_currency",
    "liquidity", "ts_ns", "sequence",
}  # fmt: skip


def test_rows_match_the_engines_and_a_second_drain_is_empty(replay: ReplayResult) -> None:
    kernel = replay.kernel
    projector: Projector = KernelProjector(empty_state(replay))  # it implements the port (mypy checks)
    first = projector.drain_rows()  # a fresh state: the starting balance
    assert [(row["currency"], row["total"]) for row in first.balances] == [("USD", "100000")]
    orders: dict[object, dict[str, object]] = {}
    fills: list[dict[str, object]] = []
    positions: dict[object, dict[str, object]] = {}
    balances: dict[object, dict[str, object]] = {}
    breaker_events: list[dict[str, object]] = []
    strategies: dict[object, dict[str, object]] = {}
    trading: list[dict[str, object]] = []
    for number, record in enumerate(replay.journal.read()):
        projector.apply(record)
        if number % 50 == 0 or record.sequence == replay.journal.last_sequence:  # drain now and then
            rows = projector.drain_rows()
            orders.update({row["client_order_id"]: dict(row) for row in rows.orders})
            fills.extend(dict(row) for row in rows.fills)
            positions.update({row["instrument_id"]: dict(row) for row in rows.positions})
            balances.update({row["currency"]: dict(row) for row in rows.balances})
            breaker_events.extend(dict(row) for row in rows.breaker_events)
            strategies.update({row["strategy_id"]: dict(row) for row in rows.strategy_states})
            trading.extend(dict(row) for row in rows.trading_state)
    assert projector.drain_rows().empty

    execution_orders = kernel.execution.orders
    assert len(orders) == len(execution_orders)
    for order in execution_orders:
        row = orders[order.client_order_id.value]
        assert set(row) == ORDER_COLUMNS
        assert row["status"] == order.status.value
        assert row["filled_quantity"] == str(order.filled_quantity)
        assert row["quantity"] == str(order.quantity)
        assert row["price"] == (None if order.price is None else str(order.price))
        assert row["venue_order_id"] == (None if order.venue_order_id is None else order.venue_order_id.value)
    all_fills = [fill for order in execution_orders for fill in order.fills]
    assert [row["fill_id"] for row in fills] == [fill.fill_id.value for fill in all_fills] != []
    assert all(set(row) == FILL_COLUMNS for row in fills)
    assert sum(Decimal(str(row["fee"])) for row in fills) == sum(fill.fee for fill in all_fills)

    portfolio = kernel.portfolio.portfolio
    assert {
        iid: (row["quantity"], row["realized_pnl"], row["average_price"]) for iid, row in positions.items()
    } == {
        str(p.instrument_id): (
            str(p.quantity),
            str(p.realized_pnl),
            None if p.average_entry_price is None else str(p.average_entry_price),
        )
        for p in portfolio.positions()
    }
    assert {currency: row["total"] for currency, row in balances.items()} == {
        currency: str(total) for currency, total in portfolio.account.balances().items()
    }
    assert [row["kind"] for row in breaker_events] == [
        "tripped" if type(event).__name__ == "BreakerTripped" else "reset"
        for event in kernel.risk.breaker.history
    ]
    assert trading[-1]["state"] == kernel.risk.trading_state.value
    assert trading[-1]["id"] == 1
    (engine,) = kernel.strategies.values()
    row = strategies[engine.strategy.strategy_id.value]
    assert json.loads(str(row["state_json"])) == json.loads(json.dumps(dict(engine.strategy.snapshot())))


def test_a_projector_over_a_recovered_state_can_emit_everything(replay: ReplayResult) -> None:
    state = empty_state(replay)
    for record in replay.journal.read():
        state.apply(record)
    rows = KernelProjector(state, emit_existing=True).drain_rows()
    assert len(rows.orders) == len(replay.kernel.execution.orders)
    assert rows.fills == ()  # fills are inserted once, when they are folded
    assert len(rows.positions) == len(replay.kernel.portfolio.portfolio.positions())
    assert len(rows.strategy_states) == 1
    assert KernelProjector(state).drain_rows().empty
