"""The order life cycle, as specifications: one behaviour per test, including the real-money rules."""

from __future__ import annotations

from decimal import Decimal

import attrs
import pytest

from domain.errors import DomainError, InvalidValueError
from domain.fill import Fill
from domain.identifiers import ClientOrderId, FillId, StrategyId, VenueOrderId
from domain.instrument import InstrumentId
from domain.order_terms import LiquiditySide, OrderSide, OrderType, TimeInForce
from domain.orders import (
    FillConflictError,
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
    OrderMismatchError,
    OrderRejected,
    OrderStatus,
    OrderSubmitted,
    OrderTriggered,
    OrderUpdate,
    UpdateOutcome,
)
from domain.signals import OrderIntent

BTC = InstrumentId("COINBASE", "BTC-USD")
ETH = InstrumentId("COINBASE", "ETH-USD")
MM = StrategyId("mm")
OID = ClientOrderId(7)
OTHER_OID = ClientOrderId(8)
VENUE_ID = VenueOrderId("venue-1")


def new_order(
    quantity: str = "3",
    *,
    order_type: OrderType = OrderType.LIMIT,
    side: OrderSide = OrderSide.BUY,
    price: str | None = "100",
    trigger_price: str | None = None,
) -> Order:
    intent = OrderIntent(
        MM,
        BTC,
        side,
        quantity,
        order_type=order_type,
        price=price,
        trigger_price=trigger_price,
        time_in_force=TimeInForce.GTC if order_type is not OrderType.MARKET else TimeInForce.IOC,
    )
    return Order.from_intent(intent, OID, ts_ns=1_000)


def filled(
    fill_id: str,
    quantity: str,
    price: str = "100",
    *,
    fee: str = "0",
    fee_currency: str = "USD",
    side: OrderSide = OrderSide.BUY,
    instrument_id: InstrumentId = BTC,
    venue_order_id: VenueOrderId | None = None,
    ts_ns: int = 5_000,
) -> OrderFilled:
    fill = Fill(
        FillId(fill_id),
        OID,
        instrument_id,
        side,
        price,
        quantity,
        fee=fee,
        fee_currency=fee_currency,
        liquidity=LiquiditySide.MAKER,
        ts_ns=ts_ns,
        venue_order_id=venue_order_id,
    )
    return OrderFilled.from_fill(fill)


def submitted() -> OrderSubmitted:
    return OrderSubmitted(OID, 2_000)


def accepted(venue_order_id: VenueOrderId = VENUE_ID) -> OrderAccepted:
    return OrderAccepted(OID, 3_000, venue_order_id)


def cancel_requested() -> OrderCancelRequested:
    return OrderCancelRequested(OID, 4_000)


def cancel_rejected() -> OrderCancelRejected:
    return OrderCancelRejected(OID, 6_000, "too late to cancel")


def canceled() -> OrderCanceled:
    return OrderCanceled(OID, 7_000)


def expired() -> OrderExpired:
    return OrderExpired(OID, 7_000)


def apply_all(order: Order, *events: OrderEvent) -> list[OrderUpdate]:
    return [order.apply(event) for event in events]


def working_order(quantity: str = "3") -> Order:
    order = new_order(quantity)
    apply_all(order, submitted(), accepted())
    return order


# ----- creation -----


def test_an_order_from_an_intent_has_its_terms_and_starts_initialized() -> None:
    intent = OrderIntent(
        MM,
        BTC,
        OrderSide.SELL,
        "1.5",
        price="101.25",
        time_in_force=TimeInForce.GTD,
        post_only=True,
        reduce_only=True,
        expire_at_ns=9_000,
        tag="quote",
    )
    order = Order.from_intent(intent, OID, ts_ns=1_000)
    assert (order.client_order_id, order.strategy_id, order.instrument_id) == (OID, MM, BTC)
    assert (order.side, order.order_type, order.time_in_force) == (
        OrderSide.SELL,
        OrderType.LIMIT,
        TimeInForce.GTD,
    )
    assert (order.quantity, order.price, order.trigger_price) == (Decimal("1.5"), Decimal("101.25"), None)
    assert (order.post_only, order.reduce_only, order.expire_at_ns, order.tag) == (True, True, 9_000, "quote")
    assert order.status is OrderStatus.INITIALIZED
    assert not order.is_open
    assert not order.is_terminal
    assert order.filled_quantity == 0
    assert order.leaves_quantity == Decimal("1.5")
    assert order.filled_notional == 0
    assert order.average_fill_price is None
    assert order.fees == {}
    assert order.fills == ()
    assert order.fill_ids == ()
    assert order.events == ()
    assert order.venue_order_id is None
    assert order.ts_init_ns == order.ts_last_ns == 1_000


def test_a_market_order_has_no_price_and_a_stop_limit_keeps_its_trigger_price() -> None:
    market = new_order(order_type=OrderType.MARKET, price=None)
    assert (market.order_type, market.price, market.time_in_force) == (
        OrderType.MARKET,
        None,
        TimeInForce.IOC,
    )
    stop = new_order(order_type=OrderType.STOP_LIMIT, trigger_price="99")
    assert (stop.price, stop.trigger_price) == (Decimal(100), Decimal(99))


def test_the_terms_of_an_order_cannot_be_changed() -> None:
    order = new_order()
    with pytest.raises(attrs.exceptions.FrozenAttributeError):
        order.quantity = Decimal(5)
    with pytest.raises(attrs.exceptions.FrozenAttributeError):
        order.price = Decimal(1)


@pytest.mark.parametrize("quantity", ["0", "-1"])
def test_an_order_needs_a_positive_quantity(quantity: str) -> None:
    with pytest.raises(InvalidValueError, match="quantity must be positive"):
        Order(
            OID, MM, BTC, OrderSide.BUY, OrderType.LIMIT, Decimal(quantity), Decimal(1),
            TimeInForce.GTC, False, False, None, None, 0,
        )  # fmt: skip


def test_an_order_refuses_a_float_quantity() -> None:
    with pytest.raises(InvalidValueError, match="exact number"):
        Order(
            OID, MM, BTC, OrderSide.BUY, OrderType.LIMIT, 1.5, Decimal(1),  # type: ignore[arg-type]
            TimeInForce.GTC, False, False, None, None, 0,
        )  # fmt: skip


# ----- events -----


@pytest.mark.parametrize("ts_ns", [-1, True, 1.0])
def test_an_event_time_is_non_negative_int_nanoseconds(ts_ns: object) -> None:
    with pytest.raises(InvalidValueError, match="ts_ns"):
        OrderSubmitted(OID, ts_ns)  # type: ignore[arg-type]


def test_an_order_filled_event_must_be_for_the_fill_s_order() -> None:
    fill = filled("f1", "1").fill
    with pytest.raises(InvalidValueError, match="is for order TK00000007, not for TK00000008"):
        OrderFilled(OTHER_OID, 1, fill)


def test_an_order_filled_event_takes_the_fill_s_time_unless_given_one() -> None:
    fill = filled("f1", "1", ts_ns=5_000).fill
    assert OrderFilled.from_fill(fill).ts_ns == 5_000
    assert OrderFilled.from_fill(fill, ts_ns=6_000).ts_ns == 6_000
    assert OrderFilled.from_fill(fill).client_order_id == OID


# ----- the happy paths -----


def test_submit_accept_and_fill_completely_reaches_filled() -> None:
    order = new_order("3")
    updates = apply_all(order, submitted(), accepted(), filled("f1", "1"), filled("f2", "2"))
    assert [(u.previous_status, u.status) for u in updates] == [
        (OrderStatus.INITIALIZED, OrderStatus.SUBMITTED),
        (OrderStatus.SUBMITTED, OrderStatus.ACCEPTED),
        (OrderStatus.ACCEPTED, OrderStatus.PARTIALLY_FILLED),
        (OrderStatus.PARTIALLY_FILLED, OrderStatus.FILLED),
    ]
    assert all(u.applied and u.outcome is UpdateOutcome.APPLIED for u in updates)
    assert order.status is OrderStatus.FILLED
    assert order.is_terminal
    assert not order.is_open
    assert order.leaves_quantity == 0
    assert order.fill_ids == (FillId("f1"), FillId("f2"))


def test_an_applied_update_says_what_changed() -> None:
    order = new_order()
    update = order.apply(submitted())
    assert update == OrderUpdate(
        OID,
        UpdateOutcome.APPLIED,
        submitted(),
        OrderStatus.INITIALIZED,
        OrderStatus.SUBMITTED,
        "order TK00000007: OrderSubmitted applied, INITIALIZED -> SUBMITTED",
    )


def test_the_ack_records_the_venue_order_id() -> None:
    order = working_order()
    assert order.status is OrderStatus.ACCEPTED
    assert order.venue_order_id == VENUE_ID
    assert order.is_open


def test_a_submitted_order_is_open_before_the_ack() -> None:
    order = new_order()
    order.apply(submitted())
    assert order.is_open
    assert not order.is_terminal


def test_a_denied_order_is_terminal_and_was_never_open() -> None:
    order = new_order()
    order.apply(OrderDenied(OID, 1_500, "max position"))
    assert order.status is OrderStatus.DENIED
    assert order.is_terminal
    assert not order.is_open
    with pytest.raises(InvalidOrderTransition):
        order.apply(submitted())


def test_a_rejected_order_is_terminal_and_keeps_the_reason_in_its_events() -> None:
    order = new_order()
    rejection = OrderRejected(OID, 3_000, "post-only would cross")
    apply_all(order, submitted(), rejection)
    assert order.status is OrderStatus.REJECTED
    assert order.is_terminal
    assert order.events[-1] == rejection
    assert rejection.reason == "post-only would cross"


@pytest.mark.parametrize(
    ("end", "status"), [(canceled(), OrderStatus.CANCELED), (expired(), OrderStatus.EXPIRED)]
)
def test_an_unfilled_order_can_be_canceled_or_expired_by_the_venue(
    end: OrderEvent, status: OrderStatus
) -> None:
    order = working_order()
    order.apply(end)
    assert order.status is status
    assert order.is_terminal
    assert not order.is_open
    assert order.leaves_quantity == 3


def test_an_ioc_remainder_canceled_before_the_ack_is_canceled() -> None:
    order = new_order()
    apply_all(order, submitted(), filled("f1", "1"), canceled())
    assert order.status is OrderStatus.CANCELED
    assert order.filled_quantity == 1


def test_a_stop_limit_is_triggered_then_filled() -> None:
    order = new_order(order_type=OrderType.STOP_LIMIT, trigger_price="99")
    apply_all(order, submitted(), accepted(), OrderTriggered(OID, 3_500))
    assert order.status is OrderStatus.TRIGGERED
    assert order.is_open
    assert order.apply(filled("f1", "3")).status is OrderStatus.FILLED


def test_a_limit_order_cannot_be_triggered() -> None:
    order = working_order()
    with pytest.raises(InvalidOrderTransition, match="a LIMIT order has no trigger"):
        order.apply(OrderTriggered(OID, 3_500))
    assert order.status is OrderStatus.ACCEPTED


def test_a_stop_limit_is_triggered_only_once() -> None:
    order = new_order(order_type=OrderType.STOP_LIMIT, trigger_price="99")
    apply_all(order, submitted(), accepted(), cancel_requested(), OrderTriggered(OID, 3_500))
    assert order.status is OrderStatus.PENDING_CANCEL
    with pytest.raises(InvalidOrderTransition, match="already triggered"):
        order.apply(OrderTriggered(OID, 3_600))


def test_an_order_is_accepted_only_once() -> None:
    order = working_order()
    order.apply(cancel_requested())
    with pytest.raises(InvalidOrderTransition, match=r"OrderAccepted is not allowed .*already accepted"):
        order.apply(accepted())
    assert order.status is OrderStatus.PENDING_CANCEL


# ----- exact quantities and prices -----


def test_partial_fills_accumulate_filled_and_leaves_exactly() -> None:
    order = working_order("1")
    apply_all(order, filled("f1", "0.1"), filled("f2", "0.2"))
    assert order.filled_quantity == Decimal("0.3")
    assert order.leaves_quantity == Decimal("0.7")
    assert order.status is OrderStatus.PARTIALLY_FILLED
    assert order.apply(filled("f3", "0.7")).status is OrderStatus.FILLED
    assert order.leaves_quantity == 0


def test_average_fill_price_is_none_before_any_fill() -> None:
    order = working_order()
    assert order.average_fill_price is None


def test_average_fill_price_is_the_quantity_weighted_mean() -> None:
    order = working_order()
    apply_all(order, filled("f1", "1", "100.1"), filled("f2", "2", "100.4"))
    assert order.filled_notional == Decimal("300.9")
    assert order.average_fill_price == Decimal("100.3")


def test_a_repeating_average_is_rounded_at_40_digits_while_the_exact_pair_is_kept() -> None:
    order = working_order()
    apply_all(order, filled("f1", "1", "1"), filled("f2", "2", "2"))
    assert order.filled_notional == Decimal(5)
    assert order.filled_quantity == Decimal(3)
    assert order.average_fill_price == Decimal("1." + "6" * 38 + "7")


def test_notional_is_exact_beyond_the_default_decimal_precision() -> None:
    # 20 significant digits times 20 is 40 digits: the default context (28 digits) would round it.
    price, quantity = "12345678901.234567891", "1.2345678901234567891"
    order = working_order("10")
    order.apply(filled("f1", quantity, price))
    exact = Decimal(f"{12345678901234567891 * 12345678901234567891}E-28")  # the constructor never rounds
    assert order.filled_notional == exact
    assert str(order.filled_notional) == str(exact)
    assert order.filled_quantity == Decimal(quantity)
    assert order.leaves_quantity == Decimal("8.7654321098765432109")


def test_fees_are_summed_exactly_per_currency_with_rebates_negative() -> None:
    order = working_order("4")
    apply_all(
        order,
        filled("f1", "1", fee="0.10", fee_currency="USD"),
        filled("f2", "1", fee="-0.02", fee_currency="USD"),
        filled("f3", "1", fee="0.0001", fee_currency="BTC"),
    )
    assert order.fees == {"USD": Decimal("0.08"), "BTC": Decimal("0.0001")}
    order.fees["USD"] = Decimal(0)  # a copy: the caller cannot change the order's fees
    assert order.fees["USD"] == Decimal("0.08")


def test_events_lists_only_applied_events_in_order_and_ts_last_follows_them() -> None:
    order = working_order()
    fill = filled("f1", "1", ts_ns=5_000)
    apply_all(order, fill, fill, filled("f2", "9"))
    assert order.events == (submitted(), accepted(), fill)
    assert order.ts_last_ns == 5_000
    assert order.fills == (fill.fill,)


# ----- real-money rules: fills racing acks and cancels -----


def test_a_fill_before_the_ack_is_applied() -> None:
    order = new_order()
    apply_all(order, submitted(), filled("f1", "1"))
    assert order.status is OrderStatus.PARTIALLY_FILLED
    assert order.filled_quantity == 1


def test_a_late_ack_after_a_partial_fill_keeps_partially_filled_and_records_the_venue_id() -> None:
    order = new_order()
    apply_all(order, submitted(), filled("f1", "1"), accepted())
    assert order.status is OrderStatus.PARTIALLY_FILLED
    assert order.venue_order_id == VENUE_ID


def test_a_late_ack_after_the_order_filled_keeps_filled() -> None:
    order = new_order()
    apply_all(order, submitted(), filled("f1", "3"), accepted())
    assert order.status is OrderStatus.FILLED
    assert order.venue_order_id == VENUE_ID


def test_a_fill_that_beats_the_ack_gives_the_venue_order_id() -> None:
    order = new_order()
    apply_all(order, submitted(), filled("f1", "1", venue_order_id=VENUE_ID))
    assert order.venue_order_id == VENUE_ID
    with pytest.raises(OrderMismatchError, match="its fills came with venue order id venue-1"):
        order.apply(accepted(VenueOrderId("venue-2")))
    order.apply(accepted(VENUE_ID))
    assert order.status is OrderStatus.PARTIALLY_FILLED


def test_fill_after_cancel_request_is_still_applied() -> None:
    order = working_order()
    apply_all(order, cancel_requested(), filled("f1", "1"))
    assert order.status is OrderStatus.PENDING_CANCEL
    assert order.filled_quantity == 1
    assert order.leaves_quantity == 2


def test_a_fill_completing_the_order_during_a_pending_cancel_makes_it_filled() -> None:
    order = working_order()
    apply_all(order, cancel_requested(), filled("f1", "1"), filled("f2", "2"))
    assert order.status is OrderStatus.FILLED


def test_a_cancel_rejected_after_the_fills_won_the_race_keeps_filled() -> None:
    order = working_order()
    apply_all(order, cancel_requested(), filled("f1", "3"), cancel_rejected())
    assert order.status is OrderStatus.FILLED
    assert order.events[-1] == cancel_rejected()


def test_a_fill_after_canceled_is_applied_and_the_order_stays_canceled() -> None:
    order = working_order()
    apply_all(order, cancel_requested(), canceled(), filled("f1", "1"))
    assert order.status is OrderStatus.CANCELED
    assert order.filled_quantity == 1
    assert order.filled_notional == 100
    assert order.is_terminal


def test_a_fill_after_canceled_that_completes_the_quantity_makes_it_filled() -> None:
    order = working_order()
    apply_all(order, filled("f1", "1"), cancel_requested(), canceled(), filled("f2", "2"))
    assert order.status is OrderStatus.FILLED
    assert order.leaves_quantity == 0


def test_a_fill_after_expired_is_applied() -> None:
    order = working_order()
    apply_all(order, expired(), filled("f1", "1"))
    assert order.status is OrderStatus.EXPIRED
    assert order.filled_quantity == 1
    assert order.apply(filled("f2", "2")).status is OrderStatus.FILLED


def test_a_cancel_that_loses_to_an_expiry_or_a_retried_cancel_keeps_the_terminal_status() -> None:
    order = working_order()
    apply_all(order, cancel_requested(), expired(), cancel_rejected())
    assert order.status is OrderStatus.EXPIRED
    order = working_order()
    apply_all(order, cancel_requested(), cancel_requested(), canceled(), cancel_rejected())
    assert order.status is OrderStatus.CANCELED


def test_a_cancel_requested_before_the_venue_rejects_the_order_ends_rejected() -> None:
    order = new_order()
    apply_all(order, submitted(), cancel_requested(), OrderRejected(OID, 3_000, "insufficient funds"))
    assert order.status is OrderStatus.REJECTED


def test_a_stop_limit_refused_by_the_venue_at_its_trigger_is_rejected() -> None:
    order = new_order(order_type=OrderType.STOP_LIMIT, trigger_price="99")
    apply_all(
        order, submitted(), accepted(), OrderTriggered(OID, 3_500), OrderRejected(OID, 3_600, "would cross")
    )
    assert order.status is OrderStatus.REJECTED


def test_an_order_with_fills_cannot_be_rejected_even_while_a_cancel_is_pending() -> None:
    order = new_order()
    apply_all(order, submitted(), cancel_requested(), filled("f1", "1"))
    with pytest.raises(InvalidOrderTransition, match=r"in state PENDING_CANCEL \(the order has fills\)$"):
        order.apply(OrderRejected(OID, 5_500, "late"))
    assert order.status is OrderStatus.PENDING_CANCEL
    assert order.filled_quantity == 1


# ----- a rejected cancel restores the open status -----


def test_a_rejected_cancel_returns_an_accepted_order_to_accepted() -> None:
    order = working_order()
    apply_all(order, cancel_requested(), cancel_rejected())
    assert order.status is OrderStatus.ACCEPTED


def test_a_rejected_cancel_returns_a_partially_filled_order_to_partially_filled() -> None:
    order = working_order()
    apply_all(order, filled("f1", "1"), cancel_requested(), cancel_rejected())
    assert order.status is OrderStatus.PARTIALLY_FILLED


def test_a_rejected_cancel_returns_an_unacknowledged_order_to_submitted() -> None:
    order = new_order()
    apply_all(order, submitted(), cancel_requested(), cancel_rejected())
    assert order.status is OrderStatus.SUBMITTED


def test_a_rejected_cancel_returns_a_triggered_stop_limit_to_triggered() -> None:
    order = new_order(order_type=OrderType.STOP_LIMIT, trigger_price="99")
    apply_all(
        order, submitted(), accepted(), OrderTriggered(OID, 3_500), cancel_requested(), cancel_rejected()
    )
    assert order.status is OrderStatus.TRIGGERED


def test_a_rejected_cancel_remembers_a_fill_that_arrived_while_it_was_pending() -> None:
    order = working_order()
    apply_all(order, cancel_requested(), filled("f1", "1"), cancel_rejected())
    assert order.status is OrderStatus.PARTIALLY_FILLED


def test_a_rejected_cancel_remembers_an_ack_that_arrived_while_it_was_pending() -> None:
    order = new_order()
    apply_all(order, submitted(), cancel_requested(), accepted(), cancel_rejected())
    assert order.status is OrderStatus.ACCEPTED
    assert order.venue_order_id == VENUE_ID


def test_a_rejected_cancel_remembers_a_trigger_that_arrived_while_it_was_pending() -> None:
    order = new_order(order_type=OrderType.STOP_LIMIT, trigger_price="99")
    apply_all(
        order, submitted(), accepted(), cancel_requested(), OrderTriggered(OID, 4_500), cancel_rejected()
    )
    assert order.status is OrderStatus.TRIGGERED


# ----- duplicates and overfills are reported, never silent -----


def test_a_duplicate_fill_is_ignored_and_reported() -> None:
    order = working_order()
    fill = filled("f1", "1", fee="0.1")
    order.apply(fill)
    update = order.apply(filled("f1", "1", fee="0.2", ts_ns=9_999))  # same id; fee and time may differ
    assert update.outcome is UpdateOutcome.DUPLICATE_FILL_IGNORED
    assert not update.applied
    assert update.previous_status is update.status is OrderStatus.PARTIALLY_FILLED
    assert update.message == "order TK00000007: fill f1 was already applied; duplicate ignored"
    assert order.filled_quantity == 1
    assert order.fees == {"USD": Decimal("0.1")}
    assert order.events[-1] == fill


def test_a_duplicate_fill_after_the_order_filled_is_ignored_not_an_overfill() -> None:
    order = working_order()
    order.apply(filled("f1", "3"))
    assert order.apply(filled("f1", "3")).outcome is UpdateOutcome.DUPLICATE_FILL_IGNORED


@pytest.mark.parametrize(("quantity", "price"), [("2", "100"), ("1", "101")])
def test_a_fill_id_reported_again_with_other_terms_is_a_conflict(quantity: str, price: str) -> None:
    order = working_order()
    order.apply(filled("f1", "1", "100"))
    with pytest.raises(FillConflictError, match=r"fill f1 was applied as 1 @ 100, now reported as"):
        order.apply(filled("f1", quantity, price))
    assert order.filled_quantity == 1


def test_an_overfill_is_refused_and_reported_and_the_order_is_unchanged() -> None:
    order = working_order()
    order.apply(filled("f1", "2"))
    update = order.apply(filled("f2", "1.5"))
    assert update.outcome is UpdateOutcome.OVERFILL_REFUSED
    assert not update.applied
    assert update.status is OrderStatus.PARTIALLY_FILLED
    assert update.message == (
        "order TK00000007: fill f2 of 1.5 would take the filled quantity from 2 to 3.5, "
        "above the order quantity 3; refused"
    )
    assert (order.filled_quantity, order.filled_notional, order.status) == (
        Decimal(2),
        Decimal(200),
        OrderStatus.PARTIALLY_FILLED,
    )
    assert FillId("f2") not in order.fill_ids
    # The refused fill id was not recorded: a correct report of it later still applies.
    assert order.apply(filled("f2", "1")).status is OrderStatus.FILLED


def test_a_fill_that_exactly_completes_the_quantity_is_not_an_overfill() -> None:
    order = working_order("0.3")
    apply_all(order, filled("f1", "0.1"), filled("f2", "0.2"))
    assert order.status is OrderStatus.FILLED


# ----- events that do not belong to the order -----


def test_an_event_for_another_order_is_refused() -> None:
    order = working_order()
    with pytest.raises(
        OrderMismatchError, match="OrderCanceled for order TK00000008 applied to order TK00000007"
    ):
        order.apply(OrderCanceled(OTHER_OID, 1))
    assert order.status is OrderStatus.ACCEPTED


@pytest.mark.parametrize(
    ("event", "message"),
    [
        (filled("f1", "1", instrument_id=ETH), "is on BTC-USD.COINBASE; fill f1 is on ETH-USD.COINBASE"),
        (filled("f1", "1", side=OrderSide.SELL), "is a BUY; fill f1 is a SELL"),
        (filled("f1", "1", venue_order_id=VenueOrderId("other")), "is venue order venue-1; fill f1 is for"),
    ],
)
def test_a_fill_that_does_not_match_the_order_is_refused(event: OrderFilled, message: str) -> None:
    order = working_order()
    with pytest.raises(OrderMismatchError, match=message):
        order.apply(event)
    assert isinstance(OrderMismatchError("x"), DomainError)
    assert order.filled_quantity == 0
    assert order.events == (submitted(), accepted())


def test_a_fill_with_the_order_s_venue_id_is_applied() -> None:
    order = working_order()
    assert order.apply(filled("f1", "1", venue_order_id=VENUE_ID)).applied


def test_a_fill_on_an_order_never_sent_or_rejected_is_an_illegal_transition() -> None:
    order = new_order()
    with pytest.raises(
        InvalidOrderTransition, match="OrderFilled \\(partial fill\\) is not allowed in state"
    ):
        order.apply(filled("f1", "1"))
    apply_all(order, submitted(), OrderRejected(OID, 3_000, "no"))
    with pytest.raises(InvalidOrderTransition, match="in state REJECTED"):
        order.apply(filled("f1", "3"))
    assert order.filled_quantity == 0


def test_an_illegal_event_raises_and_leaves_the_order_unchanged() -> None:
    order = working_order()
    order.apply(filled("f1", "1"))
    before = (order.status, order.filled_quantity, order.events, order.venue_order_id)
    with pytest.raises(
        InvalidOrderTransition,
        match=r"^order TK00000007: OrderSubmitted is not allowed in state PARTIALLY_FILLED$",
    ):
        order.apply(submitted())
    assert (order.status, order.filled_quantity, order.events, order.venue_order_id) == before


def test_a_cancel_that_raced_a_rejection_is_answered_afterwards_and_changes_nothing() -> None:
    order = new_order()
    apply_all(order, submitted(), OrderCancelRequested(OID, 2_000))
    order.apply(OrderRejected(OID, 3_000, "insufficient funds"))
    update = order.apply(OrderCancelRejected(OID, 4_000, "unknown order"))
    assert update.applied
    assert order.status is OrderStatus.REJECTED
