"""The order-rate throttle: at most N orders in any sliding window, time given as input."""

from __future__ import annotations

from domain.errors import InvalidValueError
from domain.risk.risk_limits import RiskLimits
from domain.risk.sliding_window import SlidingWindow


class OrderThrottle:
    """Counts orders sent in the last `window_ns` and admits a new one while fewer than `max_orders`.

    The application records each order it sends and passes `snapshot()` to the `RiskContext`,
    so the pre-trade order-rate rule sees the same window. Time going backwards raises
    `ClockWentBackwardsError` (a `DomainError`).
    """

    def __init__(self, max_orders: int, window_ns: int) -> None:
        if isinstance(max_orders, bool) or not isinstance(max_orders, int) or max_orders <= 0:
            raise InvalidValueError(f"max_orders must be a positive integer, got {max_orders!r}")
        self._max_orders = max_orders
        self._window = SlidingWindow(window_ns)

    @classmethod
    def from_limits(cls, limits: RiskLimits) -> OrderThrottle | None:
        """The throttle the limits configure, or None when the order-rate limit is off."""
        limits.ensure_valid()
        if limits.max_orders_per_window is None or limits.order_window_ns is None:
            return None
        return cls(limits.max_orders_per_window, limits.order_window_ns)

    @property
    def max_orders(self) -> int:
        """The most orders admitted in one window."""
        return self._max_orders

    @property
    def window_ns(self) -> int:
        """The window length in nanoseconds."""
        return self._window.window_ns

    def would_allow(self, ts_ns: int) -> bool:
        """True when an order sent at `ts_ns` stays within the limit (records nothing)."""
        return self._window.count(ts_ns) < self._max_orders

    def record(self, ts_ns: int) -> None:
        """Record an order sent at `ts_ns` (whether or not it was allowed: it was sent)."""
        self._window.record(ts_ns)

    def try_acquire(self, ts_ns: int) -> bool:
        """Record an order at `ts_ns` and return True if allowed; otherwise record nothing."""
        if not self.would_allow(ts_ns):
            return False
        self._window.record(ts_ns)
        return True

    def count(self, now_ns: int) -> int:
        """How many orders were sent in the window ending at `now_ns`."""
        return self._window.count(now_ns)

    def snapshot(self) -> tuple[int, ...]:
        """Send times still in the window, for `RiskContext.recent_order_ts_ns`."""
        return self._window.snapshot()
