"""The simulated venue through its gateway: matching, queue positions, latency, races, ids, ledger."""

from __future__ import annotations

import json

import attrs
import pytest

from application.ports.clock import SimulatedClock
from application.ports.venue_gateway import VenueGateway, VenueReport
from domain.errors import InvalidValueError
from domain.identifiers import ClientOrderId, FillId, VenueOrderId
from domain.instrument import Instrument, InstrumentId
from domain.market_data import OrderBookUpdate, TradeTick
from domain.order_book import OrderBook
from domain.order_terms import LiquiditySide, OrderType, TimeInForce
from domain.orders import (
    OrderAccepted,
    OrderCanceled,
    OrderCancelRejected,
    OrderExpired,
    OrderFilled,
    OrderRejected,
)
from domain.orders.order import Order
from infrastructure.venues.simulated import (
    ALREADY_CANCELED,
    ALREADY_EXPIRED,
    ALREADY_FILLED,
    DUPLICATE_CLIENT_ORDER_ID,
    POST_ONLY_WOULD_CROSS,
    UNKNOWN_ORDER,
    SimulatedVenue,
    SimulatedVenueConfig,
)
from tests.infrastructure.simulated import BTC, BUY, ETH, INSTRUMENTS, SELL, Harness, d, make_order

FEES = SimulatedVenueConfig(maker_fee_bps="2", taker_fee_bps="10", starting_balances={"USD": "10000"})


def test_is_a_venue_gateway() -> None:
    harness = Harness()
    gateway: VenueGateway = harness.venue
    assert gateway.venue == "SIM"
    assert gateway.open_orders() == []
    assert gateway.fills_since(0) == []
    assert gateway.balances() == {}
    assert gateway.positions() == {}


# ----- market orders -----


def test_market_order_walks_the_book_with_exact_vwap_and_taker_fees() -> None:
    harness = Harness(FEES)
    harness.book(bids=[("99.00", "4")], asks=[("100.00", "1"), ("100.50", "2"), ("101.00", "5")])
    order = harness.submit(BUY, "2.5")

    assert harness.kinds(order) == ["OrderAccepted", "OrderFilled", "OrderFilled"]
    accepted = harness.of(order)[0]
    assert isinstance(accepted, OrderAccepted)
    assert accepted.venue_order_id == VenueOrderId("SIM-1")
    fills = harness.fills(order)
    assert [(f.price, f.quantity) for f in fills] == [(d("100.00"), d("1")), (d("100.50"), d("1.5"))]
    assert [f.fill_id for f in fills] == [FillId("SIM-F-1"), FillId("SIM-F-2")]
    assert all(f.liquidity is LiquiditySide.TAKER and f.fee_currency == "USD" for f in fills)
    assert all(f.venue_order_id == VenueOrderId("SIM-1") for f in fills)
    notional = sum((f.price * f.quantity for f in fills), d(0))
    assert notional == d("250.75")
    assert notional / d("2.5") == d("100.3")  # the VWAP: 0.3 of slippage above the best ask
    assert [f.fee for f in fills] == [d("0.1"), d("0.15075")]  # 10 bps of each fill's notional, exact
    assert harness.venue.balances() == {"USD": d("10000") - d("250.75") - d("0.25075"), "BTC": d("2.5")}
    assert harness.venue.positions() == {BTC: d("2.5")}


def test_consumed_liquidity_stays_gone_until_the_feed_updates_the_level() -> None:
    harness = Harness()
    harness.book(asks=[("100", "1"), ("101", "2")])
    harness.submit(BUY, "1.5")  # takes 100 x 1 and 101 x 0.5
    second = harness.submit(BUY, "1")
    assert [(f.price, f.quantity) for f in harness.fills(second)] == [(d("101"), d("1"))]
    third = harness.submit(BUY, "1")  # only 0.5 left at 101: IOC takes it, cancels the rest
    assert [(f.price, f.quantity) for f in harness.fills(third)] == [(d("101"), d("0.5"))]
    assert isinstance(harness.of(third)[-1], OrderCanceled)
    harness.book(asks=[("100", "1")], snapshot=False)  # the feed speaks for level 100 again
    fourth = harness.submit(BUY, "1")
    assert [(f.price, f.quantity) for f in harness.fills(fourth)] == [(d("100"), d("1"))]
    harness.book(asks=[("100", "1"), ("101", "1")])  # a snapshot forgets all consumption
    fifth = harness.submit(BUY, "2")
    assert [(f.price, f.quantity) for f in harness.fills(fifth)] == [(d("100"), d("1")), (d("101"), d("1"))]


def test_market_order_on_an_empty_book_is_canceled() -> None:
    harness = Harness()
    order = harness.submit(SELL, "1")
    assert harness.kinds(order) == ["OrderAccepted", "OrderCanceled"]


def test_market_sell_walks_the_bids() -> None:
    harness = Harness(FEES)
    harness.book(bids=[("99", "1"), ("98", "1")], asks=[("100", "1")])
    order = harness.submit(SELL, "2")
    assert [(f.price, f.quantity) for f in harness.fills(order)] == [(d("99"), d("1")), (d("98"), d("1"))]
    assert harness.venue.balances() == {"USD": d("10000") + d("197") - d("0.197"), "BTC": d("-2")}
    assert harness.venue.positions() == {BTC: d("-2")}


# ----- IOC and FOK -----


def test_ioc_limit_fills_what_is_there_within_its_price_and_cancels_the_rest() -> None:
    harness = Harness()
    harness.book(asks=[("100", "1"), ("101", "1")])
    order = harness.submit(BUY, "3", "100.50", tif=TimeInForce.IOC)
    assert harness.kinds(order) == ["OrderAccepted", "OrderFilled", "OrderCanceled"]
    assert [(f.price, f.quantity) for f in harness.fills(order)] == [(d("100"), d("1"))]
    assert harness.venue.open_orders() == []


def test_fok_is_all_or_nothing_against_visible_depth() -> None:
    harness = Harness()
    harness.book(asks=[("100", "1"), ("101", "1"), ("102", "5")])
    killed = harness.submit(BUY, "3", "101", tif=TimeInForce.FOK)  # only 2 at or below 101
    assert harness.kinds(killed) == ["OrderAccepted", "OrderCanceled"]
    killed_market = harness.submit(BUY, "8", tif=TimeInForce.FOK)  # 7 visible in all
    assert harness.kinds(killed_market) == ["OrderAccepted", "OrderCanceled"]
    filled = harness.submit(BUY, "2", "101", tif=TimeInForce.FOK)  # the book was left untouched
    assert harness.kinds(filled) == ["OrderAccepted", "OrderFilled", "OrderFilled"]
    market = harness.submit(BUY, "5", tif=TimeInForce.FOK)
    assert [(f.price, f.quantity) for f in harness.fills(market)] == [(d("102"), d("5"))]


# ----- limit orders and post-only -----


def test_marketable_limit_takes_then_rests_the_remainder() -> None:
    harness = Harness(FEES)
    harness.book(bids=[("99", "3")], asks=[("100", "1"), ("101", "1")])
    order = harness.submit(BUY, "3", "100")
    assert harness.kinds(order) == ["OrderAccepted", "OrderFilled"]
    assert harness.fills(order)[0].liquidity is LiquiditySide.TAKER
    [status] = harness.venue.open_orders()
    assert (status.client_order_id, status.price, status.quantity, status.filled_quantity) == (
        order,
        d("100"),
        d("3"),
        d("1"),
    )
    assert status.status == "OPEN"
    assert status.venue_order_id == VenueOrderId("SIM-1")
    # It rests at 100, better than the best bid: nothing ahead of it.
    harness.trade("100", "0.5", SELL)
    fill = harness.fills(order)[-1]
    assert (fill.price, fill.quantity, fill.liquidity) == (d("100"), d("0.5"), LiquiditySide.MAKER)
    assert fill.fee == d("0.01")  # 2 bps of 50


def test_post_only_that_would_cross_is_rejected() -> None:
    harness = Harness()
    harness.book(bids=[("99", "1")], asks=[("100", "1")])
    crossing = harness.submit(BUY, "1", "100", post_only=True)
    [report] = harness.of(crossing)
    assert isinstance(report, OrderRejected)
    assert report.reason == POST_ONLY_WOULD_CROSS
    assert report.post_only_crossed  # a market race: the breaker does not count it
    crossing_sell = harness.submit(SELL, "1", "98.5", post_only=True)
    assert harness.kinds(crossing_sell) == ["OrderRejected"]
    resting = harness.submit(BUY, "1", "99.99", post_only=True)
    assert harness.kinds(resting) == ["OrderAccepted"]
    assert [status.client_order_id for status in harness.venue.open_orders()] == [resting]


def test_post_only_may_rest_at_a_price_whose_liquidity_we_consumed() -> None:
    harness = Harness()
    harness.book(asks=[("100", "1"), ("101", "1")])
    harness.submit(BUY, "1")  # takes all of 100
    order = harness.submit(BUY, "1", "100", post_only=True)
    assert harness.kinds(order) == ["OrderAccepted"]


# ----- queue position -----


def test_queue_position_trades_at_the_level_consume_the_queue_ahead_first() -> None:
    harness = Harness(FEES)
    harness.book(bids=[("99", "5")], asks=[("100", "5")])
    order = harness.submit(BUY, "2", "99")
    harness.trade("99", "3", SELL)
    harness.trade("99", "2", SELL)
    assert harness.fills(order) == []  # the 5 ahead of us are gone, nothing for us yet
    harness.trade("99", "1", SELL)
    [fill] = harness.fills(order)
    assert (fill.price, fill.quantity, fill.liquidity) == (d("99"), d("1"), LiquiditySide.MAKER)
    assert fill.fee == d("0.0198")
    harness.trade("99", "4", SELL)  # more than we have left: fills the last 1
    assert [f.quantity for f in harness.fills(order)] == [d("1"), d("1")]
    assert harness.venue.open_orders() == []


def test_a_trade_larger_than_the_queue_fills_us_with_the_remainder() -> None:
    harness = Harness()
    harness.book(asks=[("100", "5")], bids=[("99", "1")])
    order = harness.submit(SELL, "2", "100")
    harness.trade("100", "5.5", BUY)
    assert [f.quantity for f in harness.fills(order)] == [d("0.5")]


def test_trades_on_our_own_side_or_elsewhere_do_not_move_the_queue() -> None:
    harness = Harness()
    harness.book(bids=[("99", "2")], asks=[("100", "5")])
    order = harness.submit(BUY, "1", "99")
    harness.trade("99", "5", BUY)  # a buyer's trade at 99 does not hit the bids
    harness.trade("100", "5", BUY)
    harness.trade("99.5", "5", SELL)  # above our price: not ours
    assert harness.fills(order) == []
    harness.trade("99", "2", SELL)
    harness.trade("99", "1", SELL)
    assert [f.quantity for f in harness.fills(order)] == [d("1")]


def test_cancels_ahead_move_us_up_only_when_the_level_drops_below_our_queue() -> None:
    harness = Harness()
    harness.book(bids=[("99", "5")], asks=[("100", "5")])
    order = harness.submit(BUY, "1", "99")
    assert harness.venue.queue_ahead(order) == d("5")
    harness.book(bids=[("99", "7")], snapshot=False)  # joined behind us
    assert harness.venue.queue_ahead(order) == d("5")
    harness.book(bids=[("99", "6")], snapshot=False)  # canceled from behind us
    assert harness.venue.queue_ahead(order) == d("5")
    harness.book(bids=[("99", "2")], snapshot=False)  # must include 3 canceled ahead of us
    assert harness.venue.queue_ahead(order) == d("2")
    harness.trade("99", "2", SELL)
    assert harness.fills(order) == []
    harness.trade("99", "1", SELL)
    assert [f.quantity for f in harness.fills(order)] == [d("1")]
    assert harness.venue.queue_ahead(order) is None  # filled: no longer resting


def test_a_level_that_disappears_puts_us_first() -> None:
    harness = Harness()
    harness.book(bids=[("99", "5"), ("98", "1")], asks=[("100", "5")])
    order = harness.submit(BUY, "1", "99")
    harness.book(bids=[("99", "0")], snapshot=False)
    harness.trade("99", "0.25", SELL)
    assert [f.quantity for f in harness.fills(order)] == [d("0.25")]


def test_a_trade_reported_before_its_book_update_is_not_counted_twice() -> None:
    harness = Harness()
    harness.book(bids=[("99", "5")], asks=[("100", "5")])
    order = harness.submit(BUY, "1", "99")
    harness.trade("99", "3", SELL)
    harness.book(bids=[("99", "2")], snapshot=False)  # the same 3, as the book shows them
    harness.trade("99", "2", SELL)
    assert harness.fills(order) == []
    harness.trade("99", "1", SELL)
    assert [f.quantity for f in harness.fills(order)] == [d("1")]


def test_a_trade_through_our_price_fills_us_up_to_its_size() -> None:
    harness = Harness()
    harness.book(bids=[("99", "5"), ("98", "5")], asks=[("100", "5")])
    order = harness.submit(BUY, "2", "99")
    harness.trade("98", "1.5", SELL)  # someone sold below our bid: all of 99 is gone, us too
    fill = harness.fills(order)[0]
    assert (fill.price, fill.quantity, fill.liquidity) == (d("99"), d("1.5"), LiquiditySide.MAKER)
    harness.trade("99", "0.5", SELL)  # nobody is ahead of us any more
    assert [f.quantity for f in harness.fills(order)] == [d("1.5"), d("0.5")]


def test_orders_traded_through_share_the_trade_size_best_price_first() -> None:
    harness = Harness()
    harness.book(bids=[("99", "1")], asks=[("101", "1")])
    lower = harness.submit(BUY, "1", "99.4")
    higher = harness.submit(BUY, "1", "99.5")
    harness.trade("99", "1.5", SELL)
    assert [f.quantity for f in harness.fills(higher)] == [d("1")]
    assert [f.quantity for f in harness.fills(lower)] == [d("0.5")]


def test_a_trade_without_aggressor_counts_for_the_side_its_price_reaches() -> None:
    harness = Harness()
    harness.book(bids=[("99", "1")], asks=[("101", "1")])
    buy = harness.submit(BUY, "1", "99")
    sell = harness.submit(SELL, "1", "101")
    harness.trade("99", "1.5", None)
    assert [f.quantity for f in harness.fills(buy)] == [d("0.5")]
    assert harness.fills(sell) == []
    harness.trade("101.5", "3", None)  # through our offer
    assert [f.quantity for f in harness.fills(sell)] == [d("1")]


def test_our_orders_share_a_trade_best_price_then_time_priority() -> None:
    harness = Harness()
    harness.book(bids=[("99", "1")], asks=[("101", "1")])
    first = harness.submit(BUY, "1", "99")  # 1 ahead
    better = harness.submit(BUY, "1", "99.5")  # nothing ahead, better price
    second = harness.submit(BUY, "1", "99")  # 1 ahead of it from the market, and `first`
    harness.trade("99", "2.5", SELL)  # `better` is traded through first
    assert [f.quantity for f in harness.fills(better)] == [d("1")]
    # 1.5 reaches 99: 1 of market queue, then `first` gets 0.5; `second` gets nothing.
    assert [f.quantity for f in harness.fills(first)] == [d("0.5")]
    assert harness.fills(second) == []
    harness.trade("99", "1", SELL)
    assert [f.quantity for f in harness.fills(first)] == [d("0.5"), d("0.5")]
    assert [f.quantity for f in harness.fills(second)] == [d("0.5")]


def test_a_book_moving_through_a_resting_order_fills_it_as_maker_at_its_price() -> None:
    harness = Harness(FEES)
    harness.book(bids=[("99", "5")], asks=[("100", "5")])
    order = harness.submit(BUY, "3", "99")
    harness.book(asks=[("98.5", "1"), ("99", "1"), ("100", "5")], snapshot=False)
    fill = harness.fills(order)[0]
    assert (fill.price, fill.quantity, fill.liquidity) == (d("99"), d("2"), LiquiditySide.MAKER)
    # That size is consumed: a taker gets only what is left.
    taker = harness.submit(BUY, "1", "99.5", tif=TimeInForce.IOC)
    assert harness.kinds(taker) == ["OrderAccepted", "OrderCanceled"]


def test_a_resting_sell_is_filled_when_bids_move_through_it() -> None:
    harness = Harness()
    harness.book(bids=[("99", "5")], asks=[("101", "5")])
    order = harness.submit(SELL, "1", "100")
    harness.book(bids=[("100.5", "3")], snapshot=False)
    assert [(f.price, f.quantity) for f in harness.fills(order)] == [(d("100"), d("1"))]
    assert harness.venue.positions() == {BTC: d("-1")}


# ----- latency -----


def test_a_book_change_during_the_latency_window_affects_the_fill() -> None:
    harness = Harness(SimulatedVenueConfig(latency_ns=100, report_latency_ns=50))
    harness.book(asks=[("100", "1")])
    order = harness.submit(BUY, "1")
    assert harness.venue.next_event_ns() == 100
    harness.at(50)
    harness.book(asks=[("100", "0"), ("102", "1")], snapshot=False)
    harness.at(149)
    assert harness.reports == []  # effective at 100, reported at 150
    harness.at(150)
    assert harness.kinds(order) == ["OrderAccepted", "OrderFilled"]
    fill = harness.fills(order)[0]
    assert (fill.price, fill.ts_ns) == (d("102"), 100)
    assert harness.of(order)[0].ts_ns == 100
    assert harness.venue.next_event_ns() is None


def test_requests_never_overtake_each_other_even_with_jitter() -> None:
    config = SimulatedVenueConfig(latency_ns=10, report_latency_ns=10, latency_jitter_ns=1_000, seed=3)
    harness = Harness(config)
    harness.book(bids=[("99", "1")], asks=[("100", "1")])
    orders = []
    for step in range(20):
        harness.at(step)
        orders.append(harness.submit(BUY, "0.01", "98"))
        harness.cancel(orders[-1])
    harness.at(10_000)
    for order in orders:  # each cancel arrived after its submit
        assert harness.kinds(order) == ["OrderAccepted", "OrderCanceled"]
    times = [report.ts_ns for report in harness.reports]
    assert times == sorted(times)
    assert all(10 <= report.ts_ns <= 20 + 10 + 1_000 * 40 for report in harness.reports)


# ----- cancels -----


def test_a_cancel_loses_the_race_to_a_fill() -> None:
    harness = Harness(SimulatedVenueConfig(latency_ns=100))
    harness.book(bids=[("98", "1")], asks=[("100", "1")])
    order = harness.submit(BUY, "1", "99")
    harness.at(100)  # resting now, nothing ahead
    harness.at(110)
    harness.cancel(order)  # effective at 210
    harness.at(150)
    harness.trade("99", "3", SELL)
    harness.at(210)
    assert harness.kinds(order) == ["OrderAccepted", "OrderFilled", "OrderCancelRejected"]
    rejected = harness.of(order)[-1]
    assert isinstance(rejected, OrderCancelRejected)
    assert rejected.reason == ALREADY_FILLED
    assert rejected.ts_ns == 210


def test_a_cancel_of_a_partially_filled_order_cancels_the_rest() -> None:
    harness = Harness(SimulatedVenueConfig(latency_ns=100))
    harness.book(bids=[("98", "1")], asks=[("100", "1")])
    order = harness.submit(BUY, "1", "99")
    harness.at(110)
    harness.cancel(order)
    harness.at(150)
    harness.trade("99", "0.4", SELL)
    harness.at(210)
    assert harness.kinds(order) == ["OrderAccepted", "OrderFilled", "OrderCanceled"]
    assert harness.venue.open_orders() == []
    harness.trade("99", "5", SELL)  # no longer working
    assert len(harness.fills(order)) == 1


def test_cancel_answers_for_orders_that_are_not_open() -> None:
    harness = Harness()
    harness.book(bids=[("99", "1")], asks=[("100", "1")])
    canceled = harness.submit(BUY, "1", "98")
    harness.cancel(canceled)
    harness.cancel(canceled)
    rejected = harness.submit(BUY, "1", "100", post_only=True)
    harness.cancel(rejected)
    harness.cancel(ClientOrderId(999))
    reasons = [r.reason for r in harness.reports if isinstance(r, OrderCancelRejected)]
    assert reasons == [ALREADY_CANCELED, UNKNOWN_ORDER, UNKNOWN_ORDER]
    assert harness.reports[-1].client_order_id == ClientOrderId(999)


def test_cancel_all_cancels_open_orders_of_one_instrument_or_all() -> None:
    harness = Harness()
    harness.book(bids=[("99", "1")], asks=[("100", "1")])
    harness.book(bids=[("9", "1")], asks=[("10", "1")], instrument_id=ETH)
    btc_one = harness.submit(BUY, "1", "98")
    eth_one = harness.submit(BUY, "1", "8", instrument_id=ETH)
    btc_two = harness.submit(SELL, "1", "101")
    harness.venue.cancel_all(BTC)
    harness.at(0)
    assert [type(r).__name__ for r in harness.reports[-2:]] == ["OrderCanceled", "OrderCanceled"]
    assert [r.client_order_id for r in harness.reports[-2:]] == [btc_one, btc_two]
    assert [s.client_order_id for s in harness.venue.open_orders()] == [eth_one]
    harness.venue.cancel_all()
    harness.at(0)
    assert harness.kinds(eth_one) == ["OrderAccepted", "OrderCanceled"]
    count = len(harness.reports)
    harness.venue.cancel_all()  # nothing open: nothing to say
    harness.at(0)
    assert len(harness.reports) == count


# ----- GTD -----


def test_gtd_order_expires_at_its_time() -> None:
    harness = Harness()
    harness.book(bids=[("99", "1")], asks=[("100", "1")])
    order = harness.submit(BUY, "1", "99", tif=TimeInForce.GTD, expire_at_ns=1_000)
    harness.at(500)
    harness.trade("99", "1.5", SELL)  # half of it fills before the expiry
    harness.at(999)
    assert harness.kinds(order) == ["OrderAccepted", "OrderFilled"]
    harness.at(1_000)
    assert harness.kinds(order) == ["OrderAccepted", "OrderFilled", "OrderExpired"]
    assert harness.of(order)[-1] == OrderExpired(order, 1_000)
    harness.cancel(order)
    assert harness.of(order)[-1] == OrderCancelRejected(order, 1_000, ALREADY_EXPIRED)


def test_gtd_order_filled_before_its_expiry_does_not_expire() -> None:
    harness = Harness()
    harness.book(bids=[("99", "1")], asks=[("100", "1")])
    order = harness.submit(BUY, "1", "99.5", tif=TimeInForce.GTD, expire_at_ns=1_000)
    harness.trade("99.5", "1", SELL)
    harness.at(2_000)
    assert harness.kinds(order) == ["OrderAccepted", "OrderFilled"]


def test_gtd_order_whose_expiry_passed_before_it_arrived_is_rejected() -> None:
    harness = Harness(SimulatedVenueConfig(latency_ns=100))
    order = harness.submit(BUY, "1", "99", tif=TimeInForce.GTD, expire_at_ns=50)
    harness.at(100)
    [report] = harness.of(order)
    assert isinstance(report, OrderRejected)
    assert report.reason == "expiry time has passed"


# ----- ids and refusals -----


def test_duplicate_client_order_id_is_rejected_and_the_original_keeps_working() -> None:
    harness = Harness()
    harness.book(bids=[("99", "1")], asks=[("100", "1")])
    original = make_order(7, BUY, "1", "98")
    harness.venue.submit(original)
    harness.venue.submit(make_order(7, BUY, "2", "97"))
    harness.at(0)
    assert [type(r).__name__ for r in harness.reports] == ["OrderAccepted", "OrderRejected"]
    rejected = harness.reports[1]
    assert isinstance(rejected, OrderRejected)
    assert rejected.reason == DUPLICATE_CLIENT_ORDER_ID
    assert not rejected.post_only_crossed  # a real refusal
    [status] = harness.venue.open_orders()
    assert (status.client_order_id, status.quantity) == (ClientOrderId(7), d("1"))
    # An id the venue rejected is known too: it is never placed later.
    harness.venue.submit(make_order(8, BUY, "1", "100", post_only=True))
    harness.venue.submit(make_order(8, BUY, "1", "98"))
    harness.at(0)
    assert [r.reason for r in harness.reports[2:] if isinstance(r, OrderRejected)] == [
        POST_ONLY_WOULD_CROSS,
        DUPLICATE_CLIENT_ORDER_ID,
    ]
    assert len(harness.venue.open_orders()) == 1


@pytest.mark.parametrize(
    ("order", "reason"),
    [
        (make_order(1, BUY, "1", "99", order_type=OrderType.STOP_LIMIT), "unsupported order type STOP_LIMIT"),
        (make_order(1, BUY, "1", tif=TimeInForce.GTC), "a market order must be IOC or FOK"),
        (make_order(1, BUY, "1", post_only=True), "a market order cannot be post-only"),
        (make_order(1, BUY, "1", order_type=OrderType.LIMIT), "a limit order needs a price"),
        (make_order(1, BUY, "1", "99", post_only=True, tif=TimeInForce.IOC), "cannot be IOC or FOK"),
        (make_order(1, BUY, "1", "99", tif=TimeInForce.GTD), "a GTD order needs an expiry time"),
        (make_order(1, BUY, "1.0001", "99"), "not on the 0.001 grid"),
        (make_order(1, BUY, "1", "99.001"), "not on the 0.01 grid"),
        (make_order(1, BUY, "1", "99", reduce_only=True), "would not reduce the position"),
        (make_order(1, BUY, "1", instrument_id=InstrumentId("SIM", "DOGE-USD")), "unknown instrument"),
    ],
)
def test_refused_orders(order: Order, reason: str) -> None:
    harness = Harness()
    harness.book(bids=[("98", "1")], asks=[("100", "1")])
    harness.venue.submit(order)
    harness.at(0)
    [report] = harness.reports
    assert isinstance(report, OrderRejected)
    assert reason in report.reason
    assert harness.venue.fills_since(0) == []


def test_reduce_only_is_accepted_when_it_reduces_the_position() -> None:
    harness = Harness()
    harness.book(bids=[("99", "5")], asks=[("100", "5")])
    harness.submit(BUY, "2")
    too_big = harness.submit(SELL, "3", reduce_only=True)
    assert harness.kinds(too_big) == ["OrderRejected"]
    wrong_side = harness.submit(BUY, "1", reduce_only=True)
    assert harness.kinds(wrong_side) == ["OrderRejected"]
    reducing = harness.submit(SELL, "2", reduce_only=True)
    assert harness.kinds(reducing) == ["OrderAccepted", "OrderFilled"]
    assert harness.venue.positions() == {}


# ----- queries, market data plumbing -----


def test_fills_since_filters_by_time_and_keeps_order() -> None:
    harness = Harness()
    harness.book(asks=[("100", "10")])
    harness.submit(BUY, "1")
    harness.at(10)
    harness.submit(BUY, "1")
    harness.at(20)
    harness.submit(BUY, "1")
    assert [f.ts_ns for f in harness.venue.fills_since(0)] == [0, 10, 20]
    assert [f.ts_ns for f in harness.venue.fills_since(10)] == [10, 20]
    assert harness.venue.fills_since(21) == []
    assert [f.fill_id.value for f in harness.venue.fills_since(0)] == ["SIM-F-1", "SIM-F-2", "SIM-F-3"]


def test_venue_name_prefixes_ids() -> None:
    harness = Harness(SimulatedVenueConfig(venue="PAPER"))
    harness.book(asks=[("100", "10")])
    order = harness.submit(BUY, "1")
    assert harness.of(order)[0] == OrderAccepted(order, 0, VenueOrderId("PAPER-1"))
    assert harness.fills(order)[0].fill_id == FillId("PAPER-F-1")
    assert harness.venue.venue == "PAPER"


def test_on_book_takes_a_whole_order_book_as_a_snapshot() -> None:
    harness = Harness()
    harness.book(asks=[("90", "10")])
    book = OrderBook(BTC)
    book.apply(OrderBookUpdate(BTC, True, ((d("99"), d("1")),), ((d("100"), d("1")), (d("101"), d("1"))), 0))
    harness.venue.on_book(book)
    order = harness.submit(BUY, "2")
    assert [f.price for f in harness.fills(order)] == [d("100"), d("101")]


def test_market_data_for_other_instruments_is_ignored_and_bad_frames_refused() -> None:
    harness = Harness()
    other = InstrumentId("SIM", "XRP-USD")
    harness.book(asks=[("1", "1")], instrument_id=other)
    harness.trade("1", "1", SELL, instrument_id=other)
    harness.venue.on_book(OrderBook(other))
    assert harness.venue.next_event_ns() is None
    with pytest.raises(InvalidValueError, match="negative"):
        harness.book(asks=[("100", "-1")])


def test_market_data_and_requests_at_the_same_time_are_processed_in_call_order() -> None:
    harness = Harness()
    harness.book(asks=[("100", "1")])
    first = make_order(1, BUY, "1")
    harness.venue.submit(first)
    harness.venue.on_book_update(OrderBookUpdate(BTC, True, (), ((d("105"), d("1")),), 0))
    harness.venue.submit(make_order(2, BUY, "1"))
    harness.at(0)
    assert [f.price for f in harness.fills()] == [d("100"), d("105")]


def test_a_sink_may_submit_from_inside_advance() -> None:
    clock = SimulatedClock(0)
    reports: list[VenueReport] = []

    def sink(report: VenueReport) -> None:
        reports.append(report)
        if isinstance(report, OrderFilled) and report.client_order_id == ClientOrderId(1):
            venue.submit(make_order(2, SELL, "1"))

    venue = SimulatedVenue(clock, sink, INSTRUMENTS)
    venue.on_book_update(OrderBookUpdate(BTC, True, ((d("99"), d("1")),), ((d("100"), d("1")),), 0))
    venue.submit(make_order(1, BUY, "1"))
    venue.advance(0)
    assert [type(r).__name__ for r in reports] == ["OrderAccepted", "OrderFilled"] * 2
    assert venue.positions() == {}


def test_time_never_runs_backwards() -> None:
    harness = Harness(SimulatedVenueConfig(latency_ns=5))
    harness.venue.advance(1_000)  # the venue is ahead of the clock
    assert harness.venue.now_ns == 1_000
    harness.book(asks=[("100", "1")])
    order = harness.submit(BUY, "1")
    harness.at(1_005)
    assert harness.fills(order)[0].ts_ns == 1_005


# ----- config -----


def test_config_validation() -> None:
    config = SimulatedVenueConfig(starting_balances={"USD": "100", "BTC": 1})
    assert config.starting_balances == (("BTC", d("1")), ("USD", d("100")))
    assert config.starting_balance_map() == {"BTC": d("1"), "USD": d("100")}
    assert hash(config) == hash(SimulatedVenueConfig(starting_balances={"BTC": "1", "USD": "100.0"}))
    with pytest.raises(InvalidValueError):
        SimulatedVenueConfig(latency_ns=-1)
    with pytest.raises(InvalidValueError):
        SimulatedVenueConfig(maker_fee_bps=0.5)  # type: ignore[arg-type]
    with pytest.raises(InvalidValueError):
        SimulatedVenueConfig(venue="")
    with pytest.raises(InvalidValueError):
        SimulatedVenueConfig(seed=True)
    with pytest.raises(InvalidValueError):
        SimulatedVenueConfig(starting_balances=(("USD", d(1)), ("USD", d(2))))
    with pytest.raises(InvalidValueError, match="quoted in EUR"):
        SimulatedVenue(
            SimulatedClock(),
            lambda report: None,
            [Instrument(InstrumentId("SIM", "BTC-EUR"), "BTC", "EUR", "1", "1")],
        )
    with pytest.raises(InvalidValueError, match="given twice"):
        SimulatedVenue(SimulatedClock(), lambda report: None, [INSTRUMENTS[0], INSTRUMENTS[0]])


# ----- determinism and snapshots -----


def _scenario(harness: Harness, steps: range) -> None:
    """A scripted session with latency, jitter, fills, cancels and expiries."""
    for step in steps:
        t = step * 40
        harness.at(t)
        mid = 100 + (step % 7) - 3
        harness.book(
            bids=[(str(mid - 1), "2"), (str(mid - 2), "3")],
            asks=[(str(mid + 1), "2"), (str(mid + 2), "3")],
            snapshot=step % 5 == 0,
        )
        if step % 3 == 0:
            harness.submit(BUY, "1.5", str(mid - 1))
        if step % 4 == 1:
            harness.submit(SELL, "2.5")
        if step % 4 == 2:
            harness.submit(SELL, "1", str(mid + 1), tif=TimeInForce.GTD, expire_at_ns=t + 150)
        harness.trade(str(mid - 1), "1.25", SELL)
        harness.trade(str(mid + 1), "0.75", None)
        if step % 6 == 5:
            harness.cancel(ClientOrderId(step // 2))


JITTERY = SimulatedVenueConfig(
    maker_fee_bps="-1.5",
    taker_fee_bps="7.5",
    latency_ns=25,
    report_latency_ns=15,
    latency_jitter_ns=30,
    seed=42,
    starting_balances={"USD": "1000", "BTC": "3"},
)


def test_same_seed_and_inputs_give_identical_reports() -> None:
    first, second = Harness(JITTERY), Harness(JITTERY)
    _scenario(first, range(40))
    _scenario(second, range(40))
    first.at(10**6)
    second.at(10**6)
    assert len(first.reports) > 80
    assert {type(r).__name__ for r in first.reports} >= {"OrderFilled", "OrderExpired", "OrderCancelRejected"}
    assert repr(first.reports) == repr(second.reports)
    assert first.venue.snapshot() == second.venue.snapshot()
    other_seed = Harness(attrs.evolve(JITTERY, seed=43))
    _scenario(other_seed, range(40))
    other_seed.at(10**6)
    assert repr(other_seed.reports) != repr(first.reports)  # the jitter differs


def test_snapshot_restore_round_trip_continues_identically() -> None:
    whole = Harness(JITTERY)
    _scenario(whole, range(40))
    whole.at(10**6)

    first_half = Harness(JITTERY)
    _scenario(first_half, range(20))
    snapshot = json.loads(json.dumps(first_half.venue.snapshot()))  # plain JSON data
    assert snapshot["queue"], "the snapshot is taken with requests and reports in flight"
    resumed = Harness(JITTERY, start_ns=first_half.clock.now_ns())
    resumed.venue.restore(snapshot)
    assert resumed.venue.snapshot() == first_half.venue.snapshot()
    resumed.next_number = first_half.next_number
    _scenario(resumed, range(20, 40))
    resumed.at(10**6)

    assert repr(first_half.reports + resumed.reports) == repr(whole.reports)
    assert resumed.venue.snapshot() == whole.venue.snapshot()


def test_restore_refuses_foreign_snapshots() -> None:
    harness = Harness()
    snapshot = harness.venue.snapshot()
    with pytest.raises(InvalidValueError, match="format"):
        harness.venue.restore({**snapshot, "format": 99})
    with pytest.raises(InvalidValueError, match="venue"):
        harness.venue.restore({**snapshot, "venue": "OTHER"})
    foreign = {
        **snapshot,
        "engines": {**snapshot["engines"], "XRP-USD.SIM": snapshot["engines"]["BTC-USD.SIM"]},
    }
    with pytest.raises(InvalidValueError, match=r"XRP-USD\.SIM"):
        harness.venue.restore(foreign)
    for kind in ("queue item", "report type"):
        bad_item = {"ts_ns": 0, "sequence": 1, "kind": "nonsense"}
        if kind == "report type":
            bad_item = {
                "ts_ns": 0,
                "sequence": 1,
                "kind": "deliver",
                "report": {"type": "OrderTriggered", "client_order_id": "TK00000001", "ts_ns": 0},
            }
        with pytest.raises(InvalidValueError, match=kind):
            harness.venue.restore({**snapshot, "queue": [bad_item]})


def test_snapshot_holds_every_kind_of_pending_item() -> None:
    config = SimulatedVenueConfig(latency_ns=10, report_latency_ns=10)
    harness = Harness(config)
    harness.book(bids=[("99", "1")], asks=[("100", "1")])
    harness.at(10)
    first = harness.submit(BUY, "1", "98", tif=TimeInForce.GTD, expire_at_ns=1_000)
    harness.at(25)  # accepted at 20, its report due at 30, its expiry queued for 1,000
    venue = harness.venue
    venue.cancel(first)
    venue.cancel_all(BTC)
    venue.cancel_all()
    # The clock moves past the report due at 30 before the venue is advanced: market data handed
    # in now waits behind it (with nothing due, it would be taken at once and never queued).
    harness.clock.advance_to(32)
    venue.on_book_update(OrderBookUpdate(BTC, False, ((d("99"), d("2")),), (), 32))
    venue.on_trade(TradeTick(BTC, "x", d("99"), d("1"), None, 32))
    venue.submit(make_order(2, SELL, "1", "101"))
    delivered = len(harness.reports)
    snapshot = json.loads(json.dumps(venue.snapshot()))
    kinds = sorted(item["kind"] for item in snapshot["queue"])
    assert kinds == ["book", "cancel", "cancel_all", "cancel_all", "deliver", "expire", "submit", "trade"]

    clone = Harness(config, start_ns=32)
    clone.venue.restore(snapshot)
    harness.at(5_000)
    clone.at(5_000)
    assert repr(clone.reports) == repr(harness.reports[delivered:])
    assert clone.venue.snapshot() == harness.venue.snapshot()


def test_snapshot_carries_every_kind_of_pending_report() -> None:
    config = SimulatedVenueConfig(report_latency_ns=100)
    harness = Harness(config)
    harness.book(bids=[("99", "1")], asks=[("100", "1")])
    filled = harness.submit(BUY, "1")  # accepted, filled
    harness.submit(SELL, "1", "99", post_only=True)  # rejected: it would cross the bid
    expiring = harness.submit(BUY, "1", "98", tif=TimeInForce.GTD, expire_at_ns=10)
    canceled = harness.submit(BUY, "1", "98")
    harness.cancel(canceled)
    harness.cancel(filled)  # already filled
    harness.at(10)  # expired
    assert harness.reports == []
    snapshot = json.loads(json.dumps(harness.venue.snapshot()))
    types = {item["report"]["type"] for item in snapshot["queue"] if item["kind"] == "deliver"}
    assert types == {
        "OrderAccepted",
        "OrderFilled",
        "OrderRejected",
        "OrderExpired",
        "OrderCanceled",
        "OrderCancelRejected",
    }
    clone = Harness(config, start_ns=10)
    clone.venue.restore(snapshot)
    harness.at(1_000)
    clone.at(1_000)
    assert repr(clone.reports) == repr(harness.reports)
    assert harness.of(expiring)[-1] == OrderExpired(expiring, 10)


def test_market_data_with_nothing_due_is_taken_at_once_and_delivers_nothing() -> None:
    config = SimulatedVenueConfig(report_latency_ns=10)
    harness = Harness(config)
    harness.book(bids=[("99", "1")], asks=[("100", "1")])
    resting = harness.submit(BUY, "1", "99.5")
    harness.at(20)  # accepted (report delivered)
    before = len(harness.reports)
    # The ask moves through our bid: the venue fills it now, and only advance() delivers the fill.
    harness.venue.on_book_update(OrderBookUpdate(BTC, False, (), ((d("99.4"), d("3")),), 20))
    assert [item["kind"] for item in harness.venue.snapshot()["queue"]] == ["deliver"]
    assert len(harness.reports) == before
    harness.at(30)
    assert harness.kinds(resting)[-1] == "OrderFilled"


def test_a_bad_frame_is_refused_at_hand_in_even_behind_pending_work() -> None:
    harness = Harness(SimulatedVenueConfig(latency_ns=10))
    harness.book(bids=[("99", "1")], asks=[("100", "1")])
    harness.venue.submit(make_order(1, BUY, "1", "98"))  # due at 10
    harness.clock.advance_to(10)  # due now, not yet processed: market data would queue behind it
    queued = len(harness.venue.snapshot()["queue"])
    with pytest.raises(InvalidValueError, match="negative"):
        harness.venue.on_book_update(OrderBookUpdate(BTC, False, ((d("99"), d("-1")),), (), 10))
    assert len(harness.venue.snapshot()["queue"]) == queued  # nothing queued
    harness.at(10)
    assert harness.venue.snapshot()["engines"][str(BTC)]["bids"] == [["99", "1"]]  # the book is unchanged
