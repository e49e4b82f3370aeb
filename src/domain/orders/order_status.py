"""Order statuses: where an order is in its life cycle, and which of them are open or terminal."""

from __future__ import annotations

import enum


class OrderStatus(enum.Enum):
    """The status of an order; `order_state_machine.TRANSITIONS` says how one leads to another."""

    INITIALIZED = "INITIALIZED"  # built from an intent, not yet sent
    DENIED = "DENIED"  # refused by our own risk checks, never sent
    SUBMITTED = "SUBMITTED"  # sent; the venue has not acknowledged it yet
    ACCEPTED = "ACCEPTED"  # acknowledged by the venue and working
    REJECTED = "REJECTED"  # refused by the venue
    TRIGGERED = "TRIGGERED"  # a stop-limit whose trigger price was reached: its limit order works
    PARTIALLY_FILLED = "PARTIALLY_FILLED"  # some quantity filled, the rest still working
    PENDING_CANCEL = "PENDING_CANCEL"  # we asked the venue to cancel; it has not answered yet
    FILLED = "FILLED"  # the whole quantity is filled
    CANCELED = "CANCELED"  # canceled at the venue (on request or not); late fills still count
    EXPIRED = "EXPIRED"  # expired at the venue (GTD); late fills still count

    @property
    def is_terminal(self) -> bool:
        """True when the venue will not work the order again (only late fills may still arrive)."""
        return self in TERMINAL_STATES

    @property
    def is_open(self) -> bool:
        """True when the order is, or may be, working at the venue and may still fill."""
        return self in OPEN_STATES


# CANCELED and EXPIRED are terminal yet not absorbing: a fill the venue executed before it stopped
# working the order can be reported after the cancel or expiry, and its quantity is real.
TERMINAL_STATES: frozenset[OrderStatus] = frozenset(
    {
        OrderStatus.DENIED,
        OrderStatus.REJECTED,
        OrderStatus.FILLED,
        OrderStatus.CANCELED,
        OrderStatus.EXPIRED,
    }
)

# SUBMITTED is open: the venue may already be working (and filling) an order it has not acknowledged.
OPEN_STATES: frozenset[OrderStatus] = frozenset(
    {
        OrderStatus.SUBMITTED,
        OrderStatus.ACCEPTED,
        OrderStatus.TRIGGERED,
        OrderStatus.PARTIALLY_FILLED,
        OrderStatus.PENDING_CANCEL,
    }
)
