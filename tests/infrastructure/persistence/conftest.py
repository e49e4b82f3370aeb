"""Shared fixtures: every journal test runs on SQLite (a temp file) and on PostgreSQL (a fresh database).

PostgreSQL comes from TK_PG_URL (default: trust auth on 127.0.0.1:5432); each test gets its own
database, dropped afterwards. An unreachable server skips the PostgreSQL cases locally, but fails
them when CI is set: CI must exercise the production database.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from domain.fill import Fill
from domain.identifiers import ClientOrderId, FillId, VenueOrderId
from domain.instrument import InstrumentId
from domain.order_terms import LiquiditySide, OrderSide
from domain.orders.order_events import OrderAccepted, OrderFilled, OrderSubmitted

BTC = InstrumentId("COINBASE", "BTC-USD")


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """The URL of a fresh SQLite file (for SQLite-only features: backup and restore)."""
    return f"sqlite:///{tmp_path / 'journal.db'}"


def order_event(i: int) -> object:
    """A realistic order event, varied by `i`: submitted, accepted, filled in turn."""
    order = ClientOrderId(i // 3 + 1)
    ts_ns = 1_700_000_000_000_000_000 + i
    kind = i % 3
    if kind == 0:
        return OrderSubmitted(order, ts_ns)
    if kind == 1:
        return OrderAccepted(order, ts_ns, VenueOrderId(f"v-{i}"))
    fill = Fill(
        FillId(f"f-{i}"),
        order,
        BTC,
        OrderSide.BUY,
        Decimal("50000.10"),
        Decimal("0.0100"),
        Decimal("0.25"),
        "USD",
        LiquiditySide.MAKER,
        ts_ns,
    )
    return OrderFilled.from_fill(fill)
