"""The simulated venue as a durable exchange: its own SQLite store survives our process."""

from __future__ import annotations

import sqlite3
import time
from decimal import Decimal
from pathlib import Path

import pytest

from application.ports.clock import SimulatedClock
from application.ports.venue_gateway import (
    VENUE_CANCELED,
    VENUE_FILLED,
    VENUE_OPEN,
    VENUE_REJECTED,
    VenueReport,
)
from domain.identifiers import ClientOrderId, VenueOrderId
from domain.market_data import OrderBookUpdate
from domain.orders import OrderAccepted, OrderCanceled, OrderFilled, OrderRejected
from infrastructure.venues.simulated import (
    DUPLICATE_CLIENT_ORDER_ID,
    SimulatedVenue,
    SimulatedVenueConfig,
    SimulatedVenueStore,
)
from tests.infrastructure.simulated import BTC, BUY, INSTRUMENTS, SELL, d, levels, make_order

CONFIG = SimulatedVenueConfig(maker_fee_bps="2", taker_fee_bps="10", starting_balances={"USD": "10000"})


class Exchange:
    """A durable simulated venue on a store file; `restart()` builds a new venue on the same file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.clock = SimulatedClock(1_000)
        self.reports: list[VenueReport] = []
        self.store = SimulatedVenueStore(path)
        self.venue = SimulatedVenue(self.clock, self.reports.append, INSTRUMENTS, CONFIG, store=self.store)

    def restart(self) -> None:
        self.store.close()
        self.store = SimulatedVenueStore(self.path)
        self.venue = SimulatedVenue(self.clock, self.reports.append, INSTRUMENTS, CONFIG, store=self.store)

    def book(self, bids: list[tuple[str, str]], asks: list[tuple[str, str]]) -> None:
        now = self.clock.now_ns()
        self.venue.on_book_update(OrderBookUpdate(BTC, True, levels(bids), levels(asks), now))
        self.venue.advance(now)

    def step(self) -> None:
        self.clock.advance_to(self.clock.now_ns() + 1)
        self.venue.advance(self.clock.now_ns())


def test_restart_keeps_orders_fills_balances_positions_and_counters(tmp_path: Path) -> None:
    ex = Exchange(tmp_path / "venue.db")
    ex.book(bids=[("99", "5")], asks=[("100", "1"), ("101", "5")])
    ex.venue.submit(make_order(1, BUY, "1.5"))  # market: fills 1 @ 100 and 0.5 @ 101
    ex.venue.submit(make_order(2, BUY, "1", "90"))  # rests
    ex.venue.submit(make_order(3, SELL, "1", "200"))  # rests, canceled below
    ex.step()
    ex.venue.cancel(ClientOrderId(3))
    ex.step()
    before = (
        ex.venue.balances(),
        ex.venue.positions(),
        list(ex.venue.fills_since(0)),
        list(ex.venue.open_orders()),
        [ex.venue.order_status(ClientOrderId(n)) for n in (1, 2, 3)],
    )
    assert before[1] == {BTC: d("1.5")}

    ex.restart()

    after = (
        ex.venue.balances(),
        ex.venue.positions(),
        list(ex.venue.fills_since(0)),
        list(ex.venue.open_orders()),
        [ex.venue.order_status(ClientOrderId(n)) for n in (1, 2, 3)],
    )
    assert after == before
    statuses = [status.status for status in after[4] if status is not None]
    assert statuses == [VENUE_FILLED, VENUE_OPEN, VENUE_CANCELED]
    # the counters continue: the next order and fill get fresh ids
    ex.book(bids=[("99", "5")], asks=[("101", "5")])
    ex.venue.submit(make_order(4, BUY, "1"))
    ex.step()
    accepted = [
        r for r in ex.reports if isinstance(r, OrderAccepted) and r.client_order_id == ClientOrderId(4)
    ]
    assert accepted[0].venue_order_id == VenueOrderId("SIM-4")
    assert ex.venue.fills_since(0)[-1].fill_id.value == "SIM-F-3"


def test_a_restored_resting_order_still_works_and_can_be_canceled(tmp_path: Path) -> None:
    ex = Exchange(tmp_path / "venue.db")
    ex.book(bids=[("99", "5")], asks=[("101", "5")])
    ex.venue.submit(make_order(1, BUY, "1", "100"))
    ex.step()
    ex.restart()
    ex.book(bids=[("99", "5")], asks=[("99.5", "5")])  # the ask moves through our bid: we fill as maker
    fills = [r for r in ex.reports if isinstance(r, OrderFilled)]
    assert [(f.fill.price, f.fill.quantity) for f in fills] == [(d("100"), d("1"))]
    assert ex.venue.order_status(ClientOrderId(1)) is not None
    ex.venue.submit(make_order(2, BUY, "1", "90"))
    ex.step()
    venue_id = ex.venue.order_status(ClientOrderId(2))
    assert venue_id is not None
    assert venue_id.venue_order_id is not None
    ex.restart()
    ex.venue.cancel_venue_order(venue_id.venue_order_id)
    ex.step()
    assert isinstance(ex.reports[-1], OrderCanceled)
    assert ex.venue.open_orders() == []


def test_a_client_order_id_is_refused_forever_even_across_restarts(tmp_path: Path) -> None:
    ex = Exchange(tmp_path / "venue.db")
    ex.book(bids=[("99", "5")], asks=[("101", "5")])
    ex.venue.submit(make_order(1, BUY, "1", "90"))
    ex.venue.submit(make_order(2, BUY, "1", "90.001"))  # off the price grid: rejected
    ex.step()
    ex.restart()
    ex.venue.submit(make_order(1, BUY, "1", "90"))
    ex.venue.submit(make_order(2, BUY, "1", "90"))
    ex.step()
    rejections = [r for r in ex.reports if isinstance(r, OrderRejected)]
    assert [r.reason for r in rejections[-2:]] == [DUPLICATE_CLIENT_ORDER_ID, DUPLICATE_CLIENT_ORDER_ID]
    assert ex.venue.submission_count(ClientOrderId(1)) == 2
    assert ex.venue.submission_count(ClientOrderId(3)) == 0
    status = ex.venue.order_status(ClientOrderId(2))
    assert status is not None
    assert status.status == VENUE_REJECTED
    assert status.venue_order_id is None
    assert ex.venue.order_status(ClientOrderId(3)) is None
    assert [cid for cid, _ in ex.store.submissions()] == [ClientOrderId(n).value for n in (1, 2, 1, 2)]
    with pytest.raises(sqlite3.DatabaseError):  # the submissions log is insert-only
        ex.store._db.execute("DELETE FROM submissions")


def test_the_store_is_committed_before_the_report_is_delivered(tmp_path: Path) -> None:
    path = tmp_path / "venue.db"
    seen: list[tuple[str, ClientOrderId]] = []

    def reading_sink(report: VenueReport) -> None:
        reader = sqlite3.connect(str(path))
        try:
            orders = dict(reader.execute("SELECT client_order_id, data FROM orders").fetchall())
            fills = {row[0] for row in reader.execute("SELECT fill_id FROM fills")}
            positions = dict(reader.execute("SELECT instrument_id, size FROM positions").fetchall())
        finally:
            reader.close()
        assert report.client_order_id.value in orders
        if isinstance(report, OrderFilled):
            assert report.fill.fill_id.value in fills
            assert str(BTC) in positions
        seen.append((type(report).__name__, report.client_order_id))

    clock = SimulatedClock(1_000)
    config = SimulatedVenueConfig(report_latency_ns=0, starting_balances={"USD": "10000"})
    venue = SimulatedVenue(clock, reading_sink, INSTRUMENTS, config, store=SimulatedVenueStore(path))
    venue.on_book_update(OrderBookUpdate(BTC, True, levels([("99", "1")]), levels([("100", "2")]), 1_000))
    venue.submit(make_order(1, BUY, "1"))
    venue.advance(1_000)
    assert seen == [("OrderAccepted", ClientOrderId(1)), ("OrderFilled", ClientOrderId(1))]


def test_without_a_store_nothing_is_written_and_snapshots_carry_submissions(tmp_path: Path) -> None:
    clock = SimulatedClock(0)
    venue = SimulatedVenue(clock, lambda report: None, INSTRUMENTS, CONFIG)
    venue.submit(make_order(1, BUY, "1", "90"))
    venue.advance(0)
    assert venue.submission_count(ClientOrderId(1)) == 1
    copy = SimulatedVenue(clock, lambda report: None, INSTRUMENTS, CONFIG)
    copy.restore(venue.snapshot())
    assert copy.snapshot() == venue.snapshot()
    assert copy.submission_count(ClientOrderId(1)) == 1
    assert list(tmp_path.iterdir()) == []


def test_persistence_cost_per_change_is_small(tmp_path: Path) -> None:
    ex = Exchange(tmp_path / "venue.db")
    ex.book(bids=[("99", "1000")], asks=[("100", "1000")])
    writes_before = ex.store.writes
    count = 50
    started = time.perf_counter()
    for number in range(1, count + 1):
        ex.venue.submit(make_order(number, BUY, "0.01"))
        ex.step()
    per_change = (time.perf_counter() - started) / count
    assert ex.store.writes - writes_before >= count  # at least one committed write per order
    assert ex.venue.positions() == {BTC: Decimal("0.50")}
    assert per_change < 0.05, f"{per_change * 1e3:.2f} ms per persisted order"
