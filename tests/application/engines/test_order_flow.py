"""Intent to order to venue and back: write-ahead, no resend, fills, duplicates, cancels, views."""

from __future__ import annotations

from decimal import Decimal

import pytest

from application.commands import CancelOrder, CheckOrder
from application.engines.messages import (
    CancelNotSent,
    ExecuteIntent,
    OrderInitialized,
    ReportNotApplied,
    SignalIgnored,
    VenueCallFailed,
)
from domain.identifiers import ClientOrderId, VenueOrderId
from domain.order_terms import OrderSide, OrderType
from domain.orders.order import OrderUpdate, UpdateOutcome
from domain.orders.order_events import (
    OrderAccepted,
    OrderCanceled,
    OrderCancelRequested,
    OrderFilled,
    OrderRejected,
    OrderSubmitted,
)
from domain.orders.order_status import OrderStatus
from domain.portfolio.portfolio import FillResult
from domain.risk.breaker_events import BreakerTripped, CancelAllOrders
from domain.risk.risk_limits import RiskLimits
from domain.signals import CancelAllIntent, CancelIntent, OrderIntent
from tests.application.engines import BTC_ID, SID, D, Harness, ScriptedStrategy, buy


def placed(harness: Harness, strategy: ScriptedStrategy, *intents: object) -> None:
    strategy.queued.extend(intents)  # type: ignore[arg-type]
    harness.book()


def test_an_approved_intent_is_journaled_before_the_venue_sees_it() -> None:
    strategy = ScriptedStrategy()
    harness = Harness(strategy)
    seen_at_submit: list[list[object]] = []

    def read_journal(order: object) -> None:
        seen_at_submit.append([record.event for record in harness.journal.read()])

    harness.venue.on_submit = read_journal
    placed(harness, strategy, buy())
    order = harness.only_order()
    assert harness.venue.submits() == [order.client_order_id]
    journal_then = seen_at_submit[0]
    initialized = [e for e in journal_then if isinstance(e, OrderInitialized)]
    submitted = [e for e in journal_then if isinstance(e, OrderSubmitted)]
    assert [e.order.client_order_id for e in initialized] == [order.client_order_id]
    assert [e.client_order_id for e in submitted] == [order.client_order_id]
    # The whole chain is in the journal in order: the strategy's command, risk's, execution's.
    kinds = [type(e).__name__ for e in journal_then if type(e).__name__ not in ("BookTop", "EquitySnapshot")]
    assert kinds == ["CheckOrder", "ExecuteIntent", "OrderInitialized", "OrderSubmitted"]
    assert order.status is OrderStatus.SUBMITTED


def test_a_venue_that_raises_on_submit_counts_a_failure_and_the_order_is_never_resent() -> None:
    strategy = ScriptedStrategy()
    harness = Harness(strategy)
    harness.venue.fail_next.append("submit")
    placed(harness, strategy, buy())
    order = harness.only_order()
    assert harness.venue.submits() == [order.client_order_id]
    assert harness.kernel.risk.breaker.consecutive_venue_failures == 1
    [failure] = harness.events(VenueCallFailed)
    assert isinstance(failure, VenueCallFailed)
    assert (failure.operation, failure.client_order_id) == ("submit", order.client_order_id)
    assert "ConnectionError" in failure.error
    assert order.status is OrderStatus.SUBMITTED  # in doubt: the venue may have it
    for _ in range(5):
        harness.book()
    assert harness.venue.submits() == [order.client_order_id]
    assert harness.kernel.execution.counts["venue_failures"] == 1
    # The strategy still sees it as open (SUBMITTED), so it cannot double up either.
    _event, view = strategy.order_events()[-1]
    assert [o.client_order_id for o in view.open_orders] == [order.client_order_id]


def test_a_success_after_a_failure_ends_the_breakers_run_of_failures() -> None:
    strategy = ScriptedStrategy()
    harness = Harness(strategy)
    harness.venue.fail_next.append("submit")
    placed(harness, strategy, buy(tag="a"))
    assert harness.kernel.risk.breaker.consecutive_venue_failures == 1
    placed(harness, strategy, buy(tag="b"))
    assert harness.kernel.risk.breaker.consecutive_venue_failures == 0
    assert len(set(harness.venue.submits())) == 2


def test_repeated_venue_failures_trip_the_breaker_which_cancels_everything_and_halts() -> None:
    strategy = ScriptedStrategy()
    limits = RiskLimits.conservative(D(100_000))
    harness = Harness(strategy, limits=limits)
    placed(harness, strategy, buy(tag="ok"))
    resting = harness.only_order()
    harness.accept(resting.client_order_id)
    harness.venue.fail_next.extend(["submit", "submit", "submit"])
    for tag in ("x", "y", "z"):
        placed(harness, strategy, buy(tag=tag))
    assert harness.kernel.risk.breaker.is_tripped
    [trip] = harness.events(BreakerTripped)
    assert isinstance(trip, BreakerTripped)
    assert str(trip.reason_code) == "venue_failures"
    assert len(harness.events(CancelAllOrders)) == 1
    cancelled = [target for name, target in harness.venue.calls if name == "cancel"]
    assert resting.client_order_id in cancelled
    assert resting.status is OrderStatus.PENDING_CANCEL
    # Halted: the strategy is told, and a new intent is denied.
    _kind, _top, view = strategy.seen[-1]
    assert view.trading_state.value == "HALTED"
    placed(harness, strategy, buy(tag="after"))
    assert harness.kernel.risk.denials["trading_halted"] == 1
    assert harness.venue.submits().count(resting.client_order_id) == 1


def test_fills_reach_portfolio_risk_and_strategy_once_and_the_view_includes_them() -> None:
    strategy = ScriptedStrategy()
    harness = Harness(strategy)
    placed(harness, strategy, buy("0.010"))
    order = harness.only_order()
    harness.accept(order.client_order_id)
    harness.fill(order.client_order_id, "0.004", "100.00", "F1")
    harness.fill(order.client_order_id, "0.004", "100.00", "F1")  # the venue repeats itself
    fills = [event for event, _view in strategy.order_events() if isinstance(event, OrderFilled)]
    assert len(fills) == 1
    _event, view = strategy.order_events()[-1]
    assert view.position == D("0.004")
    assert [(o.status, o.leaves_quantity) for o in view.open_orders] == [
        (OrderStatus.PARTIALLY_FILLED, D("0.006"))
    ]
    [result] = harness.events(FillResult)
    assert isinstance(result, FillResult)
    assert not result.duplicate
    [duplicate] = harness.events(OrderUpdate)
    assert isinstance(duplicate, OrderUpdate)
    assert duplicate.outcome is UpdateOutcome.DUPLICATE_FILL_IGNORED
    assert harness.kernel.execution.counts["duplicate_fills"] == 1
    position = harness.kernel.portfolio.portfolio.position(BTC_ID)
    assert position is not None
    assert position.quantity == D("0.004")
    assert harness.kernel.portfolio.portfolio.fees("USD") == D("0.01")


def test_an_overfill_is_refused_and_counted() -> None:
    strategy = ScriptedStrategy()
    harness = Harness(strategy)
    placed(harness, strategy, buy("0.010"))
    order = harness.only_order()
    harness.fill(order.client_order_id, "0.010", "100.00", "F1")
    harness.fill(order.client_order_id, "0.005", "100.00", "F2")
    assert order.filled_quantity == D("0.010")
    assert harness.kernel.execution.counts["overfills"] == 1
    assert [u.outcome for u in harness.events(OrderUpdate)] == [UpdateOutcome.OVERFILL_REFUSED]  # type: ignore[attr-defined]


def test_every_event_reaches_the_strategy_in_order_with_a_view_taken_after_it() -> None:
    strategy = ScriptedStrategy()
    harness = Harness(strategy)
    placed(harness, strategy, buy("0.010"))
    order = harness.only_order()
    cid = order.client_order_id
    harness.accept(cid)
    strategy.queued.append(CancelIntent(SID, cid))
    harness.fill(cid, "0.010", "100.00")
    events = strategy.order_events()
    assert [type(event).__name__ for event, _ in events] == ["OrderSubmitted", "OrderAccepted", "OrderFilled"]
    statuses = [[o.status for o in view.open_orders] for _event, view in events]
    assert statuses == [[OrderStatus.SUBMITTED], [OrderStatus.ACCEPTED], []]
    assert events[-1][1].position == D("0.010")
    # The cancel came with the fill: the order is no longer open, so it is not even asked for.
    assert [name for name, _ in harness.venue.calls] == ["submit"]
    assert harness.events(CancelOrder) == []
    [ignored] = harness.events(SignalIgnored)
    assert isinstance(ignored, SignalIgnored)
    assert "not an open order" in ignored.reason


def test_a_cancel_of_an_order_that_is_no_longer_open_is_not_sent() -> None:
    strategy = ScriptedStrategy()
    harness = Harness(strategy)
    placed(harness, strategy, buy("0.010"))
    cid = harness.only_order().client_order_id
    harness.fill(cid, "0.010", "100.00")
    harness.runtime.send("execution", CancelOrder(cid, "operator", harness.clock.now_ns()))
    harness.runtime.run_until_idle()
    [not_sent] = harness.events(CancelNotSent)
    assert isinstance(not_sent, CancelNotSent)
    assert "FILLED" in not_sent.reason
    assert [name for name, _ in harness.venue.calls] == ["submit"]


def test_a_cancel_is_journaled_before_the_venue_is_asked_and_a_retry_is_allowed() -> None:
    strategy = ScriptedStrategy()
    harness = Harness(strategy)
    placed(harness, strategy, buy())
    cid = harness.only_order().client_order_id
    harness.accept(cid)
    harness.venue.fail_next.append("cancel")
    placed(harness, strategy, CancelIntent(SID, cid))
    assert harness.only_order().status is OrderStatus.PENDING_CANCEL
    records = [type(r.event).__name__ for r in harness.records()]
    assert records.index("OrderCancelRequested") < records.index("VenueCallFailed")
    placed(harness, strategy, CancelIntent(SID, cid))  # retried: the table allows it
    assert [name for name, _ in harness.venue.calls] == ["submit", "cancel", "cancel"]
    harness.report(OrderCanceled(cid, harness.clock.now_ns()))
    assert harness.only_order().status is OrderStatus.CANCELED
    assert len(harness.events(OrderCancelRequested)) == 2


def test_cancel_all_intents_and_foreign_cancels() -> None:
    strategy = ScriptedStrategy()
    harness = Harness(strategy)
    placed(harness, strategy, buy(tag="a"), buy(tag="b", price="99.99"))
    assert len(harness.kernel.execution.orders) == 2
    placed(harness, strategy, CancelIntent(SID, ClientOrderId(12345)))
    assert len(harness.events(CheckOrder)) == 2
    reasons = [e.reason for e in harness.events(SignalIgnored)]  # type: ignore[attr-defined]
    assert len(reasons) == 1
    assert "not an open order" in reasons[0]
    placed(harness, strategy, CancelAllIntent(SID, BTC_ID))
    assert [name for name, _ in harness.venue.calls] == ["submit", "submit", "cancel", "cancel"]


def test_reports_for_unknown_orders_and_contradictions_are_journaled_not_applied() -> None:
    strategy = ScriptedStrategy()
    harness = Harness(strategy)
    harness.report(OrderAccepted(ClientOrderId(999), 1, VenueOrderId("X")))
    placed(harness, strategy, buy())
    cid = harness.only_order().client_order_id
    harness.report(OrderRejected(cid, harness.clock.now_ns(), "post-only would cross"))
    harness.fill(cid, "0.01", "100.00")  # a fill on a rejected order contradicts the venue
    not_applied = harness.events(ReportNotApplied)
    assert len(not_applied) == 2
    assert harness.kernel.execution.counts["reports_not_applied"] == 2
    assert harness.kernel.portfolio.portfolio.position(BTC_ID) is None


def test_rejects_trip_the_breaker_and_the_strategy_is_told_the_state() -> None:
    strategy = ScriptedStrategy()
    harness = Harness(strategy)
    for index in range(5):
        placed(harness, strategy, buy(tag=f"t{index}"))
        cid = harness.kernel.execution.orders[-1].client_order_id
        harness.report(OrderRejected(cid, harness.clock.now_ns(), "insufficient funds"))
    assert harness.kernel.risk.breaker.is_tripped
    assert str(harness.kernel.risk.breaker.causes[0].reason_code) == "venue_rejects"
    harness.book()
    _kind, _top, view = strategy.seen[-1]
    assert view.trading_state.value == "HALTED"


@pytest.mark.parametrize(
    ("side", "price", "snapped"), [("BUY", "100.019", "100.01"), ("SELL", "100.011", "100.02")]
)
def test_risk_snaps_prices_to_the_grid_in_the_safe_direction_and_sizes_down(
    side: str, price: str, snapped: str
) -> None:
    strategy = ScriptedStrategy()
    harness = Harness(strategy)
    intent = OrderIntent(SID, BTC_ID, OrderSide(side), D("0.0109"), OrderType.LIMIT, D(price))
    placed(harness, strategy, intent)
    [approved] = harness.events(ExecuteIntent)
    assert isinstance(approved, ExecuteIntent)
    assert approved.intent.price == Decimal(snapped)
    assert approved.intent.quantity == D("0.010")
    assert harness.only_order().price == Decimal(snapped)
