"""A strategy's `TargetPosition` becomes a market IOC order for the difference, after canceling its
open orders on the instrument (see the strategy engine's module doc)."""

from __future__ import annotations

from application.commands import CancelOrder, CheckOrder
from application.engines.messages import SignalIgnored
from domain.order_terms import OrderSide, OrderType, TimeInForce
from domain.signals import TargetPosition
from tests.application.engines import BTC_ID, SID, D, Harness, ScriptedStrategy, buy


def _placed(harness: Harness, strategy: ScriptedStrategy, *signals: object) -> None:
    strategy.queued.extend(signals)  # type: ignore[arg-type]
    harness.book()


def _checks(harness: Harness) -> list[CheckOrder]:
    return [e for e in harness.events(CheckOrder) if isinstance(e, CheckOrder)]


def test_a_target_from_flat_buys_the_whole_quantity_at_market() -> None:
    strategy = ScriptedStrategy()
    harness = Harness(strategy)
    _placed(harness, strategy, TargetPosition(SID, BTC_ID, D("0.03")))
    [check] = _checks(harness)
    intent = check.intent
    assert (intent.side, intent.quantity, intent.order_type) == (OrderSide.BUY, D("0.03"), OrderType.MARKET)
    assert intent.time_in_force is TimeInForce.IOC
    assert intent.tag == "target_position"
    assert not intent.reduce_only


def test_a_lower_target_sells_the_difference_reduce_only_after_canceling_open_orders() -> None:
    strategy = ScriptedStrategy()
    harness = Harness(strategy)
    _placed(harness, strategy, buy("0.05"))
    cid = harness.only_order().client_order_id
    harness.accept(cid)
    harness.fill(cid, "0.03", "100.00")  # long 0.03, 0.02 still working
    _placed(harness, strategy, TargetPosition(SID, BTC_ID, D("0.01")))
    cancels = [e for e in harness.events(CancelOrder) if isinstance(e, CancelOrder)]
    assert [c.client_order_id for c in cancels] == [cid]  # the working buy would overshoot
    intent = _checks(harness)[-1].intent
    assert (intent.side, intent.quantity, intent.reduce_only) == (OrderSide.SELL, D("0.02"), True)


def test_a_target_across_zero_is_not_reduce_only_and_sizes_snap_down() -> None:
    strategy = ScriptedStrategy()
    harness = Harness(strategy)
    _placed(harness, strategy, buy("0.01"))
    cid = harness.only_order().client_order_id
    harness.accept(cid)
    harness.fill(cid, "0.01", "100.00")
    _placed(harness, strategy, TargetPosition(SID, BTC_ID, D("-0.0129")))  # 0.0229 snaps to 0.022
    intent = _checks(harness)[-1].intent
    assert (intent.side, intent.quantity, intent.reduce_only) == (OrderSide.SELL, D("0.022"), False)


def test_a_target_already_held_sends_nothing() -> None:
    strategy = ScriptedStrategy()
    harness = Harness(strategy)
    _placed(harness, strategy, TargetPosition(SID, BTC_ID, D("0.0004")))  # under one increment
    assert _checks(harness) == []
    [ignored] = harness.events(SignalIgnored)
    assert isinstance(ignored, SignalIgnored)
    assert "at target" in ignored.reason
