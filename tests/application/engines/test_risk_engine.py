"""Risk: stale books never trade, denials are journaled with their reasons, the breaker halts."""

from __future__ import annotations

from collections.abc import Sequence

from application.commands import CancelOrder, CheckOrder, HaltTrading, ResumeTrading
from application.engines.messages import RISK, DenyIntent, TradingStateChanged
from application.strategies.market_maker import MarketMaker, MarketMakerConfig
from application.strategies.strategy_view import StrategyView
from domain.market_data import BookTop
from domain.orders.order_events import OrderDenied, OrderRejected
from domain.risk.breaker_events import BreakerReset, BreakerTripped, CancelAllOrders
from domain.risk.risk_decision import ReasonCode
from domain.risk.risk_limits import RiskLimits
from domain.risk.trading_state import TradingState
from domain.signals import Signal
from tests.application.engines import BTC_ID, SECOND, SID, D, Harness, ScriptedStrategy, buy


def reckless(top: BookTop, view: StrategyView) -> Sequence[Signal]:
    """A misbehaving strategy: buys on every book, stale or not."""
    del top, view
    return [buy()]


def test_a_market_maker_sends_nothing_new_on_a_stale_book_and_pulls_its_quotes() -> None:
    config = MarketMakerConfig(
        quote_size="0.01",
        max_position="0.05",
        vol_window=2,
        vol_sample_interval_ns=0,
        min_requote_interval_ns=0,
    )
    harness = Harness(MarketMaker(SID, BTC_ID, config))
    for bid, ask in [("100.00", "100.02"), ("100.01", "100.03"), ("100.00", "100.02")]:
        harness.book(bid, ask)
    quotes = harness.kernel.execution.orders
    assert len(quotes) == 2
    checks_before = len(harness.events(CheckOrder))
    harness.stale()
    harness.frame()  # more time passes on the stale book
    assert len(harness.events(CheckOrder)) == checks_before
    cancelled = {event.client_order_id for event in harness.events(CancelOrder)}  # type: ignore[attr-defined]
    assert cancelled == {order.client_order_id for order in quotes}
    assert len(harness.venue.submits()) == 2


def test_risk_denies_a_strategy_that_ignores_staleness() -> None:
    strategy = ScriptedStrategy(on_book_signals=reckless)
    harness = Harness(strategy)
    harness.book()
    assert len(harness.venue.submits()) == 1
    harness.stale()
    assert len(harness.venue.submits()) == 1  # nothing went out
    denied = harness.events(OrderDenied)
    assert len(denied) == 1
    assert isinstance(denied[0], OrderDenied)
    reasons = set(denied[0].reason.split(","))
    assert ReasonCode.STALE_REFERENCE.value in reasons
    assert ReasonCode.NO_REFERENCE.value in reasons  # the price band has no fresh reference either
    assert harness.kernel.risk.denials[ReasonCode.STALE_REFERENCE.value] == 1
    # The strategy learns of its denied order, which is not open.
    event, view = strategy.order_events()[-1]
    assert isinstance(event, OrderDenied)
    assert all(order.client_order_id != event.client_order_id for order in view.open_orders)


def test_the_book_guard_holds_even_without_a_price_band_rule() -> None:
    limits = RiskLimits(max_order_notional=D(1000))
    strategy = ScriptedStrategy(on_book_signals=reckless)
    harness = Harness(strategy, limits=limits)
    harness.stale()  # a BookStale before any snapshot
    harness.book()
    harness.stale()
    codes = [e.reason for e in harness.events(OrderDenied)]  # type: ignore[attr-defined]
    assert codes == ["stale_reference", "stale_reference"]
    assert len(harness.venue.submits()) == 1


def test_an_intent_before_any_book_has_no_reference() -> None:
    strategy = ScriptedStrategy()
    harness = Harness(strategy)
    harness.runtime.deliver_at(1, RISK, CheckOrder(buy(), 1))
    [denied] = harness.events(OrderDenied)
    assert isinstance(denied, OrderDenied)
    assert denied.reason.startswith("no_reference")
    assert harness.venue.submits() == []


def test_a_reference_older_than_the_limit_is_stale() -> None:
    strategy = ScriptedStrategy()
    harness = Harness(strategy, timer_interval_ns=SECOND)
    harness.book()
    harness.runtime.advance_to(harness.clock.now_ns() + 7 * SECOND)  # timers tick, no new book
    strategy.queued.append(buy())  # emitted on the next tick, 8 s after the book
    harness.runtime.advance_to(harness.clock.now_ns() + SECOND)
    [denied] = harness.events(OrderDenied)
    assert isinstance(denied, OrderDenied)
    assert denied.reason == "stale_reference"


def test_denials_are_journaled_with_every_reason_and_message() -> None:
    strategy = ScriptedStrategy()
    harness = Harness(strategy, balance=D(1000))
    strategy.queued.append(buy("1.000", "150.00"))  # 150 USD: over 2% of equity, outside the band
    harness.book()
    [deny] = harness.events(DenyIntent)
    assert isinstance(deny, DenyIntent)
    codes = {code.value for code in deny.decision.reason_codes}
    assert {"price_band", "max_order_notional", "max_order_equity_fraction"} <= codes
    assert all(denial.message for denial in deny.decision.denials)
    [denied] = harness.events(OrderDenied)
    assert isinstance(denied, OrderDenied)
    assert set(denied.reason.split(",")) == codes
    assert {code: harness.kernel.risk.denials[code] for code in codes} == dict.fromkeys(codes, 1)
    assert harness.venue.submits() == []


def test_approved_orders_count_before_execution_has_built_them() -> None:
    limits = RiskLimits(max_open_orders=1, max_order_notional=D(1000))
    strategy = ScriptedStrategy()
    harness = Harness(strategy, limits=limits)
    strategy.queued.extend([buy(tag="a"), buy(tag="b")])  # one batch: b is checked before a is built
    harness.book()
    assert len(harness.venue.submits()) == 1
    [denied] = harness.events(OrderDenied)
    assert isinstance(denied, OrderDenied)
    assert denied.reason == "max_open_orders"


def test_an_operator_halt_cancels_everything_and_a_resume_reactivates() -> None:
    strategy = ScriptedStrategy()
    harness = Harness(strategy)
    strategy.queued.append(buy())
    harness.book()
    cid = harness.only_order().client_order_id
    now = harness.clock.now_ns()
    harness.runtime.deliver_at(now, RISK, HaltTrading("fat finger drill", "alice", now))
    assert ("cancel", cid) in harness.venue.calls
    states = [e.state for e in harness.events(TradingStateChanged)]  # type: ignore[attr-defined]
    assert states == [TradingState.HALTED]
    strategy.queued.append(buy(tag="blocked"))
    harness.book()
    assert harness.kernel.risk.denials["trading_halted"] == 1
    harness.runtime.deliver_at(now, RISK, ResumeTrading("alice", "drill over", now))
    assert [e.state for e in harness.events(TradingStateChanged)] == [  # type: ignore[attr-defined]
        TradingState.HALTED,
        TradingState.ACTIVE,
    ]
    strategy.queued.append(buy(tag="again"))
    harness.book()
    assert len(harness.venue.submits()) == 2


def test_a_loss_through_the_daily_limit_trips_the_breaker_and_resume_resets_it() -> None:
    limits = RiskLimits(max_order_notional=D(100), daily_loss_limit=D(1))
    strategy = ScriptedStrategy()
    harness = Harness(strategy, limits=limits, balance=D(1000))
    strategy.queued.append(buy("0.500", "100.00"))
    harness.book()
    cid = harness.only_order().client_order_id
    harness.fill(cid, "0.500", "100.00")
    harness.book("97.00", "97.02")  # marked down 1.49 + fee: through the 1 USD daily loss limit
    [trip] = harness.events(BreakerTripped)
    assert isinstance(trip, BreakerTripped)
    assert trip.reason_code.value == "daily_loss_limit"
    assert len(harness.events(CancelAllOrders)) == 1
    now = harness.clock.now_ns()
    harness.runtime.deliver_at(now, RISK, ResumeTrading("bob", "reviewed", now))
    assert len(harness.events(BreakerReset)) == 1


def _reject_quotes(
    harness: Harness, strategy: ScriptedStrategy, count: int, *, post_only_crossed: bool
) -> None:
    for n in range(count):
        strategy.queued.append(buy(tag=f"quote-{n}"))
        harness.book()
        order = harness.kernel.execution.orders[-1]
        reason = "post-only would cross" if post_only_crossed else "insufficient funds"
        harness.report(
            OrderRejected(order.client_order_id, harness.clock.now_ns(), reason, post_only_crossed)
        )


def test_post_only_orders_the_market_moved_onto_do_not_trip_the_reject_breaker() -> None:
    limits = RiskLimits(max_order_notional=D(1000), max_rejects=3, reject_window_ns=60 * SECOND)
    strategy = ScriptedStrategy()
    harness = Harness(strategy, limits=limits)
    _reject_quotes(harness, strategy, 5, post_only_crossed=True)
    assert harness.events(BreakerTripped) == []
    assert harness.kernel.risk.trading_state is TradingState.ACTIVE
    _reject_quotes(harness, strategy, 3, post_only_crossed=False)  # real refusals still count
    [trip] = harness.events(BreakerTripped)
    assert isinstance(trip, BreakerTripped)
    assert trip.reason_code.value == "venue_rejects"
