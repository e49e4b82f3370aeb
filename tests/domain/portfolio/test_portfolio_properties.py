"""Properties over random portfolios: quantities, the accounting identity, round trips, reservations.

Every number is drawn as an integer times an increment, never as a float, and the tests' own
reference sums run under an exact context (Inexact trapped), so `==` below means exactly equal.
"""

from __future__ import annotations

import decimal
from collections.abc import Iterator
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.fill import Fill
from domain.identifiers import ClientOrderId
from domain.instrument import Instrument, InstrumentId
from domain.order_terms import OrderSide
from domain.portfolio import Portfolio
from tests.domain.portfolio import BTC_USD, ETH_BTC, ETH_USD, make_fill

INSTRUMENTS = {instrument.id: instrument for instrument in (BTC_USD, ETH_USD, ETH_BTC)}
CURRENCIES = ("USD", "BTC", "BNB")
FEE_CURRENCIES = ("", "USD", "BTC", "BNB")
FEE_INCREMENT = Decimal("0.000001")
ZERO = Decimal(0)

Marks = dict[InstrumentId, Decimal]


@pytest.fixture(autouse=True)
def exact_reference_arithmetic() -> Iterator[None]:
    """Run the tests' own sums so that any rounding raises instead of hiding a mismatch."""
    context = decimal.Context(prec=200, traps=[decimal.Inexact, decimal.InvalidOperation])
    with decimal.localcontext(context):
        yield


def price(instrument: Instrument) -> st.SearchStrategy[Decimal]:
    """A positive price on the instrument's grid: up to 10^9 ticks."""
    return st.integers(1, 10**9).map(lambda ticks: ticks * instrument.price_increment)


@st.composite
def fills(draw: st.DrawFn) -> Fill:
    """A fill on a random instrument: small sizes (so positions often go flat and flip) or large ones."""
    instrument = draw(st.sampled_from(list(INSTRUMENTS.values())))
    steps = draw(st.one_of(st.integers(1, 4), st.integers(1, 10**9)))
    fee_steps = draw(st.one_of(st.just(0), st.integers(-(10**6), 10**7)))  # negative: a rebate
    return make_fill(
        draw(st.sampled_from(OrderSide)),
        steps * instrument.size_increment,
        draw(price(instrument)),
        instrument=instrument,
        fee=fee_steps * FEE_INCREMENT,
        fee_currency=draw(st.sampled_from(FEE_CURRENCIES)),
        ts_ns=draw(st.integers(0, 2**62)),
    )


@st.composite
def marks(draw: st.DrawFn) -> Marks:
    """A mark for every instrument."""
    return {instrument_id: draw(price(instrument)) for instrument_id, instrument in INSTRUMENTS.items()}


def funded_portfolio() -> Portfolio:
    """A portfolio holding dollars and bitcoin."""
    portfolio = Portfolio()
    portfolio.deposit("USD", Decimal("100000.00"))
    portfolio.deposit("BTC", Decimal("2.5"))
    return portfolio


def unrealized(portfolio: Portfolio, at: Marks) -> dict[str, Decimal]:
    """Unrealized P&L per currency at `at`."""
    return {currency: portfolio.unrealized_pnl(currency, at) for currency in CURRENCIES}


def equities(portfolio: Portfolio, at: Marks) -> dict[str, Decimal]:
    """Equity per currency at `at`."""
    return {currency: portfolio.equity(currency, at) for currency in CURRENCIES}


@given(steps=st.lists(st.tuples(fills(), marks()), max_size=40), start_marks=marks())
def test_accounting_identity_holds_exactly_after_every_fill(
    steps: list[tuple[Fill, Marks]], start_marks: Marks
) -> None:
    portfolio = funded_portfolio()
    opening_balances = portfolio.account.balances()
    first_equity = equity_before = equities(portfolio, start_marks)
    first_unrealized = unrealized_before = unrealized(portfolio, start_marks)
    total_realized = dict.fromkeys(CURRENCIES, ZERO)
    total_fees = dict.fromkeys(CURRENCIES, ZERO)
    net_quantity = dict.fromkeys(INSTRUMENTS, ZERO)
    cash_flow = dict.fromkeys(INSTRUMENTS, ZERO)  # Σ -signed quantity × price: independent of lots

    for fill, at in steps:
        instrument = INSTRUMENTS[fill.instrument_id]
        result = portfolio.apply_fill(fill, instrument)
        fee_currency = fill.fee_currency or instrument.quote
        assert result.currency == instrument.quote
        assert result.fee_currency == fee_currency
        net_quantity[fill.instrument_id] += fill.signed_quantity
        cash_flow[fill.instrument_id] -= fill.signed_quantity * fill.price
        total_realized[instrument.quote] += result.realized_pnl
        total_fees[fee_currency] += fill.fee

        equity_after, unrealized_after = equities(portfolio, at), unrealized(portfolio, at)
        for currency in CURRENCIES:
            realized = result.realized_pnl if currency == instrument.quote else ZERO
            fee = fill.fee if currency == fee_currency else ZERO
            assert equity_after[currency] - equity_before[currency] == (
                realized + (unrealized_after[currency] - unrealized_before[currency]) - fee
            )
        equity_before, unrealized_before = equity_after, unrealized_after

        for instrument_id, quantity in net_quantity.items():
            position = portfolio.position(instrument_id)
            assert (position.quantity if position else ZERO) == quantity
            if position is not None:
                # Total P&L (realized + unrealized) is the cash flow plus the holding at the mark.
                mark = at[instrument_id]
                assert position.realized_pnl + position.unrealized_pnl(mark) == (
                    cash_flow[instrument_id] + quantity * mark
                )

    for currency in CURRENCIES:
        assert equity_before[currency] - first_equity[currency] == (
            total_realized[currency] + (unrealized_before[currency] - first_unrealized[currency])
            - total_fees[currency]
        )  # fmt: skip
        assert portfolio.realized_pnl(currency) == total_realized[currency]
        assert portfolio.fees(currency) == total_fees[currency]
        assert portfolio.account.balance(currency) == (
            opening_balances.get(currency, ZERO) + total_realized[currency] - total_fees[currency]
        )


@given(steps=st.lists(fills(), max_size=60))
def test_round_trip_gross_pnl_is_sell_notional_less_buy_notional(steps: list[Fill]) -> None:
    portfolio = funded_portfolio()
    quantity = dict.fromkeys(INSTRUMENTS, ZERO)
    trip_buys = dict.fromkeys(INSTRUMENTS, ZERO)  # Σ buy notional of the round trip in progress
    trip_sells = dict.fromkeys(INSTRUMENTS, ZERO)
    trips_closed = 0

    for fill in steps:
        key = fill.instrument_id
        before = quantity[key]
        after = before + fill.signed_quantity
        flips = before * after < 0
        closing_part = abs(before) if flips else fill.quantity
        notional = closing_part * fill.price
        if fill.side is OrderSide.BUY:
            trip_buys[key] += notional
        else:
            trip_sells[key] += notional

        result = portfolio.apply_fill(fill, INSTRUMENTS[key])
        quantity[key] = after

        if after == 0 or flips:
            trip = result.round_trip
            assert trip is not None
            trips_closed += 1
            assert trip.gross_pnl == trip_sells[key] - trip_buys[key]
            assert trip.direction.sign * before > 0
            long_trip = before > 0
            assert trip.entry_notional == (trip_buys[key] if long_trip else trip_sells[key])
            assert trip.exit_notional == (trip_sells[key] if long_trip else trip_buys[key])
            assert trip.closed_ts_ns == fill.ts_ns
            trip_buys[key] = trip_sells[key] = ZERO
            opening = (abs(after) * fill.price) if flips else ZERO
            if fill.side is OrderSide.BUY:
                trip_buys[key] = opening
            else:
                trip_sells[key] = opening
        else:
            assert result.round_trip is None

    assert sum(p.round_trips_closed for p in portfolio.positions()) == trips_closed


OPS = st.one_of(
    st.tuples(st.just("reserve"), st.integers(0, 9), st.sampled_from(CURRENCIES), st.integers(1, 10**9)),
    st.tuples(st.just("release"), st.integers(0, 9), st.just(""), st.just(0)),
    st.tuples(st.just("adjust"), st.just(0), st.sampled_from(CURRENCIES), st.integers(-(10**9), 10**9)),
)


@given(ops=st.lists(OPS, max_size=50))
def test_available_is_balance_less_reserved(ops: list[tuple[str, int, str, int]]) -> None:
    account = funded_portfolio().account
    held: dict[int, tuple[str, Decimal]] = {}
    step = Decimal("0.0001")
    for op, order, currency, units in ops:
        if op == "reserve":
            account.reserve(ClientOrderId(order), currency, units * step)
            held[order] = (currency, units * step)
        elif op == "release":
            released = account.release(ClientOrderId(order))
            assert (released is None) == (order not in held)
            held.pop(order, None)
        else:
            account.adjust(currency, units * step)
        for code in CURRENCIES:
            expected_reserved = sum((amount for c, amount in held.values() if c == code), ZERO)
            assert account.reserved(code) == expected_reserved
            assert account.available(code) == account.balance(code) - expected_reserved
