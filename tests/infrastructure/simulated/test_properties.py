"""Properties of the simulated venue over random sessions of book updates, trades, orders and cancels.

A small kernel model applies every report to the domain `Order` aggregate, so each order's report
sequence must be legal in the transition table, never overfill and never repeat a fill.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from application.ports.clock import SimulatedClock
from application.ports.venue_gateway import VenueReport
from domain.identifiers import ClientOrderId
from domain.market_data import OrderBookUpdate, TradeTick
from domain.numbers import BPS, exact
from domain.order_terms import LiquiditySide, OrderSide, OrderType, TimeInForce
from domain.orders import (
    OrderAccepted,
    OrderCanceled,
    OrderCancelRejected,
    OrderCancelRequested,
    OrderExpired,
    OrderFilled,
    OrderSubmitted,
)
from domain.orders.order import Order
from domain.orders.order_status import OrderStatus
from infrastructure.venues.simulated import SimulatedVenue, SimulatedVenueConfig
from tests.infrastructure.simulated import BTC, ETH, INSTRUMENTS, make_order

TICK = Decimal("0.01")
UNIT = Decimal("0.5")

_level = st.tuples(st.integers(9_985, 10_015), st.integers(0, 6))
_side = st.sampled_from([OrderSide.BUY, OrderSide.SELL])
_instrument = st.sampled_from([BTC, BTC, BTC, ETH])
_tick = st.integers(9_985, 10_015)
_units = st.integers(1, 8)
_market_submit = st.tuples(
    st.just("submit"),
    _instrument,
    _side,
    st.just(OrderType.MARKET),
    st.sampled_from([TimeInForce.IOC, TimeInForce.FOK] * 5 + [TimeInForce.GTC]),  # rarely refused
    _tick,
    _units,
    st.sampled_from([False] * 9 + [True]),
    st.integers(1, 200),
)
_limit_submit = st.tuples(
    st.just("submit"),
    _instrument,
    _side,
    st.just(OrderType.LIMIT),
    st.sampled_from([TimeInForce.GTC] * 3 + [TimeInForce.GTD] * 2 + [TimeInForce.IOC, TimeInForce.FOK]),
    st.integers(-6, 15),  # ticks away from 100, passive side positive: mostly resting
    _units,
    st.sampled_from([False] * 3 + [True]),
    st.integers(1, 400),
)
_book = st.tuples(
    st.just("book"), _instrument, st.booleans(), st.lists(_level, max_size=4), st.lists(_level, max_size=4)
)
_trade = st.tuples(
    st.just("trade"), _instrument, _tick, _units, st.sampled_from([OrderSide.BUY, OrderSide.SELL, None])
)
_cancel = st.tuples(st.just("cancel"), st.integers(0, 60))
_cancel_all = st.tuples(st.just("cancel_all"), st.sampled_from([None, BTC]))
# Weighted: trades and resting orders often, cancel-all rarely (or nothing would rest for long).
_ops = st.sampled_from(
    [_book] * 20
    + [_trade] * 35
    + [_market_submit] * 8
    + [_limit_submit] * 25
    + [_cancel] * 10
    + [_cancel_all] * 2
).flatmap(lambda strategy: strategy)
_steps = st.lists(st.tuples(st.integers(0, 40), _ops), min_size=5, max_size=60)
_configs = st.builds(
    SimulatedVenueConfig,
    maker_fee_bps=st.sampled_from(["-1.5", "0", "2", "2.5"]),
    taker_fee_bps=st.sampled_from(["0", "5", "7.25"]),
    latency_ns=st.sampled_from([0, 10, 35]),
    report_latency_ns=st.sampled_from([0, 20]),
    latency_jitter_ns=st.sampled_from([0, 15]),
    seed=st.integers(0, 3),
    starting_balances=st.just({"USD": "5000", "BTC": "1"}),
)


class Session:
    """The venue, its clock, and a kernel model that applies each report to its domain order."""

    def __init__(self, config: SimulatedVenueConfig) -> None:
        self.config = config
        self.clock = SimulatedClock(0)
        self.venue = SimulatedVenue(self.clock, self.sink, INSTRUMENTS, config)
        self.reports: list[VenueReport] = []
        self.orders: dict[ClientOrderId, Order] = {}

    def sink(self, report: VenueReport) -> None:
        self.reports.append(report)
        order = self.orders.get(report.client_order_id)
        assert order is not None, f"report for an unknown order: {report}"
        if order.status is OrderStatus.REJECTED and isinstance(report, OrderCancelRejected):
            return  # "unknown order" for a cancel crossing the order's rejection: the kernel ignores it
        update = order.apply(report)
        assert update.applied, update.message

    def step(self, dt: int, op: tuple[Any, ...]) -> None:
        now = self.clock.now_ns() + dt
        self.clock.advance_to(now)
        self.venue.advance(now)
        kind = op[0]
        if kind == "book":
            _, instrument, snapshot, bids, asks = op
            self.venue.on_book_update(
                OrderBookUpdate(instrument, snapshot, _levels(bids), _levels(asks), now)
            )
        elif kind == "trade":
            _, instrument, tick, units, aggressor = op
            self.venue.on_trade(TradeTick(instrument, f"t{now}", tick * TICK, units * UNIT, aggressor, now))
        elif kind == "submit":
            _, instrument, side, order_type, tif, offset, units, post_only, expiry = op
            tick = 10_000 - offset if side is OrderSide.BUY else 10_000 + offset
            order = make_order(
                len(self.orders) + 1,
                side,
                units * UNIT,
                tick * TICK if order_type is OrderType.LIMIT else None,
                tif=tif,
                order_type=order_type,
                post_only=post_only,
                expire_at_ns=now + expiry if tif is TimeInForce.GTD else None,
                instrument_id=instrument,
                ts_ns=now,
            )
            self.orders[order.client_order_id] = order
            order.apply(OrderSubmitted(order.client_order_id, now))
            self.venue.submit(order)
        elif kind == "cancel":
            if self.orders:
                order = list(self.orders.values())[op[1] % len(self.orders)]
                if order.is_open:
                    order.apply(OrderCancelRequested(order.client_order_id, now))
                    self.venue.cancel(order.client_order_id)
        else:
            self.venue.cancel_all(op[1])
        self.venue.advance(now)

    def drain(self) -> None:
        end = self.clock.now_ns() + 10**6
        self.clock.advance_to(end)
        self.venue.advance(end)

    def snapshot_and_restore(self) -> None:
        """Carry the venue's state over into a brand-new venue, through JSON."""
        data = json.loads(json.dumps(self.venue.snapshot()))
        self.venue = SimulatedVenue(self.clock, self.sink, INSTRUMENTS, self.config)
        self.venue.restore(data)


def _levels(pairs: Sequence[tuple[int, int]]) -> tuple[tuple[Decimal, Decimal], ...]:
    return tuple((tick * TICK, units * UNIT) for tick, units in pairs)


def _run(
    config: SimulatedVenueConfig, steps: list[tuple[int, tuple[Any, ...]]], split: int | None
) -> Session:
    session = Session(config)
    for instrument in (BTC, ETH):  # start from a two-sided book around 100
        bids = [(tick, 4) for tick in range(9_999, 9_989, -2)]
        asks = [(tick, 4) for tick in range(10_001, 10_011, 2)]
        session.step(0, ("book", instrument, True, bids, asks))
    for index, (dt, op) in enumerate(steps):
        if index == split:
            session.snapshot_and_restore()
        session.step(dt, op)
    session.drain()
    return session


@given(config=_configs, steps=_steps, split=st.integers(0, 60))
def test_random_sessions_keep_every_invariant(
    config: SimulatedVenueConfig, steps: list[tuple[int, tuple[Any, ...]]], split: int
) -> None:
    session = _run(config, steps, None)
    with exact():  # every sum and product below is exact, or raises
        _check_invariants(config, session)

    # Determinism, across a snapshot and restore at any point.
    resumed = _run(config, steps, split)
    assert repr(resumed.reports) == repr(session.reports)
    assert resumed.venue.snapshot() == session.venue.snapshot()


def _check_invariants(config: SimulatedVenueConfig, session: Session) -> None:
    venue = session.venue

    # Every order was answered; no order filled beyond its quantity; the venue agrees on what is open.
    fills = [report.fill for report in session.reports if isinstance(report, OrderFilled)]
    for order in session.orders.values():
        assert order.status is not OrderStatus.SUBMITTED
        assert order.status is not OrderStatus.PENDING_CANCEL
        assert order.filled_quantity <= order.quantity
        assert order.filled_quantity == sum(
            (fill.quantity for fill in fills if fill.client_order_id == order.client_order_id), Decimal(0)
        )
    open_at_venue = {status.client_order_id: status for status in venue.open_orders()}
    assert set(open_at_venue) == {order.client_order_id for order in session.orders.values() if order.is_open}
    for client_order_id, status in open_at_venue.items():
        assert client_order_id is not None  # the venue has only orders we placed
        assert status.filled_quantity == session.orders[client_order_id].filled_quantity

    # Prices, liquidity and timing obey each order's terms.
    for order in session.orders.values():
        _check_order_fills(order)

    # The fills the kernel was told of are the venue's fills, in order, with unique ids and exact fees.
    assert venue.fills_since(0) == fills
    assert len({fill.fill_id for fill in fills}) == len(fills)
    assert [fill.ts_ns for fill in fills] == sorted(fill.ts_ns for fill in fills)
    for fill in fills:
        bps = config.maker_fee_bps if fill.liquidity is LiquiditySide.MAKER else config.taker_fee_bps
        assert fill.fee == fill.price * fill.quantity * bps / BPS

    # The ledger conserves exactly: quote + sum(signed qty x price) moves by -fees; base by the position.
    start = config.starting_balance_map()
    balances = venue.balances()
    positions = venue.positions()
    quote_change = balances.get("USD", Decimal(0)) - start.get("USD", Decimal(0))
    assert quote_change + sum((fill.signed_quantity * fill.price for fill in fills), Decimal(0)) == -sum(
        (fill.fee for fill in fills), Decimal(0)
    )
    for instrument in INSTRUMENTS:
        signed = sum((f.signed_quantity for f in fills if f.instrument_id == instrument.id), Decimal(0))
        assert positions.get(instrument.id, Decimal(0)) == signed
        base_change = balances.get(instrument.base, Decimal(0)) - start.get(instrument.base, Decimal(0))
        assert base_change == signed


def _check_order_fills(order: Order) -> None:
    """One order's fills against its terms: limit price, liquidity, time in force, end of life."""
    fills = order.fills
    accepted = [event for event in order.events if isinstance(event, OrderAccepted)]
    ended = [event.ts_ns for event in order.events if isinstance(event, OrderCanceled | OrderExpired)]
    if not fills:
        return
    [ack] = accepted
    for fill in fills:
        if order.price is not None:
            assert fill.price <= order.price if order.side is OrderSide.BUY else fill.price >= order.price
        if fill.liquidity is LiquiditySide.MAKER:
            assert fill.price == order.price
            assert order.time_in_force in (TimeInForce.GTC, TimeInForce.GTD)
        else:
            assert fill.ts_ns == ack.ts_ns  # an order takes only on arrival
            assert not order.post_only
        assert all(fill.ts_ns <= end for end in ended)  # nothing fills once canceled or expired
        if order.expire_at_ns is not None:
            assert fill.ts_ns < order.expire_at_ns
    if order.time_in_force is TimeInForce.FOK:
        assert order.filled_quantity == order.quantity
