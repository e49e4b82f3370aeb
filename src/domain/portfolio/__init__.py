"""Positions, P&L, round trips, the account and the portfolio, all in exact Decimals."""

from domain.portfolio.account import Account, InsufficientFundsError, Reservation
from domain.portfolio.equity_tracker import (
    NS_PER_DAY,
    EquitySnapshot,
    EquityTracker,
    TimeWentBackwardsError,
    utc_day,
)
from domain.portfolio.portfolio import (
    ConflictingFillError,
    FillResult,
    Marks,
    MissingMarkError,
    Portfolio,
)
from domain.portfolio.position import Lot, Position, PositionChange
from domain.portfolio.round_trip import Direction, RoundTrip, RoundTripBuilder, split_fee

__all__ = [
    "NS_PER_DAY",
    "Account",
    "ConflictingFillError",
    "Direction",
    "EquitySnapshot",
    "EquityTracker",
    "FillResult",
    "InsufficientFundsError",
    "Lot",
    "Marks",
    "MissingMarkError",
    "Portfolio",
    "Position",
    "PositionChange",
    "Reservation",
    "RoundTrip",
    "RoundTripBuilder",
    "TimeWentBackwardsError",
    "split_fee",
    "utc_day",
]
