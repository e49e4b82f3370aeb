"""Fills and strategy signals: exact, validated values."""

from __future__ import annotations

from decimal import Decimal

import pytest

from domain.errors import InvalidValueError
from domain.fill import Fill
from domain.identifiers import ClientOrderId, FillId, StrategyId
from domain.instrument import InstrumentId
from domain.order_terms import OrderSide, OrderType, TimeInForce
from domain.signals import CancelAllIntent, CancelIntent, OrderIntent, TargetPosition

BTC = InstrumentId("COINBASE", "BTC-USD")
MM = StrategyId("mm")


def make_fill(side: OrderSide = OrderSide.SELL, price: str = "100.5", quantity: str = "2") -> Fill:
    return Fill(FillId("f1"), ClientOrderId(1), BTC, side, price, quantity)


def test_fill_notional_and_signed_quantity_are_exact() -> None:
    fill = make_fill()
    assert fill.notional == Decimal("201.0")
    assert fill.signed_quantity == Decimal(-2)
    assert make_fill(OrderSide.BUY).signed_quantity == Decimal(2)


@pytest.mark.parametrize(("price", "quantity"), [("0", "1"), ("1", "0"), ("-1", "1")])
def test_fill_needs_positive_price_and_quantity(price: str, quantity: str) -> None:
    with pytest.raises(InvalidValueError):
        make_fill(price=price, quantity=quantity)


def test_a_limit_intent_needs_a_positive_price() -> None:
    with pytest.raises(InvalidValueError, match="positive price"):
        OrderIntent(MM, BTC, OrderSide.BUY, "1")
    intent = OrderIntent(MM, BTC, OrderSide.BUY, "1", price="100")
    assert intent.price == Decimal(100)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"quantity": "0", "price": "1"}, "quantity must be positive"),
        ({"order_type": OrderType.MARKET, "price": "1", "time_in_force": TimeInForce.IOC}, "no price"),
        ({"order_type": OrderType.MARKET, "time_in_force": TimeInForce.IOC, "post_only": True}, "post-only"),
        ({"order_type": OrderType.MARKET}, "IOC or FOK"),
        ({"order_type": OrderType.STOP_LIMIT, "price": "1"}, "trigger price"),
        ({"price": "1", "trigger_price": "2"}, "only a stop-limit"),
        ({"price": "1", "time_in_force": TimeInForce.GTD}, "GTD"),
        ({"price": "1", "expire_at_ns": 5}, "GTD"),
        ({"price": "1", "post_only": True, "time_in_force": TimeInForce.IOC}, "post-only"),
    ],
)
def test_inconsistent_intents_are_refused(kwargs: dict[str, object], message: str) -> None:
    fields: dict[str, object] = {"quantity": "1"}
    fields.update(kwargs)
    with pytest.raises(InvalidValueError, match=message):
        OrderIntent(MM, BTC, OrderSide.BUY, **fields)  # type: ignore[arg-type]


def test_consistent_intents_of_every_kind_are_accepted() -> None:
    market = OrderIntent(
        MM, BTC, OrderSide.SELL, "1", order_type=OrderType.MARKET, time_in_force=TimeInForce.FOK
    )
    stop = OrderIntent(
        MM, BTC, OrderSide.SELL, "1", order_type=OrderType.STOP_LIMIT, price="9", trigger_price="10"
    )
    gtd = OrderIntent(MM, BTC, OrderSide.BUY, "1", price="9", time_in_force=TimeInForce.GTD, expire_at_ns=10)
    assert market.price is None
    assert stop.trigger_price == Decimal(10)
    assert gtd.expire_at_ns == 10


def test_cancel_and_target_signals_carry_their_values() -> None:
    assert CancelIntent(MM, ClientOrderId(3)).client_order_id == ClientOrderId(3)
    assert CancelAllIntent(MM).instrument_id is None
    assert TargetPosition(MM, BTC, "-0.5").quantity == Decimal("-0.5")
