"""Exact numbers: floats are refused, rounding to an increment is directional and on the grid."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.errors import InvalidValueError
from domain.numbers import Rounding, bps_between, is_multiple_of, round_to_increment, to_decimal

increments = st.sampled_from(
    [Decimal(x) for x in ("0.01", "0.5", "1", "0.00000001", "0.1", "25", "0.0001", "0.25")]
)
values = st.decimals(min_value=Decimal("-1000000"), max_value=Decimal("1000000"), allow_nan=False, places=10)


def test_float_is_refused_because_it_cannot_represent_most_prices() -> None:
    with pytest.raises(InvalidValueError, match="exact number required"):
        to_decimal(0.1)  # type: ignore[arg-type]


def test_bool_is_refused_even_though_it_is_an_int() -> None:
    with pytest.raises(InvalidValueError):
        to_decimal(True)


@pytest.mark.parametrize("text", ["NaN", "Infinity", "-Infinity", "sNaN"])
def test_non_finite_numbers_are_refused(text: str) -> None:
    with pytest.raises(InvalidValueError, match="finite"):
        to_decimal(text)


def test_garbage_text_is_refused_with_the_text_in_the_message() -> None:
    with pytest.raises(InvalidValueError, match="'12,5'"):
        to_decimal("12,5")


def test_an_unsupported_type_is_refused() -> None:
    with pytest.raises(InvalidValueError):
        to_decimal([1])  # type: ignore[arg-type]


def test_strings_ints_and_decimals_convert_exactly() -> None:
    assert to_decimal(" 0.1 ") == Decimal("0.1")
    assert to_decimal(7) == Decimal(7)
    assert to_decimal(Decimal("1e-8")) == Decimal("0.00000001")


def test_rounding_keeps_the_increment_exponent() -> None:
    assert str(round_to_increment(Decimal(1), Decimal("0.01"), Rounding.DOWN)) == "1.00"


@pytest.mark.parametrize(
    ("value", "increment", "rounding", "expected"),
    [
        ("100.129", "0.01", Rounding.DOWN, "100.12"),
        ("100.121", "0.01", Rounding.UP, "100.13"),
        ("100.12", "0.01", Rounding.UP, "100.12"),
        ("-1.3", "0.5", Rounding.DOWN, "-1.5"),
        ("-1.3", "0.5", Rounding.UP, "-1.0"),
        ("7", "5", Rounding.DOWN, "5"),
        ("7", "5", Rounding.UP, "10"),
    ],
)
def test_rounding_examples(value: str, increment: str, rounding: Rounding, expected: str) -> None:
    assert round_to_increment(Decimal(value), Decimal(increment), rounding) == Decimal(expected)


@pytest.mark.parametrize("increment", ["0", "-0.01"])
def test_rounding_to_a_non_positive_increment_is_refused(increment: str) -> None:
    with pytest.raises(InvalidValueError):
        round_to_increment(Decimal(1), Decimal(increment), Rounding.DOWN)


@given(values, increments)
def test_rounding_down_is_on_the_grid_never_above_and_less_than_one_step_below(
    value: Decimal, increment: Decimal
) -> None:
    rounded = round_to_increment(value, increment, Rounding.DOWN)
    assert is_multiple_of(rounded, increment)
    assert rounded <= value
    assert value - rounded < increment


@given(values, increments)
def test_rounding_up_is_on_the_grid_never_below_and_less_than_one_step_above(
    value: Decimal, increment: Decimal
) -> None:
    rounded = round_to_increment(value, increment, Rounding.UP)
    assert is_multiple_of(rounded, increment)
    assert rounded >= value
    assert rounded - value < increment


@given(values, increments)
def test_values_already_on_the_grid_are_unchanged(value: Decimal, increment: Decimal) -> None:
    on_grid = round_to_increment(value, increment, Rounding.DOWN)
    assert round_to_increment(on_grid, increment, Rounding.UP) == on_grid
    assert round_to_increment(on_grid, increment, Rounding.DOWN) == on_grid


def test_bps_between_is_signed_relative_to_the_reference() -> None:
    assert bps_between(Decimal(101), Decimal(100)) == Decimal(100)
    assert bps_between(Decimal("99.5"), Decimal(100)) == Decimal(-50)


def test_bps_against_a_non_positive_reference_is_refused() -> None:
    with pytest.raises(InvalidValueError):
        bps_between(Decimal(1), Decimal(0))


def test_exact_context_raises_instead_of_rounding() -> None:
    from decimal import Inexact

    from domain.numbers import EXACT_CONTEXT, exact

    with exact():
        assert Decimal("0.1") * Decimal(3) == Decimal("0.3")
    with pytest.raises(Inexact):
        EXACT_CONTEXT.divide(Decimal(1), Decimal(3))


def test_ratio_is_a_forty_digit_report() -> None:
    from domain.numbers import ratio, report

    assert ratio(Decimal(1), Decimal(3)) == Decimal("0." + "3" * 40)
    with report():
        assert Decimal(2) / Decimal(3) == Decimal("0." + "6" * 39 + "7")


@pytest.mark.parametrize("price", ["0", "-1"])
def test_a_non_positive_price_is_refused(price: str) -> None:
    from domain.numbers import check_positive_price

    with pytest.raises(InvalidValueError, match="must be positive"):
        check_positive_price(Decimal(price))


@pytest.mark.parametrize("ts_ns", [-1, True, "5"])
def test_timestamps_are_non_negative_integer_nanoseconds(ts_ns: object) -> None:
    from domain.numbers import check_ts_ns

    with pytest.raises(InvalidValueError, match="ts_ns"):
        check_ts_ns(ts_ns)  # type: ignore[arg-type]
    assert check_ts_ns(0) == 0
