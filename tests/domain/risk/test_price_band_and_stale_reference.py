"""Price band and the stale-data guard: no reference, an old one, or a price too far from it denies."""

from __future__ import annotations

from decimal import Decimal

import pytest

from domain.order_terms import OrderSide, OrderType
from domain.risk import PriceBand, ReasonCode, ReferencePrice
from domain.signals import OrderIntent
from tests.domain.risk import BTC_USD, MID, NOW, SECOND, STRATEGY, btc_usd, context, limit, market

D = Decimal
BUY, SELL = OrderSide.BUY, OrderSide.SELL
BAND = PriceBand(band_bps=D(100), max_age_ns=5 * SECOND)  # 1% of 50,000 = 500


def reason(rule: PriceBand, intent: OrderIntent, **ctx_overrides: object) -> ReasonCode | None:
    denial = rule.check(intent, btc_usd(), context(**ctx_overrides))  # type: ignore[arg-type]
    return None if denial is None else denial.reason_code


@pytest.mark.parametrize("side", [BUY, SELL])
def test_a_price_exactly_at_the_band_edge_passes_and_one_tick_beyond_is_denied(side: OrderSide) -> None:
    edge = MID + side.sign * D(500)
    beyond = edge + side.sign * D("0.01")

    assert reason(BAND, limit(side, "1", edge)) is None
    assert reason(BAND, limit(side, "1", beyond)) is ReasonCode.PRICE_BAND
    # The band is symmetric: a passive price far from the mid is as suspicious as an aggressive one.
    assert reason(BAND, limit(side, "1", MID - side.sign * D("500.01"))) is ReasonCode.PRICE_BAND


def test_the_band_message_names_the_price_the_band_and_the_mid() -> None:
    denial = BAND.check(limit(BUY, "1", "60000"), btc_usd(), context())

    assert denial is not None
    assert "60000" in denial.message
    assert "100" in denial.message
    assert str(MID) in denial.message


def test_a_stop_limit_is_banded_on_its_limit_price() -> None:
    intent = OrderIntent(
        strategy_id=STRATEGY,
        instrument_id=BTC_USD,
        side=BUY,
        quantity=D(1),
        order_type=OrderType.STOP_LIMIT,
        price=D("50600"),
        trigger_price=D("50400"),
    )

    assert reason(BAND, intent) is ReasonCode.PRICE_BAND


@pytest.mark.parametrize("intent", [limit(BUY, "1", "50000"), market(SELL, "1")])
def test_no_reference_denies_every_order(intent: OrderIntent) -> None:
    assert reason(BAND, intent, references={}) is ReasonCode.NO_REFERENCE


def test_a_reference_older_than_the_max_age_is_stale_and_one_exactly_that_old_is_not() -> None:
    at_limit = {BTC_USD: ReferencePrice(MID, NOW - 5 * SECOND)}
    too_old = {BTC_USD: ReferencePrice(MID, NOW - 5 * SECOND - 1)}

    assert reason(BAND, limit(BUY, "1", "50000"), references=at_limit) is None
    assert reason(BAND, limit(BUY, "1", "50000"), references=too_old) is ReasonCode.STALE_REFERENCE
    assert reason(BAND, market(BUY, "1"), references=too_old) is ReasonCode.STALE_REFERENCE


def test_a_reference_stamped_after_now_counts_as_fresh() -> None:
    assert (
        reason(BAND, limit(BUY, "1", "50000"), references={BTC_USD: ReferencePrice(MID, NOW + SECOND)})
        is None
    )


def test_staleness_is_reported_before_the_band_since_a_stale_mid_cannot_judge_a_price() -> None:
    too_old = {BTC_USD: ReferencePrice(MID, NOW - 6 * SECOND)}

    assert reason(BAND, limit(BUY, "1", "99999"), references=too_old) is ReasonCode.STALE_REFERENCE


def test_a_market_order_has_no_price_to_band_but_still_needs_a_fresh_reference() -> None:
    assert reason(BAND, market(BUY, "1")) is None


def test_without_a_max_age_any_reference_is_accepted() -> None:
    rule = PriceBand(band_bps=D(100), max_age_ns=None)
    ancient = {BTC_USD: ReferencePrice(MID, 0)}

    assert reason(rule, limit(BUY, "1", "50000"), references=ancient) is None
    assert reason(rule, limit(BUY, "1", "51000"), references=ancient) is ReasonCode.PRICE_BAND
    assert reason(rule, limit(BUY, "1", "50000"), references={}) is ReasonCode.NO_REFERENCE


def test_without_a_band_only_the_stale_data_guard_runs() -> None:
    rule = PriceBand(band_bps=None, max_age_ns=SECOND)

    assert reason(rule, limit(BUY, "1", "1")) is None
    assert reason(
        rule, limit(BUY, "1", "1"), references={BTC_USD: ReferencePrice(MID, NOW - 2 * SECOND)}
    ) is (ReasonCode.STALE_REFERENCE)
