"""Projection rows go in the flush transaction: upserts update, inserts append, failures roll back."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from application.ports.event_journal import JournalRecord, ProjectionRow, ProjectionRows
from infrastructure.persistence.errors import JournalWriteError
from infrastructure.persistence.schema import balances, breaker_events, events, fills, orders
from infrastructure.persistence.sql_journal import SqlJournal
from tests.infrastructure.persistence.conftest import order_event


def _order_row(record: JournalRecord, status: str, filled: str) -> ProjectionRow:
    return {
        "client_order_id": record.stream_id,
        "strategy_id": "mm",
        "instrument_id": "COINBASE:BTC-USD",
        "side": "BUY",
        "order_type": "LIMIT",
        "time_in_force": "GTC",
        "price": "50000.10",
        "quantity": "0.0100",
        "filled_quantity": filled,
        "status": status,
        "venue_order_id": None,
        "created_ts_ns": 1,
        "updated_ts_ns": record.ts_ns,
        "last_sequence": record.sequence,
    }


class FakeProjector:
    """Turns each record into an order upsert, a balance upsert and, every 3rd, a fill insert."""

    def __init__(self) -> None:
        self.applied: list[int] = []
        self._orders: list[ProjectionRow] = []
        self._balances: list[ProjectionRow] = []
        self._fills: list[ProjectionRow] = []
        self._breakers: list[ProjectionRow] = []

    def apply(self, record: JournalRecord) -> None:
        self.applied.append(record.sequence)
        self._orders.append(_order_row(record, f"S{record.sequence}", f"0.00{record.sequence}"))
        self._balances.append(
            {"currency": "USD", "total": f"1000.{record.sequence:02d}", "last_sequence": record.sequence}
        )
        if record.sequence % 3 == 0:
            self._fills.append(
                {
                    "fill_id": f"f-{record.sequence}",
                    "client_order_id": record.stream_id,
                    "instrument_id": "COINBASE:BTC-USD",
                    "side": "BUY",
                    "price": "50000.10",
                    "quantity": "0.0010",
                    "fee": "0.01",
                    "fee_currency": "USD",
                    "liquidity": "MAKER",
                    "ts_ns": record.ts_ns,
                    "sequence": record.sequence,
                }
            )
            self._breakers.append(
                {
                    "sequence": record.sequence,
                    "kind": "tripped",
                    "reason": "x",
                    "detail": None,
                    "by": None,
                    "ts_ns": record.ts_ns,
                }
            )

    def drain_rows(self) -> ProjectionRows:
        rows = ProjectionRows(
            orders=tuple(self._orders),
            fills=tuple(self._fills),
            balances=tuple(self._balances),
            breaker_events=tuple(self._breakers),
        )
        self._orders, self._fills, self._balances, self._breakers = [], [], [], []
        return rows


def test_projection_rows_land_with_the_records_and_upserts_update(database_url: str) -> None:
    projector = FakeProjector()
    journal = SqlJournal.open(database_url, projector=projector)
    for i in range(4):
        journal.append(10 + i, "TK00000001" if i < 2 else "TK00000002", order_event(i))
    journal.flush()
    with journal.engine.connect() as connection:
        order_rows = connection.execute(
            sa.select(orders.c.client_order_id, orders.c.status).order_by("client_order_id")
        ).all()
        assert [tuple(row) for row in order_rows] == [("TK00000001", "S2"), ("TK00000002", "S4")]
        assert connection.execute(sa.select(balances.c.total)).scalar_one() == "1000.04"
        assert connection.execute(sa.select(fills.c.fill_id)).scalars().all() == ["f-3"]
    journal.append(20, "TK00000001", order_event(4))
    journal.append(21, "TK00000001", order_event(5))
    journal.flush()
    with journal.engine.connect() as connection:
        row = connection.execute(sa.select(orders).where(orders.c.client_order_id == "TK00000001")).one()
        assert (row.status, row.filled_quantity, row.last_sequence, row.price) == (
            "S6",
            "0.006",
            6,
            "50000.10",
        )
        assert connection.execute(sa.select(balances.c.total)).scalar_one() == "1000.06"
        assert connection.execute(sa.select(fills.c.fill_id).order_by("fill_id")).scalars().all() == [
            "f-3",
            "f-6",
        ]
        assert connection.execute(
            sa.select(breaker_events.c.sequence).order_by("sequence")
        ).scalars().all() == [3, 6]
    assert projector.applied == [1, 2, 3, 4, 5, 6]
    journal.close()


def test_a_failed_flush_writes_no_projection_and_the_retry_folds_each_record_once(database_url: str) -> None:
    projector = FakeProjector()
    journal = SqlJournal.open(database_url, projector=projector)
    journal.append(1, "TK00000001", order_event(0))
    journal.flush()
    with journal.engine.begin() as connection:  # make the events insert fail, after the projector ran
        connection.execute(
            events.insert().values(
                sequence=3, ts_ns=0, type="x", stream_id="x", schema_version=1, payload="{}"
            )
        )
    journal.append(2, "TK00000001", order_event(1))
    journal.append(3, "TK00000001", order_event(2))
    with pytest.raises(JournalWriteError):
        journal.flush()
    with journal.engine.connect() as connection:
        assert connection.execute(sa.select(orders.c.status)).scalar_one() == "S1"  # rolled back together
        assert connection.execute(sa.select(sa.func.count()).select_from(fills)).scalar_one() == 0
    with journal.engine.begin() as connection:
        connection.execute(events.delete().where(events.c.sequence == 3))
    journal.flush()
    assert projector.applied == [1, 2, 3]
    with journal.engine.connect() as connection:
        assert connection.execute(sa.select(orders.c.status)).scalar_one() == "S3"
        assert connection.execute(sa.select(fills.c.fill_id)).scalars().all() == ["f-3"]
    journal.close()
