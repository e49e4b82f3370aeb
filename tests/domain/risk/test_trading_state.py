"""Trading state: HALTED admits nothing, REDUCING only orders that reduce exposure without flipping it."""

from __future__ import annotations

from decimal import Decimal

import pytest

from domain.order_terms import OrderSide
from domain.risk import Exposure, ReasonCode, TradingState, TradingStateRule
from tests.domain.risk import BTC_USD, btc_usd, context, limit, market

D = Decimal
BUY, SELL = OrderSide.BUY, OrderSide.SELL


@pytest.mark.parametrize(
    ("exposure", "side", "quantity", "reduces"),
    [
        (("10", "0", "0"), SELL, "4", True),  # part of a long
        (("10", "0", "0"), SELL, "10", True),  # all of it, to flat
        (("10", "0", "0"), SELL, "10.0001", False),  # one step past flat flips it
        (("10", "0", "0"), BUY, "1", False),  # adds to the long
        (("10", "0", "8"), SELL, "2", True),  # with 8 already offered, 2 more reach flat
        (("10", "0", "8"), SELL, "3", False),  # ...3 more could flip it
        (("10", "50", "0"), SELL, "10", True),  # resting buys are on the other side: irrelevant
        (("-5", "0", "0"), BUY, "5", True),  # covers a short
        (("-5", "2", "0"), BUY, "4", False),  # with 2 already bid, 4 more could flip it long
        (("-5", "0", "0"), SELL, "1", False),  # adds to the short
        (("0", "0", "0"), BUY, "1", False),  # nothing to reduce when flat
        (("0", "0", "0"), SELL, "1", False),
    ],
)
def test_an_order_reduces_exposure_only_if_in_the_worst_case_it_cannot_grow_or_flip_the_position(
    exposure: tuple[str, str, str], side: OrderSide, quantity: str, reduces: bool
) -> None:
    position, open_buy, open_sell = (D(x) for x in exposure)

    assert Exposure(position, open_buy, open_sell).reduces(side, D(quantity)) is reduces


def test_severity_orders_the_states_and_the_most_restrictive_wins() -> None:
    active, reducing, halted = TradingState.ACTIVE, TradingState.REDUCING, TradingState.HALTED

    assert [state.severity for state in (active, reducing, halted)] == [0, 1, 2]
    assert active.most_restrictive(reducing) is reducing
    assert reducing.most_restrictive(active) is reducing
    assert reducing.most_restrictive(halted) is halted
    assert halted.most_restrictive(active) is halted
    assert active.most_restrictive(active) is active


@pytest.mark.parametrize(
    ("state", "reduces", "reason"),
    [
        (TradingState.ACTIVE, False, None),
        (TradingState.ACTIVE, True, None),
        (TradingState.REDUCING, True, None),
        (TradingState.REDUCING, False, ReasonCode.REDUCING_ONLY),
        (TradingState.HALTED, True, ReasonCode.TRADING_HALTED),
        (TradingState.HALTED, False, ReasonCode.TRADING_HALTED),
    ],
)
def test_each_state_admits_what_it_should(
    state: TradingState, reduces: bool, reason: ReasonCode | None
) -> None:
    assert state.denial_reason(reduces) is reason


def test_the_rule_admits_anything_while_active() -> None:
    assert TradingStateRule().check(limit(BUY, "1", "50000"), btc_usd(), context()) is None


def test_the_rule_admits_nothing_while_halted_not_even_a_reducing_order() -> None:
    ctx = context(trading_state=TradingState.HALTED, exposures={BTC_USD: Exposure(D(2))})

    denial = TradingStateRule().check(market(SELL, "1", reduce_only=True), btc_usd(), ctx)

    assert denial is not None
    assert denial.reason_code is ReasonCode.TRADING_HALTED
    assert denial.rule == "TradingStateRule"
    assert "HALTED" in denial.message


def test_while_reducing_the_rule_admits_a_closing_order_and_denies_an_opening_or_flipping_one() -> None:
    ctx = context(trading_state=TradingState.REDUCING, exposures={BTC_USD: Exposure(D(2))})
    rule, instrument = TradingStateRule(), btc_usd()

    assert rule.check(limit(SELL, "2", "50000"), instrument, ctx) is None
    flipping = rule.check(limit(SELL, "2.0001", "50000"), instrument, ctx)
    adding = rule.check(limit(BUY, "0.0001", "50000"), instrument, ctx)
    opening = rule.check(limit(BUY, "1", "50000"), instrument, context(trading_state=TradingState.REDUCING))

    for denial in (flipping, adding, opening):
        assert denial is not None
        assert denial.reason_code is ReasonCode.REDUCING_ONLY
