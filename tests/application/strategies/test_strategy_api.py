"""The strategy API: the view, the guard (stale, halted, reducing) and the base class's routing."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pytest

from application.strategies import (
    MarketMaker,
    MarketMakerConfig,
    Strategy,
    TrendFollower,
    TrendFollowerConfig,
)
from application.strategies.strategy import (
    Permission,
    SingleInstrumentStrategy,
    guard,
    permission_for,
    permitted,
)
from application.strategies.strategy_view import OpenOrderView, StrategyView
from domain.errors import InvalidValueError
from domain.identifiers import ClientOrderId, StrategyId, VenueOrderId
from domain.instrument import Instrument
from domain.market_data import BookTop, TradeTick
from domain.order_terms import OrderSide
from domain.orders import Order, OrderAccepted, OrderEvent, OrderSubmitted
from domain.orders.order_status import OrderStatus
from domain.risk.trading_state import TradingState
from domain.signals import CancelAllIntent, CancelIntent, OrderIntent, Signal, TargetPosition
from tests.application.strategies import BTC, BTC_ID, OTHER_ID, D, top, view

SID = StrategyId("test")
BUY = OrderIntent(SID, BTC_ID, OrderSide.BUY, "1", price="100")
REDUCING_SELL = OrderIntent(SID, BTC_ID, OrderSide.SELL, "1", price="100", reduce_only=True)
CANCEL = CancelIntent(SID, ClientOrderId(1))
CANCEL_ALL = CancelAllIntent(SID, BTC_ID)
EVERYTHING: tuple[Signal, ...] = (BUY, REDUCING_SELL, CANCEL, CANCEL_ALL, TargetPosition(SID, BTC_ID, "1"))


@pytest.mark.parametrize(
    ("state", "book_stale", "top_stale", "expected"),
    [
        (TradingState.ACTIVE, False, False, Permission.TRADE),
        (TradingState.REDUCING, False, False, Permission.REDUCE_ONLY),
        (TradingState.HALTED, False, False, Permission.NOTHING),
        (TradingState.ACTIVE, True, False, Permission.CANCEL_ONLY),
        (TradingState.ACTIVE, False, True, Permission.CANCEL_ONLY),
        (TradingState.REDUCING, True, False, Permission.CANCEL_ONLY),
        (TradingState.HALTED, True, True, Permission.NOTHING),
    ],
)
def test_permission_follows_trading_state_and_book_health(
    state: TradingState, book_stale: bool, top_stale: bool, expected: Permission
) -> None:
    assert permission_for(view(book_stale=book_stale, trading_state=state), top_stale) is expected


def test_the_guard_lets_through_what_each_permission_allows() -> None:
    position = D(2)
    assert guard(EVERYTHING, Permission.TRADE, position) == EVERYTHING
    assert guard(EVERYTHING, Permission.NOTHING, position) == ()
    assert guard(EVERYTHING, Permission.CANCEL_ONLY, position) == (CANCEL, CANCEL_ALL)
    assert guard(EVERYTHING, Permission.REDUCE_ONLY, position) == (
        REDUCING_SELL,
        CANCEL,
        CANCEL_ALL,
        EVERYTHING[4],  # a target of 1 against a position of 2 reduces it
    )


@pytest.mark.parametrize(
    ("target", "position", "reduces"),
    [
        ("1", "2", True),
        ("0", "2", True),
        ("-1", "2", False),
        ("3", "2", False),
        ("-1", "-2", True),
        ("1", "0", False),
    ],
)
def test_a_target_position_is_reducing_only_toward_zero(target: str, position: str, reduces: bool) -> None:
    signal = TargetPosition(SID, BTC_ID, target)
    assert permitted(signal, Permission.REDUCE_ONLY, D(position)) is reduces


def test_an_open_order_view_checks_its_quantities_and_reads_an_order() -> None:
    with pytest.raises(InvalidValueError, match="leaves"):
        OpenOrderView(ClientOrderId(1), OrderSide.BUY, D(1), D(1), D(2), OrderStatus.ACCEPTED)
    with pytest.raises(InvalidValueError, match="positive"):
        OpenOrderView(ClientOrderId(1), OrderSide.BUY, D(1), D(0), D(0), OrderStatus.ACCEPTED)
    intent = OrderIntent(SID, BTC_ID, OrderSide.SELL, "2", price="101", post_only=True, tag="ask-1")
    order = Order.from_intent(intent, ClientOrderId(7), 0)
    order.apply(OrderSubmitted(ClientOrderId(7), 1))
    order.apply(OrderAccepted(ClientOrderId(7), 1, VenueOrderId("v7")))
    seen = OpenOrderView.from_order(order)
    assert seen == OpenOrderView(
        ClientOrderId(7), OrderSide.SELL, D(101), D(2), D(2), OrderStatus.ACCEPTED, "ask-1"
    )
    v = view(open_orders=[seen])
    assert v.orders_on(OrderSide.SELL) == (seen,)
    assert v.orders_on(OrderSide.BUY) == ()
    assert v.open_quantity(OrderSide.SELL) == D(2)
    assert v.has_tag("ask-1")
    assert not v.has_tag("ask-2")
    with pytest.raises(InvalidValueError, match="now_ns"):
        StrategyView(-1, BTC)


class Everything(SingleInstrumentStrategy):
    """Emits every kind of signal on every call, whatever it is allowed: the guard must filter."""

    def _book(self, top: BookTop, view: StrategyView, permission: Permission) -> Sequence[Signal]:
        return EVERYTHING

    def _trade(self, trade: TradeTick, view: StrategyView, permission: Permission) -> Sequence[Signal]:
        return EVERYTHING

    def _timer(self, ts_ns: int, view: StrategyView, permission: Permission) -> Sequence[Signal]:
        return EVERYTHING

    def _order_event(self, event: OrderEvent, view: StrategyView, permission: Permission) -> Sequence[Signal]:
        return EVERYTHING

    def snapshot(self) -> Mapping[str, object]:
        return {}

    def restore(self, state: Mapping[str, object]) -> None:
        pass


def _calls(strategy: Strategy, v: StrategyView, stale_top: bool = False) -> list[tuple[Signal, ...]]:
    trade = TradeTick(BTC_ID, "t1", D(100), D(1), OrderSide.BUY, 1)
    return [
        tuple(strategy.on_book(top("99", "101", 1, stale=stale_top), v)),
        tuple(strategy.on_trade(trade, v)),
        tuple(strategy.on_timer(1, v)),
        tuple(strategy.on_order_event(OrderAccepted(ClientOrderId(1), 1, VenueOrderId("v")), v)),
    ]


def test_the_base_class_guards_every_hook() -> None:
    strategy = Everything(SID, BTC_ID)
    assert strategy.instrument_ids == (BTC_ID,)
    assert _calls(strategy, view()) == [EVERYTHING] * 4
    assert _calls(strategy, view(trading_state=TradingState.HALTED)) == [()] * 4
    assert _calls(strategy, view(book_stale=True)) == [(CANCEL, CANCEL_ALL)] * 4
    assert _calls(strategy, view(), stale_top=True)[0] == (CANCEL, CANCEL_ALL)
    reducing = _calls(strategy, view(position=2, trading_state=TradingState.REDUCING))
    assert all(OrderIntent in {type(s) for s in out} for out in reducing)
    assert all(s.reduce_only for out in reducing for s in out if isinstance(s, OrderIntent))


def test_data_of_another_instrument_never_reaches_a_strategy() -> None:
    strategy = Everything(SID, BTC_ID)
    assert strategy.on_book(top("1", "2", instrument_id=OTHER_ID), view()) == ()
    assert strategy.on_trade(TradeTick(OTHER_ID, "t", D(1), D(1), None, 1), view()) == ()
    other = Instrument(OTHER_ID, "ETH", "USD", "0.01", "0.001")
    assert strategy.on_timer(1, view(instrument=other)) == ()
    assert (
        strategy.on_order_event(OrderAccepted(ClientOrderId(1), 1, VenueOrderId("v")), view(instrument=other))
        == ()
    )


def test_the_reference_strategies_satisfy_the_protocol() -> None:
    strategies: list[Strategy] = [
        MarketMaker(SID, BTC_ID, MarketMakerConfig(quote_size="1", max_position="2")),
        TrendFollower(SID, BTC_ID, TrendFollowerConfig(trade_size="1")),
    ]
    for strategy in strategies:
        assert strategy.strategy_id == SID
        assert strategy.instrument_ids == (BTC_ID,)
        assert strategy.on_trade(TradeTick(BTC_ID, "t", D(1), D(1), None, 1), view()) == ()
