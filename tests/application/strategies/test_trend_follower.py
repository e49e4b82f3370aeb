"""The trend follower: bars, the crossover entry, the volatility filter, the ATR stop, the guard."""

from __future__ import annotations

import json
from decimal import Decimal
from fractions import Fraction
from typing import Any

import attrs
import pytest

from application.strategies.strategy import StrategyConfigError, StrategyStateError
from application.strategies.tracking import TopOfBook
from application.strategies.trend_follower import TrendFollower, TrendFollowerConfig, marketable_price
from domain.identifiers import StrategyId
from domain.order_terms import OrderSide, OrderType, TimeInForce
from domain.risk.trading_state import TradingState
from domain.signals import OrderIntent, Signal
from tests.application.strategies import BTC, BTC_ID, COARSE, MS, SECOND, D, Desk, around, intents, view

SID = StrategyId("tf")
BUY, SELL = OrderSide.BUY, OrderSide.SELL
CONFIG = TrendFollowerConfig(
    trade_size="0.5",
    bar_interval_ns=SECOND,
    fast_period=2,
    slow_period=4,
    vol_window=3,
    min_vol_bps="0",
    max_vol_bps="5000",
    atr_period=3,
    atr_stop_multiple="2",
    max_slippage_bps="10",
    order_retry_interval_ns=0,
    pending_timeout_ns=SECOND,
)
DOWN = ["100", "99", "98", "97", "96", "95", "96"]
CROSS_UP = "98"  # the close at which the fast EMA (2) crosses above the slow one (4)


def follower(**changes: Any) -> TrendFollower:
    return TrendFollower(SID, BTC_ID, attrs.evolve(CONFIG, **changes))


def bars(desk: Desk, closes: list[str], first_bar: int = 0) -> list[list[Signal]]:
    """One top per bar (1 ms into it), so each bar's open, high, low and close is that mid."""
    return [desk.book(around(c, (first_bar + k) * SECOND + MS)) for k, c in enumerate(closes)]


def bar_intents(desk: Desk, closes: list[str], first_bar: int = 0) -> list[OrderIntent]:
    """The order intents the bars' tops drew."""
    return [i for out in bars(desk, closes, first_bar) for i in intents(out)]


def reference_ema(values: list[str], period: int) -> Fraction:
    alpha = Fraction(2, period + 1)
    xs = [Fraction(v) for v in values]
    ema = sum(xs[:period], Fraction(0)) / period
    for x in xs[period:]:
        ema += alpha * (x - ema)
    return ema


def close_to(value: Decimal | None, exact: Fraction) -> bool:
    return value is not None and abs(Fraction(value) - exact) < Fraction(1, 10**30)


def test_marketable_prices_cross_by_the_slippage_and_round_the_safe_way() -> None:
    book = TopOfBook(0, D("99.95"), D("100.05"), False)
    # 100.05 * 1.001 = 100.15005 -> down to 100.15; 99.95 * 0.999 = 99.85005 -> up to 99.86.
    assert marketable_price(BTC, BUY, book, D(10)) == D("100.15")
    assert marketable_price(BTC, SELL, book, D(10)) == D("99.86")
    # On a 0.5 grid the slippage rounds away entirely: never below the ask (above the bid).
    coarse = TopOfBook(0, D("99.5"), D("100.5"), False)
    assert marketable_price(COARSE, BUY, coarse, D(1)) == D("100.5")
    assert marketable_price(COARSE, SELL, coarse, D(1)) == D("99.5")
    assert marketable_price(BTC, BUY, TopOfBook(0, D(1), None, False), D(10)) is None
    assert marketable_price(BTC, SELL, TopOfBook(0, None, D(1), False), D(10)) is None


def test_emas_and_atr_follow_the_bar_closes() -> None:
    desk = Desk(follower())
    bars(desk, [*DOWN, "97"])  # seven bars closed
    strategy = desk.strategy
    assert isinstance(strategy, TrendFollower)
    assert close_to(strategy.fast_ema, reference_ema(DOWN, 2))
    assert close_to(strategy.slow_ema, reference_ema(DOWN, 4))
    # One sample per bar: TR is the move from the previous close (the first bar's is 0).
    # Wilder, period 3: seed (0 + 1 + 1) / 3, then (ATR * 2 + TR) / 3 with TR = 1 four times.
    atr = Fraction(2, 3)
    for _ in range(4):
        atr = (atr * 2 + 1) / 3
    assert close_to(strategy.atr, atr)
    assert strategy.target == 0  # falling from the start: no crossing yet, so no entry


def test_enters_long_on_the_upward_crossover() -> None:
    desk = Desk(follower())
    outputs = bars(desk, [*DOWN, CROSS_UP, "100"])
    assert all(out == [] for out in outputs[:-1])
    (entry,) = outputs[-1]
    assert isinstance(entry, OrderIntent)
    assert (entry.side, entry.quantity, entry.order_type, entry.time_in_force) == (
        BUY,
        D("0.500"),
        OrderType.LIMIT,
        TimeInForce.IOC,
    )
    assert not entry.reduce_only
    assert not entry.post_only
    assert entry.price == D("100.15")  # the ask 100.05 + 10 bps, rounded down
    strategy = desk.strategy
    assert isinstance(strategy, TrendFollower)
    assert strategy.target == D("0.5")
    assert desk.position == D("0.5")  # the desk filled it at the ask
    held = strategy.entry
    assert held is not None
    assert held.direction == 1
    assert held.price == D("100.05")  # the entry fill, not the decision bar's close (98)
    atr = Fraction(2, 3)
    for tr in (1, 1, 1, 1, 2):
        atr = (atr * 2 + tr) / 3
    assert close_to(held.atr, atr)
    assert close_to(held.stop, Fraction("100.05") - 2 * atr)


def test_exits_on_the_atr_stop_with_a_reduce_only_order() -> None:
    desk = Desk(follower())
    bars(desk, [*DOWN, CROSS_UP, "100"])
    strategy = desk.strategy
    assert isinstance(strategy, TrendFollower)
    assert strategy.entry is not None
    stop = strategy.entry.stop  # about 97.47
    assert desk.book(around("97.6", 9 * SECOND + 100 * MS)) == []  # above the stop: hold
    (exit_,) = desk.book(around("97.4", 9 * SECOND + 200 * MS))
    assert D("97.4") <= stop
    assert isinstance(exit_, OrderIntent)
    assert (exit_.side, exit_.quantity, exit_.reduce_only, exit_.time_in_force) == (
        SELL,
        D("0.500"),
        True,
        TimeInForce.IOC,
    )
    assert exit_.price == D("97.26")  # the bid 97.35 - 10 bps = 97.25265, rounded up
    assert desk.position == 0
    assert strategy.target == 0
    assert strategy.snapshot()["entry"] is None  # (not `.entry`, which mypy saw narrowed above)
    assert desk.book(around("96", 9 * SECOND + 300 * MS)) == []  # flat, and no new crossing


def test_reverses_on_the_opposite_crossover_closing_first() -> None:
    desk = Desk(follower(atr_stop_multiple="100"))  # a stop too far to interfere
    bars(desk, [*DOWN, CROSS_UP, "100", "102"])
    assert desk.position == D("0.5")
    before = len(desk.signals)
    bars(desk, ["99", "96", "93", "90"], first_bar=10)
    # The closing leg goes out at the crossing; the opening leg once the close has filled (here in
    # answer to that fill's event).
    sells = intents(desk.signals[before:])
    assert [(i.side, i.quantity, i.reduce_only) for i in sells] == [
        (SELL, D("0.500"), True),
        (SELL, D("0.500"), False),
    ]
    assert desk.position == D("-0.5")
    strategy = desk.strategy
    assert isinstance(strategy, TrendFollower)
    assert strategy.entry is not None
    assert strategy.entry.direction == -1
    assert strategy.entry.filled_quantity == D("0.500")  # the closing leg is not part of the entry


def test_the_volatility_filter_blocks_entries() -> None:
    strategy = follower(max_vol_bps="1")
    assert bar_intents(Desk(strategy), [*DOWN, CROSS_UP, "100"]) == []
    assert bar_intents(Desk(follower(min_vol_bps="5000", max_vol_bps="9000")), [*DOWN, CROSS_UP, "100"]) == []
    assert strategy.vol_bps is not None
    assert strategy.vol_bps > 1
    assert strategy.target == 0


def test_a_timer_closes_the_bar_and_can_decide() -> None:
    desk = Desk(follower())
    bars(desk, [*DOWN, CROSS_UP])
    (entry,) = desk.timer(8 * SECOND)  # the end of the CROSS_UP bar
    assert isinstance(entry, OrderIntent)
    assert entry.side is BUY
    assert entry.price == D("98.14")  # 98.05 + 10 bps = 98.14805, rounded down


def test_no_entry_while_reducing_or_halted_but_exits_go_out_reduce_only() -> None:
    for state in (TradingState.REDUCING, TradingState.HALTED):
        strategy = follower()
        desk = Desk(strategy)
        bars(desk, DOWN)
        desk.trading_state = state
        assert bar_intents(desk, [CROSS_UP, "100"], first_bar=7) == []
        assert strategy.target == 0
    desk = Desk(follower())
    bars(desk, [*DOWN, CROSS_UP, "100"])
    desk.trading_state = TradingState.REDUCING
    (exit_,) = desk.book(around("97.4", 9 * SECOND + 200 * MS))
    assert isinstance(exit_, OrderIntent)
    assert exit_.reduce_only


def test_a_stale_book_sends_nothing_and_makes_no_bars() -> None:
    desk = Desk(follower())
    bars(desk, DOWN)
    desk.book_stale = True
    assert bars(desk, [CROSS_UP, "100"], first_bar=7) == [[], []]
    strategy = desk.strategy
    assert isinstance(strategy, TrendFollower)
    snapshot = strategy.snapshot()
    assert snapshot["bars"] == {
        "last_closed_index": 5,
        "current": dict.fromkeys(("open", "high", "low", "close"), "96.00") | {"index": 6},
    }
    desk.book_stale = False
    assert desk.book(around("100", 9 * SECOND, stale=True)) == []
    assert strategy.snapshot()["bars"] == snapshot["bars"]


def test_a_stop_is_not_checked_on_a_stale_price() -> None:
    strategy = follower()
    desk = Desk(strategy)
    bars(desk, [*DOWN, CROSS_UP, "100"])
    assert desk.book(around("90", 9 * SECOND + 100 * MS, stale=True)) == []
    assert strategy.target == D("0.5")


def test_an_unfilled_ioc_is_retried_after_the_interval() -> None:
    desk = Desk(follower(order_retry_interval_ns=300 * MS), fill_ioc=False)
    outputs = bars(desk, [*DOWN, CROSS_UP, "100"])
    assert len(intents(outputs[-1])) == 1
    assert desk.position == 0  # canceled unfilled
    assert desk.book(around("100.1", 8 * SECOND + 200 * MS)) == []  # within the retry interval
    (retry,) = desk.book(around("100.2", 8 * SECOND + 301 * MS))
    assert isinstance(retry, OrderIntent)
    assert retry.price == D("100.35")  # 100.25 + 10 bps = 100.350.., rounded down


def test_an_intent_in_flight_waits_for_the_view_or_the_timeout() -> None:
    strategy = follower()
    for k, close in enumerate([*DOWN, CROSS_UP, "100"]):
        out = strategy.on_book(around(close, k * SECOND + MS), view(k * SECOND + MS))
    assert [i.tag for i in intents(out)] == ["entry-1"]
    assert strategy.on_book(around("100", 8 * SECOND + 2 * MS), view(8 * SECOND + 2 * MS)) == ()
    (again,) = intents(strategy.on_book(around("100", 10 * SECOND), view(10 * SECOND)))
    assert again.tag == "entry-2"  # never seen (denied): after the timeout, tried again


@pytest.mark.parametrize(
    "changes",
    [
        {"trade_size": "0"},
        {"fast_period": 4},
        {"slow_period": 1},
        {"vol_window": 1},
        {"min_vol_bps": "10", "max_vol_bps": "5"},
        {"atr_stop_multiple": "0"},
        {"max_slippage_bps": "-1"},
        {"bar_interval_ns": 0},
        {"order_retry_interval_ns": -1},
    ],
)
def test_a_bad_configuration_is_refused(changes: dict[str, Any]) -> None:
    with pytest.raises(StrategyConfigError):
        attrs.evolve(CONFIG, **changes)


def test_snapshot_round_trips_through_json_and_refuses_foreign_states() -> None:
    original = follower()
    bars(Desk(original), [*DOWN, CROSS_UP, "100"])
    state = original.snapshot()
    restored = follower()
    restored.restore(json.loads(json.dumps(state)))
    assert restored.snapshot() == state
    assert restored.entry == original.entry
    with pytest.raises(StrategyStateError, match="trend_follower"):
        restored.restore({**state, "kind": "market_maker"})
    with pytest.raises(StrategyStateError, match="direction"):
        restored.restore(json.loads(json.dumps(state).replace('"direction": 1', '"direction": 2')))
    with pytest.raises(StrategyStateError, match="previous_trend"):
        restored.restore({**state, "previous_trend": 0})
    with pytest.raises(StrategyStateError, match="target"):
        restored.restore({**state, "target": 0.5})
    assert restored.snapshot() == state
