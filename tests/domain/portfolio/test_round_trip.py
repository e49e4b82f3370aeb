"""Round trips: flat to flat, gross and fee cost in basis points, fee split on a flip."""

from __future__ import annotations

from decimal import Decimal

import pytest

from domain.errors import InvalidValueError
from domain.order_terms import OrderSide
from domain.portfolio import Direction, Position, RoundTrip, split_fee
from tests.domain.portfolio import BTC_USD, make_fill

D = Decimal  # short for exact literals: D("0.01")

BUY, SELL = OrderSide.BUY, OrderSide.SELL


def trade(*fills: tuple[OrderSide, str, str, str]) -> tuple[Position, list[RoundTrip]]:
    """Apply (side, quantity, price, fee) fills at ts 1, 2, ...; return the position and trips closed."""
    position = Position(BTC_USD.id, "USD")
    trips = []
    for ts, (side, quantity, price, fee) in enumerate(fills, start=1):
        change = position.apply(make_fill(side, quantity, price, fee=fee, ts_ns=ts))
        if change.round_trip is not None:
            trips.append(change.round_trip)
    return position, trips


def test_long_round_trip_records_notionals_pnl_and_bps() -> None:
    _, trips = trade((BUY, "1", "100", "0.05"), (BUY, "1", "100", "0.05"), (SELL, "2", "101", "0.10"))
    (trip,) = trips
    assert trip.instrument_id == BTC_USD.id
    assert trip.currency == "USD"
    assert trip.direction is Direction.LONG
    assert (trip.opened_ts_ns, trip.closed_ts_ns) == (1, 3)
    assert trip.quantity == D(2)
    assert trip.max_quantity == D(2)
    assert trip.entry_notional == D(200)
    assert trip.exit_notional == D(202)
    assert trip.gross_pnl == D(2)
    assert trip.fees == D("0.20")
    assert trip.foreign_fees == ()
    assert trip.net_pnl == D("1.80")
    assert trip.gross_bps == D(100)
    assert trip.fee_bps == D(10)
    assert trip.net_bps == D(90)


def test_short_round_trip_gains_when_price_falls() -> None:
    _, trips = trade((SELL, "3", "100", "0"), (BUY, "1", "90", "0"), (BUY, "2", "95", "0"))
    (trip,) = trips
    assert trip.direction is Direction.SHORT
    assert trip.entry_notional == D(300)
    assert trip.exit_notional == D(280)
    assert trip.gross_pnl == D(20)
    assert trip.gross_bps * 3 == D(2000)  # 20/300 × 10 000 = 666.66…, a 40-digit report
    assert str(trip.gross_bps).startswith("666.666666")


def test_max_quantity_is_the_largest_size_reached() -> None:
    _, trips = trade(
        (BUY, "1", "10", "0"), (BUY, "2", "10", "0"), (SELL, "2", "10", "0"), (BUY, "1", "10", "0"),
        (SELL, "2", "10", "0"),
    )  # fmt: skip
    (trip,) = trips
    assert trip.max_quantity == D(3)
    assert trip.quantity == D(4)  # 1 + 2 + 1 opened, and as much closed
    assert trip.gross_pnl == 0


def test_flip_splits_the_fee_pro_rata_and_chains_round_trips() -> None:
    position, trips = trade(
        (BUY, "1", "100", "0.10"),
        (SELL, "3", "90", "0.03"),  # closes 1 (fee 0.01), opens 2 short (fee 0.02)
        (BUY, "2", "80", "0"),
    )
    long_trip, short_trip = trips
    assert long_trip.direction is Direction.LONG
    assert long_trip.fees == D("0.11")
    assert long_trip.gross_pnl == D(-10)
    assert long_trip.closed_ts_ns == 2
    assert short_trip.direction is Direction.SHORT
    assert short_trip.opened_ts_ns == 2
    assert short_trip.entry_notional == D(180)  # only the opening part of the flip
    assert short_trip.fees == D("0.02")
    assert short_trip.gross_pnl == D(20)
    assert long_trip.fees + short_trip.fees == position.fees()
    assert position.round_trips_closed == 2


def test_flip_with_an_indivisible_fee_gives_the_remainder_to_the_closing_part() -> None:
    position, trips = trade((BUY, "1", "100", "0"), (SELL, "3", "100", "0.01"), (BUY, "2", "100", "0"))
    closing, opening = trips
    assert opening.fees == D("0.00")  # 0.01 × 2/3 = 0.00666…, toward zero at the fee's quantum
    assert closing.fees == D("0.01")
    assert closing.fees + opening.fees == position.fees() == D("0.01")


def test_foreign_currency_fees_are_kept_apart() -> None:
    position = Position(BTC_USD.id, "USD")
    position.apply(make_fill(BUY, "1", "100", fee="0.5", fee_currency="BNB"))
    position.apply(make_fill(BUY, "1", "100", fee="0.25", fee_currency="BNB"))
    change = position.apply(make_fill(SELL, "2", "100", fee="0.1", fee_currency="USD"))
    trip = change.round_trip
    assert trip is not None
    assert trip.fees == D("0.1")
    assert trip.foreign_fees == (("BNB", D("0.75")),)
    assert trip.net_pnl == D("-0.1")


@pytest.mark.parametrize(
    ("fee", "part", "whole", "share"),
    [
        ("0.03", "1", "3", "0.01"),
        ("0.01", "1", "4", "0.0025"),  # exact, so finer than the fee's quantum
        ("0.01", "2", "3", "0.00"),
        ("-0.05", "2", "3", "-0.03"),  # a rebate also rounds toward zero
        ("0.0333", "0.002", "0.003", "0.0222"),
        ("7", "3", "3", "7"),
        ("0", "1", "3", "0"),
    ],
)
def test_split_fee(fee: str, part: str, whole: str, share: str) -> None:
    result = split_fee(D(fee), D(part), D(whole))
    assert result == D(share)
    assert str(result) == share


@pytest.mark.parametrize(("part", "whole"), [("0", "1"), ("-1", "2"), ("3", "2")])
def test_split_fee_refuses_parts_outside_the_whole(part: str, whole: str) -> None:
    with pytest.raises(InvalidValueError, match="part"):
        split_fee(D(1), D(part), D(whole))


def round_trip(**overrides: object) -> RoundTrip:
    """A valid long round trip (+10 on 100), with `overrides` applied."""
    values: dict[str, object] = {
        "instrument_id": BTC_USD.id,
        "currency": "USD",
        "direction": Direction.LONG,
        "opened_ts_ns": 1,
        "closed_ts_ns": 2,
        "quantity": D(1),
        "max_quantity": D(1),
        "entry_notional": D(100),
        "exit_notional": D(110),
        "gross_pnl": D(10),
        "fees": D(0),
    }
    values.update(overrides)
    return RoundTrip(**values)  # type: ignore[arg-type]


def test_round_trip_refuses_pnl_inconsistent_with_its_notionals() -> None:
    assert round_trip().gross_pnl == D(10)
    with pytest.raises(InvalidValueError, match="does not match"):
        round_trip(gross_pnl=D(11))
    with pytest.raises(InvalidValueError, match="does not match"):
        round_trip(direction=Direction.SHORT)


@pytest.mark.parametrize("field", ["quantity", "entry_notional", "exit_notional"])
def test_round_trip_refuses_non_positive_sizes(field: str) -> None:
    with pytest.raises(InvalidValueError, match="positive"):
        round_trip(**{field: D(0)})


def test_direction() -> None:
    assert Direction.LONG.sign == 1
    assert Direction.SHORT.sign == -1
    assert Direction.of(D("0.1")) is Direction.LONG
    assert Direction.of(D("-0.1")) is Direction.SHORT
    with pytest.raises(InvalidValueError, match="flat"):
        Direction.of(D(0))
