"""Risk limits: the configured thresholds, their validation (errors and warnings), safe defaults.

Every limit is optional: `None` switches the rule (or breaker trigger) off. Amounts are in the
reporting currency; fractions are shares of equity in (0, 1]; times are nanoseconds.
"""

from __future__ import annotations

from decimal import Decimal

import attrs

from domain.errors import InvalidValueError
from domain.numbers import ONE, to_decimal

# Thresholds above which a valid limit is still dangerous enough to warn about.
DANGEROUS_DRAWDOWN_FRACTION = Decimal("0.30")
DANGEROUS_ORDER_EQUITY_FRACTION = Decimal("0.50")
WIDE_PRICE_BAND_BPS = Decimal(1000)
LONG_REFERENCE_AGE_NS = 30 * 1_000_000_000

_NS_PER_SECOND = 1_000_000_000


def _optional_decimal(value: Decimal | int | str | None) -> Decimal | None:
    return None if value is None else to_decimal(value)


@attrs.frozen
class LimitIssue:
    """One finding of limits validation: a stable code, the field concerned, and a message."""

    code: str
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.code} ({self.field}): {self.message}"


@attrs.frozen
class LimitsReport:
    """The outcome of validating limits: errors make them unusable, warnings must be surfaced."""

    errors: tuple[LimitIssue, ...] = ()
    warnings: tuple[LimitIssue, ...] = ()

    @property
    def ok(self) -> bool:
        """True when there is no error (warnings may remain)."""
        return not self.errors


class InvalidRiskLimitsError(InvalidValueError):
    """Risk limits with impossible values; `errors` lists every one of them."""

    def __init__(self, errors: tuple[LimitIssue, ...]) -> None:
        self.errors = errors
        super().__init__("invalid risk limits: " + "; ".join(str(error) for error in errors))


@attrs.frozen(kw_only=True)
class RiskLimits:
    """The risk limits of a trading kernel; every one optional (None = off), keyword-only.

    - `max_order_notional`: largest order notional (reporting currency).
    - `max_order_equity_fraction`: largest order notional as a share of equity, in (0, 1].
    - `max_position_notional`: largest worst-case position notional on one instrument.
    - `max_gross_notional`: largest worst-case gross notional over all instruments.
    - `max_open_orders` / `max_open_positions`: counts, at least 1.
    - `price_band_bps`: a limit price farther than this from the reference mid is denied.
    - `max_reference_age_ns`: a reference mid older than this is stale (the stale-data guard).
    - `max_orders_per_window` per `order_window_ns`: the order-rate throttle (set both or neither).
    - `daily_loss_limit`: a positive amount; a day's P&L at or below its negative halts new risk.
    - `max_drawdown_fraction`: a drawdown from the high-water mark at or above it halts new risk.
    - `max_consecutive_venue_failures`: the breaker trips after this many failures in a row.
    - `max_rejects` per `reject_window_ns`: the breaker trips on this many rejects in the window.
    """

    max_order_notional: Decimal | None = attrs.field(default=None, converter=_optional_decimal)
    max_order_equity_fraction: Decimal | None = attrs.field(default=None, converter=_optional_decimal)
    max_position_notional: Decimal | None = attrs.field(default=None, converter=_optional_decimal)
    max_gross_notional: Decimal | None = attrs.field(default=None, converter=_optional_decimal)
    max_open_orders: int | None = None
    max_open_positions: int | None = None
    price_band_bps: Decimal | None = attrs.field(default=None, converter=_optional_decimal)
    max_reference_age_ns: int | None = None
    max_orders_per_window: int | None = None
    order_window_ns: int | None = None
    daily_loss_limit: Decimal | None = attrs.field(default=None, converter=_optional_decimal)
    max_drawdown_fraction: Decimal | None = attrs.field(default=None, converter=_optional_decimal)
    max_consecutive_venue_failures: int | None = None
    max_rejects: int | None = None
    reject_window_ns: int | None = None

    @classmethod
    def conservative(cls, equity: Decimal) -> RiskLimits:
        """Safe defaults for an account of `equity` (reporting currency); they raise no warning.

        Orders of at most 2% of equity, 10% per instrument, 50% gross (no leverage), a 1% price
        band on 5-second-old data at most, 10 orders a second, a 2% daily loss limit, a 10%
        drawdown limit, and a breaker on 3 venue failures in a row or 5 rejects in a minute.
        """
        equity = to_decimal(equity)
        if equity <= 0:
            raise InvalidValueError(f"conservative limits need a positive equity, got {equity}")
        return cls(
            max_order_notional=equity * Decimal("0.02"),
            max_order_equity_fraction=Decimal("0.02"),
            max_position_notional=equity * Decimal("0.10"),
            max_gross_notional=equity * Decimal("0.50"),
            max_open_orders=20,
            max_open_positions=5,
            price_band_bps=Decimal(100),
            max_reference_age_ns=5 * _NS_PER_SECOND,
            max_orders_per_window=10,
            order_window_ns=_NS_PER_SECOND,
            daily_loss_limit=equity * Decimal("0.02"),
            max_drawdown_fraction=Decimal("0.10"),
            max_consecutive_venue_failures=3,
            max_rejects=5,
            reject_window_ns=60 * _NS_PER_SECOND,
        )

    def validate(self) -> LimitsReport:
        """Every error (impossible value) and warning (dangerous or missing limit) in these limits."""
        errors: list[LimitIssue] = []
        for name in (
            "max_order_notional",
            "max_position_notional",
            "max_gross_notional",
            "daily_loss_limit",
            "price_band_bps",
        ):
            _check_positive_amount(name, getattr(self, name), errors)
        for name in ("max_order_equity_fraction", "max_drawdown_fraction"):
            _check_fraction(name, getattr(self, name), errors)
        for name in (
            "max_open_orders",
            "max_open_positions",
            "max_reference_age_ns",
            "max_orders_per_window",
            "order_window_ns",
            "max_consecutive_venue_failures",
            "max_rejects",
            "reject_window_ns",
        ):
            _check_positive_int(name, getattr(self, name), errors)
        _check_pair(
            "max_orders_per_window",
            self.max_orders_per_window,
            "order_window_ns",
            self.order_window_ns,
            errors,
        )
        _check_pair("max_rejects", self.max_rejects, "reject_window_ns", self.reject_window_ns, errors)
        return LimitsReport(errors=tuple(errors), warnings=self._warnings())

    def ensure_valid(self) -> LimitsReport:
        """Raise `InvalidRiskLimitsError` listing every error; otherwise return the report (warnings)."""
        report = self.validate()
        if report.errors:
            raise InvalidRiskLimitsError(report.errors)
        return report

    def _warnings(self) -> tuple[LimitIssue, ...]:
        warnings: list[LimitIssue] = []

        def warn(code: str, field: str, message: str) -> None:
            warnings.append(LimitIssue(code, field, message))

        if self.daily_loss_limit is None:
            warn("no_daily_loss_limit", "daily_loss_limit", "losses in a day are unbounded")
        if self.max_drawdown_fraction is None:
            warn(
                "no_drawdown_limit", "max_drawdown_fraction", "drawdown from the high-water mark is unbounded"
            )
        elif self.max_drawdown_fraction > DANGEROUS_DRAWDOWN_FRACTION:
            warn(
                "drawdown_over_30pct",
                "max_drawdown_fraction",
                f"{self.max_drawdown_fraction} allows losing more than 30% from the high-water mark",
            )
        if self.max_order_notional is None and self.max_order_equity_fraction is None:
            warn("no_order_size_limit", "max_order_notional", "one order may be of any size (fat finger)")
        if self.max_order_equity_fraction is not None and (
            self.max_order_equity_fraction > DANGEROUS_ORDER_EQUITY_FRACTION
        ):
            warn(
                "order_over_half_equity",
                "max_order_equity_fraction",
                f"{self.max_order_equity_fraction} allows one order of more than 50% of equity",
            )
        if self.max_position_notional is None and self.max_gross_notional is None:
            warn("no_exposure_limit", "max_gross_notional", "positions may grow without bound")
        if self.price_band_bps is None:
            warn("no_price_band", "price_band_bps", "limit prices are not checked against the market")
        elif self.price_band_bps > WIDE_PRICE_BAND_BPS:
            warn(
                "wide_price_band",
                "price_band_bps",
                f"{self.price_band_bps} bps admits prices more than 10% away from the mid",
            )
        if self.price_band_bps is not None and self.max_reference_age_ns is None:
            warn(
                "no_reference_age_limit",
                "max_reference_age_ns",
                "the price band accepts a reference mid of any age (no stale-data guard)",
            )
        age = self.max_reference_age_ns
        # Only a well-typed age is compared; a mistyped one is already an error.
        if isinstance(age, int) and age > LONG_REFERENCE_AGE_NS:
            warn(
                "long_reference_age",
                "max_reference_age_ns",
                f"{self.max_reference_age_ns} ns accepts reference prices older than 30 s",
            )
        if self.max_orders_per_window is None:
            warn("no_order_rate_limit", "max_orders_per_window", "orders may be sent at any rate")
        return tuple(warnings)


def _check_positive_amount(name: str, value: Decimal | None, errors: list[LimitIssue]) -> None:
    if value is not None and value <= 0:
        errors.append(LimitIssue("not_positive", name, f"must be positive, got {value}"))


def _check_fraction(name: str, value: Decimal | None, errors: list[LimitIssue]) -> None:
    if value is None:
        return
    if value <= 0:
        errors.append(LimitIssue("not_positive", name, f"must be positive, got {value}"))
    elif value > ONE:
        errors.append(LimitIssue("fraction_over_one", name, f"must be at most 1 (100%), got {value}"))


def _check_positive_int(name: str, value: object, errors: list[LimitIssue]) -> None:
    if value is None:
        return
    # bool is an int subclass: True must not pass for a count of 1.
    if isinstance(value, bool) or not isinstance(value, int):
        errors.append(LimitIssue("not_an_integer", name, f"must be an integer, got {value!r}"))
    elif value <= 0:
        errors.append(LimitIssue("not_positive", name, f"must be positive, got {value}"))


def _check_pair(
    count_name: str, count: int | None, window_name: str, window: int | None, errors: list[LimitIssue]
) -> None:
    if count is not None and window is None:
        errors.append(LimitIssue("count_without_window", window_name, f"{count_name} needs {window_name}"))
    elif window is not None and count is None:
        errors.append(LimitIssue("window_without_count", count_name, f"{window_name} needs {count_name}"))
