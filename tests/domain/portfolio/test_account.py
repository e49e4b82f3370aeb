"""The account: balances per currency, reservations by open orders, available funds."""

from __future__ import annotations

import decimal
from decimal import Decimal

import pytest

from domain.errors import InvalidValueError
from domain.identifiers import ClientOrderId
from domain.portfolio import Account, InsufficientFundsError, Reservation

D = Decimal  # short for exact literals: D("0.01")

ORDER_1, ORDER_2, ORDER_3 = ClientOrderId(1), ClientOrderId(2), ClientOrderId(3)


def funded() -> Account:
    """An account holding 1,000 dollars."""
    account = Account()
    account.deposit("USD", D("1000.00"))
    return account


def test_unknown_currency_has_zero_balance() -> None:
    account = Account()
    assert account.balance("USD") == 0
    assert account.reserved("USD") == 0
    assert account.available("USD") == 0
    assert account.balances() == {}


def test_deposit_withdraw_and_adjust() -> None:
    account = funded()
    assert account.deposit("USD", D("0.50")) == D("1000.50")
    assert account.withdraw("USD", D("100")) == D("900.50")
    assert account.adjust("USD", D("-0.25")) == D("900.25")
    assert account.adjust("BTC", D("0.001")) == D("0.001")
    assert account.balances() == {"USD": D("900.25"), "BTC": D("0.001")}


def test_balances_is_a_copy() -> None:
    account = funded()
    account.balances()["USD"] = D(0)
    assert account.balance("USD") == D(1000)


@pytest.mark.parametrize("amount", [D(0), D(-1)])
def test_deposit_and_withdrawal_must_be_positive(amount: D) -> None:
    account = funded()
    with pytest.raises(InvalidValueError, match="deposit"):
        account.deposit("USD", amount)
    with pytest.raises(InvalidValueError, match="withdrawal"):
        account.withdraw("USD", amount)
    assert account.balance("USD") == D(1000)


def test_floats_are_refused() -> None:
    account = funded()
    with pytest.raises(InvalidValueError, match="float"):
        account.deposit("USD", 0.1)  # type: ignore[arg-type]
    with pytest.raises(InvalidValueError, match="float"):
        account.adjust("USD", 0.1)  # type: ignore[arg-type]
    with pytest.raises(InvalidValueError, match="float"):
        account.reserve(ORDER_1, "USD", 0.1)  # type: ignore[arg-type]
    assert account.balance("USD") == D(1000)


@pytest.mark.parametrize("currency", ["", " USD", "usd\n"])
def test_bad_currency_codes_are_refused(currency: str) -> None:
    account = funded()
    with pytest.raises(InvalidValueError, match="currency"):
        account.deposit(currency, D(1))
    with pytest.raises(InvalidValueError, match="currency"):
        account.reserve(ORDER_1, currency, D(1))
    with pytest.raises(InvalidValueError, match="currency"):
        account.reserved(currency)


def test_reservations_reduce_available_not_balance() -> None:
    account = funded()
    account.reserve(ORDER_1, "USD", D("250.00"))
    account.reserve(ORDER_2, "USD", D("100.10"))
    account.reserve(ORDER_3, "BTC", D("0.5"))

    assert account.balance("USD") == D(1000)
    assert account.reserved("USD") == D("350.10")
    assert account.available("USD") == D("649.90")
    assert account.reserved("BTC") == D("0.5")
    assert account.available("BTC") == D("-0.5")  # overcommitted shows as negative, not hidden
    assert account.reservation(ORDER_2) == Reservation(ORDER_2, "USD", D("100.10"))
    assert account.reservations() == (
        Reservation(ORDER_1, "USD", D("250.00")),
        Reservation(ORDER_2, "USD", D("100.10")),
        Reservation(ORDER_3, "BTC", D("0.5")),
    )


def test_reserving_again_replaces_the_orders_reservation() -> None:
    account = funded()
    account.reserve(ORDER_1, "USD", D(300))
    reservation = account.reserve(ORDER_1, "USD", D(120))  # partly filled: hold less
    assert reservation == Reservation(ORDER_1, "USD", D(120))
    assert account.reserved("USD") == D(120)
    account.reserve(ORDER_1, "BTC", D(1))
    assert account.reserved("USD") == 0
    assert account.reserved("BTC") == D(1)


def test_release_is_idempotent() -> None:
    account = funded()
    account.reserve(ORDER_1, "USD", D(300))
    account.reserve(ORDER_2, "USD", D(200))

    assert account.release(ORDER_1) == Reservation(ORDER_1, "USD", D(300))
    assert account.release(ORDER_1) is None
    assert account.release(ORDER_3) is None
    assert account.reserved("USD") == D(200)
    assert account.available("USD") == D(800)
    assert account.reservation(ORDER_1) is None


@pytest.mark.parametrize("amount", [D(0), D("-0.01")])
def test_reservation_amount_must_be_positive(amount: D) -> None:
    account = funded()
    with pytest.raises(InvalidValueError, match="reservation"):
        account.reserve(ORDER_1, "USD", amount)
    assert account.reservations() == ()


def test_withdrawal_cannot_touch_reserved_funds() -> None:
    account = funded()
    account.reserve(ORDER_1, "USD", D(600))
    with pytest.raises(InsufficientFundsError, match="400"):
        account.withdraw("USD", D("400.01"))
    assert account.balance("USD") == D(1000)
    assert account.withdraw("USD", D(400)) == D(600)
    assert account.available("USD") == 0


def test_reconcile_sets_the_venue_figure_and_reports_the_difference() -> None:
    account = funded()
    assert account.reconcile("USD", D("998.75")) == D("-1.25")
    assert account.balance("USD") == D("998.75")
    assert account.reconcile("ETH", D(2)) == D(2)
    assert account.reconcile("ETH", D(2)) == 0


def test_amounts_beyond_exact_reach_raise_instead_of_rounding() -> None:
    account = Account()
    account.deposit("USD", D("1E+600"))
    with pytest.raises(decimal.Inexact):
        account.adjust("USD", D("1E-600"))  # the sum needs 1,201 digits
    assert account.balance("USD") == D("1E+600")


def test_wide_but_representable_sums_are_exact() -> None:
    account = Account()
    account.deposit("USD", D("123456789012345678901234567890"))
    account.adjust("USD", D("0.000000000000000000000000000001"))
    assert account.balance("USD") == D("123456789012345678901234567890.000000000000000000000000000001")
