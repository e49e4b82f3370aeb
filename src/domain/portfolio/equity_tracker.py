"""Equity over time in one currency: high-water mark, drawdown, start-of-day equity and daily P&L.

Time is the `ts_ns` passed with each valuation (nanoseconds since the Unix epoch, UTC), never a
clock read here. The UTC day of a time is `ts_ns // 86_400_000_000_000`.

Day rule: the first valuation on a new UTC day sets that day's start-of-day equity to the last
equity recorded before it (the close of the previous valued day), or, for the very first
valuation, to the current equity. Daily P&L is equity less start-of-day equity.

External flows (deposits, withdrawals) are not P&L: `record_flow` shifts the high-water mark,
start-of-day and last equity by the flow, so neither drawdown nor daily P&L moves with it.
"""

from __future__ import annotations

from decimal import Decimal

import attrs

from domain.currency import currency_validator
from domain.errors import DomainError, InvalidValueError
from domain.numbers import check_ts_ns, exact, ratio, to_decimal

NS_PER_DAY = 86_400_000_000_000


class TimeWentBackwardsError(DomainError):
    """A valuation is timed before the previous one."""


def utc_day(ts_ns: int) -> int:
    """The UTC day number (days since 1970-01-01) of a time in nanoseconds since the epoch."""
    return check_ts_ns(ts_ns) // NS_PER_DAY


@attrs.frozen
class EquitySnapshot:
    """One valuation of equity in `currency` at `ts_ns`, with the tracker's state after it."""

    currency: str = attrs.field(validator=currency_validator)
    ts_ns: int = attrs.field(converter=check_ts_ns)
    equity: Decimal = attrs.field(converter=to_decimal)
    high_water_mark: Decimal = attrs.field(converter=to_decimal)
    start_of_day_equity: Decimal = attrs.field(converter=to_decimal)

    def __attrs_post_init__(self) -> None:
        if self.high_water_mark < self.equity:
            raise InvalidValueError(f"high-water mark {self.high_water_mark} is below equity {self.equity}")

    @property
    def day(self) -> int:
        """The UTC day number of this valuation."""
        return self.ts_ns // NS_PER_DAY

    @property
    def drawdown(self) -> Decimal:
        """How far equity is below the high-water mark (zero or positive, exact)."""
        with exact():
            return self.high_water_mark - self.equity

    @property
    def drawdown_fraction(self) -> Decimal | None:
        """Drawdown over the high-water mark (a report: 40 digits); None unless the mark is positive."""
        if self.high_water_mark <= 0:
            return None
        return ratio(self.drawdown, self.high_water_mark)

    @property
    def daily_pnl(self) -> Decimal:
        """Equity less start-of-day equity (exact)."""
        with exact():
            return self.equity - self.start_of_day_equity


@attrs.define
class EquityTracker:
    """Follows equity in one currency across valuations; after a restart, rebuild it from `last`."""

    currency: str = attrs.field(validator=currency_validator)
    _last: EquitySnapshot | None = attrs.field(default=None)

    def __attrs_post_init__(self) -> None:
        if self._last is not None and self._last.currency != self.currency:
            raise InvalidValueError(
                f"snapshot in {self._last.currency} cannot restore a {self.currency} tracker"
            )

    @property
    def last(self) -> EquitySnapshot | None:
        """The latest valuation, or None before the first."""
        return self._last

    def update(self, equity: Decimal, ts_ns: int) -> EquitySnapshot:
        """Record equity valued at `ts_ns` and return the resulting snapshot; time must not go backwards."""
        value = to_decimal(equity)
        now = check_ts_ns(ts_ns)
        last = self._last
        if last is None:
            snapshot = EquitySnapshot(self.currency, now, value, value, value)
        else:
            if now < last.ts_ns:
                raise TimeWentBackwardsError(
                    f"{self.currency} equity valued at {now} ns, before the previous valuation"
                    f" at {last.ts_ns} ns"
                )
            same_day = now // NS_PER_DAY == last.day
            snapshot = EquitySnapshot(
                self.currency,
                now,
                value,
                max(last.high_water_mark, value),
                last.start_of_day_equity if same_day else last.equity,
            )
        self._last = snapshot
        return snapshot

    def record_flow(self, amount: Decimal) -> None:
        """Account for a deposit (positive) or withdrawal (negative) so it is not taken for P&L."""
        flow = to_decimal(amount)
        last = self._last
        if last is None:
            return  # the first valuation will include it as its starting point
        with exact():
            self._last = attrs.evolve(
                last,
                equity=last.equity + flow,
                high_water_mark=last.high_water_mark + flow,
                start_of_day_equity=last.start_of_day_equity + flow,
            )
