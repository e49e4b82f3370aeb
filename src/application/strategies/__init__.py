"""Strategies: signal generation with no I/O (see `strategy` for the API and the guard).

Reference strategies: `MarketMaker` (two-sided post-only quotes, volatility-scaled spread,
inventory skew) and `TrendFollower` (EMA crossover, volatility filter, ATR stop). Build them by
name with `registry.create_strategy` or `registry.strategy_from_spec`.
"""

from application.strategies.market_maker import MarketMaker, MarketMakerConfig, QuotePrices, quote_prices
from application.strategies.registry import (
    StrategyFactory,
    StrategyRegistry,
    UnknownStrategyError,
    create_strategy,
    default_registry,
    strategy_from_spec,
)
from application.strategies.strategy import (
    Permission,
    SingleInstrumentStrategy,
    Strategy,
    StrategyConfigError,
    StrategyStateError,
    guard,
    permission_for,
    permitted,
)
from application.strategies.strategy_view import OpenOrderView, StrategyView
from application.strategies.trend_follower import TrendFollower, TrendFollowerConfig

__all__ = [
    "MarketMaker",
    "MarketMakerConfig",
    "OpenOrderView",
    "Permission",
    "QuotePrices",
    "SingleInstrumentStrategy",
    "Strategy",
    "StrategyConfigError",
    "StrategyFactory",
    "StrategyRegistry",
    "StrategyStateError",
    "StrategyView",
    "TrendFollower",
    "TrendFollowerConfig",
    "UnknownStrategyError",
    "create_strategy",
    "default_registry",
    "guard",
    "permission_for",
    "permitted",
    "quote_prices",
    "strategy_from_spec",
]
