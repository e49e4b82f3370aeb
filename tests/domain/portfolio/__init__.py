"""Tests of positions, round trips, the account, equity tracking and the portfolio; shared builders."""

from __future__ import annotations

import itertools
from decimal import Decimal

from domain.fill import Fill
from domain.identifiers import ClientOrderId, FillId
from domain.instrument import Instrument, InstrumentId
from domain.order_terms import OrderSide

BTC_USD = Instrument(
    InstrumentId("COINBASE", "BTC-USD"),
    base="BTC",
    quote="USD",
    price_increment="0.01",
    size_increment="0.00000001",
)
ETH_USD = Instrument(
    InstrumentId("COINBASE", "ETH-USD"),
    base="ETH",
    quote="USD",
    price_increment="0.01",
    size_increment="0.0001",
)
ETH_BTC = Instrument(
    InstrumentId("COINBASE", "ETH-BTC"),
    base="ETH",
    quote="BTC",
    price_increment="0.00001",
    size_increment="0.001",
)

_fill_numbers = itertools.count(1)


def make_fill(
    side: OrderSide,
    quantity: str | Decimal,
    price: str | Decimal,
    *,
    instrument: Instrument = BTC_USD,
    fee: str | Decimal = "0",
    fee_currency: str = "",
    ts_ns: int = 0,
    fill_id: str | None = None,
) -> Fill:
    """A fill with a fresh id unless one is given; numbers as exact strings or Decimals."""
    return Fill(
        fill_id=FillId(fill_id if fill_id is not None else f"f{next(_fill_numbers)}"),
        client_order_id=ClientOrderId(1),
        instrument_id=instrument.id,
        side=side,
        price=Decimal(price),
        quantity=Decimal(quantity),
        fee=Decimal(fee),
        fee_currency=fee_currency,
        ts_ns=ts_ns,
    )
