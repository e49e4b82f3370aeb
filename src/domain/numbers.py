"""Exact numbers: Decimal conversion that refuses floats, and directional rounding to an increment.

Every price, size and amount in the domain is a `decimal.Decimal`. Floats are refused at the
boundary because a binary float cannot represent most decimal prices (0.1 is not 0.1); see
adr/0002-money-representation.md.
"""

from __future__ import annotations

import enum
from decimal import Decimal, InvalidOperation

from domain.errors import InvalidValueError

ZERO = Decimal(0)
ONE = Decimal(1)
BPS = Decimal(10_000)


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
