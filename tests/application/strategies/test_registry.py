"""The registry: strategies by name from plain configuration mappings."""

from __future__ import annotations

from decimal import Decimal

import pytest

from application.strategies import (
    MarketMaker,
    StrategyConfigError,
    StrategyRegistry,
    TrendFollower,
    UnknownStrategyError,
    create_strategy,
    default_registry,
    strategy_from_spec,
)
from application.strategies.config import config_to_mapping, parse_config
from application.strategies.market_maker import MarketMakerConfig
from application.strategies.trend_follower import TrendFollowerConfig
from domain.identifiers import StrategyId
from tests.application.strategies import BTC_ID

SID = StrategyId("s1")


def test_the_reference_strategies_are_known_by_name() -> None:
    assert default_registry().names == ("market_maker", "trend_follower")
    mm = create_strategy("market_maker", SID, BTC_ID, {"quote_size": "0.01", "max_position": "0.05"})
    assert isinstance(mm, MarketMaker)
    assert mm.config.quote_size == Decimal("0.01")
    assert mm.config.base_spread_bps == Decimal(10)  # a default
    tf = create_strategy(
        "trend_follower", SID, BTC_ID, {"trade_size": 1, "fast_period": 5, "slow_period": 20}
    )
    assert isinstance(tf, TrendFollower)
    assert (tf.config.trade_size, tf.config.fast_period) == (Decimal(1), 5)


def test_an_unknown_name_lists_the_known_ones() -> None:
    with pytest.raises(
        UnknownStrategyError, match=r"unknown strategy 'grid'; known strategies: market_maker, trend_follower"
    ):
        create_strategy("grid", SID, BTC_ID, {})
    with pytest.raises(UnknownStrategyError, match=r"\(none\)"):
        StrategyRegistry().factory("x")


def test_a_spec_names_the_strategy_its_id_instrument_and_config() -> None:
    strategy = strategy_from_spec(
        {
            "name": "market_maker",
            "strategy_id": "mm-btc",
            "instrument_id": "BTC-USD.TEST",
            "config": {"quote_size": "0.01", "max_position": "0.05", "vol_window": 10},
        }
    )
    assert strategy.strategy_id == StrategyId("mm-btc")
    assert strategy.instrument_ids == (BTC_ID,)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"name": "market_maker", "strategy_id": "a", "instrument_id": "BTC-USD.TEST", "extra": 1}, "extra"),
        ({"name": 3, "strategy_id": "a", "instrument_id": "BTC-USD.TEST"}, "'name' must be a string"),
        ({"name": "market_maker", "strategy_id": "a", "instrument_id": "BTCUSD"}, "SYMBOL.VENUE"),
        ({"name": "market_maker", "strategy_id": "", "instrument_id": "BTC-USD.TEST"}, "strategy_id"),
        (
            {"name": "market_maker", "strategy_id": "a", "instrument_id": "BTC-USD.TEST", "config": []},
            "mapping",
        ),
        (
            {"name": "market_maker", "strategy_id": "a", "instrument_id": "BTC-USD.TEST"},
            "missing key 'quote_size'",
        ),
    ],
)
def test_a_bad_spec_is_refused_clearly(spec: dict[str, object], message: str) -> None:
    with pytest.raises(StrategyConfigError, match=message):
        strategy_from_spec(spec)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"quote_size": 0.01, "max_position": "1"}, r"write it as a string \('0.01'\)"),
        ({"quote_size": "1", "max_position": "1", "spread": "3"}, "unknown key"),
        ({"quote_size": "1", "max_position": "1", "vol_window": "20"}, "vol_window must be an int"),
        ({"quote_size": "1", "max_position": "1", "vol_window": True}, "vol_window must be an int"),
        ({"quote_size": "abc", "max_position": "1"}, "not a decimal"),
        ({"quote_size": None, "max_position": "1"}, "decimal number"),
        ({"quote_size": "1", "max_position": "0"}, "max_position must be positive"),
    ],
)
def test_configuration_values_are_checked(values: dict[str, object], message: str) -> None:
    with pytest.raises(StrategyConfigError, match=message):
        parse_config(MarketMakerConfig, values)


def test_a_configuration_round_trips_through_its_mapping() -> None:
    for config in (
        MarketMakerConfig(quote_size="0.01", max_position="0.05", base_spread_bps="7.5"),
        TrendFollowerConfig(trade_size="2", max_vol_bps="250.25"),
    ):
        mapping = config_to_mapping(config)
        assert all(not isinstance(value, (float, Decimal)) for value in mapping.values())
        assert parse_config(type(config), mapping) == config


def test_a_name_is_registered_once() -> None:
    registry = default_registry()
    with pytest.raises(ValueError, match="already registered"):
        registry.register(
            "market_maker", lambda sid, iid, cfg: create_strategy("market_maker", sid, iid, cfg)
        )
    with pytest.raises(ValueError, match="non-empty"):
        registry.register(" x", lambda sid, iid, cfg: create_strategy("market_maker", sid, iid, cfg))
