"""The matching engine on its own: the mirror, consumption, queue positions, crossing fills."""

from __future__ import annotations

from decimal import Decimal

import pytest

from domain.errors import InvalidValueError
from domain.identifiers import ClientOrderId
from domain.market_data import OrderBookUpdate, TradeTick
from domain.order_terms import LiquiditySide
from infrastructure.venues.simulated import Execution, MatchingEngine
from tests.infrastructure.simulated import BTC, BUY, ETH, SELL, d, levels

ONE = ClientOrderId(1)
TWO = ClientOrderId(2)


def engine_with(bids: list[tuple[str, str]], asks: list[tuple[str, str]]) -> MatchingEngine:
    engine = MatchingEngine(BTC)
    assert engine.apply_book_update(OrderBookUpdate(BTC, True, levels(bids), levels(asks), 0)) == []
    return engine


def delta(
    engine: MatchingEngine, bids: tuple[tuple[str, str], ...] = (), asks: tuple[tuple[str, str], ...] = ()
) -> list[Execution]:
    return engine.apply_book_update(OrderBookUpdate(BTC, False, levels(bids), levels(asks), 0))


def trade(engine: MatchingEngine, price: str, size: str, aggressor: object) -> list[Execution]:
    return engine.apply_trade(TradeTick(BTC, "t", d(price), d(size), aggressor, 0))  # type: ignore[arg-type]


def test_take_walks_best_first_within_the_limit_and_consumes() -> None:
    engine = engine_with([("99", "1")], [("100", "1"), ("100.5", "2"), ("101", "3")])
    assert engine.can_fill(BUY, d("3"), d("100.5"))
    assert not engine.can_fill(BUY, d("3.5"), d("100.5"))
    executions = engine.take(ONE, BUY, d("2"), d("100.5"))
    assert executions == [
        Execution(ONE, d("100"), d("1"), LiquiditySide.TAKER),
        Execution(ONE, d("100.5"), d("1"), LiquiditySide.TAKER),
    ]
    assert engine.snapshot()["consumed_asks"] == [["100", "1"], ["100.5", "1"]]
    assert not engine.would_cross(BUY, d("100"))  # 100 is used up
    assert engine.would_cross(BUY, d("100.5"))
    assert engine.take(TWO, SELL, d("5"), None) == [Execution(TWO, d("99"), d("1"), LiquiditySide.TAKER)]
    assert engine.take(TWO, SELL, d("5"), None) == []


def test_rest_takes_the_visible_level_size_as_queue_ahead() -> None:
    engine = engine_with([("99", "5"), ("98", "2")], [("100", "1")])
    assert engine.rest(ONE, BUY, d("99"), d("1"), 1).queue_ahead == d("5")
    assert engine.rest(TWO, BUY, d("99.5"), d("1"), 2).queue_ahead == d("0")
    assert [order.client_order_id for order in engine.resting_orders()] == [ONE, TWO]
    with pytest.raises(InvalidValueError, match="already resting"):
        engine.rest(ONE, BUY, d("99"), d("1"), 3)
    with pytest.raises(InvalidValueError, match="positive size"):
        engine.rest(ClientOrderId(3), BUY, d("99"), d("0"), 3)
    assert engine.remove(ONE) is not None
    assert engine.remove(ONE) is None
    assert engine.resting(ONE) is None


def test_queue_is_clamped_by_our_own_consumption_of_the_level() -> None:
    engine = engine_with([("99", "5")], [("100", "1")])
    engine.rest(ONE, SELL, d("100"), d("1"), 1)  # behind 1
    engine.take(TWO, BUY, d("1"), None)  # that 1 is taken: nobody ahead of the sell any more
    resting = engine.resting(ONE)
    assert resting is not None
    assert resting.queue_ahead == d("0")


def test_level_text_forms_are_one_level() -> None:
    engine = engine_with([], [("100.0", "1")])
    delta(engine, asks=(("100.00", "3"),))
    assert engine.snapshot()["asks"] == [["100.0", "3"]]
    delta(engine, asks=(("100", "0"),))
    assert engine.snapshot()["asks"] == []
    delta(engine, asks=(("101", "0"),))  # deleting a level that is not there: nothing
    assert engine.snapshot()["asks"] == []


def test_crossing_fills_best_priced_order_first_at_its_own_price() -> None:
    engine = engine_with([("99", "1")], [("101", "1")])
    engine.rest(ONE, BUY, d("99.5"), d("1"), 1)
    engine.rest(TWO, BUY, d("100"), d("1"), 2)
    executions = delta(engine, asks=(("99.4", "1.5"),))
    assert executions == [
        Execution(TWO, d("100"), d("1"), LiquiditySide.MAKER),
        Execution(ONE, d("99.5"), d("0.5"), LiquiditySide.MAKER),
    ]
    assert engine.resting(TWO) is None
    resting = engine.resting(ONE)
    assert resting is not None
    assert (resting.leaves, resting.queue_ahead) == (d("0.5"), d("0"))


def test_trades_without_resting_orders_or_of_no_size_do_nothing() -> None:
    engine = engine_with([("99", "1")], [("101", "1")])
    assert trade(engine, "99", "1", SELL) == []
    engine.rest(ONE, BUY, d("99"), d("1"), 1)
    assert trade(engine, "99", "0", SELL) == []


def test_engine_refuses_other_instruments_and_negative_sizes() -> None:
    engine = engine_with([], [])
    with pytest.raises(InvalidValueError, match="refuses an update"):
        engine.apply_book_update(OrderBookUpdate(ETH, True, (), (), 0))
    with pytest.raises(InvalidValueError, match="refuses a trade"):
        engine.apply_trade(TradeTick(ETH, "t", d("1"), d("1"), None, 0))
    with pytest.raises(InvalidValueError, match="negative bid size"):
        delta(engine, bids=(("99", "-1"),))
    assert engine.apply_book_update(OrderBookUpdate(BTC, False, ((d("99"), Decimal("-0")),), (), 0)) == []


def test_snapshot_restore_round_trip() -> None:
    engine = engine_with([("99", "5"), ("98", "2")], [("100", "1"), ("101", "4")])
    engine.take(ONE, BUY, d("1.5"), None)
    engine.rest(TWO, SELL, d("101"), d("2"), 7)
    trade(engine, "101", "1", BUY)
    copy = MatchingEngine(BTC)
    copy.restore(engine.snapshot())
    assert copy.snapshot() == engine.snapshot()
    assert copy.instrument_id == BTC
    assert trade(copy, "101", "3.5", BUY) == trade(engine, "101", "3.5", BUY)
