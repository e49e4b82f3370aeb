"""Indicators against hand computations, and their snapshots."""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Mapping
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as hs

from application.strategies.indicators import (
    AverageTrueRange,
    Bar,
    BarBuilder,
    Ema,
    RollingVolatility,
    log_return,
    sample_std,
    vol_as_decimal,
)
from application.strategies.strategy import StrategyStateError
from domain.errors import InvalidValueError
from domain.numbers import ratio

D = Decimal


def test_ema_is_seeded_with_the_simple_average_then_moves_by_alpha() -> None:
    ema = Ema(3)  # alpha = 2 / 4 = 0.5
    assert ema.alpha == D("0.5")
    assert [ema.update(D(x)) for x in (1, 2, 3)] == [None, None, D(2)]
    assert ema.update(D(4)) == D(3)  # 2 + 0.5 * (4 - 2)
    assert ema.update(D(10)) == D("6.5")  # 3 + 0.5 * (10 - 3)
    assert ema.ready


def test_ema_with_a_period_of_four() -> None:
    ema = Ema(4)  # alpha = 0.4
    for x in (10, 20, 30, 40):
        ema.update(D(x))
    assert ema.value == D(25)
    assert ema.update(D(50)) == D(35)  # 25 + 0.4 * 25
    assert ema.update(D(35)) == D(35)


def test_atr_is_wilders_average_of_true_ranges() -> None:
    atr = AverageTrueRange(3)
    assert atr.update(D(10), D(8), D(9)) is None  # TR 2 (no previous close)
    assert atr.update(D(12), D(9), D(11)) is None  # TR max(3, |12-9|, |9-9|) = 3
    assert atr.update(D(11), D(10), D("10.5")) == D(2)  # TR max(1, 0, 1) = 1; (2 + 3 + 1) / 3
    assert atr.update(D(15), D(10), D(14)) == D(3)  # TR max(5, 4.5, 0.5) = 5; (2 * 2 + 5) / 3
    assert atr.update(D(14), D(13), D(13)) == ratio(D(7), D(3))  # TR 1; (3 * 2 + 1) / 3, 40 digits


def test_true_range_covers_a_gap_from_the_previous_close() -> None:
    atr = AverageTrueRange(2)
    atr.update(D(10), D(9), D(10))
    assert atr.true_range(D(20), D(19)) == D(10)  # |20 - 10|, not the bar's own span of 1
    assert atr.true_range(D(5), D(4)) == D(6)  # |4 - 10|
    with pytest.raises(InvalidValueError, match="below its low"):
        atr.update(D(1), D(2), D(1))


def test_volatility_is_the_sample_std_of_log_returns_in_bps() -> None:
    vol = RollingVolatility(3)
    prices = [D(100), D(101), D(100), D(102)]
    assert [vol.update(p) for p in prices[:3]] == [None, None, None]
    value = vol.update(prices[3])
    returns = [math.log(101 / 100), math.log(100 / 101), math.log(102 / 100)]
    assert value == pytest.approx(statistics.stdev(returns) * 10_000, rel=1e-12)
    vol.update(D(102))  # the window slides: the oldest return leaves
    assert vol.value_bps == pytest.approx(statistics.stdev([*returns[1:], 0.0]) * 10_000, rel=1e-12)


def test_a_constant_price_has_zero_volatility() -> None:
    vol = RollingVolatility(2)
    for _ in range(3):
        vol.update(D(50))
    assert vol.value_bps == 0.0


def test_indicator_arguments_are_checked() -> None:
    with pytest.raises(InvalidValueError):
        Ema(0)
    with pytest.raises(InvalidValueError):
        RollingVolatility(1)
    with pytest.raises(InvalidValueError):
        RollingVolatility(2).update(D(0))
    with pytest.raises(InvalidValueError):
        log_return(D(0), D(1))
    with pytest.raises(InvalidValueError):
        sample_std([1.0])
    with pytest.raises(InvalidValueError):
        vol_as_decimal(float("nan"))
    assert vol_as_decimal(1.5) == D("1.500000")


def test_bars_cut_samples_by_interval() -> None:
    bars = BarBuilder(10)
    assert bars.add(0, D(1)) is None
    assert bars.add(5, D(3)) is None
    assert bars.add(7, D("0.5")) is None
    assert bars.add(12, D(2)) == Bar(0, D(1), D(3), D("0.5"), D("0.5"))
    assert bars.add(9, D(100)) is None  # late: bar 0 is closed and stays closed
    assert bars.current == Bar(1, D(2), D(2), D(2), D(2))
    assert bars.close_until(19) is None
    assert bars.close_until(20) == Bar(1, D(2), D(2), D(2), D(2))
    assert bars.snapshot()["current"] is None
    assert bars.add(15, D(7)) is None  # late for bar 1, which a timer closed
    assert bars.add(25, D(4)) is None
    assert bars.add(55, D(5)) == Bar(2, D(4), D(4), D(4), D(4))  # empty intervals make no bar


def _json(state: Mapping[str, object]) -> Mapping[str, object]:
    loaded: Mapping[str, object] = json.loads(json.dumps(state))
    return loaded


prices = hs.lists(hs.integers(1, 10_000).map(lambda n: D(n) / 100), min_size=1, max_size=30)


@given(prices, prices)
def test_indicator_snapshots_round_trip_exactly(first: list[Decimal], then: list[Decimal]) -> None:
    def build() -> tuple[Ema, AverageTrueRange, RollingVolatility, BarBuilder]:
        return Ema(3), AverageTrueRange(2), RollingVolatility(4), BarBuilder(3)

    def feed(
        items: tuple[Ema, AverageTrueRange, RollingVolatility, BarBuilder], xs: list[Decimal], t0: int
    ) -> list[object]:
        ema, atr, vol, bars = items
        out: list[object] = []
        for i, x in enumerate(xs):
            out.extend([ema.update(x), atr.update(x + 1, x, x), vol.update(x), bars.add(t0 + i, x)])
        return out

    original = build()
    feed(original, first, 0)
    restored = build()
    restored[0].restore(_json(original[0].snapshot()))
    restored[1].restore(_json(original[1].snapshot()))
    restored[2].restore(_json(original[2].snapshot()))
    restored[3].restore(_json(original[3].snapshot()))
    assert feed(restored, then, len(first)) == feed(original, then, len(first))


def test_a_corrupt_snapshot_is_refused() -> None:
    with pytest.raises(StrategyStateError, match="seed_sum"):
        Ema(2).restore({"count": 1, "value": None})
    with pytest.raises(StrategyStateError, match="decimal string"):
        Ema(2).restore({"count": 1, "seed_sum": 1.5, "value": None})
    with pytest.raises(StrategyStateError, match="do not fit"):
        RollingVolatility(2).restore({"prices": ["1", "2", "3", "4"]})
    with pytest.raises(StrategyStateError, match="must be a list"):
        RollingVolatility(2).restore({"prices": "123"})
