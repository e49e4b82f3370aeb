"""What a strategy remembers about the market and its own requests between calls.

A strategy emits an intent without a client order id (the kernel assigns one), so for a moment
it has asked for an order the view does not show yet. `InFlight` remembers such an intent by its
unique tag until the order shows up in `StrategyView.open_orders` (from then on the view is the
truth) or `pending_timeout_ns` passes without it (denied, rejected, or filled at once: the view's
position says which). `CancelTracker` does the same for cancels, so a cancel is not repeated while
the venue has not answered. `TopOfBook` is the part of the last book a strategy keeps, so a timer
or an order event can be acted on between book updates.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal

import attrs

from application.strategies import state as st
from application.strategies.strategy import StrategyStateError
from application.strategies.strategy_view import OpenOrderView, StrategyView
from domain.identifiers import ClientOrderId
from domain.market_data import BookTop
from domain.order_terms import OrderSide


@attrs.frozen
class TopOfBook:
    """The best bid and ask of the last book top, its time, and whether it was stale."""

    ts_ns: int
    best_bid: Decimal | None
    best_ask: Decimal | None
    stale: bool

    @classmethod
    def of(cls, top: BookTop) -> TopOfBook:
        """The part of `top` a strategy keeps."""
        return cls(top.ts_ns, top.best_bid, top.best_ask, top.stale)

    def snapshot(self) -> dict[str, object]:
        """JSON-friendly values."""
        return {
            "ts_ns": self.ts_ns,
            "best_bid": st.dec_text(self.best_bid),
            "best_ask": st.dec_text(self.best_ask),
            "stale": self.stale,
        }

    @classmethod
    def restore(cls, state: Mapping[str, object] | None) -> TopOfBook | None:
        """Take back a `snapshot` (None stays None)."""
        if state is None:
            return None
        return cls(
            st.integer(state, "ts_ns"),
            st.optional_decimal(state, "best_bid"),
            st.optional_decimal(state, "best_ask"),
            st.boolean(state, "stale"),
        )


def _side(value: str) -> OrderSide:
    try:
        return OrderSide(value)
    except ValueError:
        raise StrategyStateError(f"not an order side: {value!r}") from None


@attrs.frozen
class InFlight:
    """An intent sent and not yet seen as an open order: its tag, side, quantity and send time."""

    tag: str
    side: OrderSide
    quantity: Decimal
    sent_ns: int

    def resolved(self, view: StrategyView, timeout_ns: int) -> bool:
        """True once the order is in the view (the view tracks it now) or the timeout has passed."""
        return view.has_tag(self.tag) or view.now_ns - self.sent_ns >= timeout_ns

    def snapshot(self) -> dict[str, object]:
        """JSON-friendly values."""
        return {
            "tag": self.tag,
            "side": self.side.value,
            "quantity": str(self.quantity),
            "sent_ns": self.sent_ns,
        }

    @classmethod
    def restore(cls, state: Mapping[str, object] | None) -> InFlight | None:
        """Take back a `snapshot` (None stays None)."""
        if state is None:
            return None
        return cls(
            st.text(state, "tag"),
            _side(st.text(state, "side")),
            st.decimal(state, "quantity"),
            st.integer(state, "sent_ns"),
        )


class CancelTracker:
    """The cancels sent and not yet answered, so each order is asked to cancel once.

    An order is forgotten once it leaves the view (canceled or filled); a cancel that has not
    taken effect after `timeout_ns` (lost, or refused by the venue) may be sent again.
    """

    def __init__(self, timeout_ns: int) -> None:
        self.timeout_ns = timeout_ns
        self._sent: dict[ClientOrderId, int] = {}

    def refresh(self, view: StrategyView) -> None:
        """Forget the cancels of orders no longer open."""
        open_ids = {order.client_order_id for order in view.open_orders}
        self._sent = {order_id: ts for order_id, ts in self._sent.items() if order_id in open_ids}

    def cancelling(self, order: OpenOrderView, now_ns: int) -> bool:
        """True when the order is on its way out: its cancel is pending or was just sent."""
        if order.cancel_pending:
            return True
        sent = self._sent.get(order.client_order_id)
        return sent is not None and now_ns - sent < self.timeout_ns

    def request(self, order: OpenOrderView, now_ns: int) -> bool:
        """Record a cancel of `order` and return True, unless it is already on its way out."""
        if self.cancelling(order, now_ns):
            return False
        self._sent[order.client_order_id] = now_ns
        return True

    def snapshot(self) -> list[object]:
        """JSON-friendly values: [client order id, sent_ns] pairs, in the order they were sent."""
        return [[order_id.value, ts] for order_id, ts in self._sent.items()]

    def restore(self, entries: Sequence[object]) -> None:
        """Take back a `snapshot`."""
        sent: dict[ClientOrderId, int] = {}
        for entry in entries:
            if not isinstance(entry, (list, tuple)) or len(entry) != 2:
                raise StrategyStateError(f"a cancel entry must be [client order id, sent_ns], got {entry!r}")
            order_id, ts = entry
            if not isinstance(order_id, str) or isinstance(ts, bool) or not isinstance(ts, int):
                raise StrategyStateError(f"a cancel entry must be [client order id, sent_ns], got {entry!r}")
            try:
                sent[ClientOrderId.parse(order_id)] = ts
            except ValueError:
                raise StrategyStateError(f"not a client order id: {order_id!r}") from None
        self._sent = sent
