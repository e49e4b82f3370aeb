"""Property tests: random event sequences (duplicates, out-of-order fills, cancels racing fills, illegal
events) never break the order's invariants, and every status reached is one the table allows."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from domain.fill import Fill
from domain.identifiers import ClientOrderId, FillId, StrategyId, VenueOrderId
from domain.instrument import InstrumentId
from domain.order_terms import OrderSide, OrderType
from domain.orders import (
    FINAL_FILL,
    PARTIAL_FILL,
    RESTORE,
    RESTORE_STATES,
    TRANSITIONS,
    EventKey,
    InvalidOrderTransition,
    Order,
    OrderAccepted,
    OrderCanceled,
    OrderCancelRejected,
    OrderCancelRequested,
    OrderDenied,
    OrderEvent,
    OrderExpired,
    OrderFilled,
    OrderRejected,
    OrderStatus,
    OrderSubmitted,
    OrderTriggered,
    UpdateOutcome,
    reachable_states,
)
from domain.signals import OrderIntent

BTC = InstrumentId("COINBASE", "BTC-USD")
OID = ClientOrderId(99)
VENUE_ID = VenueOrderId("v-99")
LOT = Decimal("0.001")
TICK = Decimal("0.01")
REACHABLE = reachable_states()
# Statuses an order with something filled can be in: a fill always leaves one of these.
FILLED_SOMETHING = {
    OrderStatus.PARTIALLY_FILLED,
    OrderStatus.PENDING_CANCEL,
    OrderStatus.FILLED,
    OrderStatus.CANCELED,
    OrderStatus.EXPIRED,
}
# Events that end an order are drawn less often than those that keep it working, so that sequences
# go deep (cancels racing fills) before they end; repeats in this tuple are the weights.
STATUS_EVENTS = (
    *("submit", "deny", "reject", "canceled", "expired"),
    *("accept", "trigger", "cancel_request", "cancel_reject") * 3,
)


def new_order(quantity: Decimal, order_type: OrderType, side: OrderSide) -> Order:
    trigger = Decimal(90) if order_type is OrderType.STOP_LIMIT else None
    intent = OrderIntent(
        StrategyId("prop"),
        BTC,
        side,
        quantity,
        order_type=order_type,
        price=Decimal(100),
        trigger_price=trigger,
    )
    return Order.from_intent(intent, OID, ts_ns=0)


def status_event(kind: str, ts_ns: int) -> OrderEvent:
    events: dict[str, OrderEvent] = {
        "submit": OrderSubmitted(OID, ts_ns),
        "deny": OrderDenied(OID, ts_ns, "risk"),
        "accept": OrderAccepted(OID, ts_ns, VENUE_ID),
        "reject": OrderRejected(OID, ts_ns, "venue"),
        "trigger": OrderTriggered(OID, ts_ns),
        "cancel_request": OrderCancelRequested(OID, ts_ns),
        "cancel_reject": OrderCancelRejected(OID, ts_ns, "too late"),
        "canceled": OrderCanceled(OID, ts_ns),
        "expired": OrderExpired(OID, ts_ns),
    }
    return events[kind]


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[Order, list[OrderEvent]]:
    """An order and a random event sequence drawing on a pool of fills that exactly fill it, plus extras."""
    order_type = draw(st.sampled_from([OrderType.LIMIT, OrderType.STOP_LIMIT]))
    side = draw(st.sampled_from(OrderSide))
    parts = draw(st.lists(st.integers(1, 5_000), min_size=1, max_size=5))
    extras = draw(st.lists(st.integers(1, 5_000), max_size=3))  # fills that may overfill
    quantity = sum(parts) * LOT
    pool = [
        Fill(
            FillId(f"f{index}"),
            OID,
            BTC,
            side,
            draw(st.integers(1, 10_000_000)) * TICK,
            lots * LOT,
            fee=draw(st.integers(-100, 1_000)) * TICK,
            fee_currency=draw(st.sampled_from(["USD", "BTC"])),
            venue_order_id=draw(st.sampled_from([None, VENUE_ID])),
        )
        for index, lots in enumerate(parts + extras)
    ]
    # A step is a status event or a fill from the pool (repeats are duplicates), equally often.
    step = st.one_of(st.sampled_from(STATUS_EVENTS), st.integers(0, len(pool) - 1))
    prefix = draw(st.sampled_from([[], ["submit"], ["submit", "accept"]]))
    steps: list[str | int] = [*prefix, *draw(st.lists(step, min_size=10, max_size=50))]
    events = [
        OrderFilled.from_fill(pool[s], ts_ns=t) if isinstance(s, int) else status_event(s, t)
        for t, s in enumerate(steps, start=1)
    ]
    return new_order(quantity, order_type, side), events


def snapshot(order: Order) -> tuple[Any, ...]:
    return (
        order.status,
        order.filled_quantity,
        order.filled_notional,
        order.fees,
        order.fill_ids,
        order.events,
        order.venue_order_id,
    )


def possible_statuses(state: OrderStatus, key: EventKey) -> set[OrderStatus]:
    target = TRANSITIONS[(state, key)]
    return set(RESTORE_STATES) if target is RESTORE else {target}


def check_invariants(order: Order, applied: dict[FillId, Fill]) -> None:
    fills = list(applied.values())
    assert order.status in REACHABLE
    assert 0 <= order.filled_quantity <= order.quantity
    assert order.leaves_quantity == order.quantity - order.filled_quantity
    assert order.filled_quantity == sum((f.quantity for f in fills), Decimal(0))
    assert order.filled_notional == sum((f.price * f.quantity for f in fills), Decimal(0))
    assert order.fill_ids == tuple(applied)
    for currency in {f.fee_currency for f in fills}:
        assert order.fees[currency] == sum((f.fee for f in fills if f.fee_currency == currency), Decimal(0))
    assert set(order.fees) == {f.fee_currency for f in fills}
    assert (order.status is OrderStatus.FILLED) == (order.leaves_quantity == 0)
    if fills:
        average = order.average_fill_price
        assert average is not None
        assert min(f.price for f in fills) <= average <= max(f.price for f in fills)
        assert order.status in FILLED_SOMETHING
    else:
        assert order.average_fill_price is None
    if order.status is OrderStatus.PARTIALLY_FILLED:
        assert 0 < order.filled_quantity < order.quantity
    assert order.is_open == order.status.is_open
    assert order.is_terminal == order.status.is_terminal


@given(scenarios())
def test_random_event_sequences_keep_every_invariant(scenario: tuple[Order, list[OrderEvent]]) -> None:
    order, events = scenario
    applied: dict[FillId, Fill] = {}
    accepted = triggered = False  # the model's own record of the once-only facts
    for event in events:
        before = snapshot(order)
        state = order.status
        if isinstance(event, OrderFilled):
            fill = event.fill
            new_filled = order.filled_quantity + fill.quantity
            key: EventKey = FINAL_FILL if new_filled == order.quantity else PARTIAL_FILL
            if fill.fill_id in applied:
                expected = UpdateOutcome.DUPLICATE_FILL_IGNORED
            elif new_filled > order.quantity:
                expected = UpdateOutcome.OVERFILL_REFUSED
            else:
                expected = UpdateOutcome.APPLIED
            legal = expected is not UpdateOutcome.APPLIED or (state, key) in TRANSITIONS
        else:
            key = type(event)
            expected = UpdateOutcome.APPLIED
            legal = (state, key) in TRANSITIONS
            if isinstance(event, OrderAccepted):
                legal = legal and not accepted
            if isinstance(event, OrderTriggered):
                legal = legal and not triggered and order.order_type is OrderType.STOP_LIMIT
            if isinstance(event, OrderRejected):
                legal = legal and order.filled_quantity == 0
        refusal: InvalidOrderTransition | None = None
        try:
            update = order.apply(event)
        except InvalidOrderTransition as error:
            refusal = error
        if refusal is not None:
            assert not legal, (state, event)
            assert (refusal.client_order_id, refusal.state) == (OID, state)
            assert snapshot(order) == before  # an illegal event changes nothing
            check_invariants(order, applied)
            continue
        assert legal, (state, event)
        assert update.outcome is expected
        assert update.previous_status is state
        assert update.status is order.status
        if update.applied:
            assert order.status in possible_statuses(state, key)
            assert order.events[-1] is event
            if isinstance(event, OrderFilled):
                applied[event.fill.fill_id] = event.fill
            accepted = accepted or isinstance(event, OrderAccepted)
            triggered = triggered or isinstance(event, OrderTriggered)
        else:
            assert snapshot(order) == before  # ignored or refused: reported, and nothing changed
        check_invariants(order, applied)

    # The applied events are the order's history: replaying them rebuilds the same order.
    replayed = new_order(order.quantity, order.order_type, order.side)
    assert all(replayed.apply(event).applied for event in order.events)
    assert snapshot(replayed) == snapshot(order)


@given(
    st.lists(st.tuples(st.integers(1, 1_000), st.integers(1, 10_000_000)), min_size=1, max_size=8),
    st.randoms(use_true_random=False),
    st.integers(0, 7),
)
def test_fills_in_any_order_with_a_racing_cancel_give_the_same_exact_result(
    lots_and_ticks: list[tuple[int, int]], random: Any, cancel_at: int
) -> None:
    quantity = sum(lots for lots, _ticks in lots_and_ticks) * LOT
    fills = [
        OrderFilled.from_fill(Fill(FillId(f"f{i}"), OID, BTC, OrderSide.SELL, ticks * TICK, lots * LOT))
        for i, (lots, ticks) in enumerate(lots_and_ticks)
    ]
    shuffled = list(fills)
    random.shuffle(shuffled)
    results = []
    for sequence in (fills, shuffled):
        order = new_order(quantity, OrderType.LIMIT, OrderSide.SELL)
        order.apply(OrderSubmitted(OID, 1))
        order.apply(OrderAccepted(OID, 2, VENUE_ID))
        events: list[OrderEvent] = list(sequence)
        # Before the last fill at the latest: a cancel request on a FILLED order is illegal.
        events.insert(cancel_at % len(fills), OrderCancelRequested(OID, 3))
        updates = [order.apply(event) for event in events]
        assert all(update.applied for update in updates)
        assert order.status is OrderStatus.FILLED  # every fill counts, whatever the cancel did
        results.append((order.filled_quantity, order.filled_notional, order.average_fill_price))
    assert results[0] == results[1]
    assert results[0][1] == sum((f.fill.notional for f in fills), Decimal(0))
