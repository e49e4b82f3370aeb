"""Reading a strategy's JSON-friendly state back: checked field access for `restore`.

A snapshot is a mapping of plain values (str, int, bool, None, lists and mappings of them), with
Decimals written as strings so they survive JSON exactly. These helpers read one field each and
raise `StrategyStateError` naming the field when it is missing or of the wrong kind, so a corrupt
or foreign state is refused instead of half-restored.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal

from application.strategies.strategy import StrategyStateError
from domain.errors import InvalidValueError
from domain.numbers import to_decimal


def field(state: Mapping[str, object], key: str) -> object:
    """The value of `key`; a missing key is refused."""
    if key not in state:
        raise StrategyStateError(f"strategy state has no {key!r}")
    return state[key]


def mapping(state: Mapping[str, object], key: str) -> Mapping[str, object]:
    """A nested mapping."""
    value = field(state, key)
    if not isinstance(value, Mapping):
        raise StrategyStateError(f"strategy state {key!r} must be a mapping, got {value!r}")
    return value


def optional_mapping(state: Mapping[str, object], key: str) -> Mapping[str, object] | None:
    """A nested mapping, or None."""
    return None if field(state, key) is None else mapping(state, key)


def sequence(state: Mapping[str, object], key: str) -> Sequence[object]:
    """A list (a string is not one)."""
    value = field(state, key)
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        raise StrategyStateError(f"strategy state {key!r} must be a list, got {value!r}")
    return value


def integer(state: Mapping[str, object], key: str) -> int:
    """An int (a bool is not one)."""
    value = field(state, key)
    if isinstance(value, bool) or not isinstance(value, int):
        raise StrategyStateError(f"strategy state {key!r} must be an int, got {value!r}")
    return value


def optional_integer(state: Mapping[str, object], key: str) -> int | None:
    """An int, or None."""
    return None if field(state, key) is None else integer(state, key)


def text(state: Mapping[str, object], key: str) -> str:
    """A string."""
    value = field(state, key)
    if not isinstance(value, str):
        raise StrategyStateError(f"strategy state {key!r} must be a string, got {value!r}")
    return value


def boolean(state: Mapping[str, object], key: str) -> bool:
    """A bool."""
    value = field(state, key)
    if not isinstance(value, bool):
        raise StrategyStateError(f"strategy state {key!r} must be a bool, got {value!r}")
    return value


def as_decimal(value: object, what: str) -> Decimal:
    """A Decimal written as a string (the only form snapshots use)."""
    if not isinstance(value, str):
        raise StrategyStateError(f"strategy state {what} must be a decimal string, got {value!r}")
    try:
        return to_decimal(value)
    except InvalidValueError as error:
        raise StrategyStateError(f"strategy state {what}: {error}") from None


def decimal(state: Mapping[str, object], key: str) -> Decimal:
    """A Decimal written as a string."""
    return as_decimal(field(state, key), repr(key))


def optional_decimal(state: Mapping[str, object], key: str) -> Decimal | None:
    """A Decimal written as a string, or None."""
    return None if field(state, key) is None else decimal(state, key)


def dec_text(value: Decimal | None) -> str | None:
    """The snapshot form of an optional Decimal."""
    return None if value is None else str(value)


def check_kind(state: Mapping[str, object], kind: str, version: int) -> None:
    """Refuse a state written by another kind of strategy, or by another version of this one."""
    found_kind = field(state, "kind")
    found_version = field(state, "version")
    if found_kind != kind or found_version != version:
        raise StrategyStateError(
            f"expected a {kind} state of version {version}, got {found_kind!r} version {found_version!r}"
        )
