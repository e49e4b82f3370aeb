"""What a strategy may know when it decides: a frozen view the kernel builds for every call.

A strategy owns no order, position or clock. The strategy engine hands it, with every book, trade,
timer and order event, a `StrategyView`: the time, the instrument (its grid), the strategy's own
position and open orders on that instrument, whether the book is stale, and the trading state.
Everything in it is an immutable value, so a strategy can be run on any actor or thread, or
single-threaded under a simulated clock, with the same result.

Contract for the kernel (the strategy engine that builds views):
- `open_orders` holds every order of THIS strategy on THIS instrument that is not terminal,
  including orders just built from its intents and not yet acknowledged (INITIALIZED, SUBMITTED),
  and orders whose cancel is pending. Its order is the order the orders were created in.
- `position` is the strategy's signed position on the instrument after every fill the kernel has
  applied, including the fill of the event being delivered (fills update the portfolio first).
- every event of the strategy's orders reaches `on_order_event`, in order, each with a view built
  right after that event: so an order built from an intent shows in `open_orders` at least once
  (with its first event, e.g. OrderSubmitted) before it can disappear filled. Strategies recognise
  their orders by the intent's tag; an order never seen is given up after the strategy's
  `pending_timeout_ns`, which must exceed the kernel's intent-to-order latency.
- `book_stale` is the data engine's verdict on the instrument's book (a gap, silence, a crossed
  book); `top.stale` on a `BookTop` says the same of that snapshot. Either one stops new orders.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

import attrs

from domain.errors import InvalidValueError
from domain.identifiers import ClientOrderId
from domain.instrument import Instrument
from domain.numbers import ZERO, to_decimal
from domain.order_terms import OrderSide
from domain.orders.order import Order
from domain.orders.order_status import OrderStatus
from domain.risk.trading_state import TradingState


def _optional_decimal(value: Decimal | int | str | None) -> Decimal | None:
    return None if value is None else to_decimal(value)


@attrs.frozen
class OpenOrderView:
    """One open order of the strategy, as the strategy may see it (never the mutable `Order`).

    `tag` is the tag of the intent the order was built from: strategies put a unique tag on each
    intent to recognise the order once the kernel has given it a client order id.
    """

    client_order_id: ClientOrderId
    side: OrderSide
    price: Decimal | None = attrs.field(converter=_optional_decimal)
    quantity: Decimal = attrs.field(converter=to_decimal)
    leaves_quantity: Decimal = attrs.field(converter=to_decimal)
    status: OrderStatus
    tag: str = ""
    reduce_only: bool = False

    def __attrs_post_init__(self) -> None:
        if self.quantity <= 0:
            raise InvalidValueError(f"open order {self.client_order_id}: quantity must be positive")
        if not ZERO <= self.leaves_quantity <= self.quantity:
            raise InvalidValueError(
                f"open order {self.client_order_id}: leaves {self.leaves_quantity} must be within "
                f"0 and the quantity {self.quantity}"
            )

    @property
    def cancel_pending(self) -> bool:
        """True when a cancel of this order was sent and the venue has not answered yet."""
        return self.status is OrderStatus.PENDING_CANCEL

    @classmethod
    def from_order(cls, order: Order) -> OpenOrderView:
        """The view of an order (the strategy engine builds views with this)."""
        return cls(
            client_order_id=order.client_order_id,
            side=order.side,
            price=order.price,
            quantity=order.quantity,
            leaves_quantity=order.leaves_quantity,
            status=order.status,
            tag=order.tag,
            reduce_only=order.reduce_only,
        )


def _check_now(_inst: object, _attribute: attrs.Attribute[int], value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidValueError(f"now_ns must be non-negative int nanoseconds, got {value!r}")


def _open_orders(orders: Iterable[OpenOrderView]) -> tuple[OpenOrderView, ...]:
    return tuple(orders)


@attrs.frozen
class StrategyView:
    """Everything a strategy may know about its instrument when it decides (see the module doc)."""

    now_ns: int = attrs.field(validator=_check_now)
    instrument: Instrument
    position: Decimal = attrs.field(default=ZERO, converter=to_decimal)
    open_orders: tuple[OpenOrderView, ...] = attrs.field(default=(), converter=_open_orders)
    book_stale: bool = False
    trading_state: TradingState = TradingState.ACTIVE
    equity: Decimal | None = attrs.field(default=None, converter=_optional_decimal)

    def orders_on(self, side: OrderSide) -> tuple[OpenOrderView, ...]:
        """The open orders on one side, in the order they were created."""
        return tuple(order for order in self.open_orders if order.side is side)

    def open_quantity(self, side: OrderSide) -> Decimal:
        """The unfilled quantity of every open order on `side` (pending cancels included)."""
        return sum((order.leaves_quantity for order in self.open_orders if order.side is side), ZERO)

    def has_tag(self, tag: str) -> bool:
        """True when an open order was built from the intent with this tag."""
        return any(order.tag == tag for order in self.open_orders)
