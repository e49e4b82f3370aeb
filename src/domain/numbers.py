"""Exact numbers: Decimal conversion that refuses floats, and directional rounding to an increment.

Every price, size and amount in the domain is a `decimal.Decimal`. Floats are refused at the
boundary because a binary float cannot represent most decimal prices (0.1 is not 0.1); see
adr/0002-money-representation.md.
"""

from __future__ import annotations

import enum
from contextlib import AbstractContextManager
from decimal import (
    ROUND_HALF_EVEN,
    Context,
    Decimal,
    DivisionByZero,
    Inexact,
    InvalidOperation,
    Overflow,
    localcontext,
)

from domain.errors import InvalidValueError

ZERO = Decimal(0)
ONE = Decimal(1)
BPS = Decimal(10_000)

# Money is computed with +, - and * only, under EXACT_CONTEXT: 1,000 digits hold any realistic sum
# or product of prices and sizes many times over, and Inexact is trapped, so a rounding raises
# instead of passing silently. Our own context also makes results independent of the caller's.
EXACT_CONTEXT = Context(
    prec=1_000, rounding=ROUND_HALF_EVEN, traps=[InvalidOperation, DivisionByZero, Overflow, Inexact]
)
# Ratios (average prices, basis points, drawdown fractions) need a division and are reports, not
# money: 40 significant digits, rounded half-even.
REPORT_PRECISION = 40
REPORT_CONTEXT = Context(
    prec=REPORT_PRECISION, rounding=ROUND_HALF_EVEN, traps=[InvalidOperation, DivisionByZero, Overflow]
)


class Rounding(enum.Enum):
    """Which way a value moves when it is snapped to an increment grid."""

    DOWN = "down"  # toward minus infinity
    UP = "up"  # toward plus infinity


def to_decimal(value: Decimal | int | str) -> Decimal:
    """Return `value` as a finite Decimal; floats, NaN and infinities are refused."""
    if isinstance(value, (bool, float)):
        raise InvalidValueError(f"exact number required, got {type(value).__name__} {value!r}")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, str):
        try:
            result = Decimal(value.strip())
        except InvalidOperation:
            raise InvalidValueError(f"not a decimal number: {value!r}") from None
    else:
        raise InvalidValueError(f"exact number required, got {type(value).__name__} {value!r}")
    if not result.is_finite():
        raise InvalidValueError(f"finite number required, got {value!r}")
    return result


def round_to_increment(value: Decimal, increment: Decimal, rounding: Rounding) -> Decimal:
    """Snap `value` to a multiple of `increment`, moving only in the `rounding` direction.

    The result is always on the grid, and never above `value` for DOWN nor below it for UP.
    Its exponent is the increment's, so `round_to_increment(Decimal("1"), Decimal("0.01"), ...)`
    is `Decimal("1.00")`.
    """
    if increment <= 0:
        raise InvalidValueError(f"increment must be positive, got {increment}")
    quotient, remainder = divmod(value, increment)  # truncates toward zero
    steps = quotient
    if remainder != 0:
        if rounding is Rounding.DOWN and value < 0:
            steps -= 1
        elif rounding is Rounding.UP and value > 0:
            steps += 1
    return steps * increment


def is_multiple_of(value: Decimal, increment: Decimal) -> bool:
    """True when `value` is an exact multiple of `increment`."""
    return value % increment == 0


def bps_between(value: Decimal, reference: Decimal) -> Decimal:
    """Distance of `value` from `reference` in basis points of `reference` (signed)."""
    if reference <= 0:
        raise InvalidValueError(f"reference must be positive, got {reference}")
    return (value - reference) / reference * BPS


def exact() -> AbstractContextManager[Context]:
    """A local context under which +, - and * are exact and any rounding raises `decimal.Inexact`."""
    return localcontext(EXACT_CONTEXT)


def report() -> AbstractContextManager[Context]:
    """A local context for report ratios: 40 significant digits, rounded half-even."""
    return localcontext(REPORT_CONTEXT)


def ratio(numerator: Decimal, denominator: Decimal) -> Decimal:
    """`numerator / denominator` under the report context (the denominator must not be zero)."""
    return REPORT_CONTEXT.divide(numerator, denominator)


def check_positive_price(price: Decimal) -> Decimal:
    """Return `price` as an exact positive Decimal; floats, zero and negatives are refused."""
    value = to_decimal(price)
    if value <= 0:
        raise InvalidValueError(f"a mark price must be positive, got {value}")
    return value


def check_ts_ns(ts_ns: int) -> int:
    """Return `ts_ns` if it is a non-negative int of nanoseconds; refuse anything else."""
    if isinstance(ts_ns, bool) or not isinstance(ts_ns, int) or ts_ns < 0:
        raise InvalidValueError(f"ts_ns must be a non-negative int of nanoseconds, got {ts_ns!r}")
    return ts_ns
