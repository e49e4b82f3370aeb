"""The pre-trade check: every configured rule runs, every denial is collected."""

from __future__ import annotations

import decimal
from decimal import Decimal

import pytest

from domain.instrument import Instrument
from domain.numbers import EXACT_CONTEXT
from domain.order_terms import OrderSide
from domain.risk import (
    CurrencyBalance,
    Denial,
    Exposure,
    InvalidRiskLimitsError,
    PreTradeCheck,
    ReasonCode,
    ReferencePrice,
    RiskDecision,
    RiskLimits,
    TradingState,
    rules_for,
)
from tests.domain.risk import BTC_USD, NOW, SECOND, btc_usd, context, limit, market

D = Decimal
BUY, SELL = OrderSide.BUY, OrderSide.SELL
LIMITS = RiskLimits.conservative(D(100_000))  # orders up to 2,000 USD, 1% band, 5 s references


def test_an_ordinary_order_within_every_limit_is_approved() -> None:
    decision = PreTradeCheck(LIMITS).check(limit(BUY, "0.04", "50000"), btc_usd(), context())

    assert decision.approved
    assert decision.denials == ()
    assert decision.reason_codes == ()


def test_every_denial_is_collected_not_only_the_first() -> None:
    ctx = context(
        trading_state=TradingState.REDUCING,
        open_order_count=20,
        daily_pnl=D(-3_000),
        references={BTC_USD: ReferencePrice(D(50_000), NOW - 10 * SECOND)},
    )

    decision = PreTradeCheck(LIMITS).check(limit(BUY, "1", "50000.005"), btc_usd(), ctx)

    assert not decision.approved
    assert set(decision.reason_codes) == {
        ReasonCode.REDUCING_ONLY,
        ReasonCode.INSTRUMENT_RULES,
        ReasonCode.STALE_REFERENCE,
        ReasonCode.MAX_ORDER_NOTIONAL,
        ReasonCode.MAX_ORDER_EQUITY_FRACTION,
        ReasonCode.MAX_POSITION_NOTIONAL,
        ReasonCode.MAX_GROSS_NOTIONAL,
        ReasonCode.MAX_OPEN_ORDERS,
        ReasonCode.DAILY_LOSS_LIMIT,
    }
    assert len({denial.rule for denial in decision.denials}) == len(decision.denials)


def test_a_cause_cited_by_several_rules_is_one_reason_code() -> None:
    decision = PreTradeCheck(LIMITS).check(market(BUY, "0.01"), btc_usd(), context(references={}))

    no_reference = [d for d in decision.denials if d.reason_code is ReasonCode.NO_REFERENCE]
    assert len(no_reference) > 1
    assert decision.reason_codes.count(ReasonCode.NO_REFERENCE) == 1


def test_halted_denies_even_an_order_that_would_close_the_position() -> None:
    ctx = context(trading_state=TradingState.HALTED, exposures={BTC_USD: Exposure(D("0.01"))})

    decision = PreTradeCheck(LIMITS).check(market(SELL, "0.01", reduce_only=True), btc_usd(), ctx)

    assert decision.reason_codes == (ReasonCode.TRADING_HALTED,)


def test_reducing_admits_a_closing_order_even_past_loss_and_drawdown_limits() -> None:
    ctx = context(
        trading_state=TradingState.REDUCING,
        exposures={BTC_USD: Exposure(D("0.01"))},
        daily_pnl=D(-50_000),
        equity=D(50_000),
        balances={},
    )

    decision = PreTradeCheck(LIMITS).check(market(SELL, "0.01", reduce_only=True), btc_usd(), ctx)

    assert decision.approved


def test_with_no_limits_only_the_always_on_rules_run() -> None:
    names = [rule.name for rule in rules_for(RiskLimits())]

    assert names == ["TradingStateRule", "InstrumentRules", "ReduceOnly", "SufficientBalance"]


def test_with_every_limit_set_every_rule_runs() -> None:
    names = [rule.name for rule in PreTradeCheck(LIMITS).rules]

    assert names == [
        "TradingStateRule",
        "InstrumentRules",
        "ReduceOnly",
        "PriceBand",
        "MaxOrderNotional",
        "MaxOrderEquityFraction",
        "MaxPositionNotional",
        "MaxGrossNotional",
        "MaxOpenOrders",
        "MaxOpenPositions",
        "OrderRateLimit",
        "SufficientBalance",
        "DailyLossLimit",
        "MaxDrawdown",
    ]


@pytest.mark.parametrize(
    "limits",
    [RiskLimits(price_band_bps=D(50)), RiskLimits(max_reference_age_ns=SECOND)],
)
def test_either_the_band_or_the_max_age_turns_on_the_reference_guard(limits: RiskLimits) -> None:
    check = PreTradeCheck(limits)

    decision = check.check(limit(BUY, "0.01", "50000"), btc_usd(), context(references={}))

    assert "PriceBand" in [rule.name for rule in check.rules]
    assert decision.reason_codes == (ReasonCode.NO_REFERENCE,)


def test_invalid_limits_are_refused_and_warnings_are_kept_for_the_caller() -> None:
    with pytest.raises(InvalidRiskLimitsError):
        PreTradeCheck(RiskLimits(max_open_orders=0))

    check = PreTradeCheck(RiskLimits(max_drawdown_fraction=D("0.4")))

    assert "drawdown_over_30pct" in {warning.code for warning in check.warnings}
    assert check.limits == RiskLimits(max_drawdown_fraction=D("0.4"))
    assert PreTradeCheck(LIMITS).warnings == ()


def test_the_order_rate_comes_from_the_context_window() -> None:
    recent = tuple(NOW - i for i in range(10))

    decision = PreTradeCheck(LIMITS).check(
        limit(BUY, "0.01", "50000"), btc_usd(), context(recent_order_ts_ns=recent)
    )

    assert decision.reason_codes == (ReasonCode.ORDER_RATE,)


def test_the_balance_is_always_checked() -> None:
    ctx = context(balances={"USD": CurrencyBalance(D(100), D(99))})

    decision = PreTradeCheck(RiskLimits()).check(limit(BUY, "0.01", "50000"), btc_usd(), ctx)

    assert decision.reason_codes == (ReasonCode.INSUFFICIENT_BALANCE,)


def test_a_decision_is_approved_exactly_when_it_has_no_denial() -> None:
    denial = Denial("SomeRule", ReasonCode.PRICE_BAND, "too far")

    assert RiskDecision().approved
    assert not RiskDecision((denial,)).approved
    assert RiskDecision((denial, denial)).reason_codes == (ReasonCode.PRICE_BAND,)


def fine_grid_instrument(increment: str) -> Instrument:
    return Instrument(
        id=BTC_USD, base="BTC", quote="USD", price_increment=D(increment), size_increment=D(increment)
    )


def test_amounts_are_computed_exactly_so_rounding_cannot_slip_an_order_under_a_limit() -> None:
    # 1.00000000000001 squared is 1.0000000000000200000000000001: 29 digits, 1e-28 over the limit.
    # Rounded to the default 28 digits it would equal the limit and pass.
    side_length = D("1.00000000000001")
    intent = limit(BUY, side_length, side_length)
    instrument = fine_grid_instrument("0.00000000000001")
    limits = RiskLimits(max_order_notional=D("1.00000000000002"))
    ctx = context(references={})

    assert side_length * side_length == D("1.00000000000002")  # the default context rounds
    assert PreTradeCheck(limits).check(intent, instrument, ctx).reason_codes == (
        ReasonCode.MAX_ORDER_NOTIONAL,
    )


def test_a_computation_that_would_round_raises_instead_of_approving() -> None:
    held = EXACT_CONTEXT.prec
    half = held // 2 + 10
    quantity = D("1." + "0" * (half - 1) + "1")  # half+1 digits
    price = D("1." + "0" * (half - 1) + "1")  # their product needs 2*half+1 digits, over those held
    intent = limit(BUY, quantity, price)
    instrument = fine_grid_instrument(f"1e-{half}")

    with pytest.raises(decimal.Inexact):
        PreTradeCheck(RiskLimits(max_order_notional=D(2))).check(intent, instrument, context(references={}))
