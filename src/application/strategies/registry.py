"""Building strategies by name from configuration: the registry the composition root uses.

A strategy is configured as a plain mapping (a TOML table, a JSON object):

    {"name": "market_maker", "strategy_id": "mm-btc", "instrument_id": "BTC-USD.COINBASE",
     "config": {"quote_size": "0.01", "max_position": "0.05", "base_spread_bps": "8"}}

`name` selects a factory; `config` is parsed strictly by the strategy's configuration class
(see `application.strategies.config`). An unknown name raises `UnknownStrategyError` listing the
names known.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from application.strategies.config import parse_config
from application.strategies.market_maker import MarketMaker, MarketMakerConfig
from application.strategies.strategy import Strategy, StrategyConfigError
from application.strategies.trend_follower import TrendFollower, TrendFollowerConfig
from domain.errors import InvalidValueError
from domain.identifiers import StrategyId
from domain.instrument import InstrumentId

#: Builds a strategy from its id, its instrument and its configuration mapping.
StrategyFactory = Callable[[StrategyId, InstrumentId, Mapping[str, object]], Strategy]


class UnknownStrategyError(LookupError):
    """No factory is registered under the name asked for."""

    def __init__(self, name: str, known: tuple[str, ...]) -> None:
        super().__init__(f"unknown strategy {name!r}; known strategies: {', '.join(known) or '(none)'}")
        self.name = name
        self.known = known


def market_maker_factory(
    strategy_id: StrategyId, instrument_id: InstrumentId, config: Mapping[str, object]
) -> MarketMaker:
    """A `MarketMaker` from a configuration mapping."""
    return MarketMaker(strategy_id, instrument_id, parse_config(MarketMakerConfig, config))


def trend_follower_factory(
    strategy_id: StrategyId, instrument_id: InstrumentId, config: Mapping[str, object]
) -> TrendFollower:
    """A `TrendFollower` from a configuration mapping."""
    return TrendFollower(strategy_id, instrument_id, parse_config(TrendFollowerConfig, config))


class StrategyRegistry:
    """Names to factories."""

    def __init__(self, factories: Mapping[str, StrategyFactory] | None = None) -> None:
        self._factories: dict[str, StrategyFactory] = dict(factories or {})

    @property
    def names(self) -> tuple[str, ...]:
        """The registered names, sorted."""
        return tuple(sorted(self._factories))

    def register(self, name: str, factory: StrategyFactory) -> None:
        """Register `factory` under `name`; a name is registered once."""
        if not name or name != name.strip():
            raise ValueError(f"a strategy name must be a non-empty trimmed string, got {name!r}")
        if name in self._factories:
            raise ValueError(f"a strategy named {name!r} is already registered")
        self._factories[name] = factory

    def factory(self, name: str) -> StrategyFactory:
        """The factory registered under `name`."""
        try:
            return self._factories[name]
        except KeyError:
            raise UnknownStrategyError(name, self.names) from None

    def create(
        self, name: str, strategy_id: StrategyId, instrument_id: InstrumentId, config: Mapping[str, object]
    ) -> Strategy:
        """Build the strategy `name`."""
        return self.factory(name)(strategy_id, instrument_id, config)

    def from_spec(self, spec: Mapping[str, object]) -> Strategy:
        """Build a strategy from a mapping with name, strategy_id, instrument_id and config."""
        allowed = {"name", "strategy_id", "instrument_id", "config"}
        unknown = sorted(set(spec) - allowed)
        if unknown:
            raise StrategyConfigError(f"unknown strategy spec key(s) {', '.join(unknown)}")
        name = _text(spec, "name")
        factory = self.factory(name)
        try:
            strategy_id = StrategyId(_text(spec, "strategy_id"))
        except InvalidValueError as error:
            raise StrategyConfigError(f"strategy spec 'strategy_id': {error}") from None
        try:
            instrument_id = InstrumentId.parse(_text(spec, "instrument_id"))
        except InvalidValueError as error:
            raise StrategyConfigError(f"strategy spec 'instrument_id': {error}") from None
        config = spec.get("config", {})
        if not isinstance(config, Mapping):
            raise StrategyConfigError(f"strategy spec 'config' must be a mapping, got {config!r}")
        return factory(strategy_id, instrument_id, config)


def _text(spec: Mapping[str, object], key: str) -> str:
    value = spec.get(key)
    if not isinstance(value, str):
        raise StrategyConfigError(f"strategy spec {key!r} must be a string, got {value!r}")
    return value


def default_registry() -> StrategyRegistry:
    """A registry of the reference strategies: market_maker and trend_follower."""
    return StrategyRegistry({"market_maker": market_maker_factory, "trend_follower": trend_follower_factory})


def create_strategy(
    name: str, strategy_id: StrategyId, instrument_id: InstrumentId, config: Mapping[str, object]
) -> Strategy:
    """Build one of the reference strategies by name."""
    return default_registry().create(name, strategy_id, instrument_id, config)


def strategy_from_spec(spec: Mapping[str, object]) -> Strategy:
    """Build one of the reference strategies from a spec mapping (see the module doc)."""
    return default_registry().from_spec(spec)
