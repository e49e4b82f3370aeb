"""Strategy configurations from plain mappings (a TOML table, a JSON object), checked strictly.

Every configuration is a frozen attrs class whose fields are Decimals (prices, sizes, bps) or ints
(nanoseconds, counts). `parse_config` builds one from a mapping: unknown and missing keys are
refused, Decimals come from strings or ints (never floats: write "0.01", not 0.01; see ADR 0002),
ints must be ints. Every problem raises `StrategyConfigError` naming the key.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any, TypeVar

import attrs

from application.strategies.strategy import StrategyConfigError
from domain.errors import InvalidValueError
from domain.numbers import to_decimal

_Config = TypeVar("_Config", bound=attrs.AttrsInstance)


def parse_config(cls: type[_Config], values: Mapping[str, object]) -> _Config:
    """Build the configuration `cls` from `values`, refusing anything doubtful."""
    fields = attrs.fields_dict(attrs.resolve_types(cls))
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise StrategyConfigError(
            f"{cls.__name__}: unknown key(s) {', '.join(unknown)}; known keys: {', '.join(fields)}"
        )
    kwargs: dict[str, Any] = {}
    for name, field in fields.items():
        if name not in values:
            if field.default is attrs.NOTHING:
                raise StrategyConfigError(f"{cls.__name__}: missing key {name!r}")
            continue
        kwargs[name] = _convert(cls.__name__, name, field.type, values[name])
    return cls(**kwargs)


def _convert(owner: str, name: str, kind: object, raw: object) -> object:
    if kind is int:
        if isinstance(raw, bool) or not isinstance(raw, int):
            raise StrategyConfigError(f"{owner}.{name} must be an int, got {raw!r}")
        return raw
    if kind is Decimal:
        if isinstance(raw, float):
            raise StrategyConfigError(
                f"{owner}.{name} must be exact: write it as a string ({str(raw)!r}), not the float {raw!r}"
            )
        if not isinstance(raw, (Decimal, int, str)) or isinstance(raw, bool):
            raise StrategyConfigError(f"{owner}.{name} must be a decimal number, got {raw!r}")
        try:
            return to_decimal(raw)
        except InvalidValueError as error:
            raise StrategyConfigError(f"{owner}.{name}: {error}") from None
    return raw


def config_to_mapping(config: attrs.AttrsInstance) -> dict[str, object]:
    """The JSON-friendly form of a configuration (Decimals as strings); `parse_config` reads it back."""
    return {
        name: str(value) if isinstance(value, Decimal) else value
        for name, value in attrs.asdict(config, recurse=False).items()
    }


def require(condition: bool, owner: str, message: str) -> None:
    """Raise `StrategyConfigError` with `message` unless `condition` holds."""
    if not condition:
        raise StrategyConfigError(f"{owner}: {message}")


def check_int(owner: str, name: str, value: int, minimum: int) -> None:
    """An int field must be a real int (not a bool) of at least `minimum`."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise StrategyConfigError(f"{owner}.{name} must be an int of at least {minimum}, got {value!r}")
