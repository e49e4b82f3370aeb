"""Order events: what happened to an order, named in the past tense, as frozen values.

Every event names its order by `client_order_id` and carries `ts_ns`, the time it happened
(nanoseconds since the Unix epoch, UTC), which the caller passes in; the domain reads no clock.
"""

from __future__ import annotations

from typing import TypeAlias

import attrs

from domain.errors import InvalidValueError
from domain.fill import Fill
from domain.identifiers import ClientOrderId, VenueOrderId


def _check_ts_ns(_inst: object, attribute: attrs.Attribute[int], value: int) -> None:
    # bool is an int subclass; True as a timestamp is always a bug.
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidValueError(f"{attribute.name} must be non-negative int nanoseconds, got {value!r}")


@attrs.frozen
class _OrderEventBase:
    """The fields every order event has: which order, and when."""

    client_order_id: ClientOrderId
    ts_ns: int = attrs.field(validator=_check_ts_ns)


@attrs.frozen
class OrderDenied(_OrderEventBase):
    """Our risk checks refused the order before it was sent."""

    reason: str


@attrs.frozen
class OrderSubmitted(_OrderEventBase):
    """The order was sent to the venue."""


@attrs.frozen
class OrderRejected(_OrderEventBase):
    """The venue refused the order.

    `post_only_crossed`: the order was post-only and would have taken liquidity when it reached
    the venue, so the venue refused it. For a maker quoting at the touch this is the market
    moving while the order was on its way (a race every venue has), not a fault of the kernel or
    the venue: the circuit breaker does not count it among venue rejects.
    """

    reason: str
    post_only_crossed: bool = False


@attrs.frozen
class OrderAccepted(_OrderEventBase):
    """The venue acknowledged the order and gave it its own id."""

    venue_order_id: VenueOrderId


@attrs.frozen
class OrderTriggered(_OrderEventBase):
    """A stop-limit order's trigger price was reached; its limit order is now working."""


@attrs.frozen
class OrderCancelRequested(_OrderEventBase):
    """We asked the venue to cancel the order."""


@attrs.frozen
class OrderCancelRejected(_OrderEventBase):
    """The venue refused our cancel request (too late, unknown order, ...)."""

    reason: str


@attrs.frozen
class OrderCanceled(_OrderEventBase):
    """The venue canceled the order (on our request, or on its own, e.g. an IOC's remainder)."""


@attrs.frozen
class OrderExpired(_OrderEventBase):
    """The venue expired the order (its GTD time passed)."""


@attrs.frozen
class OrderFilled(_OrderEventBase):
    """The venue executed (part of) the order: `fill` says how much, at what price, for what fee."""

    fill: Fill

    def __attrs_post_init__(self) -> None:
        if self.fill.client_order_id != self.client_order_id:
            raise InvalidValueError(
                f"fill {self.fill.fill_id} is for order {self.fill.client_order_id}, "
                f"not for {self.client_order_id}"
            )

    @classmethod
    def from_fill(cls, fill: Fill, ts_ns: int | None = None) -> OrderFilled:
        """The event of `fill`, for its order, at `ts_ns` (default: the fill's own time)."""
        return cls(fill.client_order_id, fill.ts_ns if ts_ns is None else ts_ns, fill)


OrderEvent: TypeAlias = (
    OrderDenied
    | OrderSubmitted
    | OrderRejected
    | OrderAccepted
    | OrderTriggered
    | OrderCancelRequested
    | OrderCancelRejected
    | OrderCanceled
    | OrderExpired
    | OrderFilled
)

ORDER_EVENT_TYPES: tuple[type[OrderEvent], ...] = (
    OrderDenied,
    OrderSubmitted,
    OrderRejected,
    OrderAccepted,
    OrderTriggered,
    OrderCancelRequested,
    OrderCancelRejected,
    OrderCanceled,
    OrderExpired,
    OrderFilled,
)
