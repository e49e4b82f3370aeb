"""Pre-trade risk: limits, the context snapshot, the rules, trading state and the circuit breaker."""

from domain.risk.account_rules import DailyLossLimit, MaxDrawdown, OrderRateLimit, TradingStateRule
from domain.risk.breaker_events import (
    AUTOMATIC,
    BreakerEvent,
    BreakerOutput,
    BreakerReset,
    BreakerTripped,
    CancelAllOrders,
    TripReason,
)
from domain.risk.circuit_breaker import BreakerNotTrippedError, CircuitBreaker
from domain.risk.exposure import Exposure
from domain.risk.exposure_rules import (
    MaxGrossNotional,
    MaxOpenOrders,
    MaxOpenPositions,
    MaxPositionNotional,
    ReduceOnly,
    SufficientBalance,
)
from domain.risk.order_rules import InstrumentRules, MaxOrderEquityFraction, MaxOrderNotional, PriceBand
from domain.risk.order_throttle import OrderThrottle
from domain.risk.pre_trade_check import PreTradeCheck, rules_for
from domain.risk.risk_context import CurrencyBalance, ReferencePrice, RiskContext
from domain.risk.risk_decision import Denial, ReasonCode, RiskDecision
from domain.risk.risk_limits import InvalidRiskLimitsError, LimitIssue, LimitsReport, RiskLimits
from domain.risk.risk_rule import RiskRule, Valuation, valuation_price, value_order
from domain.risk.sliding_window import ClockWentBackwardsError, SlidingWindow, count_in_window
from domain.risk.trading_state import TradingState

__all__ = [
    "AUTOMATIC",
    "BreakerEvent",
    "BreakerNotTrippedError",
    "BreakerOutput",
    "BreakerReset",
    "BreakerTripped",
    "CancelAllOrders",
    "CircuitBreaker",
    "ClockWentBackwardsError",
    "CurrencyBalance",
    "DailyLossLimit",
    "Denial",
    "Exposure",
    "InstrumentRules",
    "InvalidRiskLimitsError",
    "LimitIssue",
    "LimitsReport",
    "MaxDrawdown",
    "MaxGrossNotional",
    "MaxOpenOrders",
    "MaxOpenPositions",
    "MaxOrderEquityFraction",
    "MaxOrderNotional",
    "MaxPositionNotional",
    "OrderRateLimit",
    "OrderThrottle",
    "PreTradeCheck",
    "PriceBand",
    "ReasonCode",
    "ReduceOnly",
    "ReferencePrice",
    "RiskContext",
    "RiskDecision",
    "RiskLimits",
    "RiskRule",
    "SlidingWindow",
    "SufficientBalance",
    "TradingState",
    "TradingStateRule",
    "TripReason",
    "Valuation",
    "count_in_window",
    "rules_for",
    "valuation_price",
    "value_order",
]
