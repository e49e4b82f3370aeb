"""Specs of a position: opening, adding, FIFO closing, flat, reopening, flips, shorts, fees, averages."""

from __future__ import annotations

import decimal
from decimal import Decimal

import pytest

from domain.errors import InvalidValueError
from domain.order_terms import OrderSide
from domain.portfolio import Direction, Lot, Position
from tests.domain.portfolio import BTC_USD, ETH_USD, make_fill

D = Decimal  # short for exact literals: D("0.01")

BUY, SELL = OrderSide.BUY, OrderSide.SELL


def new_position() -> Position:
    """A flat BTC-USD position."""
    return Position(BTC_USD.id, "USD")


def test_open_long() -> None:
    position = new_position()
    change = position.apply(make_fill(BUY, "2", "100.00", ts_ns=5))

    assert position.quantity == D(2)
    assert position.direction is Direction.LONG
    assert not position.is_flat
    assert position.lots == (Lot(price=D("100.00"), quantity=D(2), ts_ns=5),)
    assert position.average_entry_price == D(100)
    assert position.cost_basis == D(200)
    assert position.realized_pnl == 0
    assert position.open_since_ns == 5
    assert position.unrealized_pnl(D("101.50")) == D("3.00")
    assert (change.quantity_before, change.quantity_after) == (D(0), D(2))
    assert (change.closed_quantity, change.opened_quantity) == (D(0), D(2))
    assert change.realized_pnl == 0
    assert change.round_trip is None


def test_add_to_long_keeps_lots_and_weights_the_average() -> None:
    position = new_position()
    position.apply(make_fill(BUY, "1", "100"))
    position.apply(make_fill(BUY, "3", "120"))

    assert position.quantity == D(4)
    assert [lot.price for lot in position.lots] == [D(100), D(120)]
    assert position.cost_basis == D(460)
    assert position.average_entry_price == D(115)
    assert position.unrealized_pnl(D(110)) == D(-20)  # 1×10 + 3×(-10)


def test_partial_close_realizes_fifo_exactly() -> None:
    position = new_position()
    position.apply(make_fill(BUY, "1", "100.00"))
    position.apply(make_fill(BUY, "1", "110.00"))
    change = position.apply(make_fill(SELL, "1.5", "120.00"))

    # FIFO: the whole lot at 100 (+20) then half of the lot at 110 (+5).
    assert change.realized_pnl == D("25.000")
    assert change.closed_quantity == D("1.5")
    assert change.opened_quantity == 0
    assert change.round_trip is None
    assert position.realized_pnl == D(25)
    assert position.lots == (Lot(price=D("110.00"), quantity=D("0.5"), ts_ns=0),)
    assert position.average_entry_price == D(110)
    assert position.unrealized_pnl(D(130)) == D(10)


def test_close_to_flat() -> None:
    position = new_position()
    position.apply(make_fill(BUY, "2", "100", ts_ns=1))
    change = position.apply(make_fill(SELL, "2", "90", ts_ns=2))

    assert change.realized_pnl == D(-20)
    assert position.is_flat
    assert position.quantity == 0
    assert position.direction is None
    assert position.average_entry_price is None
    assert position.open_since_ns is None
    assert position.lots == ()
    assert position.unrealized_pnl(D(1000)) == 0
    assert position.notional(D(1000)) == 0
    assert change.round_trip is not None
    assert position.round_trips_closed == 1


def test_reopen_after_flat_starts_fresh_but_keeps_realized() -> None:
    position = new_position()
    position.apply(make_fill(BUY, "1", "100"))
    position.apply(make_fill(SELL, "1", "105"))
    position.apply(make_fill(BUY, "2", "200", ts_ns=9))

    assert position.quantity == D(2)
    assert position.average_entry_price == D(200)
    assert position.realized_pnl == D(5)
    assert position.open_since_ns == 9
    assert position.unrealized_pnl(D(201)) == D(2)


def test_flip_long_to_short_closes_fully_then_opens_remainder_at_fill_price() -> None:
    position = new_position()
    position.apply(make_fill(BUY, "1", "100", ts_ns=1))
    change = position.apply(make_fill(SELL, "3", "90", ts_ns=2))

    assert change.realized_pnl == D(-10)
    assert (change.closed_quantity, change.opened_quantity) == (D(1), D(2))
    assert position.quantity == D(-2)
    assert position.direction is Direction.SHORT
    assert position.lots == (Lot(price=D(90), quantity=D(-2), ts_ns=2),)
    assert position.average_entry_price == D(90)
    assert position.open_since_ns == 2
    assert change.round_trip is not None
    assert change.round_trip.direction is Direction.LONG


def test_flip_short_to_long() -> None:
    position = new_position()
    position.apply(make_fill(SELL, "2", "100"))
    change = position.apply(make_fill(BUY, "5", "95"))

    assert change.realized_pnl == D(10)
    assert position.quantity == D(3)
    assert position.direction is Direction.LONG
    assert position.average_entry_price == D(95)


def test_short_pnl() -> None:
    position = new_position()
    position.apply(make_fill(SELL, "1", "100"))
    position.apply(make_fill(SELL, "1", "104"))
    assert position.quantity == D(-2)
    assert position.average_entry_price == D(102)
    # A short gains when the price falls: -2 × (98 - 102) lot by lot.
    assert position.unrealized_pnl(D(98)) == D(8)
    assert position.signed_notional(D(98)) == D(-196)
    assert position.notional(D(98)) == D(196)

    change = position.apply(make_fill(BUY, "1", "90"))  # closes the lot at 100 first
    assert change.realized_pnl == D(10)
    assert position.lots == (Lot(price=D(104), quantity=D(-1), ts_ns=0),)
    assert position.unrealized_pnl(D(110)) == D(-6)


def test_fees_and_rebates_accumulate_per_currency() -> None:
    position = new_position()
    position.apply(make_fill(BUY, "1", "100", fee="0.25"))  # blank currency: the quote
    position.apply(make_fill(BUY, "1", "100", fee="-0.05", fee_currency="USD"))  # maker rebate
    change = position.apply(make_fill(SELL, "1", "100", fee="0.001", fee_currency="BNB"))

    assert change.fee == D("0.001")
    assert change.fee_currency == "BNB"
    assert position.fees() == D("0.20")
    assert position.fees("USD") == D("0.20")
    assert position.fees("BNB") == D("0.001")
    assert position.fees("EUR") == 0
    assert position.fees_by_currency() == {"USD": D("0.20"), "BNB": D("0.001")}
    # Fees never touch the position's P&L figures: the account books them.
    assert position.realized_pnl == 0


def test_fee_currency_with_spaces_is_refused_before_any_change() -> None:
    position = new_position()
    with pytest.raises(InvalidValueError, match="currency"):
        position.apply(make_fill(BUY, "1", "100", fee="1", fee_currency=" USD"))
    assert position.is_flat
    assert position.fees_by_currency() == {}


def test_average_entry_is_a_rounded_report_but_pnl_stays_exact() -> None:
    position = new_position()
    position.apply(make_fill(BUY, "1", "100"))
    position.apply(make_fill(BUY, "2", "101"))

    with decimal.localcontext(decimal.Context(prec=40)):
        expected = D(302) / D(3)
    assert position.average_entry_price == expected
    assert str(position.average_entry_price).startswith("100.66666666")
    # Unrealized P&L does not go through the average: lot by lot, 1×0.67 + 2×(-0.33), exactly.
    assert position.unrealized_pnl(D("100.67")) == D("0.01")


def test_products_wider_than_the_default_context_stay_exact() -> None:
    position = new_position()
    buy_price, sell_price = D("123456789.12345678"), D("123456790.98765432")
    size = D("0.123456789012345678")
    position.apply(make_fill(BUY, size, buy_price))
    change = position.apply(make_fill(SELL, size, sell_price))

    # Computed with integers: 18 + 8 decimals, far beyond the default 28-digit context.
    numerator = 123456789012345678 * (12345679098765432 - 12345678912345678)
    assert change.realized_pnl == D(numerator).scaleb(-26)
    assert change.realized_pnl * 10**26 == numerator


def test_results_do_not_depend_on_the_callers_context() -> None:
    position = new_position()
    with decimal.localcontext(decimal.Context(prec=3)):
        position.apply(make_fill(BUY, "1.2345", "100.01"))
        change = position.apply(make_fill(SELL, "1.2345", "200.02"))
        unrealized = position.unrealized_pnl(D("1.5"))
    assert change.realized_pnl == D("123.462345")  # 1.2345 × 100.01, not 3 digits
    assert unrealized == 0


def test_fill_for_another_instrument_is_refused() -> None:
    position = new_position()
    with pytest.raises(InvalidValueError, match="ETH-USD"):
        position.apply(make_fill(BUY, "1", "100", instrument=ETH_USD))


@pytest.mark.parametrize("mark", [D(0), D(-1)])
def test_non_positive_mark_is_refused(mark: D) -> None:
    position = new_position()
    position.apply(make_fill(BUY, "1", "100"))
    with pytest.raises(InvalidValueError, match="mark"):
        position.unrealized_pnl(mark)


def test_float_mark_is_refused() -> None:
    position = new_position()
    with pytest.raises(InvalidValueError, match="float"):
        position.notional(100.5)  # type: ignore[arg-type]


@pytest.mark.parametrize("currency", ["", " USD", "USD "])
def test_bad_settlement_currency_is_refused(currency: str) -> None:
    with pytest.raises(InvalidValueError, match="currency"):
        Position(BTC_USD.id, currency)


def test_many_lots_are_consumed_in_order() -> None:
    position = new_position()
    for price in ("10", "20", "30", "40"):
        position.apply(make_fill(BUY, "1", price))
    change = position.apply(make_fill(SELL, "2.5", "50"))
    assert change.realized_pnl == D(40) + D(30) + D("0.5") * 20
    assert [(lot.price, lot.quantity) for lot in position.lots] == [(D(30), D("0.5")), (D(40), D(1))]
