"""Limits validation: impossible values are errors, dangerous or missing ones are warnings."""

from __future__ import annotations

from decimal import Decimal

import attrs
import pytest

from domain.errors import InvalidValueError
from domain.risk import InvalidRiskLimitsError, LimitIssue, RiskLimits
from tests.domain.risk import SECOND

D = Decimal

AMOUNT_FIELDS = ["max_order_notional", "max_position_notional", "max_gross_notional", "daily_loss_limit"]
FRACTION_FIELDS = ["max_order_equity_fraction", "max_drawdown_fraction"]
COUNT_FIELDS = [
    "max_open_orders",
    "max_open_positions",
    "max_reference_age_ns",
    "max_consecutive_venue_failures",
]
ALL_WARNINGS_OFF = {
    "no_daily_loss_limit",
    "no_drawdown_limit",
    "no_order_size_limit",
    "no_exposure_limit",
    "no_price_band",
    "no_order_rate_limit",
}


def error_codes(limits: RiskLimits) -> set[tuple[str, str]]:
    return {(issue.code, issue.field) for issue in limits.validate().errors}


def warning_codes(limits: RiskLimits) -> set[str]:
    return {issue.code for issue in limits.validate().warnings}


def test_conservative_limits_are_valid_complete_and_raise_no_warning() -> None:
    limits = RiskLimits.conservative(D(250_000))

    report = limits.ensure_valid()

    assert report.ok
    assert report.warnings == ()
    assert limits.max_order_notional == D(5_000)
    assert limits.daily_loss_limit == D(5_000)
    assert limits.max_gross_notional == D(125_000)
    unset = [field.name for field in attrs.fields(RiskLimits) if getattr(limits, field.name) is None]
    assert unset == []


@pytest.mark.parametrize("equity", [D(0), D(-1)])
def test_conservative_limits_need_a_positive_equity(equity: Decimal) -> None:
    with pytest.raises(InvalidValueError, match="positive equity"):
        RiskLimits.conservative(equity)


def test_no_limits_at_all_is_valid_but_warns_about_every_missing_guard() -> None:
    report = RiskLimits().validate()

    assert report.ok
    assert {issue.code for issue in report.warnings} == ALL_WARNINGS_OFF


@pytest.mark.parametrize("field", [*AMOUNT_FIELDS, "price_band_bps"])
@pytest.mark.parametrize("value", [D(0), D(-1), D("-0.01")])
def test_an_amount_must_be_positive(field: str, value: Decimal) -> None:
    limits = RiskLimits(**{field: value})  # type: ignore[arg-type]

    assert ("not_positive", field) in error_codes(limits)


@pytest.mark.parametrize("field", FRACTION_FIELDS)
def test_a_fraction_must_be_in_zero_to_one(field: str) -> None:
    assert ("not_positive", field) in error_codes(RiskLimits(**{field: D(0)}))  # type: ignore[arg-type]
    assert ("not_positive", field) in error_codes(RiskLimits(**{field: D("-0.1")}))  # type: ignore[arg-type]
    assert ("fraction_over_one", field) in error_codes(RiskLimits(**{field: D("1.0001")}))  # type: ignore[arg-type]
    assert error_codes(RiskLimits(**{field: D(1)})) == set()  # type: ignore[arg-type]


@pytest.mark.parametrize("field", COUNT_FIELDS)
@pytest.mark.parametrize(
    ("value", "code"),
    [
        (0, "not_positive"),
        (-3, "not_positive"),
        (True, "not_an_integer"),
        (2.0, "not_an_integer"),
        ("5", "not_an_integer"),
    ],
)
def test_a_count_or_duration_must_be_a_positive_integer(field: str, value: object, code: str) -> None:
    limits = RiskLimits(**{field: value})  # type: ignore[arg-type]

    assert (code, field) in error_codes(limits)


def test_a_window_needs_its_count_and_a_count_needs_its_window() -> None:
    assert error_codes(RiskLimits(max_orders_per_window=5)) == {("count_without_window", "order_window_ns")}
    assert error_codes(RiskLimits(order_window_ns=SECOND)) == {
        ("window_without_count", "max_orders_per_window")
    }
    assert error_codes(RiskLimits(max_rejects=5)) == {("count_without_window", "reject_window_ns")}
    assert error_codes(RiskLimits(reject_window_ns=SECOND)) == {("window_without_count", "max_rejects")}
    assert error_codes(RiskLimits(max_rejects=5, reject_window_ns=SECOND)) == set()
    assert ("not_positive", "order_window_ns") in error_codes(
        RiskLimits(max_orders_per_window=5, order_window_ns=0)
    )


def test_ensure_valid_raises_listing_every_error() -> None:
    limits = RiskLimits(
        max_order_notional=D(-1), max_drawdown_fraction=D(2), max_open_orders=0, max_rejects=3
    )

    with pytest.raises(InvalidRiskLimitsError) as raised:
        limits.ensure_valid()

    fields = {issue.field for issue in raised.value.errors}
    assert fields == {"max_order_notional", "max_drawdown_fraction", "max_open_orders", "reject_window_ns"}
    for field in fields:
        assert field in str(raised.value)
    assert isinstance(raised.value, InvalidValueError)


def test_floats_are_refused_when_limits_are_built() -> None:
    with pytest.raises(InvalidValueError, match="exact number"):
        RiskLimits(max_order_notional=0.1)  # type: ignore[arg-type]


def test_limits_are_keyword_only() -> None:
    with pytest.raises(TypeError):
        RiskLimits(D(1))  # type: ignore[call-arg]


def test_strings_are_accepted_as_exact_amounts() -> None:
    assert RiskLimits(max_order_notional="1000.5").max_order_notional == D("1000.5")


@pytest.mark.parametrize(
    ("limits", "code", "expected"),
    [
        (RiskLimits(max_drawdown_fraction=D("0.31")), "drawdown_over_30pct", True),
        (RiskLimits(max_drawdown_fraction=D("0.30")), "drawdown_over_30pct", False),
        (RiskLimits(max_order_equity_fraction=D("0.51")), "order_over_half_equity", True),
        (RiskLimits(max_order_equity_fraction=D("0.50")), "order_over_half_equity", False),
        (RiskLimits(price_band_bps=D(1001)), "wide_price_band", True),
        (RiskLimits(price_band_bps=D(1000)), "wide_price_band", False),
        (RiskLimits(price_band_bps=D(50)), "no_reference_age_limit", True),
        (RiskLimits(price_band_bps=D(50), max_reference_age_ns=SECOND), "no_reference_age_limit", False),
        (RiskLimits(max_reference_age_ns=30 * SECOND + 1), "long_reference_age", True),
        (RiskLimits(max_reference_age_ns=30 * SECOND), "long_reference_age", False),
        (RiskLimits(max_order_notional=D(10)), "no_order_size_limit", False),
        (RiskLimits(max_order_equity_fraction=D("0.1")), "no_order_size_limit", False),
        (RiskLimits(max_position_notional=D(10)), "no_exposure_limit", False),
        (RiskLimits(max_gross_notional=D(10)), "no_exposure_limit", False),
        (RiskLimits(daily_loss_limit=D(10)), "no_daily_loss_limit", False),
        (RiskLimits(max_drawdown_fraction=D("0.1")), "no_drawdown_limit", False),
        (RiskLimits(max_orders_per_window=1, order_window_ns=SECOND), "no_order_rate_limit", False),
    ],
)
def test_dangerous_or_missing_limits_warn(limits: RiskLimits, code: str, expected: bool) -> None:
    assert (code in warning_codes(limits)) is expected


def test_warnings_do_not_make_limits_invalid_and_are_returned_by_ensure_valid() -> None:
    report = RiskLimits(max_drawdown_fraction=D("0.5")).ensure_valid()

    assert report.ok
    assert "drawdown_over_30pct" in {issue.code for issue in report.warnings}


def test_a_mistyped_age_is_an_error_not_a_crash() -> None:
    report = RiskLimits(max_reference_age_ns="long").validate()  # type: ignore[arg-type]

    assert ("not_an_integer", "max_reference_age_ns") in {(e.code, e.field) for e in report.errors}


def test_an_issue_reads_as_code_field_and_message() -> None:
    assert str(LimitIssue("not_positive", "max_open_orders", "must be positive")) == (
        "not_positive (max_open_orders): must be positive"
    )
