"""What strategies emit: order intents, cancel intents and target positions.

A strategy never builds an `Order`; it says what it wants, and the kernel decides (risk) and
acts (execution). These values are the whole contract between strategies and the kernel.
"""

from __future__ import annotations

from decimal import Decimal

import attrs

from domain.errors import InvalidValueError
from domain.identifiers import ClientOrderId, StrategyId
from domain.instrument import InstrumentId
from domain.numbers import to_decimal
from domain.order_terms import OrderSide, OrderType, TimeInForce


def _optional_decimal(value: Decimal | int | str | None) -> Decimal | None:
    return None if value is None else to_decimal(value)


@attrs.frozen
class OrderIntent:
    """A strategy's wish to place one order."""

    strategy_id: StrategyId
    instrument_id: InstrumentId
    side: OrderSide
    quantity: Decimal = attrs.field(converter=to_decimal)
    order_type: OrderType = OrderType.LIMIT
    price: Decimal | None = attrs.field(default=None, converter=_optional_decimal)
    time_in_force: TimeInForce = TimeInForce.GTC
    post_only: bool = False
    reduce_only: bool = False
    expire_at_ns: int | None = None
    trigger_price: Decimal | None = attrs.field(default=None, converter=_optional_decimal)
    tag: str = ""

    def __attrs_post_init__(self) -> None:
        if self.quantity <= 0:
            raise InvalidValueError(f"order intent quantity must be positive, got {self.quantity}")
        if self.order_type is OrderType.MARKET:
            if self.price is not None:
                raise InvalidValueError("a market order intent has no price")
            if self.post_only:
                raise InvalidValueError("a market order cannot be post-only")
            if self.time_in_force in (TimeInForce.GTC, TimeInForce.GTD):
                raise InvalidValueError("a market order must be IOC or FOK")
        elif self.price is None or self.price <= 0:
            raise InvalidValueError(f"a {self.order_type.value} intent needs a positive price")
        if self.order_type is OrderType.STOP_LIMIT and (
            self.trigger_price is None or self.trigger_price <= 0
        ):
            raise InvalidValueError("a stop-limit intent needs a positive trigger price")
        if self.order_type is not OrderType.STOP_LIMIT and self.trigger_price is not None:
            raise InvalidValueError("only a stop-limit intent has a trigger price")
        if (self.time_in_force is TimeInForce.GTD) != (self.expire_at_ns is not None):
            raise InvalidValueError("an expiry time goes with GTD, and GTD needs one")
        if self.post_only and self.time_in_force in (TimeInForce.IOC, TimeInForce.FOK):
            raise InvalidValueError("a post-only order cannot be IOC or FOK")


@attrs.frozen
class CancelIntent:
    """A strategy's wish to cancel one of its orders."""

    strategy_id: StrategyId
    client_order_id: ClientOrderId


@attrs.frozen
class CancelAllIntent:
    """A strategy's wish to cancel all its open orders (on one instrument, or everywhere)."""

    strategy_id: StrategyId
    instrument_id: InstrumentId | None = None


@attrs.frozen
class TargetPosition:
    """A strategy's wish to hold `quantity` (signed: + long, - short) of an instrument."""

    strategy_id: StrategyId
    instrument_id: InstrumentId
    quantity: Decimal = attrs.field(converter=to_decimal)


Signal = OrderIntent | CancelIntent | CancelAllIntent | TargetPosition
