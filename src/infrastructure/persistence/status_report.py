"""The `status` read model: what an operator asks of a journal database, read from its tables.

Everything here comes from the projections (written in the same transaction as the records they
derive from, so they agree with the journal as of its last commit), the events table's last
sequence and the newest reconciliation report. It reads only: it is safe to run beside a
running kernel (SQLite in WAL mode lets readers in while the kernel writes).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from infrastructure.persistence.schema import (
    balances,
    breaker_events,
    events,
    orders,
    positions,
    reconciliations,
    snapshots,
    trading_state,
)

#: Order statuses after which the venue will not work an order again.
TERMINAL_STATUSES = frozenset({"DENIED", "REJECTED", "CANCELED", "EXPIRED", "FILLED"})


def read_status(engine: Engine) -> dict[str, Any]:
    """The status document (JSON-ready; decimals as their exact text)."""
    with engine.connect() as connection:
        last_sequence = connection.execute(sa.select(sa.func.max(events.c.sequence))).scalar() or 0
        state_row = connection.execute(sa.select(trading_state).where(trading_state.c.id == 1)).first()
        breaker_rows = connection.execute(sa.select(breaker_events).order_by(breaker_events.c.sequence)).all()
        open_rows = connection.execute(
            sa.select(orders)
            .where(orders.c.status.not_in(sorted(TERMINAL_STATUSES)))
            .order_by(orders.c.created_ts_ns, orders.c.client_order_id)
        ).all()
        counts: dict[str, int] = dict(
            connection.execute(sa.select(orders.c.status, sa.func.count()).group_by(orders.c.status)).all()
        )
        position_rows = connection.execute(sa.select(positions).order_by(positions.c.instrument_id)).all()
        balance_rows = connection.execute(sa.select(balances).order_by(balances.c.currency)).all()
        snapshot_row = connection.execute(
            sa.select(snapshots.c.sequence, snapshots.c.ts_ns).order_by(snapshots.c.id.desc()).limit(1)
        ).first()
        report_row = connection.execute(
            sa.select(reconciliations.c.ts_ns, reconciliations.c.report)
            .order_by(reconciliations.c.id.desc())
            .limit(1)
        ).first()
    tripped = _tripped(breaker_rows)
    return {
        # ACTIVE until risk first publishes a change (the kernel starts ACTIVE).
        "trading_state": "ACTIVE" if state_row is None else state_row.state,
        "trading_state_changed": state_row is not None,
        "trading_state_reason": None if state_row is None else state_row.reason,
        "trading_state_ts_ns": None if state_row is None else int(state_row.ts_ns),
        "breaker": {
            "tripped": tripped,
            "history": [
                {
                    "sequence": row.sequence,
                    "kind": row.kind,
                    "reason": row.reason,
                    "detail": row.detail,
                    "by": row.by,
                    "ts_ns": row.ts_ns,
                }
                for row in breaker_rows
            ],
        },
        "orders": {"by_status": {str(k): int(v) for k, v in sorted(counts.items())}},
        "open_orders": [
            {
                "client_order_id": row.client_order_id,
                "strategy_id": row.strategy_id,
                "instrument_id": row.instrument_id,
                "side": row.side,
                "type": row.order_type,
                "price": row.price,
                "quantity": row.quantity,
                "filled_quantity": row.filled_quantity,
                "status": row.status,
            }
            for row in open_rows
        ],
        "positions": [
            {
                "instrument_id": row.instrument_id,
                "quantity": row.quantity,
                "average_price": row.average_price,
                "realized_pnl": row.realized_pnl,
                "flat": Decimal(row.quantity) == 0,
            }
            for row in position_rows
        ],
        "balances": {row.currency: row.total for row in balance_rows},
        "journal": {
            "last_sequence": int(last_sequence),
            "last_snapshot_sequence": None if snapshot_row is None else int(snapshot_row.sequence),
        },
        "last_reconciliation": None
        if report_row is None
        else {"ts_ns": int(report_row.ts_ns), "report": json.loads(report_row.report)},
    }


def _tripped(rows: Sequence[Any]) -> bool:
    tripped = False
    for row in rows:
        tripped = row.kind == "tripped" or (tripped and row.kind != "reset")
    return tripped


def render_status(status: Mapping[str, Any]) -> str:
    """The status document as text for a terminal."""
    state = status["trading_state"]
    if not status["trading_state_changed"]:
        state += " (never changed)"
    elif status.get("trading_state_reason"):
        state += f" ({status['trading_state_reason']})"
    lines = [f"trading state    {state}"]
    breaker = status["breaker"]
    lines.append(f"breaker          {'TRIPPED' if breaker['tripped'] else 'not tripped'}")
    for event in breaker["history"]:
        who = f" by {event['by']}" if event["by"] else ""
        detail = event["detail"] or ""
        lines.append(f"  #{event['sequence']} {event['kind']}{who}: {event['reason']} {detail}")
    journal = status["journal"]
    lines.append(
        f"journal          last sequence {journal['last_sequence']}, last snapshot at "
        f"{journal['last_snapshot_sequence'] if journal['last_snapshot_sequence'] is not None else 'none'}"
    )
    by_status = status["orders"]["by_status"]
    lines.append("orders           " + (", ".join(f"{k} {v}" for k, v in by_status.items()) or "none"))
    lines.append(f"open orders      {len(status['open_orders'])}")
    lines.extend(
        f"  {o['client_order_id']} {o['instrument_id']} {o['side']} {o['quantity']} @ {o['price']} "
        f"filled {o['filled_quantity']} {o['status']}"
        for o in status["open_orders"]
    )
    lines.append("positions        " + ("" if status["positions"] else "none"))
    lines.extend(
        f"  {p['instrument_id']} flat, realized {p['realized_pnl']}"
        if p["flat"]
        else f"  {p['instrument_id']} {p['quantity']} avg {p['average_price']} realized {p['realized_pnl']}"
        for p in status["positions"]
    )
    balances = ", ".join(f"{c} {v}" for c, v in status["balances"].items())
    lines.append("balances         " + (balances or "none"))
    last = status["last_reconciliation"]
    if last is None:
        lines.append("reconciliation   none yet")
    else:
        report = last["report"]
        verdict = "HALTED trading" if report.get("halted") else "clean" if report.get("clean") else "settled"
        lines.append(f"reconciliation   {verdict}: " + _render_reconciliation(report))
    return "\n".join(lines)


def _render_reconciliation(report: Mapping[str, Any]) -> str:
    counts = report.get("counts", {})
    names = sorted({key.removeprefix("local_") for key in counts if key.startswith("local_")})
    parts = [
        f"{name.replace('_', ' ')} local {counts.get('local_' + name)} venue {counts.get('venue_' + name)}"
        for name in names
    ]
    differences = report.get("differences", [])
    text = "; ".join(parts) if parts else "(no counts)"
    text += f"; {len(differences)} difference(s)"
    for difference in differences:
        text += f"\n  {json.dumps(difference, sort_keys=True)}"
    return text
