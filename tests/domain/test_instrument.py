"""Instruments: identity, validation of exchange rules, directional price rounding, tick conversion."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.errors import InvalidValueError
from domain.instrument import Instrument, InstrumentId
from domain.order_terms import OrderSide

BTC_USD = InstrumentId("COINBASE", "BTC-USD")


def btc_usd(**overrides: object) -> Instrument:
    fields: dict[str, object] = {
        "id": BTC_USD,
        "base": "BTC",
        "quote": "USD",
        "price_increment": "0.01",
        "size_increment": "0.00000001",
        "min_size": "0.00001",
        "min_notional": "1",
        "max_size": "3400",
    }
    fields.update(overrides)
    return Instrument(**fields)  # type: ignore[arg-type]


def test_instrument_id_prints_and_parses_as_symbol_dot_venue() -> None:
    assert str(BTC_USD) == "BTC-USD.COINBASE"
    assert InstrumentId.parse("BTC-USD.COINBASE") == BTC_USD
    assert InstrumentId.parse("ETH-USD.PERP.DYDX") == InstrumentId("DYDX", "ETH-USD.PERP")


def test_instrument_id_without_a_venue_is_refused() -> None:
    with pytest.raises(InvalidValueError, match=r"SYMBOL\.VENUE"):
        InstrumentId.parse("BTC-USD")


@pytest.mark.parametrize("bad", ["", " BTC"])
def test_instrument_id_parts_must_be_non_empty_and_trimmed(bad: str) -> None:
    with pytest.raises(InvalidValueError):
        InstrumentId("COINBASE", bad)


def test_instrument_numbers_are_exact_decimals() -> None:
    instrument = btc_usd()
    assert instrument.price_increment == Decimal("0.01")
    assert isinstance(instrument.max_size, Decimal)


def test_float_increments_are_refused() -> None:
    with pytest.raises(InvalidValueError):
        btc_usd(price_increment=0.01)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("price_increment", "0", "price_increment"),
        ("size_increment", "-1", "size_increment"),
        ("min_size", "-1", "min_size"),
        ("min_notional", "-1", "min_notional"),
        ("max_size", "0.000001", "max_size"),
    ],
)
def test_impossible_exchange_rules_are_refused(field: str, value: str, message: str) -> None:
    with pytest.raises(InvalidValueError, match=message):
        btc_usd(**{field: value})


def test_max_size_is_optional() -> None:
    assert btc_usd(max_size=None).max_size is None


def test_a_bid_rounds_down_and_an_ask_rounds_up() -> None:
    instrument = btc_usd()
    assert instrument.round_price(Decimal("100.129"), OrderSide.BUY) == Decimal("100.12")
    assert instrument.round_price(Decimal("100.121"), OrderSide.SELL) == Decimal("100.13")


def test_sizes_round_down_so_we_never_trade_more_than_asked() -> None:
    assert btc_usd().round_size(Decimal("0.123456789")) == Decimal("0.12345678")


prices = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("1000000"), places=6)


@given(prices, st.sampled_from(list(OrderSide)))
def test_rounded_prices_are_on_the_grid_and_never_more_aggressive(price: Decimal, side: OrderSide) -> None:
    instrument = btc_usd()
    rounded = instrument.round_price(price, side)
    assert instrument.is_price_on_grid(rounded)
    if side is OrderSide.BUY:
        assert rounded <= price
    else:
        assert rounded >= price


@given(st.integers(min_value=0, max_value=10**12))
def test_ticks_round_trip_exactly(ticks: int) -> None:
    instrument = btc_usd()
    assert instrument.price_to_ticks(instrument.ticks_to_price(ticks)) == ticks


def test_off_grid_price_has_no_tick_count() -> None:
    with pytest.raises(InvalidValueError, match=r"not on the 0\.01 grid"):
        btc_usd().price_to_ticks(Decimal("100.001"))


def test_a_valid_order_size_has_no_violations() -> None:
    assert btc_usd().size_violations(Decimal("0.01"), Decimal("50000.00")) == []


def test_size_violations_name_every_broken_rule() -> None:
    instrument = btc_usd()
    reasons = instrument.size_violations(Decimal("0.000001"), Decimal("100.001"))
    assert any("below the minimum 0.00001" in r for r in reasons)
    assert any("not on the 0.01 grid" in r for r in reasons)
    assert any("notional" in r for r in reasons)
    assert instrument.size_violations(Decimal("0.000000001"), None) == [
        "size 1E-9 is not on the 1E-8 grid",
        "size 1E-9 is below the minimum 0.00001",
    ]


def test_size_above_maximum_and_non_positive_values_are_violations() -> None:
    instrument = btc_usd()
    assert any("above the maximum" in r for r in instrument.size_violations(Decimal(3401), None))
    assert any("must be positive" in r for r in instrument.size_violations(Decimal(0), None))
    assert any("price 0 must be positive" in r for r in instrument.size_violations(Decimal(1), Decimal(0)))
