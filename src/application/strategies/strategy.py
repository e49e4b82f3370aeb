"""The strategy API: market data, timers and order events in, signals out, no I/O.

A strategy is a deterministic function of what it is given: each call receives a value (a book
top, a trade, a time, an order event) and a `StrategyView` (time, instrument, position, open
orders, book health, trading state) and returns signals (`domain.signals`). It reads no clock,
draws no randomness, does no I/O and never submits anything itself: the kernel journals its
signals, checks them (risk) and acts on them (execution). Its own state (indicators, what it has
sent) is exported by `snapshot()` as JSON-friendly values and rebuilt by `restore()`, so a
restarted strategy actor continues exactly where it stopped.

The guard every strategy here goes through (`Permission`, `permission_for`, `permitted`):
- HALTED: nothing at all. The circuit breaker already sends cancel-all when it halts trading, and
  a strategy adding orders or cancels of its own would only race it.
- The book is stale (`view.book_stale` or `top.stale`): cancels only, never a new order. Resting
  quotes priced off a book we can no longer trust are the dangerous thing in a data outage (they
  get picked off when the market moves unseen), so pulling them is the safe move; submitting is not.
- REDUCING: cancels and reduce-only order intents (and target positions toward zero).
- ACTIVE: anything.
Strategies consult the permission before deciding (so their own record of what they sent stays
true), and `SingleInstrumentStrategy` filters their output through `permitted` once more.
"""

from __future__ import annotations

import abc
import enum
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Protocol

from application.strategies.strategy_view import StrategyView
from domain.identifiers import StrategyId
from domain.instrument import InstrumentId
from domain.market_data import BookTop, TradeTick
from domain.orders.order_events import OrderEvent
from domain.risk.trading_state import TradingState
from domain.signals import CancelAllIntent, CancelIntent, OrderIntent, Signal


class Strategy(Protocol):
    """What the strategy engine drives. Every method is pure apart from the strategy's own state."""

    @property
    def strategy_id(self) -> StrategyId:
        """This strategy instance's name; every signal it emits carries it."""
        ...

    @property
    def instrument_ids(self) -> tuple[InstrumentId, ...]:
        """The instruments whose books, trades and order events the strategy receives."""
        ...

    def on_book(self, top: BookTop, view: StrategyView) -> Sequence[Signal]:
        """A new top of book (after a whole frame was applied)."""
        ...

    def on_trade(self, trade: TradeTick, view: StrategyView) -> Sequence[Signal]:
        """A public trade."""
        ...

    def on_timer(self, ts_ns: int, view: StrategyView) -> Sequence[Signal]:
        """A timer tick at `ts_ns` (the kernel's clock; simulated in replay)."""
        ...

    def on_order_event(self, event: OrderEvent, view: StrategyView) -> Sequence[Signal]:
        """An event of one of this strategy's orders; `view` already reflects it."""
        ...

    def snapshot(self) -> Mapping[str, object]:
        """The strategy's own state as JSON-friendly values (Decimals as strings)."""
        ...

    def restore(self, state: Mapping[str, object]) -> None:
        """Replace the strategy's state with one `snapshot()` returned."""
        ...


class StrategyStateError(ValueError):
    """A state handed to `restore` is not one this strategy's `snapshot` could have produced."""


class StrategyConfigError(ValueError):
    """A strategy's configuration is invalid: an unknown or missing key, a float, a bad value."""


class Permission(enum.Enum):
    """What a strategy may emit right now (see the module doc for why)."""

    TRADE = "TRADE"  # anything
    REDUCE_ONLY = "REDUCE_ONLY"  # cancels, reduce-only order intents, targets toward zero
    CANCEL_ONLY = "CANCEL_ONLY"  # cancels: the book is stale
    NOTHING = "NOTHING"  # trading is halted

    @property
    def may_cancel(self) -> bool:
        """True when cancels may be emitted."""
        return self is not Permission.NOTHING

    @property
    def may_reduce(self) -> bool:
        """True when reduce-only order intents may be emitted."""
        return self in (Permission.TRADE, Permission.REDUCE_ONLY)

    @property
    def may_open(self) -> bool:
        """True when order intents that may add exposure may be emitted."""
        return self is Permission.TRADE


def permission_for(view: StrategyView, top_stale: bool = False) -> Permission:
    """The permission the trading state and the book's health leave a strategy."""
    if view.trading_state is TradingState.HALTED:
        return Permission.NOTHING
    if view.book_stale or top_stale:
        return Permission.CANCEL_ONLY
    if view.trading_state is TradingState.REDUCING:
        return Permission.REDUCE_ONLY
    return Permission.TRADE


def _target_reduces(target: Decimal, position: Decimal) -> bool:
    """True when holding `target` instead of `position` only brings the position toward zero."""
    return abs(target) <= abs(position) and target * position >= 0


def permitted(signal: Signal, permission: Permission, position: Decimal) -> bool:
    """True when `signal` may go out under `permission` (`position`: the strategy's, signed)."""
    if isinstance(signal, (CancelIntent, CancelAllIntent)):
        return permission.may_cancel
    if permission.may_open:
        return True
    if not permission.may_reduce:
        return False
    if isinstance(signal, OrderIntent):
        return signal.reduce_only
    return _target_reduces(signal.quantity, position)


def guard(signals: Sequence[Signal], permission: Permission, position: Decimal) -> tuple[Signal, ...]:
    """The signals `permission` lets through, in their order."""
    return tuple(signal for signal in signals if permitted(signal, permission, position))


class SingleInstrumentStrategy(abc.ABC):
    """The base of strategies trading one instrument: routing, the guard, and nothing else.

    Subclasses implement the `_book`, `_trade`, `_timer` and `_order_event` hooks, which receive
    the `Permission` and must respect it; data of another instrument never reaches them. Their
    output passes through `guard` on the way out as a second line of defence.
    """

    def __init__(self, strategy_id: StrategyId, instrument_id: InstrumentId) -> None:
        self._strategy_id = strategy_id
        self._instrument_id = instrument_id

    @property
    def strategy_id(self) -> StrategyId:
        """This strategy instance's name."""
        return self._strategy_id

    @property
    def instrument_id(self) -> InstrumentId:
        """The one instrument this strategy trades."""
        return self._instrument_id

    @property
    def instrument_ids(self) -> tuple[InstrumentId, ...]:
        """The instruments the strategy trades: just the one."""
        return (self._instrument_id,)

    def _mine(self, view: StrategyView) -> bool:
        return view.instrument.id == self._instrument_id

    def on_book(self, top: BookTop, view: StrategyView) -> tuple[Signal, ...]:
        """Route a book top of this instrument to `_book`, then guard the output."""
        if top.instrument_id != self._instrument_id or not self._mine(view):
            return ()
        permission = permission_for(view, top.stale)
        return guard(self._book(top, view, permission), permission, view.position)

    def on_trade(self, trade: TradeTick, view: StrategyView) -> tuple[Signal, ...]:
        """Route a trade of this instrument to `_trade`, then guard the output."""
        if trade.instrument_id != self._instrument_id or not self._mine(view):
            return ()
        permission = permission_for(view)
        return guard(self._trade(trade, view, permission), permission, view.position)

    def on_timer(self, ts_ns: int, view: StrategyView) -> tuple[Signal, ...]:
        """Route a timer tick to `_timer`, then guard the output."""
        if not self._mine(view):
            return ()
        permission = permission_for(view)
        return guard(self._timer(ts_ns, view, permission), permission, view.position)

    def on_order_event(self, event: OrderEvent, view: StrategyView) -> tuple[Signal, ...]:
        """Route an order event to `_order_event`, then guard the output."""
        if not self._mine(view):
            return ()
        permission = permission_for(view)
        return guard(self._order_event(event, view, permission), permission, view.position)

    @abc.abstractmethod
    def _book(self, top: BookTop, view: StrategyView, permission: Permission) -> Sequence[Signal]:
        """Decide on a book top of this strategy's instrument."""

    def _trade(self, trade: TradeTick, view: StrategyView, permission: Permission) -> Sequence[Signal]:
        """Decide on a trade; by default a trade changes nothing."""
        del trade, view, permission
        return ()

    @abc.abstractmethod
    def _timer(self, ts_ns: int, view: StrategyView, permission: Permission) -> Sequence[Signal]:
        """Decide on a timer tick."""

    @abc.abstractmethod
    def _order_event(self, event: OrderEvent, view: StrategyView, permission: Permission) -> Sequence[Signal]:
        """Decide on an event of one of this strategy's orders."""

    @abc.abstractmethod
    def snapshot(self) -> Mapping[str, object]:
        """The strategy's own state as JSON-friendly values."""

    @abc.abstractmethod
    def restore(self, state: Mapping[str, object]) -> None:
        """Replace the strategy's state with one `snapshot()` returned."""
