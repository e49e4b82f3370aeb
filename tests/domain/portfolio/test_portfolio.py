"""The portfolio: fills booked to positions and the account, valuations at marks, equity tracking."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import attrs
import pytest

from domain.errors import InvalidValueError
from domain.identifiers import ClientOrderId, VenueOrderId
from domain.instrument import Instrument, InstrumentId
from domain.order_terms import OrderSide
from domain.portfolio import (
    ConflictingFillError,
    EquitySnapshot,
    InsufficientFundsError,
    MissingMarkError,
    Portfolio,
)
from tests.domain.portfolio import BTC_USD, ETH_BTC, ETH_USD, make_fill

D = Decimal  # short for exact literals: D("0.01")

BUY, SELL = OrderSide.BUY, OrderSide.SELL
DAY = 86_400_000_000_000


def funded(usd: str = "10000") -> Portfolio:
    """A portfolio holding `usd` dollars and nothing else."""
    portfolio = Portfolio()
    portfolio.deposit("USD", D(usd))
    return portfolio


def test_apply_fill_books_realized_pnl_less_fee_in_the_quote_currency() -> None:
    portfolio = funded()
    opened = portfolio.apply_fill(make_fill(BUY, "0.5", "40000.00", fee="12.00"), BTC_USD)
    assert opened.realized_pnl == 0
    assert opened.fee == D(12)
    assert opened.fee_currency == "USD"
    assert opened.currency == "USD"
    assert opened.quantity_after == D("0.5")
    assert opened.round_trip is None
    assert not opened.duplicate
    # Margin-style: buying moves no cash, only the fee does.
    assert portfolio.account.balance("USD") == D("9988.00")

    closed = portfolio.apply_fill(make_fill(SELL, "0.5", "41000.00", fee="12.30"), BTC_USD)
    assert closed.realized_pnl == D("500.00")
    assert closed.round_trip is not None
    assert closed.round_trip.net_pnl == D("475.70")
    assert portfolio.account.balance("USD") == D("10475.70")
    assert portfolio.realized_pnl("USD") == D(500)
    assert portfolio.fees("USD") == D("24.30")


def test_fee_in_another_currency_is_debited_from_that_currency() -> None:
    portfolio = funded()
    portfolio.deposit("BNB", D(1))
    portfolio.apply_fill(make_fill(BUY, "1", "100", fee="0.01", fee_currency="BNB"), BTC_USD)
    portfolio.apply_fill(make_fill(SELL, "1", "110", fee="-0.002", fee_currency="BNB"), BTC_USD)
    assert portfolio.account.balance("USD") == D(10010)
    assert portfolio.account.balance("BNB") == D("0.992")
    assert portfolio.fees("BNB") == D("0.008")
    assert portfolio.fees("USD") == 0


def test_positions_settle_in_their_own_quote_currency() -> None:
    portfolio = funded()
    portfolio.apply_fill(make_fill(BUY, "2", "0.05000", instrument=ETH_BTC, fee="0.00001"), ETH_BTC)
    portfolio.apply_fill(make_fill(SELL, "1", "0.05100", instrument=ETH_BTC), ETH_BTC)
    assert portfolio.account.balance("BTC") == D("0.00099")
    assert portfolio.account.balance("USD") == D(10000)
    assert portfolio.realized_pnl("BTC") == D("0.001")
    assert portfolio.realized_pnl("USD") == 0
    marks = {ETH_BTC.id: D("0.04900")}
    assert portfolio.unrealized_pnl("BTC", marks) == D("-0.001")
    assert portfolio.equity("BTC", marks) == D("-0.00001")
    assert portfolio.equity("USD", {}) == D(10000)  # no USD-settled position: no mark needed


def test_equity_identity_on_a_worked_example() -> None:
    portfolio = funded()
    marks_0 = {BTC_USD.id: D(100)}
    portfolio.apply_fill(make_fill(BUY, "2", "100"), BTC_USD)
    equity_0 = portfolio.equity("USD", marks_0)
    unrealized_0 = portfolio.unrealized_pnl("USD", marks_0)

    result = portfolio.apply_fill(make_fill(SELL, "3", "105", fee="0.30"), BTC_USD)  # flip short
    marks_1 = {BTC_USD.id: D(103)}
    equity_1 = portfolio.equity("USD", marks_1)
    unrealized_1 = portfolio.unrealized_pnl("USD", marks_1)

    assert result.realized_pnl == D(10)
    assert unrealized_1 == D(2)  # short 1 from 105, marked at 103
    assert equity_1 - equity_0 == result.realized_pnl + (unrealized_1 - unrealized_0) - result.fee
    assert equity_1 == D("10011.70")


def test_missing_mark_for_an_open_position_raises() -> None:
    portfolio = funded()
    portfolio.apply_fill(make_fill(BUY, "1", "100"), BTC_USD)
    portfolio.apply_fill(make_fill(BUY, "1", "10", instrument=ETH_USD), ETH_USD)
    marks = {BTC_USD.id: D(100)}
    with pytest.raises(MissingMarkError, match="ETH-USD"):
        portfolio.equity("USD", marks)
    with pytest.raises(MissingMarkError, match="ETH-USD"):
        portfolio.exposures(marks)
    with pytest.raises(MissingMarkError):
        portfolio.mark_to_market("USD", marks, 0)
    assert portfolio.equity_tracker("USD") is None


def test_flat_positions_need_no_mark() -> None:
    portfolio = funded()
    portfolio.apply_fill(make_fill(BUY, "1", "100"), BTC_USD)
    portfolio.apply_fill(make_fill(SELL, "1", "100"), BTC_USD)
    assert portfolio.equity("USD", {}) == D(10000)
    assert portfolio.open_positions() == ()
    assert [p.instrument_id for p in portfolio.positions()] == [BTC_USD.id]


def test_bad_marks_are_refused() -> None:
    portfolio = funded()
    portfolio.apply_fill(make_fill(BUY, "1", "100"), BTC_USD)
    with pytest.raises(InvalidValueError, match="mark"):
        portfolio.equity("USD", {BTC_USD.id: D(0)})
    with pytest.raises(InvalidValueError, match="float"):
        portfolio.equity("USD", {BTC_USD.id: 100.0})  # type: ignore[dict-item]


def test_exposures() -> None:
    portfolio = funded()
    portfolio.apply_fill(make_fill(BUY, "0.5", "100"), BTC_USD)
    portfolio.apply_fill(make_fill(SELL, "2", "10", instrument=ETH_USD), ETH_USD)
    portfolio.apply_fill(make_fill(BUY, "1", "0.05000", instrument=ETH_BTC), ETH_BTC)
    marks = {BTC_USD.id: D(120), ETH_USD.id: D(11), ETH_BTC.id: D("0.06")}
    assert portfolio.exposures(marks) == {BTC_USD.id: D(60), ETH_USD.id: D(22), ETH_BTC.id: D("0.06")}
    assert portfolio.gross_exposure("USD", marks) == D(82)
    assert portfolio.net_exposure("USD", marks) == D(38)
    assert portfolio.gross_exposure("BTC", marks) == D("0.06")
    assert [p.instrument_id for p in portfolio.open_positions()] == sorted(
        [BTC_USD.id, ETH_USD.id, ETH_BTC.id]
    )
    position = portfolio.position(ETH_USD.id)
    assert position is not None
    assert position.quantity == D(-2)
    assert portfolio.position(InstrumentId("COINBASE", "SOL-USD")) is None


def test_duplicate_fill_is_ignored() -> None:
    portfolio = funded()
    fill = make_fill(BUY, "1", "100", fee="1")
    portfolio.apply_fill(fill, BTC_USD)
    again = portfolio.apply_fill(fill, BTC_USD)
    assert again.duplicate
    assert (again.realized_pnl, again.fee, again.round_trip) == (D(0), D(0), None)
    assert again.quantity_after == D(1)
    assert again.fee_currency == "USD"
    assert portfolio.account.balance("USD") == D(9999)
    position = portfolio.position(BTC_USD.id)
    assert position is not None
    assert position.quantity == D(1)


def test_a_repeat_may_differ_in_metadata_only() -> None:
    portfolio = funded()
    fill = make_fill(BUY, "1", "100", fee="1", fill_id="x", ts_ns=5)
    portfolio.apply_fill(fill, BTC_USD)
    redelivered = attrs.evolve(fill, ts_ns=7, fee_currency="USD", venue_order_id=VenueOrderId("v-1"))
    assert portfolio.apply_fill(redelivered, BTC_USD).duplicate
    assert portfolio.account.balance("USD") == D(9999)


@pytest.mark.parametrize(
    "change",
    [
        {"quantity": D(2)},
        {"price": D("100.01")},
        {"side": SELL},
        {"fee": D("1.01")},
        {"fee_currency": "BNB"},
        {"client_order_id": ClientOrderId(2)},
    ],
)
def test_same_fill_id_with_other_economics_is_a_conflict(change: dict[str, Any]) -> None:
    portfolio = funded()
    fill = make_fill(BUY, "1", "100", fee="1", fill_id="x")
    portfolio.apply_fill(fill, BTC_USD)
    with pytest.raises(ConflictingFillError, match="x"):
        portfolio.apply_fill(attrs.evolve(fill, **change), BTC_USD)
    assert portfolio.account.balance("USD") == D(9999)


def test_same_fill_id_on_another_instrument_is_another_fill() -> None:
    portfolio = funded()
    portfolio.apply_fill(make_fill(BUY, "1", "100", fill_id="x"), BTC_USD)
    portfolio.apply_fill(make_fill(BUY, "2", "10", fill_id="x", instrument=ETH_USD), ETH_USD)
    assert len(portfolio.open_positions()) == 2


def test_fill_and_instrument_must_agree() -> None:
    portfolio = funded()
    with pytest.raises(InvalidValueError, match="ETH-USD"):
        portfolio.apply_fill(make_fill(BUY, "1", "100", instrument=ETH_USD), BTC_USD)
    assert portfolio.positions() == ()


def test_instrument_quote_cannot_change_under_a_position() -> None:
    portfolio = funded()
    portfolio.apply_fill(make_fill(BUY, "1", "100"), BTC_USD)
    renamed = Instrument(BTC_USD.id, base="BTC", quote="USDC", price_increment="0.01", size_increment="0.01")
    with pytest.raises(InvalidValueError, match="USDC"):
        portfolio.apply_fill(make_fill(BUY, "1", "100"), renamed)
    position = portfolio.position(BTC_USD.id)
    assert position is not None
    assert position.quantity == D(1)


def test_bad_fee_currency_changes_nothing() -> None:
    portfolio = funded()
    with pytest.raises(InvalidValueError, match="currency"):
        portfolio.apply_fill(make_fill(BUY, "1", "100", fee="1", fee_currency="USD "), BTC_USD)
    assert portfolio.positions() == ()
    assert portfolio.account.balance("USD") == D(10000)


def test_mark_to_market_tracks_high_water_mark_drawdown_and_day() -> None:
    portfolio = funded("1000")
    portfolio.apply_fill(make_fill(BUY, "1", "100"), BTC_USD)
    first = portfolio.mark_to_market("USD", {BTC_USD.id: D(150)}, 10)
    assert first == EquitySnapshot("USD", 10, D(1050), D(1050), D(1050))
    second = portfolio.mark_to_market("USD", {BTC_USD.id: D(90)}, 20)
    assert second.drawdown == D(60)
    assert second.daily_pnl == D(-60)
    next_day = portfolio.mark_to_market("USD", {BTC_USD.id: D(95)}, DAY)
    assert next_day.start_of_day_equity == D(990)
    assert next_day.daily_pnl == D(5)
    tracker = portfolio.equity_tracker("USD")
    assert tracker is not None
    assert tracker.last == next_day
    assert portfolio.equity_tracker("BTC") is None


def test_deposits_and_withdrawals_are_flows_not_pnl() -> None:
    portfolio = funded("1000")
    portfolio.mark_to_market("USD", {}, 1)
    portfolio.deposit("USD", D(500))
    after_deposit = portfolio.mark_to_market("USD", {}, 2)
    assert after_deposit.equity == D(1500)
    assert after_deposit.daily_pnl == 0
    assert after_deposit.drawdown == 0
    portfolio.withdraw("USD", D(300))
    after_withdrawal = portfolio.mark_to_market("USD", {}, 3)
    assert after_withdrawal.equity == D(1200)
    assert after_withdrawal.drawdown == 0
    assert after_withdrawal.daily_pnl == 0
    # A reconciliation difference is P&L we had not recorded.
    portfolio.account.reconcile("USD", D(1190))
    assert portfolio.mark_to_market("USD", {}, 4).daily_pnl == D(-10)


def test_withdrawal_beyond_available_changes_nothing() -> None:
    portfolio = funded("1000")
    portfolio.mark_to_market("USD", {}, 1)
    with pytest.raises(InsufficientFundsError):
        portfolio.withdraw("USD", D(1001))
    assert portfolio.account.balance("USD") == D(1000)
    tracker = portfolio.equity_tracker("USD")
    assert tracker is not None
    assert tracker.last is not None
    assert tracker.last.high_water_mark == D(1000)


def test_restore_equity_tracker() -> None:
    portfolio = funded("1000")
    portfolio.restore_equity_tracker(EquitySnapshot("USD", DAY + 5, D(1000), D(1300), D(1100)))
    snapshot = portfolio.mark_to_market("USD", {}, DAY + 6)
    assert snapshot.high_water_mark == D(1300)
    assert snapshot.drawdown == D(300)
    assert snapshot.daily_pnl == D(-100)
