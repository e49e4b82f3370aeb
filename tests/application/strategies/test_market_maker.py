"""The market maker: pricing, skew, volatility, repricing, limits, the guard and its state."""

from __future__ import annotations

import itertools
import json
from decimal import Decimal
from typing import Any

import attrs
import pytest

from application.strategies.market_maker import MarketMaker, MarketMakerConfig, moved_bps, quote_prices
from application.strategies.strategy import StrategyConfigError, StrategyStateError
from application.strategies.strategy_view import OpenOrderView
from domain.identifiers import ClientOrderId, StrategyId
from domain.order_terms import OrderSide, OrderType, TimeInForce
from domain.orders.order_status import OrderStatus
from domain.risk.trading_state import TradingState
from domain.signals import CancelIntent, OrderIntent
from tests.application.strategies import (
    BTC,
    BTC_ID,
    COARSE,
    MS,
    OTHER_ID,
    SECOND,
    D,
    Desk,
    around,
    cancels,
    intents,
    on_side,
    top,
    view,
)

SID = StrategyId("mm")
BUY, SELL = OrderSide.BUY, OrderSide.SELL
CONFIG = MarketMakerConfig(
    quote_size="0.1",
    max_position="0.3",
    base_spread_bps="10",
    vol_multiplier="1",
    min_spread_bps="2",
    max_spread_bps="200",
    inventory_skew_bps="5",
    min_requote_interval_ns=100 * MS,
    requote_threshold_bps="1",
    vol_window=5,
    vol_sample_interval_ns=0,
    pending_timeout_ns=1_000 * MS,
)


def maker(**changes: Any) -> MarketMaker:
    return MarketMaker(SID, BTC_ID, attrs.evolve(CONFIG, **changes))


def warm(desk: Desk, mid: str = "100", t0: int = 0) -> int:
    """Feed a calm window of tops (constant mid); returns the time of the last one."""
    for i in range(CONFIG.vol_window + 1):
        desk.book(around(mid, t0 + i * MS))
    return t0 + CONFIG.vol_window * MS


def quote(side: OrderSide, price: str, number: int = 1, leaves: str = "0.1", tag: str = "") -> OpenOrderView:
    return OpenOrderView(
        ClientOrderId(number), side, D(price), D("0.1"), D(leaves), OrderStatus.ACCEPTED, tag
    )


# ----- pricing -----


def test_no_quote_until_the_volatility_window_is_full() -> None:
    desk = Desk(maker())
    for i in range(CONFIG.vol_window):
        assert desk.book(around("100", i * MS)) == []
    signals = desk.book(around("100", CONFIG.vol_window * MS))
    assert [(i.side, i.price, i.quantity) for i in intents(signals)] == [
        (BUY, D("99.95"), D("0.100")),
        (SELL, D("100.05"), D("0.100")),
    ]
    for intent in intents(signals):
        assert intent.order_type is OrderType.LIMIT
        assert intent.time_in_force is TimeInForce.GTC
        assert intent.post_only
        assert not intent.reduce_only
        assert intent.strategy_id == SID
        assert intent.instrument_id == BTC_ID


def test_prices_round_bids_down_and_asks_up() -> None:
    # mid 100.003: +-5 bps -> 99.9529985 and 100.0530015, which lie between ticks.
    prices = quote_prices(
        CONFIG, BTC, best_bid=D("99.998"), best_ask=D("100.008"), vol_bps=0.0, position=D(0)
    )
    assert (prices.bid, prices.ask) == (D("99.95"), D("100.06"))
    coarse = quote_prices(CONFIG, COARSE, best_bid=D("99.5"), best_ask=D("100.5"), vol_bps=0.0, position=D(0))
    assert (coarse.bid, coarse.ask) == (D("99.5"), D("100.5"))  # 99.95 down, 100.05 up on a 0.5 grid


def test_inventory_skews_both_quotes_against_the_position() -> None:
    def at(position: str) -> tuple[Decimal, Decimal]:
        prices = quote_prices(
            CONFIG, BTC, best_bid=D("99.95"), best_ask=D("100.05"), vol_bps=0.0, position=D(position)
        )
        assert prices.bid is not None
        return prices.bid, prices.ask

    flat, long, short = at("0"), at("0.15"), at("-0.15")
    # Half of max_position long: skew 2.5 bps, reservation 99.975 -> 99.9250125 / 100.0249875.
    assert long == (D("99.92"), D("100.03"))
    assert long[0] < flat[0]
    assert long[1] < flat[1]
    assert short[0] > flat[0]
    assert short[1] > flat[1]
    # Beyond max_position the skew is capped.
    assert at("0.6") == at("0.3")


def test_the_spread_widens_with_volatility() -> None:
    calm_maker, wild_maker = maker(), maker()
    calm, wild = Desk(calm_maker), Desk(wild_maker)
    for i in range(12):
        calm.book(around("100", i * MS))
        wild.book(around("100" if i % 2 else "100.5", i * MS))
    assert calm_maker.vol_bps == 0.0
    assert wild_maker.vol_bps is not None
    assert wild_maker.vol_bps > 40

    def spread(desk: Desk) -> Decimal:
        bid = next(o for o in desk.orders.values() if o.side is BUY)
        ask = next(o for o in desk.orders.values() if o.side is SELL)
        assert ask.price is not None
        assert bid.price is not None
        return ask.price - bid.price

    assert spread(wild) > 4 * spread(calm)
    priced = quote_prices(CONFIG, BTC, best_bid=D(99), best_ask=D(101), vol_bps=1e9, position=D(0))
    assert priced.spread_bps == CONFIG.max_spread_bps


def test_quotes_never_cross_the_book() -> None:
    strong = attrs.evolve(CONFIG, inventory_skew_bps="100")  # 1%: far wider than the spread
    short = quote_prices(
        strong, BTC, best_bid=D("99.95"), best_ask=D("100.05"), vol_bps=0.0, position=D("-0.3")
    )
    assert short.bid == D("100.04")  # pulled to one tick below the best ask
    long = quote_prices(
        strong, BTC, best_bid=D("99.95"), best_ask=D("100.05"), vol_bps=0.0, position=D("0.3")
    )
    assert long.ask == D("99.96")  # pulled to one tick above the best bid
    assert long.bid is not None
    assert long.bid < long.ask
    assert moved_bps(D(100), D("100.01")) == D(1)


def test_volatility_samples_are_spaced_by_the_sample_interval() -> None:
    strategy = maker(vol_sample_interval_ns=SECOND)
    desk = Desk(strategy)
    for i in range(20):  # 20 tops, 100 ms apart: 2 seconds, so 2 samples (at 0 and 1 s)
        assert desk.book(around("100" if i % 2 else "101", i * 100 * MS)) == []
    assert strategy.snapshot()["volatility"] == {"prices": ["101.00", "101.00"]}  # tops 0 and 10
    assert strategy.vol_bps is None


def test_a_quote_never_exceeds_the_instruments_maximum_size() -> None:
    small = attrs.evolve(BTC, max_size="0.04", min_size="0.001")
    desk = Desk(maker(), small)
    warm(desk)
    assert [i.quantity for i in intents(desk.signals)] == [D("0.040"), D("0.040")]


# ----- repricing -----


def test_a_quote_is_not_replaced_for_a_move_below_the_threshold() -> None:
    desk = Desk(maker(vol_multiplier="0"))  # prices follow the mid only
    t = warm(desk)
    assert len(desk.orders) == 2
    # mid + 0.5 bps: the bid would go from 99.95 to 99.95 (99.955 rounded down), the ask from
    # 100.05 to 100.06 (100.055 rounded up): 0.9995 bps, under the 1 bps threshold.
    assert desk.book(around("100.005", t + 200 * MS)) == []


def test_a_quote_is_replaced_past_the_threshold_once_the_interval_passed() -> None:
    desk = Desk(maker(vol_multiplier="0"))
    t = warm(desk)
    assert desk.book(around("100.5", t + 50 * MS)) == []  # moved 50 bps, 50 ms after the quotes
    late = desk.book(around("100.5", t + 100 * MS))
    # Cancel the stale quote, then the new one, side by side.
    assert [type(s) for s in late] == [CancelIntent, OrderIntent, CancelIntent, OrderIntent]
    assert [s.client_order_id for s in cancels(late)] == [ClientOrderId(1), ClientOrderId(2)]
    assert [(i.side, i.price) for i in intents(late)] == [(BUY, D("100.44")), (SELL, D("100.56"))]
    assert [o.price for o in desk.orders.values()] == [D("100.44"), D("100.56")]


def test_new_quotes_on_a_side_are_never_closer_than_the_interval() -> None:
    desk = Desk(maker(vol_multiplier="0", requote_threshold_bps="0"))
    t = warm(desk)
    for k in range(1, 40):
        desk.book(around(D(100) + D(k) / 100, t + k * 10 * MS))
    for side in (BUY, SELL):
        times = [e.now_ns for e in desk.emissions for s in on_side(e.signals, side)]
        assert len(times) >= 4
        assert all(b - a >= CONFIG.min_requote_interval_ns for a, b in itertools.pairwise(times))


def test_a_filled_quote_is_requoted_after_the_interval_with_the_new_skew() -> None:
    desk = Desk(maker(vol_multiplier="0"))
    t = warm(desk)
    (bid,) = [o for o in desk.orders.values() if o.side is BUY]
    assert desk.fill(bid.client_order_id, D("0.1"), t + 10 * MS) == []  # too soon to quote again
    assert desk.position == D("0.1")
    signals = desk.timer(t + 100 * MS)
    # Long 0.1 of 0.3: skew 5/3 bps, reservation 99.98333..: bid 99.9333.. rounds down to 99.93.
    # The ask would go from 100.05 to 100.04 (100.0333.. rounded up): 0.9995 bps, under the
    # 1 bps threshold, so it stays.
    assert [(type(s).__name__, s.side, s.price) for s in intents(signals)] == [
        ("OrderIntent", BUY, D("99.93"))
    ]
    assert cancels(signals) == []


# ----- limits -----


def test_quotes_are_sized_to_stay_within_max_position() -> None:
    strategy = maker()
    desk = Desk(strategy)
    desk.position = D("0.25")
    warm(desk)
    assert [(i.side, i.quantity) for i in intents(desk.signals)] == [(BUY, D("0.050")), (SELL, D("0.100"))]
    full = Desk(maker())
    full.position = D("0.3")
    warm(full)
    assert [i.side for i in intents(full.signals)] == [SELL]


def test_resting_quotes_over_the_limit_are_canceled() -> None:
    strategy = maker()
    resting = [quote(BUY, "99.95"), quote(SELL, "100.05", 2)]
    for i in range(CONFIG.vol_window + 1):
        strategy.on_book(around("100", i * MS), view(i * MS, open_orders=resting))
    signals = strategy.on_book(around("100", 10 * MS), view(10 * MS, position="0.25", open_orders=resting))
    # 0.25 long + a resting bid of 0.1 could reach 0.35 > 0.3: the bid goes, and no new bid comes
    # until it is gone. (The ask is repriced for the new skew.)
    assert CancelIntent(SID, ClientOrderId(1)) in signals
    assert on_side(signals, BUY) == []


# ----- in flight -----


def test_an_intent_in_flight_is_not_repeated_until_seen_or_timed_out() -> None:
    strategy = maker()
    for i in range(CONFIG.vol_window + 1):
        out = strategy.on_book(around("100", i * MS), view(i * MS))
    assert [i.tag for i in intents(out)] == ["bid-1", "ask-2"]
    # The kernel has not shown the orders yet: nothing new, however often asked.
    assert strategy.on_timer(0, view(500 * MS)) == ()
    assert strategy.in_flight(BUY) is not None
    # The bid shows up; the ask never does (denied): after the timeout it is quoted again.
    seen = [quote(BUY, "99.95", tag="bid-1")]
    assert strategy.on_timer(0, view(900 * MS, open_orders=seen)) == ()
    assert strategy.in_flight(BUY) is None
    again = strategy.on_timer(0, view(CONFIG.pending_timeout_ns + 5 * MS, open_orders=seen))
    assert [(i.side, i.tag) for i in intents(again)] == [(SELL, "ask-3")]


def test_a_cancel_is_sent_once_until_it_times_out() -> None:
    strategy = maker()
    orders = [quote(BUY, "99.95"), quote(SELL, "100.05", 2)]
    for i in range(CONFIG.vol_window + 1):
        strategy.on_book(around("100", i * MS), view(i * MS, open_orders=orders))
    first = strategy.on_timer(0, view(10 * MS, open_orders=orders, book_stale=True))
    assert set(first) == {CancelIntent(SID, ClientOrderId(1)), CancelIntent(SID, ClientOrderId(2))}
    assert strategy.on_timer(0, view(20 * MS, open_orders=orders, book_stale=True)) == ()
    pending = [attrs.evolve(orders[0], status=OrderStatus.PENDING_CANCEL), orders[1]]
    later = strategy.on_timer(
        0, view(10 * MS + CONFIG.pending_timeout_ns, open_orders=pending, book_stale=True)
    )
    assert later == (CancelIntent(SID, ClientOrderId(2)),)  # the bid's cancel is pending at the venue


# ----- the guard -----


def test_a_stale_book_pulls_the_quotes_and_sends_nothing_new() -> None:
    desk = Desk(maker())
    t = warm(desk)
    assert len(desk.orders) == 2
    signals = desk.book(around("100", t + SECOND, stale=True))
    assert intents(signals) == []
    assert {c.client_order_id for c in cancels(signals)} == {ClientOrderId(1), ClientOrderId(2)}
    vol_before = desk.strategy.snapshot()["volatility"]
    assert desk.timer(t + 2 * SECOND) == []  # stale since the last top: still nothing new
    desk.book_stale = True
    assert desk.book(around("101", t + 3 * SECOND)) == []
    assert desk.strategy.snapshot()["volatility"] == vol_before  # stale mids do not feed the estimate
    desk.book_stale = False
    assert len(intents(desk.book(around("100", t + 4 * SECOND)))) == 2


def test_halted_emits_nothing_at_all() -> None:
    desk = Desk(maker())
    t = warm(desk)
    desk.trading_state = TradingState.HALTED
    assert desk.book(around("105", t + SECOND)) == []
    assert desk.book(around("105", t + 2 * SECOND, stale=True)) == []
    assert desk.timer(t + 3 * SECOND) == []


def test_reducing_cancels_what_could_add_exposure_then_quotes_reduce_only() -> None:
    desk = Desk(maker())
    desk.position = D("0.05")
    t = warm(desk)
    desk.trading_state = TradingState.REDUCING
    signals = desk.timer(t + SECOND)
    # The bid adds exposure; the 0.1 ask could take a 0.05 long to 0.05 short: both go, and
    # nothing new is quoted while they might still fill.
    assert signals == [CancelIntent(SID, ClientOrderId(1)), CancelIntent(SID, ClientOrderId(2))]
    # Once they are gone, the ask comes back reduce-only, sized to the position.
    again = desk.timer(t + 2 * SECOND)
    assert [(i.side, i.quantity, i.reduce_only) for i in intents(again)] == [(SELL, D("0.050"), True)]
    assert [o.side for o in desk.orders.values()] == [SELL]


def test_reducing_sizes_the_reducing_quote_so_the_position_cannot_flip() -> None:
    strategy = maker()
    for i in range(CONFIG.vol_window + 1):
        strategy.on_book(around("100", i * MS), view(i * MS, trading_state=TradingState.REDUCING))
    out = strategy.on_timer(0, view(SECOND, position="0.04", trading_state=TradingState.REDUCING))
    assert [(i.side, i.quantity, i.reduce_only) for i in intents(out)] == [(SELL, D("0.040"), True)]
    flat = maker()
    for i in range(CONFIG.vol_window + 1):
        assert flat.on_book(around("100", i * MS), view(i * MS, trading_state=TradingState.REDUCING)) == ()


def test_a_one_sided_book_leaves_resting_quotes_alone() -> None:
    desk = Desk(maker())
    t = warm(desk)
    assert desk.book(top("99.95", None, t + SECOND)) == []
    assert len(desk.orders) == 2


def test_another_instruments_book_is_ignored() -> None:
    strategy = maker()
    assert strategy.on_book(top("1", "2", instrument_id=OTHER_ID), view()) == ()


# ----- configuration and state -----


@pytest.mark.parametrize(
    "changes",
    [
        {"quote_size": "0"},
        {"max_position": "-1"},
        {"min_spread_bps": "0"},
        {"min_spread_bps": "50", "max_spread_bps": "40"},
        {"max_spread_bps": "20000"},
        {"vol_window": 1},
        {"min_requote_interval_ns": -1},
        {"pending_timeout_ns": 0},
        {"inventory_skew_bps": "10000"},
        {"base_spread_bps": "-1"},
        {"vol_multiplier": "-1"},
        {"requote_threshold_bps": "-1"},
    ],
)
def test_a_bad_configuration_is_refused(changes: dict[str, Any]) -> None:
    with pytest.raises(StrategyConfigError):
        attrs.evolve(CONFIG, **changes)


def test_snapshot_round_trips_through_json_and_refuses_foreign_states() -> None:
    desk = Desk(maker())
    warm(desk)
    state = desk.strategy.snapshot()
    restored = maker()
    restored.restore(json.loads(json.dumps(state)))
    assert restored.snapshot() == state
    with pytest.raises(StrategyStateError, match="market_maker"):
        restored.restore({**state, "kind": "trend_follower"})
    with pytest.raises(StrategyStateError, match="version"):
        restored.restore({**state, "version": 2})
    broken = json.loads(json.dumps(state))
    broken["in_flight"]["BUY"] = {"tag": "ask-9", "side": "SELL", "quantity": "0.1", "sent_ns": 0}
    with pytest.raises(StrategyStateError, match="filed under"):
        restored.restore(broken)
    assert restored.snapshot() == state  # a refused state changes nothing
