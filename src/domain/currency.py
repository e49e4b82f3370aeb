"""Currency codes: the one check every balance, fee and P&L currency passes."""

from __future__ import annotations

from domain.errors import InvalidValueError


def check_currency(currency: str) -> str:
    """Return `currency` if it is a non-empty trimmed code; refuse anything else."""
    if not isinstance(currency, str) or not currency or currency != currency.strip():
        raise InvalidValueError(f"currency must be a non-empty trimmed code, got {currency!r}")
    return currency


def currency_validator(_inst: object, _attribute: object, value: str) -> None:
    """An attrs validator for currency fields."""
    check_currency(value)
