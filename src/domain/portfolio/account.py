"""The account: cash balances per currency and the amounts open orders hold in reserve.

Balances move by trading (each fill's realized P&L less its fee, booked by the portfolio), by
deposits and withdrawals, and by reconciliation with the venue. A reservation is what an open
order could consume (its currency and amount), keyed by the order's client order id; what is
not reserved is available for new orders.
"""

from __future__ import annotations

from decimal import Decimal

import attrs

from domain.currency import check_currency, currency_validator
from domain.errors import DomainError, InvalidValueError
from domain.identifiers import ClientOrderId
from domain.numbers import ZERO, exact, to_decimal


class InsufficientFundsError(DomainError):
    """A withdrawal asked for more than the available (unreserved) balance."""


def _positive(amount: Decimal, what: str) -> Decimal:
    value = to_decimal(amount)
    if value <= 0:
        raise InvalidValueError(f"{what} must be positive, got {value}")
    return value


def _amount_validator(_inst: object, _attribute: attrs.Attribute[Decimal], value: Decimal) -> None:
    _positive(value, "a reservation amount")


@attrs.frozen
class Reservation:
    """The funds an open order holds: `amount` (positive) of `currency`."""

    client_order_id: ClientOrderId
    currency: str = attrs.field(validator=currency_validator)
    amount: Decimal = attrs.field(converter=to_decimal, validator=_amount_validator)


@attrs.define
class Account:
    """Cash balances per currency and reservations by open orders; `available` = balance - reserved.

    A currency never seen has a balance of zero. Every amount is exact (see `domain.numbers.exact`).
    """

    _balances: dict[str, Decimal] = attrs.field(factory=dict, init=False)
    _reservations: dict[ClientOrderId, Reservation] = attrs.field(factory=dict, init=False)

    def balance(self, currency: str) -> Decimal:
        """The cash balance in `currency` (zero if never seen); reservations are not deducted."""
        return self._balances.get(check_currency(currency), ZERO)

    def balances(self) -> dict[str, Decimal]:
        """Every balance by currency (a copy)."""
        return dict(self._balances)

    def adjust(self, currency: str, amount: Decimal) -> Decimal:
        """Add a signed `amount` to the balance (trading P&L, fees, corrections); return the new balance."""
        code = check_currency(currency)
        delta = to_decimal(amount)
        with exact():
            balance = self._balances.get(code, ZERO) + delta
        self._balances[code] = balance
        return balance

    def deposit(self, currency: str, amount: Decimal) -> Decimal:
        """Credit a positive `amount` paid in from outside; return the new balance."""
        return self.adjust(currency, _positive(amount, "a deposit"))

    def withdraw(self, currency: str, amount: Decimal) -> Decimal:
        """Debit a positive `amount` paid out; refused beyond the available (unreserved) balance."""
        value = _positive(amount, "a withdrawal")
        available = self.available(currency)
        if value > available:
            raise InsufficientFundsError(f"cannot withdraw {value} {currency}: only {available} available")
        with exact():
            return self.adjust(currency, -value)

    def reconcile(self, currency: str, actual: Decimal) -> Decimal:
        """Set the balance to the venue's `actual` figure; return the adjustment made (actual - ours)."""
        target = to_decimal(actual)
        with exact():
            difference = target - self.balance(currency)
        self.adjust(currency, difference)
        return difference

    def reserve(self, client_order_id: ClientOrderId, currency: str, amount: Decimal) -> Reservation:
        """Hold `amount` of `currency` for an open order, replacing any earlier reservation of that order.

        Replacing lets a partly filled or amended order shrink its hold. No funds check is made here:
        the risk check compares the order with `available` first, and an order found open at the
        venue (after a restart) must be recorded whatever it holds.
        """
        reservation = Reservation(client_order_id, currency, amount)
        self._reservations[client_order_id] = reservation
        return reservation

    def release(self, client_order_id: ClientOrderId) -> Reservation | None:
        """Drop an order's reservation (filled, canceled, rejected); idempotent: None if there was none."""
        return self._reservations.pop(client_order_id, None)

    def reservation(self, client_order_id: ClientOrderId) -> Reservation | None:
        """The reservation held by an order, if any."""
        return self._reservations.get(client_order_id)

    def reservations(self) -> tuple[Reservation, ...]:
        """Every reservation, in client order id order."""
        return tuple(self._reservations[key] for key in sorted(self._reservations))

    def reserved(self, currency: str) -> Decimal:
        """The total held in `currency` by open orders."""
        code = check_currency(currency)
        with exact():
            return sum((r.amount for r in self._reservations.values() if r.currency == code), ZERO)

    def available(self, currency: str) -> Decimal:
        """Balance less reserved: what new orders (or withdrawals) may use; negative when overcommitted."""
        with exact():
            return self.balance(currency) - self.reserved(currency)
