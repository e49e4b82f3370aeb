"""Rules on the order alone: instrument rules, max order notional and max share of equity."""

from __future__ import annotations

from decimal import Decimal

import pytest

from domain.order_terms import OrderSide, OrderType
from domain.risk import (
    Denial,
    InstrumentRules,
    MaxOrderEquityFraction,
    MaxOrderNotional,
    ReasonCode,
    ReferencePrice,
    RiskRule,
)
from domain.signals import OrderIntent
from tests.domain.risk import (
    BTC_USD,
    ETH_BTC,
    ETH_USD,
    NOW,
    STRATEGY,
    btc_usd,
    context,
    eth_btc,
    limit,
    market,
)

D = Decimal
BUY, SELL = OrderSide.BUY, OrderSide.SELL


def must_deny(rule: RiskRule, intent: OrderIntent, code: ReasonCode, **ctx_overrides: object) -> Denial:
    instrument = eth_btc() if intent.instrument_id == ETH_BTC else btc_usd()
    denial = rule.check(intent, instrument, context(**ctx_overrides))  # type: ignore[arg-type]
    assert denial is not None, "expected a denial"
    assert denial.reason_code is code
    assert denial.rule == rule.name == type(rule).__name__
    return denial


def passes(rule: RiskRule, intent: OrderIntent, **ctx_overrides: object) -> bool:
    instrument = eth_btc() if intent.instrument_id == ETH_BTC else btc_usd()
    return rule.check(intent, instrument, context(**ctx_overrides)) is None  # type: ignore[arg-type]


class TestInstrumentRules:
    def test_an_order_on_the_grid_within_the_minimums_passes(self) -> None:
        assert passes(InstrumentRules(), limit(BUY, "0.0001", "50000.01"))
        assert passes(InstrumentRules(), market(SELL, "100"))

    @pytest.mark.parametrize(
        ("quantity", "price", "fragment"),
        [
            ("0.00015", "50000", "not on the 0.0001 grid"),
            ("100.0001", "50000", "above the maximum 100"),
            ("1", "50000.005", "price 50000.005 is not on the 0.01 grid"),
            ("0.0001", "9999.99", "below the minimum 1"),
        ],
    )
    def test_an_order_off_the_grid_or_outside_the_bounds_is_denied(
        self, quantity: str, price: str, fragment: str
    ) -> None:
        denial = must_deny(InstrumentRules(), limit(BUY, quantity, price), ReasonCode.INSTRUMENT_RULES)

        assert fragment in denial.message
        assert str(BTC_USD) in denial.message

    def test_a_size_below_the_minimum_size_is_denied(self) -> None:
        instrument = btc_usd(min_size=D("0.001"))

        denial = InstrumentRules().check(limit(BUY, "0.0005", "50000"), instrument, context())

        assert denial is not None
        assert "below the minimum 0.001" in denial.message

    def test_every_violation_is_listed(self) -> None:
        denial = must_deny(InstrumentRules(), limit(BUY, "0.00005", "0.005"), ReasonCode.INSTRUMENT_RULES)

        assert denial.message.count(";") >= 2

    def test_a_stop_limit_trigger_must_be_on_the_price_grid(self) -> None:
        intent = OrderIntent(
            strategy_id=STRATEGY,
            instrument_id=BTC_USD,
            side=BUY,
            quantity=D(1),
            order_type=OrderType.STOP_LIMIT,
            price=D("50100"),
            trigger_price=D("50000.001"),
        )

        assert "trigger price" in must_deny(InstrumentRules(), intent, ReasonCode.INSTRUMENT_RULES).message

    def test_a_market_order_meets_the_minimum_notional_at_the_mid_or_cannot_be_checked_without_one(
        self,
    ) -> None:
        small = market(BUY, "0.0001")  # 5 USD at 50,000; the minimum is 1 USD

        assert passes(InstrumentRules(), small)
        low_mid = {BTC_USD: ReferencePrice(D(5000), NOW)}  # 0.5 USD
        assert (
            "below the minimum 1"
            in must_deny(InstrumentRules(), small, ReasonCode.INSTRUMENT_RULES, references=low_mid).message
        )
        assert (
            "no reference"
            in must_deny(InstrumentRules(), small, ReasonCode.INSTRUMENT_RULES, references={}).message
        )

    def test_a_market_order_without_a_minimum_notional_needs_no_reference(self) -> None:
        instrument = btc_usd(min_notional=D(0))

        assert InstrumentRules().check(market(BUY, "1"), instrument, context(references={})) is None

    def test_an_order_checked_against_another_instrument_is_denied(self) -> None:
        denial = must_deny(
            InstrumentRules(), limit(BUY, "1", "50000", instrument_id=ETH_USD), ReasonCode.INSTRUMENT_MISMATCH
        )

        assert str(ETH_USD) in denial.message


class TestMaxOrderNotional:
    RULE = MaxOrderNotional(D(10_000))

    def test_an_order_of_exactly_the_limit_passes_and_one_more_tick_is_denied(self) -> None:
        assert passes(self.RULE, limit(BUY, "0.2", "50000"))
        denial = must_deny(self.RULE, limit(BUY, "0.2", "50000.01"), ReasonCode.MAX_ORDER_NOTIONAL)
        assert "10000.002" in denial.message

    def test_a_sell_priced_far_below_the_market_is_valued_at_the_mid(self) -> None:
        # 0.3 BTC offered at 1 USD is 0.3 USD by its price, but 15,000 USD of BTC leaves.
        must_deny(self.RULE, limit(SELL, "0.3", "1"), ReasonCode.MAX_ORDER_NOTIONAL)

    def test_a_bid_above_the_market_is_valued_at_its_price(self) -> None:
        must_deny(self.RULE, limit(BUY, "0.2", "50001"), ReasonCode.MAX_ORDER_NOTIONAL)

    def test_a_limit_order_without_a_reference_is_valued_at_its_price(self) -> None:
        assert passes(self.RULE, limit(SELL, "0.2", "50000"), references={})

    def test_a_market_order_is_valued_at_the_mid_and_denied_without_one(self) -> None:
        assert passes(self.RULE, market(SELL, "0.2"))
        must_deny(self.RULE, market(SELL, "0.2001"), ReasonCode.MAX_ORDER_NOTIONAL)
        must_deny(self.RULE, market(SELL, "0.0001"), ReasonCode.NO_REFERENCE, references={})

    def test_an_order_quoted_in_another_currency_is_converted_or_denied_without_a_rate(self) -> None:
        intent = limit(BUY, "4", "0.05", instrument_id=ETH_BTC)  # 0.2 BTC

        assert passes(self.RULE, intent, rates={"BTC": D(50_000)})  # 10,000 USD
        must_deny(self.RULE, intent, ReasonCode.MAX_ORDER_NOTIONAL, rates={"BTC": D("50000.01")})
        denial = must_deny(self.RULE, intent, ReasonCode.NO_CONVERSION_RATE)
        assert "BTC" in denial.message


class TestMaxOrderEquityFraction:
    RULE = MaxOrderEquityFraction(D("0.1"))  # 10% of 100,000 = 10,000

    def test_an_order_of_exactly_the_share_passes_and_more_is_denied(self) -> None:
        assert passes(self.RULE, limit(BUY, "0.2", "50000"))
        denial = must_deny(self.RULE, limit(BUY, "0.2001", "50000"), ReasonCode.MAX_ORDER_EQUITY_FRACTION)
        assert "100000" in denial.message

    def test_the_share_follows_equity(self) -> None:
        must_deny(
            self.RULE, limit(BUY, "0.2", "50000"), ReasonCode.MAX_ORDER_EQUITY_FRACTION, equity=D(99_999)
        )

    @pytest.mark.parametrize("equity", [D(0), D(-500)])
    def test_without_positive_equity_nothing_passes(self, equity: Decimal) -> None:
        must_deny(
            self.RULE, limit(BUY, "0.0001", "50000"), ReasonCode.MAX_ORDER_EQUITY_FRACTION, equity=equity
        )

    def test_a_market_order_without_a_reference_cannot_be_valued(self) -> None:
        must_deny(self.RULE, market(BUY, "0.0001"), ReasonCode.NO_REFERENCE, references={})
