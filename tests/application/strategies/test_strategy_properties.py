"""Properties of both reference strategies over random markets, fills and trading states.

A random script (book tops on a random walk, timers, fills, trading state and book health
changes) drives a strategy through the test `Desk`; every call's output is checked against what
the strategy saw when it decided. Snapshots are checked by running a script, snapshotting through
JSON, restoring into a fresh instance and running the rest of the script on both.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import attrs
from hypothesis import given
from hypothesis import strategies as hs

from application.strategies.market_maker import MarketMaker, MarketMakerConfig
from application.strategies.strategy import SingleInstrumentStrategy
from application.strategies.trend_follower import TrendFollower, TrendFollowerConfig
from domain.identifiers import StrategyId
from domain.order_terms import OrderSide, OrderType, TimeInForce
from domain.risk.trading_state import TradingState
from tests.application.strategies import BTC_ID, COARSE, MS, D, Desk, Emission, intents, top

MM_CONFIG = MarketMakerConfig(
    quote_size="0.1",
    max_position="0.25",
    base_spread_bps="8",
    vol_multiplier="0.5",
    min_spread_bps="2",
    max_spread_bps="150",
    inventory_skew_bps="20",
    min_requote_interval_ns=100 * MS,
    requote_threshold_bps="1",
    vol_window=4,
    vol_sample_interval_ns=0,
    pending_timeout_ns=1_000 * MS,
)
TF_CONFIG = TrendFollowerConfig(
    trade_size="0.3",
    bar_interval_ns=200 * MS,
    fast_period=2,
    slow_period=3,
    vol_window=2,
    min_vol_bps="0",
    max_vol_bps="5000",
    atr_period=2,
    atr_stop_multiple="1.5",
    max_slippage_bps="15",
    order_retry_interval_ns=50 * MS,
    pending_timeout_ns=500 * MS,
)

# ----- the script -----

#: (kind, a, b, c, flag): every action is one shape, so a script is a plain list of tuples.
Action = tuple[str, int, int, int, bool]
STATES = [TradingState.ACTIVE] * 3 + [TradingState.REDUCING, TradingState.HALTED]

book_action = hs.tuples(
    hs.just("book"),
    hs.integers(0, 250),  # ms since the previous action
    hs.integers(-60, 60),  # mid step in cents
    hs.integers(1, 15),  # half spread in cents
    hs.sampled_from([False] * 14 + [True]),  # the top itself is stale
)
timer_action = hs.tuples(hs.just("timer"), hs.integers(0, 400), hs.just(0), hs.just(0), hs.just(False))
fill_action = hs.tuples(hs.just("fill"), hs.integers(0, 3), hs.integers(1, 4), hs.just(0), hs.just(False))
state_action = hs.tuples(
    hs.just("state"), hs.integers(0, len(STATES) - 1), hs.just(0), hs.just(0), hs.just(False)
)
stale_action = hs.tuples(
    hs.just("stale"), hs.just(0), hs.just(0), hs.just(0), hs.sampled_from([False, False, True])
)
action = hs.one_of(
    book_action, book_action, book_action, book_action, book_action, timer_action, fill_action, fill_action,
    state_action, stale_action,
)  # fmt: skip
script = hs.lists(action, max_size=60)
#: Fresh tops on a zigzag, so both strategies are warmed up before the random part begins.
WARM_UP: list[Action] = [("book", 100, step, 5, False) for step in (10, -20, 30, -10, 25, -35) * 2]


@attrs.define
class Market:
    """The script's running market: time and mid (in cents)."""

    now_ns: int = 0
    mid_cents: int = 10_000


def run(desk: Desk, actions: list[Action], market: Market) -> None:
    for kind, a, b, c, flag in actions:
        if kind == "book":
            market.now_ns += a * MS
            market.mid_cents = max(500, market.mid_cents + b)
            mid, half = D(market.mid_cents) / 100, D(c) / 100
            desk.book(top(mid - half, mid + half, market.now_ns, stale=flag))
        elif kind == "timer":
            market.now_ns += a * MS
            desk.timer(market.now_ns)
        elif kind == "fill":
            resting = list(desk.orders.values())
            if resting:
                order = resting[a % len(resting)]
                desk.fill(order.client_order_id, order.leaves_quantity * b / 4, market.now_ns)
        elif kind == "state":
            desk.trading_state = STATES[a]
        else:
            desk.book_stale = flag


def market_maker() -> MarketMaker:
    return MarketMaker(StrategyId("mm"), BTC_ID, MM_CONFIG)


def trend_follower() -> TrendFollower:
    return TrendFollower(StrategyId("tf"), BTC_ID, TF_CONFIG)


# ----- invariants every strategy keeps -----


def check_guard(emission: Emission) -> None:
    v, signals = emission.view, emission.signals
    if v.trading_state is TradingState.HALTED:
        assert signals == ()
    if v.book_stale or (emission.top is not None and emission.top.stale):
        assert intents(signals) == []
    if v.trading_state is TradingState.REDUCING:
        assert all(intent.reduce_only for intent in intents(signals))


def check_reduce_only(emission: Emission) -> None:
    v = emission.view
    for intent in intents(emission.signals):
        if intent.reduce_only:
            # Even if it and every resting order on its side filled, the position cannot pass zero.
            side = intent.side
            assert v.position * side.sign < 0
            assert v.position * side.sign + v.open_quantity(side) + intent.quantity <= 0


def check_grid(emission: Emission) -> None:
    v = emission.view
    for intent in intents(emission.signals):
        assert intent.price is not None
        assert v.instrument.is_price_on_grid(intent.price)
        assert v.instrument.is_size_on_grid(intent.quantity)
        assert intent.quantity > 0
        assert v.instrument.size_violations(intent.quantity, intent.price) == []


# ----- market maker -----


@given(script)
def test_market_maker_invariants(actions: list[Action]) -> None:
    desk = Desk(market_maker())
    run(desk, WARM_UP + actions, Market())
    last_new: dict[OrderSide, int] = {}
    for emission in desk.emissions:
        check_guard(emission)
        check_reduce_only(emission)
        check_grid(emission)
        v, book = emission.view, emission.top
        added = {OrderSide.BUY: D(0), OrderSide.SELL: D(0)}
        for intent in intents(emission.signals):
            side = intent.side
            # Post-only GTC limits, never crossing the book they were priced from.
            assert (intent.order_type, intent.time_in_force, intent.post_only) == (
                OrderType.LIMIT,
                TimeInForce.GTC,
                True,
            )
            assert book is not None
            assert intent.price is not None
            if side is OrderSide.BUY:
                assert book.best_ask is None or intent.price < book.best_ask
            else:
                assert book.best_bid is None or intent.price > book.best_bid
            # The worst case (everything on that side fills) stays within max_position.
            added[side] += intent.quantity
            assert v.position * side.sign + v.open_quantity(side) + added[side] <= MM_CONFIG.max_position
            # New quotes on a side never closer together than the minimum requote interval.
            previous = last_new.get(side)
            assert previous is None or emission.now_ns - previous >= MM_CONFIG.min_requote_interval_ns
            last_new[side] = emission.now_ns
        assert added[OrderSide.BUY] <= MM_CONFIG.quote_size
        assert added[OrderSide.SELL] <= MM_CONFIG.quote_size
        bids = [i.price for i in intents(emission.signals) if i.side is OrderSide.BUY and i.price is not None]
        asks = [
            i.price for i in intents(emission.signals) if i.side is OrderSide.SELL and i.price is not None
        ]
        assert not (bids and asks) or bids[0] < asks[0]


@given(script)
def test_market_maker_prices_snap_the_safe_way_on_a_coarse_grid(actions: list[Action]) -> None:
    desk = Desk(market_maker(), COARSE)
    run(desk, WARM_UP + actions, Market())
    for emission in desk.emissions:
        check_grid(emission)
        book = emission.top
        for intent in intents(emission.signals):
            assert book is not None
            assert intent.price is not None
            if intent.side is OrderSide.BUY:
                assert book.best_ask is None or intent.price < book.best_ask
            else:
                assert book.best_bid is None or intent.price > book.best_bid


# ----- trend follower -----


@given(script)
def test_trend_follower_invariants(actions: list[Action]) -> None:
    desk = Desk(trend_follower())
    run(desk, WARM_UP + actions, Market())
    for emission in desk.emissions:
        check_guard(emission)
        check_reduce_only(emission)
        check_grid(emission)
        assert len(intents(emission.signals)) <= 1
        book = emission.top
        for intent in intents(emission.signals):
            assert (intent.order_type, intent.time_in_force, intent.post_only) == (
                OrderType.LIMIT,
                TimeInForce.IOC,
                False,
            )
            assert book is not None
            assert intent.price is not None
            assert not book.stale
            # Marketable, by at most the slippage allowance.
            slip = TF_CONFIG.max_slippage_bps / 10_000
            if intent.side is OrderSide.BUY:
                assert book.best_ask is not None
                assert book.best_ask <= intent.price <= max(book.best_ask, book.best_ask * (1 + slip))
            else:
                assert book.best_bid is not None
                assert min(book.best_bid, book.best_bid * (1 - slip)) <= intent.price <= book.best_bid
            # Never more than the target calls for.
            assert abs(emission.view.position + intent.quantity * intent.side.sign) <= TF_CONFIG.trade_size


# ----- state and determinism, both strategies -----

factories: list[Callable[[], SingleInstrumentStrategy]] = [market_maker, trend_follower]


@given(hs.sampled_from(factories), script, script)
def test_snapshot_and_restore_give_identical_futures(
    factory: Callable[[], SingleInstrumentStrategy],
    first: list[Action],
    then: list[Action],
) -> None:
    original = Desk(factory())
    market = Market()
    run(original, WARM_UP + first, market)
    restored_strategy = factory()
    restored_strategy.restore(json.loads(json.dumps(original.strategy.snapshot())))
    restored = original.clone(restored_strategy)
    original.emissions.clear()
    run(original, then, attrs.evolve(market))
    run(restored, then, attrs.evolve(market))
    assert [e.signals for e in restored.emissions] == [e.signals for e in original.emissions]
    assert restored.strategy.snapshot() == original.strategy.snapshot()


@given(hs.sampled_from(factories), script)
def test_the_same_inputs_give_the_same_outputs(
    factory: Callable[[], SingleInstrumentStrategy], actions: list[Action]
) -> None:
    one, two = Desk(factory()), Desk(factory())
    run(one, WARM_UP + actions, Market())
    run(two, WARM_UP + actions, Market())
    assert [e.signals for e in one.emissions] == [e.signals for e in two.emissions]
    assert one.strategy.snapshot() == two.strategy.snapshot()


def test_the_scripts_exercise_quoting_and_trading() -> None:
    """A fixed script trades: guards against properties passing because nothing is ever emitted."""
    down: list[Action] = [("book", 100, -5, 3, False)] * 20
    up: list[Action] = [("book", 100, 5, 3, False)] * 30
    swings = [*down, *up, ("fill", 0, 4, 0, False), *down, *down]
    mm, tf = Desk(market_maker()), Desk(trend_follower())
    run(mm, swings, Market())
    run(tf, swings, Market())
    assert len(intents(mm.signals)) > 10
    assert {(i.side, i.reduce_only) for i in intents(tf.signals)} == {
        (OrderSide.BUY, False),  # the long entry
        (OrderSide.SELL, True),  # its exit
        (OrderSide.SELL, False),  # the short entry
    }
