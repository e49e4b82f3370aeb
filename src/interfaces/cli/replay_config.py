"""The replay configuration file: TOML, read strictly, turned into `ReplaySettings`.

    [strategy]                 # optional; --strategy NAME overrides `name`
    name = "market_maker"      # a registry name: market_maker, trend_follower
    instrument = "BTC-USD"     # SYMBOL or SYMBOL.VENUE; default: the recording's first instrument
    id = "mm-btc"              # the strategy id; default "<name>-<symbol>"
    [strategy.params]          # the strategy's own configuration (its registry parses it strictly)
    quote_size = "0.001"
    max_position = "0.005"

    [risk]                     # RiskLimits fields; unset ones keep RiskLimits.conservative(balance)
    max_order_notional = "2000"
    max_reference_age_ns = 5_000_000_000
    price_band_bps = "off"     # "off" switches a limit off (and earns a warning where dangerous)

    [venue]                    # the simulated venue
    maker_fee_bps = "2"
    taker_fee_bps = "6"
    latency_ns = 1_000_000
    report_latency_ns = 1_000_000
    latency_jitter_ns = 0

    [kernel]
    seed = 1                   # client order ids and the venue's jitter
    starting_balance = "100000"
    currency = "USD"           # the reporting currency; only instruments quoted in it are traded
    timer_interval_ns = 1_000_000_000   # strategy timers; "off" for none

The text is parsed with `tomllib.loads(text, parse_float=Decimal)`, so `2.5` is the exact
Decimal 2.5, never a float. Unknown sections and keys are refused naming the key; so are values
of the wrong kind. Risk limits that cannot work (`RiskLimits.validate` errors) are refused;
dangerous ones are returned as warnings for the command to print.
"""

from __future__ import annotations

import tomllib
import typing
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs

from domain.errors import InvalidValueError
from domain.numbers import to_decimal
from domain.risk.risk_limits import RiskLimits
from infrastructure.replay import ReplaySettings, StrategySettings, VenueSettings

#: Strategy parameters used when the configuration gives none (sizes suit BTC and ETH).
DEFAULT_PARAMS: Mapping[str, Mapping[str, object]] = {
    "market_maker": {"quote_size": "0.001", "max_position": "0.005"},
    "trend_follower": {"trade_size": "0.001"},
}

OFF = "off"
_SECTIONS = ("strategy", "risk", "venue", "kernel")
_STRATEGY_KEYS = ("name", "instrument", "id", "params")
_VENUE_DECIMALS = ("maker_fee_bps", "taker_fee_bps")
_VENUE_INTS = ("latency_ns", "report_latency_ns", "latency_jitter_ns")
_KERNEL_KEYS = ("seed", "starting_balance", "currency", "timer_interval_ns")


class ConfigError(ValueError):
    """The configuration cannot be used; the message names the file and the key."""


@attrs.frozen
class ReplayConfig:
    """A parsed configuration file (before it meets the command-line options)."""

    strategy: StrategySettings | None = None
    risk: Mapping[str, Decimal | int | None] = attrs.field(factory=dict)
    venue: VenueSettings = attrs.field(factory=VenueSettings)
    seed: int = 1
    starting_balance: Decimal = Decimal(100_000)
    currency: str = "USD"
    timer_interval_ns: int | None = 1_000_000_000


def _table(value: object, where: str) -> Mapping[str, object]:
    if not isinstance(value, Mapping):
        raise ConfigError(f"{where} must be a table, got {value!r}")
    return value


def _unknown(table: Mapping[str, object], known: tuple[str, ...], where: str) -> None:
    for key in table:
        if key not in known:
            raise ConfigError(f"unknown key {key!r} in {where} (known: {', '.join(known)})")


def _text(value: object, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{where} must be a non-empty string, got {value!r}")
    return value.strip()


def _int(value: object, where: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{where} must be an integer, got {value!r}")
    if value < minimum:
        raise ConfigError(f"{where} must be at least {minimum}, got {value}")
    return value


def _decimal(value: object, where: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (Decimal, int, str)):
        raise ConfigError(f"{where} must be a decimal number, got {value!r}")
    try:
        return to_decimal(value)
    except InvalidValueError as error:
        raise ConfigError(f"{where}: {error}") from None


def _risk(table: Mapping[str, object]) -> dict[str, Decimal | int | None]:
    fields = attrs.fields_dict(attrs.resolve_types(RiskLimits))
    overrides: dict[str, Decimal | int | None] = {}
    for key, raw in table.items():
        field = fields.get(key)
        where = f"[risk] {key}"
        if field is None:
            raise ConfigError(f"unknown key {key!r} in [risk] (known: {', '.join(fields)})")
        if raw == OFF:
            overrides[key] = None
        elif int in typing.get_args(field.type):
            overrides[key] = _int(raw, where, minimum=-(1 << 62))  # range errors come from validation
        else:
            overrides[key] = _decimal(raw, where)
    return overrides


def _strategy(table: Mapping[str, object]) -> StrategySettings:
    _unknown(table, _STRATEGY_KEYS, "[strategy]")
    params = _table(table.get("params", {}), "[strategy.params]")
    return StrategySettings(
        name=_text(table["name"], "[strategy] name") if "name" in table else "",
        instrument=_text(table["instrument"], "[strategy] instrument") if "instrument" in table else None,
        strategy_id=_text(table["id"], "[strategy] id") if "id" in table else None,
        params=dict(params),
    )


def parse_config(text: str, source: str = "config") -> ReplayConfig:
    """Parse a configuration text (raises ConfigError naming `source` and the key)."""
    try:
        data = tomllib.loads(text, parse_float=Decimal)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{source}: not valid TOML: {error}") from None
    return parse_mapping(data, source)


def parse_mapping(data: Mapping[str, object], source: str = "config") -> ReplayConfig:
    """Parse an already decoded TOML document (raises ConfigError naming `source` and the key)."""
    try:
        return _parse(data)
    except ConfigError as error:
        raise ConfigError(f"{source}: {error}") from None


def _parse(data: Mapping[str, object]) -> ReplayConfig:
    _unknown(data, _SECTIONS, "the configuration")
    strategy = _strategy(_table(data["strategy"], "[strategy]")) if "strategy" in data else None
    risk = _risk(_table(data.get("risk", {}), "[risk]"))
    venue_table = _table(data.get("venue", {}), "[venue]")
    _unknown(venue_table, _VENUE_DECIMALS + _VENUE_INTS, "[venue]")
    fees = {key: _decimal(venue_table.get(key, 0), f"[venue] {key}") for key in _VENUE_DECIMALS}
    latencies = {key: _int(venue_table.get(key, 0), f"[venue] {key}", minimum=0) for key in _VENUE_INTS}
    kernel = _table(data.get("kernel", {}), "[kernel]")
    _unknown(kernel, _KERNEL_KEYS, "[kernel]")
    balance = _decimal(kernel.get("starting_balance", Decimal(100_000)), "[kernel] starting_balance")
    if balance <= 0:
        raise ConfigError(f"[kernel] starting_balance must be positive, got {balance}")
    currency = _text(kernel.get("currency", "USD"), "[kernel] currency")
    timer = kernel.get("timer_interval_ns", 1_000_000_000)
    return ReplayConfig(
        strategy=strategy,
        risk=risk,
        venue=VenueSettings(
            maker_fee_bps=fees["maker_fee_bps"],
            taker_fee_bps=fees["taker_fee_bps"],
            latency_ns=latencies["latency_ns"],
            report_latency_ns=latencies["report_latency_ns"],
            latency_jitter_ns=latencies["latency_jitter_ns"],
        ),
        seed=_int(kernel.get("seed", 1), "[kernel] seed", minimum=0),
        starting_balance=balance,
        currency=currency,
        timer_interval_ns=None if timer == OFF else _int(timer, "[kernel] timer_interval_ns", minimum=1),
    )


def load_config(path: Path) -> ReplayConfig:
    """Read and parse a configuration file (ConfigError for a missing or unreadable one)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such configuration file") from None
    except (OSError, UnicodeError) as error:
        raise ConfigError(f"{path}: cannot read: {error}") from None
    return parse_config(text, str(path))


def build_settings(
    config: ReplayConfig, *, strategy_name: str | None = None, speed: Decimal | None = None
) -> tuple[ReplaySettings, tuple[str, ...]]:
    """The replay settings and the risk limits' warnings (ConfigError for impossible limits)."""
    strategy = config.strategy
    if strategy_name is not None:
        strategy = (
            StrategySettings(strategy_name)
            if strategy is None
            else attrs.evolve(strategy, name=strategy_name)
        )
    if strategy is not None:
        if not strategy.name:
            raise ConfigError("[strategy] has no name (give one there or with --strategy)")
        if not strategy.params:
            strategy = attrs.evolve(strategy, params=dict(DEFAULT_PARAMS.get(strategy.name, {})))
    try:
        overrides: dict[str, Any] = dict(config.risk)
        limits = attrs.evolve(RiskLimits.conservative(config.starting_balance), **overrides)
    except (InvalidValueError, TypeError) as error:
        raise ConfigError(f"[risk]: {error}") from None
    report = limits.validate()
    if report.errors:
        raise ConfigError("impossible risk limits: " + "; ".join(str(issue) for issue in report.errors))
    settings = ReplaySettings(
        strategy=strategy,
        limits=limits,
        venue=config.venue,
        seed=config.seed,
        starting_balance=config.starting_balance,
        currency=config.currency,
        speed=speed,
        timer_interval_ns=config.timer_interval_ns,
    )
    return settings, tuple(str(issue) for issue in report.warnings)
