"""The strategy engine: one per strategy instance; it builds views, calls the strategy, routes signals.

It owns what the strategy may know (`StrategyView`), kept from its own messages only:
- the strategy's orders, from the `OrderUpdated` snapshots execution sends it (every order not
  terminal is open to the strategy, INITIALIZED, SUBMITTED and PENDING_CANCEL included, in the
  order the orders were created);
- the strategy's position per instrument: the sum of its own applied fills, updated from the
  same message that delivers the fill, so the view handed with a fill already includes it;
- whether each instrument's book is stale (from the data engine's `BookTop`s) and the trading
  state (from risk's `TradingStateChanged`).

Every signal is journaled under the strategy's id as the command it becomes:
- an `OrderIntent` becomes `CheckOrder` to risk (the engine does not drop intents on a stale
  book: the strategy's own guard does that, and risk denies any that slip through);
- a `CancelIntent` becomes `CancelOrder` to execution, only for an order of this strategy that is
  still open (a cancel never needs risk's approval);
- a `CancelAllIntent` becomes one `CancelOrder` per open order of this strategy (on the
  instrument, if it names one);
- a `TargetPosition` (hold `quantity`, signed) is executed against the engine's view: the
  strategy's open orders on the instrument are canceled (their fills would move the position
  past the target), and the difference between the target and the position, snapped DOWN to the
  size increment (never more than asked), goes to risk as one market IOC `OrderIntent` tagged
  `target_position` (reduce-only when it only brings the position toward zero). A difference
  below one increment or the instrument's minimum size is journaled as `SignalIgnored` ("at
  target"). The next `TargetPosition` corrects what a partial fill or a racing fill left over;
  a strategy that wants limit orders emits `OrderIntent`s itself;
- anything else (an intent for another strategy or instrument) is journaled as `SignalIgnored`
  with the reason.

Restart and state (the strategy is user code: the likeliest thing in the kernel to raise):
- **Checkpoints.** After a message the strategy handled without raising, the engine compares the
  strategy's `snapshot()` with the last one it journaled and, if it differs, journals a deep copy
  as `StrategyStateSaved` under the strategy's stream, after the commands the message produced.
  It does so after every decision: every timer, every order event, and every book top or trade
  that made the strategy emit a signal. A book top or trade that emitted nothing (most of them:
  the strategy only updated its indicators) is checkpointed at most once per
  `checkpoint_interval_ns` of clock time (default 1 s; 0 checkpoints after every message). So the
  last record holds every decision the strategy made (its tags, counters, orders in flight), and a
  crash loses at most the indicator updates of the silent market data of the last interval, never
  a decision; the journal grows with the strategy's decisions, not with the market's message rate
  (ADR 0005). The rule depends only on the messages and their times, so two runs of the same
  inputs journal the same records (a deterministic journal stays one). `SaveStrategyState` (sent
  at the end of a replay and on a graceful shutdown) checkpoints at once, so a journal that ends
  cleanly ends with the strategy's last state.
- **Rebuild.** A restarted actor calls `rebuild()`: a FRESH strategy from the engine's factory
  (by default a deep copy of the strategy as it was handed to the engine, before any message:
  the same configuration, no state), `restore()`d from the last `StrategyStateSaved` in the
  journal (none: the state it had when the engine was built). The instance that raised, and
  whatever it half-updated, is dropped.
- **The engine's own view is kept, not rebuilt.** The open orders, positions, book health and
  trading state are the engine's bookkeeping (kernel code, not the strategy's), updated from the
  message before the strategy is called and never half-updated by the strategy raising; they are
  exactly the sum of the messages this engine has been delivered, the poison one included (its
  fill did happen). Rebuilding them from the journal's order records or from execution's order
  table would be wrong on a restart: both may already hold order events whose `OrderUpdated` is
  still waiting in this actor's inbox, which the supervisor redelivers after the restart (a fill
  would be counted twice). After a PROCESS restart there is no inbox and no engine to keep:
  `restore` rebuilds the view from the recovered journal state (`application.recovery`).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING

from application.commands import CancelOrder, CheckOrder, SaveStrategyState
from application.engines.journal_writer import JournalWriter
from application.engines.messages import (
    EXECUTION,
    RISK,
    OrderSnapshot,
    OrderUpdated,
    SignalIgnored,
    StrategyStateSaved,
    Timer,
    TradingStateChanged,
)
from application.ports.clock import Clock
from application.runtime.bus import Bus
from application.strategies.strategy import Strategy
from application.strategies.strategy_view import OpenOrderView, StrategyView
from domain.identifiers import ClientOrderId
from domain.instrument import Instrument, InstrumentId
from domain.market_data import BookTop, TradeTick
from domain.numbers import ZERO
from domain.order_terms import OrderSide, OrderType, TimeInForce
from domain.orders.order_events import OrderFilled
from domain.risk.trading_state import TradingState
from domain.signals import CancelAllIntent, CancelIntent, OrderIntent, Signal, TargetPosition

if TYPE_CHECKING:  # the recovery package imports the engines' messages
    from application.recovery.kernel_state import KernelState

#: How often silent market data (book tops and trades that emitted no signal) is checkpointed.
DEFAULT_CHECKPOINT_INTERVAL_NS = 1_000_000_000


class StrategyEngine:
    """Drives one strategy (see the module doc)."""

    def __init__(
        self,
        strategy: Strategy,
        instruments: Mapping[InstrumentId, Instrument],
        bus: Bus,
        journal: JournalWriter,
        clock: Clock,
        *,
        strategy_factory: Callable[[], Strategy] | None = None,
        checkpoint_interval_ns: int = DEFAULT_CHECKPOINT_INTERVAL_NS,
    ) -> None:
        if checkpoint_interval_ns < 0:
            raise ValueError(f"checkpoint_interval_ns must not be negative, got {checkpoint_interval_ns}")
        missing = [str(iid) for iid in strategy.instrument_ids if iid not in instruments]
        if missing:
            raise ValueError(f"strategy {strategy.strategy_id}: unknown instrument(s) {', '.join(missing)}")
        self._strategy = strategy
        self._instruments = {iid: instruments[iid] for iid in strategy.instrument_ids}
        self._bus = bus
        self._journal = journal
        self._clock = clock
        self._stream = strategy.strategy_id.value
        self._orders: dict[ClientOrderId, OrderSnapshot] = {}
        self._positions: dict[InstrumentId, Decimal] = {}
        self._stale: dict[InstrumentId, bool] = {}
        self._order_views: dict[InstrumentId, tuple[OpenOrderView, ...]] = {}  # cache; cleared on change
        self._trading_state = TradingState.ACTIVE
        self.signals_emitted = 0
        self.signals_ignored = 0
        self.rebuilds = 0
        # What a fresh strategy starts from: the factory's, or a copy of this one before any message.
        self._factory = strategy_factory if strategy_factory is not None else _copier(strategy)
        self._initial_state: dict[str, object] = copy.deepcopy(dict(strategy.snapshot()))
        self._saved: dict[str, object] = self._initial_state  # the last state journaled (or initial)
        self._saved_sequence = 0  # where the last StrategyStateSaved is in the journal (0: none)
        self._scan_from = 1  # without one: where this process's journal starts (after a restore)
        self._checkpoint_interval_ns = checkpoint_interval_ns
        self._last_checkpoint_ns: int | None = None  # when the snapshot was last compared

    @property
    def strategy(self) -> Strategy:
        """The strategy driven."""
        return self._strategy

    # ----- messages -----

    def handle(self, message: object) -> None:
        """Handle a BookTop, TradeTick, Timer, OrderUpdated, TradingStateChanged or SaveStrategyState."""
        if isinstance(message, BookTop):
            if message.instrument_id in self._instruments:
                emitted = self.signals_emitted
                self._on_top(message)
                self._market_checkpoint(decided=self.signals_emitted != emitted)
        elif isinstance(message, TradeTick):
            if message.instrument_id in self._instruments:
                emitted = self.signals_emitted
                self._emit(self._strategy.on_trade(message, self.view(message.instrument_id)))
                self._market_checkpoint(decided=self.signals_emitted != emitted)
        elif isinstance(message, OrderUpdated):
            self._on_order_updated(message)
            self._checkpoint()
        elif isinstance(message, Timer):
            self._journal.record(self._stream, message)
            for instrument_id in self._instruments:
                self._emit(self._strategy.on_timer(message.ts_ns, self.view(instrument_id)))
            self._checkpoint()
        elif isinstance(message, TradingStateChanged):
            self._trading_state = message.state
        elif isinstance(message, SaveStrategyState):
            self._checkpoint()
        else:
            raise TypeError(f"the strategy engine does not handle {type(message).__name__}")

    # ----- the strategy's state: checkpoints and rebuild (see the module doc) -----

    def _market_checkpoint(self, *, decided: bool) -> None:
        """After a book top or trade: checkpoint a decision now, silent data once per interval."""
        if decided:
            self._checkpoint()
            return
        last = self._last_checkpoint_ns
        if last is None or self._clock.now_ns() - last >= self._checkpoint_interval_ns:
            self._checkpoint()

    def _checkpoint(self) -> None:
        """Journal the strategy's snapshot if it changed since the last one journaled."""
        self._last_checkpoint_ns = self._clock.now_ns()
        state = dict(self._strategy.snapshot())
        if state == self._saved:
            return
        saved = copy.deepcopy(state)
        record = self._journal.record(
            self._stream, StrategyStateSaved(self._strategy.strategy_id, saved, self._clock.now_ns())
        )
        self._saved = saved
        self._saved_sequence = record.sequence

    def restore(self, state: KernelState) -> None:
        """After a process restart, before any message: the strategy's state and the engine's view.

        The strategy `restore`s its last journaled state (none: it keeps the one it was built
        with), and the engine remembers where that record is, so `last_saved_state` reads the
        journal from there rather than from the start. The view is rebuilt from the recovered
        orders: this strategy's open orders and its position (the sum of its orders' fills), and
        the trading state risk last published. (No inbox survives a process restart, so unlike
        `rebuild` there is nothing to redeliver that could count a fill twice.)
        """
        strategy_id = self._strategy.strategy_id
        saved = state.strategy_states.get(strategy_id)
        if saved is not None:
            self._strategy.restore(copy.deepcopy(dict(saved)))
            self._saved = copy.deepcopy(dict(saved))
            self._saved_sequence = state.strategy_state_sequence(strategy_id)
        self._scan_from = state.last_sequence + 1
        self._orders = {}
        self._order_views = {}
        self._positions = {}
        for order in state.orders:
            if order.strategy_id != strategy_id:
                continue
            if order.is_open:
                self._orders[order.client_order_id] = OrderSnapshot.of(order)
            for fill in order.fills:
                self._positions[fill.instrument_id] = self.position(fill.instrument_id) + fill.signed_quantity
        self._trading_state = state.trading_state

    def last_saved_state(self) -> Mapping[str, object] | None:
        """The state of the last `StrategyStateSaved` of this strategy in the journal (None: none yet)."""
        found: Mapping[str, object] | None = None
        sequence = 0
        for record in self._journal.journal.read(self._saved_sequence or self._scan_from):
            event = record.event
            if (
                record.stream_id == self._stream
                and isinstance(event, StrategyStateSaved)
                and event.strategy_id == self._strategy.strategy_id
            ):
                found, sequence = event.state, record.sequence
        if found is not None:
            self._saved_sequence = sequence
        return found

    def rebuild(self) -> None:
        """A restarted actor: a fresh strategy, restored from the journal's last snapshot of it.

        Raises (and the restart counts as failed) if the factory builds a strategy of another id
        or other instruments, or if `restore` refuses the state.
        """
        journaled = self.last_saved_state()
        state = copy.deepcopy(dict(journaled if journaled is not None else self._initial_state))
        fresh = self._factory()
        if fresh.strategy_id != self._strategy.strategy_id or tuple(fresh.instrument_ids) != tuple(
            self._strategy.instrument_ids
        ):
            raise ValueError(
                f"strategy factory of {self._strategy.strategy_id} built "
                f"{fresh.strategy_id} on {', '.join(map(str, fresh.instrument_ids))}"
            )
        fresh.restore(copy.deepcopy(state))  # its own copy: `state` stays the saved one
        self._strategy = fresh
        self._saved = state
        self.rebuilds += 1

    def _on_top(self, top: BookTop) -> None:
        self._stale[top.instrument_id] = top.stale
        self._emit(self._strategy.on_book(top, self.view(top.instrument_id)))

    def _on_order_updated(self, update: OrderUpdated) -> None:
        snapshot = update.snapshot
        if snapshot.strategy_id != self._strategy.strategy_id:
            raise ValueError(
                f"order {snapshot.client_order_id} of {snapshot.strategy_id} "
                f"delivered to {self._strategy.strategy_id}"
            )
        if snapshot.is_terminal:
            self._orders.pop(snapshot.client_order_id, None)
        else:
            self._orders[snapshot.client_order_id] = snapshot
        self._order_views.pop(snapshot.instrument_id, None)
        event = update.event
        if isinstance(event, OrderFilled):
            fill = event.fill
            self._positions[fill.instrument_id] = self.position(fill.instrument_id) + fill.signed_quantity
        if snapshot.instrument_id in self._instruments:
            self._emit(self._strategy.on_order_event(event, self.view(snapshot.instrument_id)))

    # ----- what the strategy sees -----

    def position(self, instrument_id: InstrumentId) -> Decimal:
        """The strategy's signed position on an instrument (its own fills only)."""
        return self._positions.get(instrument_id, ZERO)

    def open_orders(self, instrument_id: InstrumentId | None = None) -> tuple[OrderSnapshot, ...]:
        """The strategy's orders that are not terminal, in creation order (of one instrument, or all)."""
        return tuple(
            order
            for order in self._orders.values()
            if instrument_id is None or order.instrument_id == instrument_id
        )

    def view(self, instrument_id: InstrumentId) -> StrategyView:
        """The view of one instrument now (see `StrategyView` for the contract)."""
        open_orders = self._order_views.get(instrument_id)
        if open_orders is None:
            open_orders = tuple(order.view() for order in self.open_orders(instrument_id))
            self._order_views[instrument_id] = open_orders
        return StrategyView(
            now_ns=self._clock.now_ns(),
            instrument=self._instruments[instrument_id],
            position=self.position(instrument_id),
            open_orders=open_orders,
            book_stale=self._stale.get(instrument_id, True),  # no book seen yet: not trusted
            trading_state=self._trading_state,
        )

    # ----- signals out -----

    def _emit(self, signals: Sequence[Signal]) -> None:
        now = self._clock.now_ns()
        for signal in signals:
            self.signals_emitted += 1
            if isinstance(signal, OrderIntent):
                self._intent(signal, now)
            elif isinstance(signal, CancelIntent):
                self._cancel(signal, now)
            elif isinstance(signal, CancelAllIntent):
                self._cancel_all(signal, now)
            else:
                self._target(signal, now)

    def _mine(self, signal: Signal, now: int) -> bool:
        if signal.strategy_id != self._strategy.strategy_id:
            self._ignore(
                signal, f"signal of {signal.strategy_id} emitted by {self._strategy.strategy_id}", now
            )
            return False
        return True

    def _intent(self, intent: OrderIntent, now: int) -> None:
        if not self._mine(intent, now):
            return
        if intent.instrument_id not in self._instruments:
            self._ignore(intent, f"{intent.instrument_id} is not one of the strategy's instruments", now)
            return
        command = CheckOrder(intent, now)
        self._journal.record(self._stream, command)
        self._bus.send(RISK, command)

    def _target(self, target: TargetPosition, now: int) -> None:
        if not self._mine(target, now):
            return
        instrument = self._instruments.get(target.instrument_id)
        if instrument is None:
            self._ignore(target, f"{target.instrument_id} is not one of the strategy's instruments", now)
            return
        for order in self.open_orders(target.instrument_id):
            self._send_cancel(order.client_order_id, now)
        position = self.position(target.instrument_id)
        delta = target.quantity - position
        size = instrument.round_size(abs(delta))
        if size <= 0 or size < instrument.min_size:
            self._ignore(target, f"at target: position {position}, target {target.quantity}", now)
            return
        side = OrderSide.BUY if delta > 0 else OrderSide.SELL
        reduce_only = (position > 0 and 0 <= target.quantity < position) or (
            position < 0 and position < target.quantity <= 0
        )
        intent = OrderIntent(
            target.strategy_id,
            target.instrument_id,
            side,
            size,
            OrderType.MARKET,
            time_in_force=TimeInForce.IOC,
            reduce_only=reduce_only,
            tag="target_position",
        )
        self._intent(intent, now)

    def _cancel(self, cancel: CancelIntent, now: int) -> None:
        if not self._mine(cancel, now):
            return
        if cancel.client_order_id not in self._orders:
            self._ignore(cancel, f"order {cancel.client_order_id} is not an open order of this strategy", now)
            return
        self._send_cancel(cancel.client_order_id, now)

    def _cancel_all(self, cancel: CancelAllIntent, now: int) -> None:
        if not self._mine(cancel, now):
            return
        for order in self.open_orders(cancel.instrument_id):
            self._send_cancel(order.client_order_id, now)

    def _send_cancel(self, client_order_id: ClientOrderId, now: int) -> None:
        command = CancelOrder(client_order_id, f"strategy {self._strategy.strategy_id}", now)
        self._journal.record(self._stream, command)
        self._bus.send(EXECUTION, command)

    def _ignore(self, signal: Signal, reason: str, now: int) -> None:
        self.signals_ignored += 1
        self._journal.record(self._stream, SignalIgnored(self._strategy.strategy_id, signal, reason, now))


def _copier(strategy: Strategy) -> Callable[[], Strategy]:
    """A factory of fresh copies of `strategy` as it is now (before any message)."""
    template = copy.deepcopy(strategy)

    def fresh() -> Strategy:
        return copy.deepcopy(template)

    return fresh
