"""A user-channel order update as the codec emits it: the venue's order state, not a domain event.

Turning Coinbase's cumulative order states into domain order events (accepted, filled by how
much, canceled) needs the previous state of each order, which is the execution adapter's job; the
market-data codec only decodes, checks and timestamps them.
"""

from __future__ import annotations

import attrs

from infrastructure.venues.coinbase.messages import UserOrder


@attrs.frozen
class UserOrderUpdate:
    """One order's state from a user-channel frame (`is_snapshot`: part of the opening snapshot)."""

    connection_id: str
    is_snapshot: bool
    order: UserOrder
    ts_ns: int  # the frame's venue timestamp, ns since the epoch (UTC)
