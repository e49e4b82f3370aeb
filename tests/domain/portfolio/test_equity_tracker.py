"""Equity tracking: high-water mark, drawdown, start-of-day equity and daily P&L by UTC day."""

from __future__ import annotations

from decimal import Decimal

import attrs
import pytest

from domain.errors import InvalidValueError
from domain.portfolio import NS_PER_DAY, EquitySnapshot, EquityTracker, TimeWentBackwardsError, utc_day

D = Decimal  # short for exact literals: D("0.01")

# 2024-01-01T00:00:00Z is 1,704,067,200 s after the epoch: UTC day 19,723.
JAN_1 = 1_704_067_200 * 10**9
HOUR = 3_600 * 10**9


def test_utc_day() -> None:
    assert utc_day(0) == 0
    assert utc_day(JAN_1) == 19_723
    assert utc_day(JAN_1 - 1) == 19_722
    assert utc_day(JAN_1 + NS_PER_DAY - 1) == 19_723
    assert utc_day(JAN_1 + NS_PER_DAY) == 19_724


@pytest.mark.parametrize("ts_ns", [-1, True, 1.5, "0"])
def test_bad_times_are_refused(ts_ns: object) -> None:
    with pytest.raises(InvalidValueError, match="ts_ns"):
        utc_day(ts_ns)  # type: ignore[arg-type]
    with pytest.raises(InvalidValueError, match="ts_ns"):
        EquityTracker("USD").update(D(1), ts_ns)  # type: ignore[arg-type]


def test_first_valuation_sets_everything() -> None:
    tracker = EquityTracker("USD")
    assert tracker.last is None
    snapshot = tracker.update(D(1000), JAN_1 + HOUR)
    assert snapshot == EquitySnapshot("USD", JAN_1 + HOUR, D(1000), D(1000), D(1000))
    assert snapshot.day == 19_723
    assert snapshot.drawdown == 0
    assert snapshot.drawdown_fraction == 0
    assert snapshot.daily_pnl == 0
    assert tracker.last == snapshot


def test_high_water_mark_and_drawdown() -> None:
    tracker = EquityTracker("USD")
    tracker.update(D(1000), JAN_1)
    assert tracker.update(D(1200), JAN_1 + 1).high_water_mark == D(1200)
    snapshot = tracker.update(D(900), JAN_1 + 2)
    assert snapshot.high_water_mark == D(1200)
    assert snapshot.drawdown == D(300)
    assert snapshot.drawdown_fraction == D("0.25")
    assert snapshot.daily_pnl == D(-100)
    recovered = tracker.update(D(1100), JAN_1 + 3)
    assert recovered.high_water_mark == D(1200)
    assert recovered.drawdown == D(100)
    new_high = tracker.update(D("1200.01"), JAN_1 + 4)
    assert new_high.high_water_mark == D("1200.01")
    assert new_high.drawdown == 0


def test_drawdown_fraction_is_none_without_a_positive_high_water_mark() -> None:
    tracker = EquityTracker("USD")
    assert tracker.update(D(0), JAN_1).drawdown_fraction is None
    snapshot = tracker.update(D(-5), JAN_1 + 1)
    assert snapshot.drawdown == D(5)
    assert snapshot.drawdown_fraction is None


def test_day_rollover_across_midnight_utc() -> None:
    tracker = EquityTracker("USD")
    tracker.update(D(1000), JAN_1 - HOUR)  # 2023-12-31 23:00
    last_of_day = tracker.update(D(1050), JAN_1 - 1)  # 23:59:59.999999999
    assert last_of_day.start_of_day_equity == D(1000)
    assert last_of_day.daily_pnl == D(50)

    first_of_day = tracker.update(D(1040), JAN_1)  # 00:00:00 exactly: a new UTC day
    assert first_of_day.start_of_day_equity == D(1050)  # the previous day's last equity
    assert first_of_day.daily_pnl == D(-10)
    later = tracker.update(D(1100), JAN_1 + 23 * HOUR)
    assert later.start_of_day_equity == D(1050)
    assert later.daily_pnl == D(50)


def test_days_without_valuations_start_from_the_last_equity_seen() -> None:
    tracker = EquityTracker("USD")
    tracker.update(D(1000), JAN_1)
    tracker.update(D(980), JAN_1 + HOUR)
    snapshot = tracker.update(D(990), JAN_1 + 3 * NS_PER_DAY)
    assert snapshot.day == utc_day(JAN_1) + 3
    assert snapshot.start_of_day_equity == D(980)
    assert snapshot.daily_pnl == D(10)


def test_time_going_backwards_raises_and_changes_nothing() -> None:
    tracker = EquityTracker("USD")
    before = tracker.update(D(1000), JAN_1)
    with pytest.raises(TimeWentBackwardsError, match="before the previous"):
        tracker.update(D(2000), JAN_1 - 1)
    assert tracker.last == before
    assert tracker.update(D(1001), JAN_1).equity == D(1001)  # the same instant is allowed


def test_flows_move_neither_drawdown_nor_daily_pnl() -> None:
    tracker = EquityTracker("USD")
    tracker.record_flow(D(500))  # before any valuation: nothing to shift
    assert tracker.last is None
    tracker.update(D(1000), JAN_1)
    tracker.update(D(900), JAN_1 + 1)
    tracker.record_flow(D(500))  # a deposit
    snapshot = tracker.update(D(1400), JAN_1 + 2)
    assert snapshot.high_water_mark == D(1500)
    assert snapshot.drawdown == D(100)
    assert snapshot.daily_pnl == D(-100)
    tracker.record_flow(D(-1000))  # a withdrawal, then the day turns
    next_day = tracker.update(D(410), JAN_1 + NS_PER_DAY)
    assert next_day.start_of_day_equity == D(400)
    assert next_day.daily_pnl == D(10)
    assert next_day.high_water_mark == D(500)
    assert next_day.drawdown == D(90)


def test_restore_from_snapshot_continues_the_day_and_high_water_mark() -> None:
    saved = EquitySnapshot("USD", JAN_1 + HOUR, D(950), D(1000), D(990))
    tracker = EquityTracker("USD", saved)
    assert tracker.last == saved
    snapshot = tracker.update(D(960), JAN_1 + 2 * HOUR)
    assert snapshot.start_of_day_equity == D(990)
    assert snapshot.high_water_mark == D(1000)
    with pytest.raises(TimeWentBackwardsError):
        tracker.update(D(960), JAN_1)


def test_restore_refuses_another_currency() -> None:
    saved = EquitySnapshot("EUR", JAN_1, D(1), D(1), D(1))
    with pytest.raises(InvalidValueError, match="EUR"):
        EquityTracker("USD", saved)


def test_snapshot_validation() -> None:
    with pytest.raises(InvalidValueError, match="high-water mark"):
        EquitySnapshot("USD", JAN_1, D(10), D(9), D(10))
    with pytest.raises(InvalidValueError, match="float"):
        EquitySnapshot("USD", JAN_1, 1.0, D(9), D(10))  # type: ignore[arg-type]
    with pytest.raises(InvalidValueError, match="currency"):
        EquitySnapshot("", JAN_1, D(1), D(1), D(1))
    with pytest.raises(InvalidValueError, match="ts_ns"):
        attrs.evolve(EquitySnapshot("USD", JAN_1, D(1), D(1), D(1)), ts_ns=-1)


def test_equity_must_be_exact() -> None:
    with pytest.raises(InvalidValueError, match="float"):
        EquityTracker("USD").update(1000.0, JAN_1)  # type: ignore[arg-type]
