"""Trading statistics for replay reports: round trips (win rate, profit factor) and a Sharpe ratio.

Definitions (docs/replay.md):
- a round trip is a position opened from flat and closed back to flat; it wins when its net P&L
  (gross less fees in the settlement currency) is positive;
- win rate = winning round trips / round trips;
- profit factor = sum of the winners' net P&L / |sum of the losers' net P&L| (None without a loser);
- Sharpe = mean / sample standard deviation of the per-interval returns of equity (one sample per
  interval of clock time, the last valuation in it; intervals without a valuation repeat the
  previous equity), not annualised; None with fewer than two returns or no variation.
Every ratio is computed in Decimal and given as a decimal string rounded to 6 places.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from decimal import Decimal, localcontext

from domain.numbers import ZERO
from domain.portfolio.round_trip import RoundTrip

_PLACES = Decimal("0.000001")


def _ratio(numerator: Decimal, denominator: Decimal) -> str:
    with localcontext() as ctx:
        ctx.prec = 40
        return str((numerator / denominator).quantize(_PLACES))


def round_trip_stats(trips: Sequence[RoundTrip]) -> dict[str, object]:
    """round_trips, win_rate, profit_factor (see the module doc)."""
    wins = [trip.net_pnl for trip in trips if trip.net_pnl > 0]
    losses = [trip.net_pnl for trip in trips if trip.net_pnl < 0]
    gross_wins = sum(wins, ZERO)
    gross_losses = sum(losses, ZERO)
    return {
        "round_trips": len(trips),
        "win_rate": _ratio(Decimal(len(wins)), Decimal(len(trips))) if trips else None,
        "profit_factor": _ratio(gross_wins, -gross_losses) if losses else None,
        "net_pnl": str(sum((trip.net_pnl for trip in trips), ZERO)),
    }


def equity_sharpe(samples: Sequence[tuple[int, Decimal]], interval_ns: int) -> str | None:
    """Mean over standard deviation of per-interval equity returns (see the module doc)."""
    if len(samples) < 2:
        return None
    series: list[Decimal] = []
    previous_bucket, previous_equity = samples[0]
    series.append(previous_equity)
    for bucket, equity in samples[1:]:
        gap = (bucket - previous_bucket) // interval_ns
        series.extend([previous_equity] * (gap - 1))
        series.append(equity)
        previous_bucket, previous_equity = bucket, equity
    with localcontext() as ctx:
        ctx.prec = 40
        returns = [after / before - 1 for before, after in itertools.pairwise(series) if before > 0]
        if len(returns) < 2:
            return None
        mean = sum(returns, ZERO) / len(returns)
        variance = sum(((value - mean) ** 2 for value in returns), ZERO) / (len(returns) - 1)
        if variance == 0:
            return None
        return str((mean / variance.sqrt()).quantize(_PLACES))
