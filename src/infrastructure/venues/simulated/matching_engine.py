"""One instrument's matching at the simulated venue: the market's book mirror and our resting orders.

Pure logic: no clock, no I/O, no randomness. The venue (`simulated_venue`) decides time in force,
fees, ids and reports; this engine only says which of our orders trade, how much and at what
price (`Execution`s), and keeps each resting order's place in its level's queue.

The mirror is the replayed market's book. It does not contain our orders (the market never saw
them), and our orders never trade with each other (no self-matching).

Consumed liquidity
    When one of our orders takes liquidity (a taker walk, or a resting order the book moved
    through), the size it took is remembered per price level and hidden from later orders, until
    the feed next updates that level (any change at that price) or a snapshot replaces the side.
    The feed is the truth again from then on.

Queue position
    A resting order's `queue_ahead` is the level's visible size on its own side at the moment it
    starts resting (0 when the level is empty or better than the best). It only ever decreases:
    - a public trade at its price, with the aggressor on the other side (or unknown), consumes
      `queue_ahead` first and then fills the order with what is left of the trade's size;
    - a public trade *through* its price (a sell below our bid, a buy above our offer) means the
      whole level was consumed: `queue_ahead` becomes 0 and the order fills up to the trade size;
    - a level that shrinks without a trade is read as cancels, assumed to come from behind us,
      unless the level drops below `queue_ahead`; then `queue_ahead` = the level's visible size.
      (The feed is assumed to report a trade before the book update reflecting it, as Coinbase
      does: the update then shrinks the level to at least `queue_ahead`, which changes nothing.)
    One trade's size is shared among our orders best price first, then by time priority: the size
    that reaches an order is the trade's size less what our orders ahead of it filled, and of that
    the others' `queue_ahead` part goes first.

Book moving through a resting order
    When the opposite side of the mirror shows visible size at or better than a resting order's
    price (a buy at 100, an ask at 100 or lower appears), that size would have traded with us:
    the order fills as maker, at its own price, up to that visible size, which is then consumed.

Trades without an aggressor side
    A trade whose aggressor is unknown may have hit either side: it counts against our resting
    buys at or above its price and our resting sells at or below it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from decimal import Decimal
from typing import Any

import attrs

from domain.errors import InvalidValueError
from domain.identifiers import ClientOrderId
from domain.instrument import InstrumentId
from domain.market_data import BookSide, LevelChange, OrderBookUpdate, TradeTick
from domain.numbers import EXACT_CONTEXT, ZERO, to_decimal
from domain.order_book import OrderBook
from domain.order_terms import LiquiditySide, OrderSide

__all__ = ["Execution", "MatchingEngine", "RestingOrder"]

_EXACT = EXACT_CONTEXT


@attrs.frozen
class Execution:
    """One of our orders traded `quantity` at `price`, as maker or taker."""

    client_order_id: ClientOrderId
    price: Decimal
    quantity: Decimal
    liquidity: LiquiditySide


@attrs.define
class RestingOrder:
    """One of our limit orders resting in the book, with its place in the level's queue."""

    client_order_id: ClientOrderId
    side: OrderSide
    price: Decimal
    leaves: Decimal
    queue_ahead: Decimal
    priority: int  # time priority at the venue: lower arrived earlier

    def is_better_or_equal(self, price: Decimal) -> bool:
        """True when this order's price is at or better than `price` for its side."""
        return self.price >= price if self.side is OrderSide.BUY else self.price <= price

    def sort_key(self) -> tuple[Decimal, int]:
        """Best price first (highest bid, lowest offer), then time priority."""
        return (self.price.copy_negate() if self.side is OrderSide.BUY else self.price), self.priority


class _BookSide:
    """One side of the market mirror (a side of the engine's `OrderBook`) and our consumption per level."""

    __slots__ = ("_book", "_consumed", "_is_bid", "_side")

    def __init__(self, book: OrderBook, *, is_bid: bool) -> None:
        self._book = book
        self._is_bid = is_bid
        self._side = BookSide.BID if is_bid else BookSide.ASK
        self._consumed: dict[Decimal, Decimal] = {}

    def forget(self, changes: Iterable[LevelChange]) -> None:
        """The feed updated these levels: it is the truth there again (our consumption is forgotten)."""
        consumed = self._consumed
        if consumed:
            for price, _size in changes:
                consumed.pop(price, None)

    def forget_all(self) -> None:
        """A snapshot replaced the side: all consumption is forgotten."""
        self._consumed.clear()

    def visible(self, price: Decimal) -> Decimal:
        """The level's size less what our orders consumed there (0 when there is no level)."""
        size = self._book.size_at(self._side, price)
        if size is None:
            return ZERO
        return self._less_used(price, size)

    def _less_used(self, price: Decimal, size: Decimal) -> Decimal:
        used = self._consumed.get(price) if self._consumed else None
        if used is None:
            return size
        return max(ZERO, _EXACT.subtract(size, used))

    def consume(self, price: Decimal, quantity: Decimal) -> None:
        """Hide `quantity` of the level from later orders until the feed updates it."""
        self._consumed[price] = _EXACT.add(self._consumed.get(price, ZERO), quantity)

    def visible_best_first(self) -> Iterator[tuple[Decimal, Decimal]]:
        """(price, visible size) of every level, best first (highest bid, lowest ask), lazily."""
        for price, size in self._book.levels_best_first(self._side):
            yield price, self._less_used(price, size)

    def crosses(self, price: Decimal, limit: Decimal | None) -> bool:
        """True when a level at `price` is within an opposite order's `limit` (None: any price)."""
        if limit is None:
            return True
        return price >= limit if self._is_bid else price <= limit

    def consumption(self) -> list[list[str]]:
        """Our consumption as [price, size] text pairs, in price order."""
        return [[str(price), str(self._consumed[price])] for price in sorted(self._consumed)]

    def restore_consumption(self, consumed: Iterable[Iterable[str]]) -> None:
        """Replace our consumption with snapshot data from `consumption`."""
        self._consumed = {to_decimal(price): to_decimal(size) for price, size in consumed}


class MatchingEngine:
    """The market mirror of one instrument and our resting orders on it."""

    def __init__(self, instrument_id: InstrumentId) -> None:
        self._instrument_id = instrument_id
        self._book = OrderBook(instrument_id)  # the mirror: the domain's book, fed the same frames
        self._bids = _BookSide(self._book, is_bid=True)
        self._asks = _BookSide(self._book, is_bid=False)
        self._resting: dict[ClientOrderId, RestingOrder] = {}

    @property
    def instrument_id(self) -> InstrumentId:
        """The instrument this engine matches."""
        return self._instrument_id

    # -- market data -------------------------------------------------------------------------

    def apply_book_update(self, update: OrderBookUpdate) -> list[Execution]:
        """Apply one frame of the feed; return what our resting orders traded because of it.

        A frame with a negative size is refused whole (`InvalidValueError`), nothing changed: the
        book checks the whole frame before it touches anything.
        """
        if update.instrument_id != self._instrument_id:
            raise InvalidValueError(
                f"engine of {self._instrument_id} refuses an update for {update.instrument_id}"
            )
        self._book.apply(update)
        if update.is_snapshot:
            self._bids.forget_all()
            self._asks.forget_all()
        else:
            self._bids.forget(update.bids)
            self._asks.forget(update.asks)
        if not self._resting:
            return []
        self._clamp_queues()
        return self._match_crossing()

    def apply_trade(self, trade: TradeTick) -> list[Execution]:
        """Apply one public trade to our resting orders' queues; return the fills it gave them."""
        if trade.instrument_id != self._instrument_id:
            raise InvalidValueError(
                f"engine of {self._instrument_id} refuses a trade on {trade.instrument_id}"
            )
        executions: list[Execution] = []
        if trade.size <= 0 or not self._resting:
            return executions
        for side in (OrderSide.BUY, OrderSide.SELL):
            if trade.aggressor_side is side:
                continue  # an aggressor takes from the other side, never from its own
            hit = sorted(
                (order for order in self._resting.values() if order.side is side),
                key=RestingOrder.sort_key,
            )
            available = trade.size  # the size reaching the next order: less our fills so far
            for order in hit:
                if not order.is_better_or_equal(trade.price):
                    break  # sorted best first: the rest are further away
                if order.price == trade.price:
                    ahead = min(order.queue_ahead, available)
                    order.queue_ahead = _EXACT.subtract(order.queue_ahead, ahead)
                    room = _EXACT.subtract(available, ahead)
                else:  # traded through our price: everyone ahead of us at our level is gone
                    order.queue_ahead = ZERO
                    room = available
                quantity = min(order.leaves, room)
                if quantity > 0:
                    executions.append(self._fill_resting(order, quantity))
                    available = _EXACT.subtract(available, quantity)
        self._drop_filled()
        return executions

    # -- our orders --------------------------------------------------------------------------

    def would_cross(self, side: OrderSide, price: Decimal) -> bool:
        """True when an order of `side` at `price` would take visible liquidity now."""
        book = self._opposite(side)
        for level, visible in book.visible_best_first():
            if not book.crosses(level, price):
                return False
            if visible > 0:
                return True
        return False

    def can_fill(self, side: OrderSide, quantity: Decimal, limit: Decimal | None) -> bool:
        """True when the visible opposite liquidity within `limit` (None: any) covers `quantity`."""
        book = self._opposite(side)
        total = ZERO
        for level, visible in book.visible_best_first():
            if not book.crosses(level, limit):
                break
            total = _EXACT.add(total, visible)
            if total >= quantity:
                return True
        return False

    def take(
        self, client_order_id: ClientOrderId, side: OrderSide, quantity: Decimal, limit: Decimal | None
    ) -> list[Execution]:
        """Walk the opposite side best first, within `limit` (None: any price), up to `quantity`.

        One taker execution per level, at the level's price; the size taken is consumed.
        """
        executions = [
            Execution(client_order_id, price, taken, LiquiditySide.TAKER)
            for price, taken in self._walk(side, quantity, limit)
        ]
        if executions:
            self._clamp_queues()
        return executions

    def rest(
        self, client_order_id: ClientOrderId, side: OrderSide, price: Decimal, leaves: Decimal, priority: int
    ) -> RestingOrder:
        """Start resting an order behind the level's visible size at `price` on its own side."""
        if client_order_id in self._resting:
            raise InvalidValueError(f"order {client_order_id} is already resting")
        if leaves <= 0:
            raise InvalidValueError(f"order {client_order_id}: a resting order needs a positive size")
        own = self._bids if side is OrderSide.BUY else self._asks
        order = RestingOrder(client_order_id, side, price, leaves, own.visible(price), priority)
        self._resting[client_order_id] = order
        return order

    def remove(self, client_order_id: ClientOrderId) -> RestingOrder | None:
        """Stop resting an order (canceled, expired); None when it is not resting."""
        return self._resting.pop(client_order_id, None)

    def resting(self, client_order_id: ClientOrderId) -> RestingOrder | None:
        """The resting order with this id, if any."""
        return self._resting.get(client_order_id)

    def resting_orders(self) -> list[RestingOrder]:
        """Our resting orders, in time priority."""
        return sorted(self._resting.values(), key=lambda order: order.priority)

    def visible_size(self, side: OrderSide, price: Decimal) -> Decimal:
        """The mirror's visible size at `price` on the book side where orders of `side` rest."""
        return (self._bids if side is OrderSide.BUY else self._asks).visible(price)

    # -- snapshot ----------------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """The engine's whole state as plain JSON-friendly data (Decimals as strings)."""
        return {
            "bids": [[str(price), str(size)] for price, size in self._book.bids()],
            "asks": [[str(price), str(size)] for price, size in self._book.asks()],
            "consumed_bids": self._bids.consumption(),
            "consumed_asks": self._asks.consumption(),
            "resting": [
                {
                    "client_order_id": order.client_order_id.value,
                    "side": order.side.value,
                    "price": str(order.price),
                    "leaves": str(order.leaves),
                    "queue_ahead": str(order.queue_ahead),
                    "priority": order.priority,
                }
                for order in self.resting_orders()
            ],
        }

    def restore(self, data: Mapping[str, Any]) -> None:
        """Replace the engine's whole state with a `snapshot()`."""
        book = OrderBook(self._instrument_id)
        book.apply(
            OrderBookUpdate(
                self._instrument_id,
                True,
                tuple((to_decimal(price), to_decimal(size)) for price, size in data["bids"]),
                tuple((to_decimal(price), to_decimal(size)) for price, size in data["asks"]),
                0,
            )
        )
        self._book = book
        self._bids = _BookSide(book, is_bid=True)
        self._asks = _BookSide(book, is_bid=False)
        self._bids.restore_consumption(data["consumed_bids"])
        self._asks.restore_consumption(data["consumed_asks"])
        self._resting = {}
        for item in data["resting"]:
            order = RestingOrder(
                ClientOrderId.parse(item["client_order_id"]),
                OrderSide(item["side"]),
                to_decimal(item["price"]),
                to_decimal(item["leaves"]),
                to_decimal(item["queue_ahead"]),
                int(item["priority"]),
            )
            self._resting[order.client_order_id] = order

    # -- internals ---------------------------------------------------------------------------

    def _opposite(self, side: OrderSide) -> _BookSide:
        return self._asks if side is OrderSide.BUY else self._bids

    def _walk(self, side: OrderSide, quantity: Decimal, limit: Decimal | None) -> list[LevelChange]:
        """Consume visible opposite liquidity within `limit`, best first; return (price, size) taken."""
        book = self._opposite(side)
        taken: list[LevelChange] = []
        remaining = quantity
        for level, visible in book.visible_best_first():
            if remaining <= 0 or not book.crosses(level, limit):
                break
            if visible <= 0:
                continue
            size = min(visible, remaining)
            book.consume(level, size)
            taken.append((level, size))
            remaining = _EXACT.subtract(remaining, size)
        return taken

    def _fill_resting(self, order: RestingOrder, quantity: Decimal) -> Execution:
        order.leaves = _EXACT.subtract(order.leaves, quantity)
        return Execution(order.client_order_id, order.price, quantity, LiquiditySide.MAKER)

    def _drop_filled(self) -> None:
        for client_order_id in [key for key, order in self._resting.items() if order.leaves <= 0]:
            del self._resting[client_order_id]

    def _clamp_queues(self) -> None:
        """A level smaller than the queue ahead of us: the cancels were ahead; we move up."""
        for order in self._resting.values():
            visible = self.visible_size(order.side, order.price)
            order.queue_ahead = min(order.queue_ahead, visible)

    def _match_crossing(self) -> list[Execution]:
        """Fill resting orders the book moved through, as maker at their own price."""
        executions: list[Execution] = []
        if not self._resting:
            return executions
        for order in sorted(self._resting.values(), key=RestingOrder.sort_key):
            taken = self._walk(order.side, order.leaves, order.price)
            if not taken:
                continue
            total = ZERO
            for _, size in taken:
                total = _EXACT.add(total, size)
            order.queue_ahead = ZERO
            executions.append(self._fill_resting(order, total))
        if executions:
            self._drop_filled()
            self._clamp_queues()
        return executions


def check_update(update: OrderBookUpdate) -> None:
    """Refuse a frame holding a negative size (as `domain.order_book.OrderBook` does)."""
    for side, changes in (("bid", update.bids), ("ask", update.asks)):
        for price, size in changes:
            if size.is_signed() and size:
                raise InvalidValueError(
                    f"{update.instrument_id}: negative {side} size {size} at price {price}"
                )
