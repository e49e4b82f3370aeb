"""The risk context snapshot and the exposure arithmetic the rules rely on."""

from __future__ import annotations

from decimal import Decimal

import pytest

from domain.errors import InvalidValueError
from domain.order_terms import OrderSide
from domain.risk import CurrencyBalance, Exposure, ReferencePrice, RiskContext
from tests.domain.risk import BTC_USD, ETH_USD, NOW, context

D = Decimal


def test_the_worst_case_counts_resting_orders_on_each_side_separately() -> None:
    exposure = Exposure(D(2), open_buy=D(3), open_sell=D(7))

    assert exposure.extreme(OrderSide.BUY) == D(5)
    assert exposure.extreme(OrderSide.SELL) == D(-5)
    assert exposure.worst_case() == D(5)
    assert exposure.extreme_after(OrderSide.SELL, D(1)) == D(-6)
    assert exposure.worst_case_after(OrderSide.SELL, D(1)) == D(6)
    assert exposure.worst_case_after(OrderSide.BUY, D(1)) == D(6)
    assert Exposure(D(2)).worst_case_after(OrderSide.SELL, D(1)) == D(2)


def test_an_instrument_is_exposed_with_a_position_or_any_resting_order() -> None:
    assert not Exposure().is_exposed
    assert Exposure(D(-1)).is_exposed
    assert Exposure(open_buy=D(1)).is_exposed
    assert Exposure(open_sell=D(1)).is_exposed


def test_resting_quantities_cannot_be_negative() -> None:
    with pytest.raises(InvalidValueError):
        Exposure(open_buy=D(-1))
    with pytest.raises(InvalidValueError):
        Exposure(open_sell=D(-1))


def test_a_balance_is_available_less_what_open_orders_reserve() -> None:
    assert CurrencyBalance(D(100), D(30)).available == D(70)
    with pytest.raises(InvalidValueError):
        CurrencyBalance(D(100), D(-1))


def test_a_reference_must_be_positive_and_ages_from_its_timestamp() -> None:
    reference = ReferencePrice(D(10), NOW)

    assert reference.age_ns(NOW + 5) == 5
    assert reference.age_ns(NOW - 5) == 0  # stamped "after now": treated as fresh
    for mid in (D(0), D(-1)):
        with pytest.raises(InvalidValueError):
            ReferencePrice(mid, NOW)


def test_lookups_default_to_flat_no_reference_and_no_balance() -> None:
    ctx = context(balances={"USD": CurrencyBalance(D(5), D(1))}, rates={"BTC": D(50_000)})

    assert ctx.exposure(ETH_USD) == Exposure()
    assert ctx.reference(ETH_USD) is None
    assert ctx.reference(BTC_USD) is not None
    assert ctx.available("USD") == D(4)
    assert ctx.available("EUR") == D(0)
    assert ctx.rate("USD") == D(1)
    assert ctx.rate("BTC") == D(50_000)
    assert ctx.rate("EUR") is None


def test_drawdown_is_measured_from_the_high_water_mark_and_unknown_without_one() -> None:
    assert context(equity=D(80), high_water_mark=D(100)).drawdown == D("0.2")
    assert context(equity=D(120), high_water_mark=D(100)).drawdown == D(0)
    assert context(equity=D(0), high_water_mark=D(0)).drawdown is None


def test_exposed_instruments_ignore_flat_entries() -> None:
    ctx = context(exposures={BTC_USD: Exposure(D(1)), ETH_USD: Exposure()})

    assert ctx.exposed_instruments == frozenset({BTC_USD})


def test_the_snapshot_cannot_be_changed_through_the_mappings_it_was_given() -> None:
    exposures = {BTC_USD: Exposure(D(1))}
    ctx = context(exposures=exposures)

    exposures[ETH_USD] = Exposure(D(5))

    assert ETH_USD not in ctx.exposures
    with pytest.raises(TypeError):
        ctx.exposures[ETH_USD] = Exposure()  # type: ignore[index]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"reporting_currency": ""}, "reporting_currency"),
        ({"high_water_mark": D(-1)}, "high_water_mark"),
        ({"open_order_count": -1}, "open_order_count"),
        ({"gross_notional": D(-1)}, "gross_notional"),
        ({"rates": {"BTC": D(0)}}, "rate of BTC"),
        ({"rates": {"BTC": 50_000.0}}, "rate of BTC"),
        ({"equity": 1.5}, "exact number"),
    ],
)
def test_an_impossible_snapshot_is_refused(overrides: dict[str, object], message: str) -> None:
    fields: dict[str, object] = {
        "now_ns": NOW,
        "equity": D(1),
        "high_water_mark": D(1),
        "daily_pnl": D(0),
        "reporting_currency": "USD",
    }
    fields.update(overrides)

    with pytest.raises(InvalidValueError, match=message):
        RiskContext(**fields)  # type: ignore[arg-type]
