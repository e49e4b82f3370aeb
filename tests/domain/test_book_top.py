"""BookTop: the immutable top-of-book picture strategies receive."""

from __future__ import annotations

from decimal import Decimal

from domain.instrument import InstrumentId
from domain.market_data import BookTop

BTC = InstrumentId("TEST", "BTC-USD")
D = Decimal


def test_best_prices_mid_and_spread_come_from_the_first_levels() -> None:
    top = BookTop(BTC, 1, ((D("100.01"), D(1)), (D(100), D(2))), ((D("100.04"), D(3)),))
    assert (top.best_bid, top.best_ask) == (D("100.01"), D("100.04"))
    assert top.mid == D("100.025")
    assert top.spread == D("0.03")
    assert not top.stale


def test_a_one_sided_book_has_no_mid_or_spread() -> None:
    top = BookTop(BTC, 1, ((D(100), D(1)),), (), stale=True)
    assert top.best_ask is None
    assert top.mid is None
    assert top.spread is None
    assert BookTop(BTC, 1, (), ((D(1), D(1)),)).best_bid is None
