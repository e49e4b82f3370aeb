"""Exposure rules: reduce-only, position and gross notional, open orders and positions, balance."""

from __future__ import annotations

from decimal import Decimal

import pytest

from domain.order_terms import OrderSide
from domain.risk import (
    CurrencyBalance,
    Denial,
    Exposure,
    MaxGrossNotional,
    MaxOpenOrders,
    MaxOpenPositions,
    MaxPositionNotional,
    ReasonCode,
    ReduceOnly,
    RiskRule,
    SufficientBalance,
)
from domain.signals import OrderIntent
from tests.domain.risk import BTC_USD, ETH_BTC, ETH_USD, btc_usd, context, eth_btc, limit, market

D = Decimal
BUY, SELL = OrderSide.BUY, OrderSide.SELL


def check(rule: RiskRule, intent: OrderIntent, **ctx_overrides: object) -> Denial | None:
    instrument = eth_btc() if intent.instrument_id == ETH_BTC else btc_usd()
    return rule.check(intent, instrument, context(**ctx_overrides))  # type: ignore[arg-type]


def code(rule: RiskRule, intent: OrderIntent, **ctx_overrides: object) -> ReasonCode | None:
    denial = check(rule, intent, **ctx_overrides)
    return None if denial is None else denial.reason_code


def on_btc(position: str = "0", open_buy: str = "0", open_sell: str = "0") -> dict[object, Exposure]:
    return {BTC_USD: Exposure(D(position), D(open_buy), D(open_sell))}


class TestReduceOnly:
    def test_an_ordinary_order_is_not_this_rules_business(self) -> None:
        assert code(ReduceOnly(), limit(BUY, "1", "50000")) is None

    def test_a_reduce_only_order_that_reduces_passes(self) -> None:
        assert code(ReduceOnly(), market(SELL, "1", reduce_only=True), exposures=on_btc("1")) is None

    @pytest.mark.parametrize(
        ("exposure", "side", "quantity"),
        [(("0",), SELL, "1"), (("1",), BUY, "1"), (("1",), SELL, "1.0001"), (("1", "0", "0.5"), SELL, "0.6")],
    )
    def test_a_reduce_only_order_that_could_open_add_to_or_flip_a_position_is_denied(
        self, exposure: tuple[str, ...], side: OrderSide, quantity: str
    ) -> None:
        intent = limit(side, quantity, "50000", reduce_only=True)

        denial = check(ReduceOnly(), intent, exposures=on_btc(*exposure))

        assert denial is not None
        assert denial.reason_code is ReasonCode.REDUCE_ONLY_INCREASES_EXPOSURE


class TestMaxPositionNotional:
    RULE = MaxPositionNotional(D(100_000))  # 2 BTC at 50,000

    def test_the_worst_case_position_counts_resting_orders_on_the_same_side(self) -> None:
        assert code(self.RULE, limit(BUY, "1", "50000"), exposures=on_btc("0.5", "0.5")) is None
        assert code(self.RULE, limit(BUY, "1.0001", "50000"), exposures=on_btc("0.5", "0.5")) is (
            ReasonCode.MAX_POSITION_NOTIONAL
        )

    def test_resting_orders_on_the_other_side_do_not_offset_the_worst_case(self) -> None:
        assert code(self.RULE, limit(BUY, "2.0001", "50000"), exposures=on_btc("0", "0", "5")) is (
            ReasonCode.MAX_POSITION_NOTIONAL
        )

    def test_a_short_is_limited_like_a_long(self) -> None:
        assert code(self.RULE, limit(SELL, "0.5", "50000"), exposures=on_btc("-1.5")) is None
        assert code(self.RULE, limit(SELL, "0.5001", "50000"), exposures=on_btc("-1.5")) is (
            ReasonCode.MAX_POSITION_NOTIONAL
        )

    def test_a_flip_counts_only_what_lands_on_the_new_side(self) -> None:
        # Short 1, buy 3: the worst case is long 2, exactly the limit.
        assert code(self.RULE, limit(BUY, "3", "50000"), exposures=on_btc("-1")) is None
        assert code(self.RULE, limit(BUY, "3.0001", "50000"), exposures=on_btc("-1")) is (
            ReasonCode.MAX_POSITION_NOTIONAL
        )

    def test_an_order_reducing_a_position_already_over_the_limit_passes(self) -> None:
        assert code(self.RULE, limit(SELL, "1", "50000"), exposures=on_btc("10")) is None
        assert code(self.RULE, market(SELL, "1"), exposures=on_btc("10"), references={}) is None

    def test_the_position_is_valued_at_the_higher_of_price_and_mid(self) -> None:
        assert code(self.RULE, limit(SELL, "2", "40000")) is None
        assert code(self.RULE, limit(SELL, "2.0001", "40000")) is ReasonCode.MAX_POSITION_NOTIONAL
        assert code(self.RULE, limit(BUY, "2", "50000.01")) is ReasonCode.MAX_POSITION_NOTIONAL

    def test_an_order_that_cannot_be_valued_is_denied(self) -> None:
        assert code(self.RULE, market(BUY, "0.0001"), references={}) is ReasonCode.NO_REFERENCE
        assert (
            code(self.RULE, limit(BUY, "1", "0.05", instrument_id=ETH_BTC)) is ReasonCode.NO_CONVERSION_RATE
        )


class TestMaxGrossNotional:
    RULE = MaxGrossNotional(D(300_000))

    def test_the_order_adds_its_growth_of_the_worst_case_to_the_gross(self) -> None:
        assert code(self.RULE, limit(BUY, "2", "50000"), gross_notional=D(200_000)) is None
        denial = check(self.RULE, limit(BUY, "2.0001", "50000"), gross_notional=D(200_000))
        assert denial is not None
        assert denial.reason_code is ReasonCode.MAX_GROSS_NOTIONAL
        assert "300005" in denial.message

    def test_growth_is_measured_against_the_current_worst_case(self) -> None:
        # Worst case now: short 3 (position -1, 2 offered). Buying 3 makes long 2: no growth.
        exposures = on_btc("-1", "0", "2")

        assert (
            code(self.RULE, limit(BUY, "3", "50000"), exposures=exposures, gross_notional=D(300_000)) is None
        )
        # Buying 5 makes long 4: growth of 1 BTC = 50,000 over a gross already at the limit.
        assert code(self.RULE, limit(BUY, "5", "50000"), exposures=exposures, gross_notional=D(300_000)) is (
            ReasonCode.MAX_GROSS_NOTIONAL
        )

    def test_a_reducing_order_passes_even_when_the_gross_is_over_the_limit(self) -> None:
        assert (
            code(self.RULE, limit(SELL, "1", "50000"), exposures=on_btc("3"), gross_notional=D(10**9)) is None
        )

    def test_a_non_reducing_order_is_denied_when_the_gross_is_already_over_the_limit(self) -> None:
        exposures = on_btc("-1", "0", "2")

        assert code(self.RULE, limit(BUY, "3", "50000"), exposures=exposures, gross_notional=D(300_001)) is (
            ReasonCode.MAX_GROSS_NOTIONAL
        )

    def test_an_order_that_cannot_be_valued_is_denied(self) -> None:
        assert code(self.RULE, market(BUY, "1"), references={}) is ReasonCode.NO_REFERENCE


class TestMaxOpenOrders:
    def test_the_new_order_must_fit_under_the_limit(self) -> None:
        rule = MaxOpenOrders(3)

        assert code(rule, limit(BUY, "1", "50000"), open_order_count=2) is None
        assert code(rule, limit(BUY, "1", "50000"), open_order_count=3) is ReasonCode.MAX_OPEN_ORDERS
        assert (
            code(rule, market(SELL, "1", reduce_only=True), open_order_count=4) is ReasonCode.MAX_OPEN_ORDERS
        )


class TestMaxOpenPositions:
    RULE = MaxOpenPositions(2)

    def test_an_order_on_an_instrument_already_exposed_adds_no_position(self) -> None:
        exposures = {BTC_USD: Exposure(D(1)), ETH_USD: Exposure(D(1))}

        assert code(self.RULE, limit(BUY, "1", "50000"), exposures=exposures) is None

    def test_once_over_the_limit_only_reducing_orders_pass(self) -> None:
        exposures = {BTC_USD: Exposure(D(1)), ETH_USD: Exposure(D(1)), ETH_BTC: Exposure(D(-1))}

        assert code(self.RULE, limit(BUY, "1", "50000"), exposures=exposures) is ReasonCode.MAX_OPEN_POSITIONS
        assert code(self.RULE, limit(SELL, "1", "50000"), exposures=exposures) is None

    def test_a_new_instrument_is_admitted_only_below_the_limit(self) -> None:
        one = {ETH_USD: Exposure(D(1))}
        two = {ETH_USD: Exposure(D(1)), ETH_BTC: Exposure(open_buy=D(1))}  # a resting bid may open one

        assert code(self.RULE, limit(BUY, "1", "50000"), exposures=one) is None
        denial = check(self.RULE, limit(BUY, "1", "50000"), exposures=two)
        assert denial is not None
        assert denial.reason_code is ReasonCode.MAX_OPEN_POSITIONS
        assert "leave 3 instruments exposed" in denial.message

    def test_flat_instruments_without_orders_do_not_count(self) -> None:
        exposures = {ETH_USD: Exposure(D(1)), ETH_BTC: Exposure()}

        assert code(self.RULE, limit(BUY, "1", "50000"), exposures=exposures) is None


class TestSufficientBalance:
    RULE = SufficientBalance()

    def test_the_available_balance_counts_reservations(self) -> None:
        balances = {"USD": CurrencyBalance(D(60_000), reserved=D(10_000))}

        assert code(self.RULE, limit(BUY, "1", "50000"), balances=balances) is None
        denial = check(self.RULE, limit(BUY, "1.0001", "50000"), balances=balances)
        assert denial is not None
        assert denial.reason_code is ReasonCode.INSUFFICIENT_BALANCE
        assert "50000" in denial.message

    def test_a_sell_needs_its_quote_notional_too_margin_style(self) -> None:
        balances = {"USD": CurrencyBalance(D(49_999)), "BTC": CurrencyBalance(D(10))}

        assert (
            code(self.RULE, limit(SELL, "1", "50000"), balances=balances) is ReasonCode.INSUFFICIENT_BALANCE
        )

    def test_no_balance_in_the_quote_currency_means_nothing_available(self) -> None:
        assert code(self.RULE, limit(BUY, "0.0001", "50000"), balances={}) is ReasonCode.INSUFFICIENT_BALANCE

    def test_the_required_amount_uses_the_conservative_valuation(self) -> None:
        balances = {"USD": CurrencyBalance(D(50_000))}

        assert code(self.RULE, market(BUY, "1"), balances=balances) is None
        assert code(self.RULE, limit(SELL, "1", "40000"), balances=balances) is None
        assert (
            code(self.RULE, limit(BUY, "1", "50000.01"), balances=balances) is ReasonCode.INSUFFICIENT_BALANCE
        )
        assert code(self.RULE, market(BUY, "1"), references={}) is ReasonCode.NO_REFERENCE

    def test_an_order_that_reduces_exposure_needs_no_balance(self) -> None:
        assert code(self.RULE, market(SELL, "1"), balances={}, exposures=on_btc("1"), references={}) is None
