"""The risk engine: the pre-trade check, the circuit breaker, and the trading state.

On a `CheckOrder` the engine:
1. snaps the intent to its instrument's grid (a bid's price rounds down, an ask's up, the size
   down; a size or price that rounds to nothing is denied `instrument_rules`);
2. builds a `RiskContext` from what it was told (see below) at the clock's time;
3. runs the `PreTradeCheck` (every rule, every denial collected) and its own book guard: no book
   seen or a one-sided book denies `no_reference`, a stale book denies `stale_reference`, whether
   or not the price band rule is configured. So an order can never go out on a stale book, even
   from a strategy that ignores staleness.
4. approved: records the order in the `OrderThrottle`, counts it as in flight (its exposure and
   reservation count from this moment, before execution has even built the order), and sends
   `ExecuteIntent` to execution; denied: counts each reason code once and sends `DenyIntent`
   (execution records the DENIED order). Both commands are journaled under "risk" first.

What the context is built from, kept from this engine's own messages, except the book tops:
- references: the mid of the latest `BookTop` of each instrument that is not stale, with the
  top's time (its age is measured against the clock); marks for valuing exposure: the latest
  top's mid, else the first fill price. The latest tops are READ from the data engine's `tops`
  (`tops=`, a live read-only mapping the data engine replaces entries of before it sends anything
  about a frame, so a check sees at least the top its strategy priced on; ADR 0008) rather than
  sent to risk frame by frame;
- exposures: the position per instrument (the sum of applied fills, from execution's
  `OrderUpdated`, so a fill moves leaves and position in the same message), open buys and sells
  (the working quantity of every open order plus the intents approved and not yet built);
- open order count (open orders plus approved in flight) and the throttle's recent send times;
- equity, high-water mark, daily P&L and balances in the reporting currency: the portfolio
  engine's latest `PortfolioSnapshot` (the starting equity before the first); balances are
  reduced by what open and in-flight orders reserve (leaves x limit price, or x the mark);
- gross notional: the worst case of every instrument quoted in the reporting currency, at its mark;
- trading state: the most restrictive of the operator's (`HaltTrading`/`ResumeTrading`), the
  breaker's, and a halt of the intent's instrument.

The circuit breaker hears rejects (`OrderRejected` updates, except a post-only order refused
because the market moved onto its price on the way: `post_only_crossed`), venue call failures and successes
(`VenueCallFailed`/`VenueCallSucceeded` from execution), and daily P&L and drawdown (each
`PortfolioSnapshot`). When it trips, the trip and a `CancelAllOrders` are journaled and the
command goes to execution; every change of the effective trading state is journaled and sent to
the strategies as `TradingStateChanged`.

Rebuild (a restarted actor, `rebuild()`): everything the journal says is replaced by a fold of it
(`KernelState`, from `state_factory`): the breaker (a fresh one, restored from the journaled trips
and resets), the operator's halts, the open orders, the positions and the fill ids counted in them,
the next approval id and the trading state last published (a change is published now). From
risk's own records: the approved intents not yet built into orders, or built and not yet submitted
(their `OrderUpdated` is still to come), count as in flight, and the throttle's send times are the
journaled approvals' times. Under the threaded runtime the fold may hold fills and order changes
whose `OrderUpdated` is still in this engine's inbox: delivered after the rebuild, a fill whose id
was counted is not counted again, and each update's snapshot (sent in order) overwrites the order's.
Kept: the tops and marks (market data is not journaled), the portfolio's last `PortfolioSnapshot`
(not journaled; replaced whole by each message, so never half-updated) and the statistics
(`checks`, `approvals`, `denials`). Lost, as after a process restart: the breaker's venue-failure
count and reject window (not journaled).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from typing import TYPE_CHECKING

import attrs

from application.commands import CancelOrder, CheckOrder, HaltTrading, ResumeTrading
from application.engines.journal_writer import JournalWriter
from application.engines.messages import (
    EXECUTION,
    RISK_STREAM,
    DenyIntent,
    ExecuteIntent,
    OrderInitialized,
    OrderSnapshot,
    OrderUpdated,
    PortfolioSnapshot,
    TradingStateChanged,
    VenueCallFailed,
    VenueCallSucceeded,
)
from application.ports.clock import Clock
from application.ports.notifier import Notifier, Severity
from application.runtime.bus import Bus
from domain.errors import InvalidValueError
from domain.identifiers import ClientOrderId, FillId
from domain.instrument import Instrument, InstrumentId
from domain.market_data import BookTop
from domain.numbers import EXACT_CONTEXT, ZERO
from domain.order_terms import OrderSide
from domain.orders.order_events import OrderFilled, OrderRejected
from domain.orders.order_status import OrderStatus
from domain.risk.breaker_events import BreakerOutput, BreakerTripped, CancelAllOrders
from domain.risk.circuit_breaker import CircuitBreaker
from domain.risk.exposure import Exposure
from domain.risk.order_throttle import OrderThrottle
from domain.risk.pre_trade_check import PreTradeCheck
from domain.risk.risk_context import CurrencyBalance, ReferencePrice, RiskContext
from domain.risk.risk_decision import Denial, ReasonCode, RiskDecision
from domain.risk.risk_limits import RiskLimits
from domain.risk.trading_state import TradingState
from domain.signals import OrderIntent

if TYPE_CHECKING:  # the recovery package imports the engines' messages
    from application.recovery.kernel_state import KernelState

_EXACT = EXACT_CONTEXT
GUARD_RULE = "BookGuard"
GRID_RULE = "GridSnap"


def snap_to_grid(intent: OrderIntent, instrument: Instrument) -> OrderIntent | Denial:
    """The intent with its price on the grid (bids down, asks up) and its size rounded down.

    A denial (`instrument_rules`) when the size or the price rounds to nothing.
    """
    quantity = instrument.round_size(intent.quantity)
    price = None if intent.price is None else instrument.round_price(intent.price, intent.side)
    if quantity == intent.quantity and price == intent.price:
        return intent
    try:
        return attrs.evolve(intent, quantity=quantity, price=price)
    except InvalidValueError as error:
        return Denial(
            GRID_RULE,
            ReasonCode.INSTRUMENT_RULES,
            f"{instrument.id}: {intent.side.value} {intent.quantity} @ {intent.price} does not survive "
            f"the grid ({error})",
        )


class RiskEngine:
    """Checks intents, watches the breaker, publishes the trading state (see the module doc)."""

    def __init__(
        self,
        limits: RiskLimits,
        instruments: Mapping[InstrumentId, Instrument],
        bus: Bus,
        journal: JournalWriter,
        clock: Clock,
        *,
        currency: str,
        starting_equity: Decimal,
        strategy_destinations: Iterable[str] = (),
        notifier: Notifier | None = None,
        state_factory: Callable[[], KernelState] | None = None,
        tops: Mapping[InstrumentId, BookTop],
    ) -> None:
        self._limits = limits
        self._state_factory = state_factory  # an empty KernelState configured as the kernel is
        self._check = PreTradeCheck(limits)
        self._breaker = CircuitBreaker(limits)
        self._throttle = OrderThrottle.from_limits(limits)
        self._instruments = dict(instruments)
        self._bus = bus
        self._journal = journal
        self._clock = clock
        self._currency = currency
        self._strategies = list(strategy_destinations)
        self._notifier = notifier
        self._operator_state = TradingState.ACTIVE
        self._halted_instruments: dict[InstrumentId, str] = {}
        self._published_state = TradingState.ACTIVE
        self._tops = tops
        self._fill_marks: dict[InstrumentId, Decimal] = {}  # marks before any book: a fill's price
        self._orders: dict[ClientOrderId, OrderSnapshot] = {}
        self._in_flight: dict[int, OrderIntent] = {}
        self._positions: dict[InstrumentId, Decimal] = {}
        self._fill_ids: set[FillId] = set()  # the fills counted in the positions
        self._portfolio = PortfolioSnapshot(
            currency, starting_equity, starting_equity, ZERO, ((currency, starting_equity),), 0
        )
        self._next_approval = 1
        self.checks = 0
        self.approvals = 0
        self.denials: Counter[str] = Counter()

    # ----- what the engine knows -----

    @property
    def breaker(self) -> CircuitBreaker:
        """The circuit breaker (read it; it changes only through this engine's messages)."""
        return self._breaker

    @property
    def limit_warnings(self) -> tuple[str, ...]:
        """The configured limits' warnings, for the operator."""
        return tuple(str(warning) for warning in self._check.warnings)

    @property
    def trading_state(self) -> TradingState:
        """The effective trading state: the operator's or the breaker's, whichever is stricter."""
        return self._operator_state.most_restrictive(self._breaker.trading_state)

    def add_strategy(self, destination: str) -> None:
        """Tell `destination` (a strategy engine) about every change of the trading state."""
        if destination not in self._strategies:
            self._strategies.append(destination)

    def restore(self, state: KernelState) -> None:
        """Take over what a recovered state knows, before any message (see below).

        Restored: the breaker's trips and resets, the operator's halt and halted instruments, the
        open orders (their exposure and reservations count), the positions, the last fill prices
        as marks, equity and balances (at those marks), the next approval id, and the trading
        state last published (so a restart sends no spurious `TradingStateChanged`; if the
        journal ends between a trip and its publication, the change is published now). Not
        restored: the throttle's recent send times, the breaker's venue-failure count and reject
        window, the high-water mark and daily P&L (the portfolio's next snapshot brings them).
        """
        if self._breaker.history or self._orders or self.checks:
            raise ValueError("restore a risk engine before it handles any message")
        self._reset(state)
        marks = state.last_fill_prices
        portfolio = state.portfolio
        equity = portfolio.equity(self._currency, marks)
        balances = tuple(sorted(portfolio.account.balances().items()))
        self._portfolio = PortfolioSnapshot(self._currency, equity, equity, ZERO, balances, 0)
        self._publish_state("restored after a restart")

    def rebuild(self) -> None:
        """Replace what the journal says with its fold, keeping market data (see the module doc)."""
        if self._state_factory is None:
            raise RuntimeError("the risk engine cannot rebuild: it was built without a state_factory")
        state = self._state_factory()
        approved: dict[int, ExecuteIntent] = {}  # risk's approvals, by approval id
        built: dict[int, ClientOrderId] = {}  # approval id -> the order execution built for it
        for record in self._journal.journal.read(state.last_sequence + 1):
            state.apply(record)
            event = record.event
            if isinstance(event, ExecuteIntent) and record.stream_id == RISK_STREAM:
                approved[event.approval_id] = event
            elif isinstance(event, OrderInitialized) and event.approval_id is not None:
                built[event.approval_id] = event.order.client_order_id
        in_flight: dict[int, OrderIntent] = {}
        for approval_id, command in approved.items():
            order = state.order(built[approval_id]) if approval_id in built else None
            if approval_id not in built or (order is not None and order.status is OrderStatus.INITIALIZED):
                in_flight[approval_id] = command.intent
        throttle = OrderThrottle.from_limits(self._limits)
        if throttle is not None:
            for command in approved.values():
                throttle.record(command.ts_ns)
        self._reset(state)
        self._in_flight = in_flight
        self._throttle = throttle
        self._publish_state("rebuilt after an actor restart")

    def _reset(self, state: KernelState) -> None:
        """Replace breaker, halts, open orders, positions, approvals and published state with the state's."""
        breaker = CircuitBreaker(self._limits)
        breaker.restore(state.breaker_history)
        self._breaker = breaker
        self._operator_state = state.operator_state
        self._halted_instruments = state.halted_instruments
        self._orders = {order.client_order_id: OrderSnapshot.of(order) for order in state.open_orders}
        self._in_flight = {}
        self._positions = {
            position.instrument_id: position.quantity
            for position in state.portfolio.positions()
            if not position.is_flat
        }
        self._fill_ids = set(state.fill_ids)
        for instrument_id, price in state.last_fill_prices.items():
            self._fill_marks.setdefault(instrument_id, price)
        self._next_approval = state.last_approval_id + 1
        self._published_state = state.trading_state

    # ----- messages -----

    def handle(self, message: object) -> None:
        """Handle a command (CheckOrder, HaltTrading, ResumeTrading) or an event from another engine."""
        if isinstance(message, CheckOrder):
            self._on_check(message)
        elif isinstance(message, OrderUpdated):
            self._on_order_updated(message)
        elif isinstance(message, PortfolioSnapshot):
            self._portfolio = message
            now = self._clock.now_ns()
            self._apply_breaker(self._breaker.on_daily_pnl(message.daily_pnl, now))
            self._apply_breaker(self._breaker.on_drawdown(message.drawdown_fraction, now))
        elif isinstance(message, VenueCallFailed):
            self._apply_breaker(self._breaker.on_venue_failure(self._clock.now_ns()))
        elif isinstance(message, VenueCallSucceeded):
            self._breaker.on_venue_success()
        elif isinstance(message, HaltTrading):
            self._on_halt(message)
        elif isinstance(message, ResumeTrading):
            self._on_resume(message)
        else:
            raise TypeError(f"the risk engine does not handle {type(message).__name__}")

    def _mark(self, instrument_id: InstrumentId) -> Decimal | None:
        """The latest top's mid (positive), else the first fill price, else None."""
        top = self._tops.get(instrument_id)
        if top is not None:
            mid = top.mid
            if mid is not None and mid > 0:
                return mid
        return self._fill_marks.get(instrument_id)

    def _on_order_updated(self, update: OrderUpdated) -> None:
        snapshot = update.snapshot
        if update.approval_id is not None:
            self._in_flight.pop(update.approval_id, None)
        if snapshot.is_terminal:
            self._orders.pop(snapshot.client_order_id, None)
        else:
            self._orders[snapshot.client_order_id] = snapshot
        event = update.event
        if isinstance(event, OrderFilled) and event.fill.fill_id not in self._fill_ids:
            fill = event.fill
            self._fill_ids.add(fill.fill_id)
            quantity = _EXACT.add(self._positions.get(fill.instrument_id, ZERO), fill.signed_quantity)
            if quantity:
                self._positions[fill.instrument_id] = quantity
            else:  # flat: as a rebuild from the journal holds it (open positions only)
                self._positions.pop(fill.instrument_id, None)
            self._fill_marks.setdefault(fill.instrument_id, fill.price)
        elif isinstance(event, OrderRejected) and not event.post_only_crossed:
            # A post-only order the market moved onto is a race, not a venue fault: not counted.
            self._apply_breaker(self._breaker.on_reject(self._clock.now_ns()))

    # ----- the check -----

    def _on_check(self, command: CheckOrder) -> None:
        self.checks += 1
        now = self._clock.now_ns()
        intent = command.intent
        instrument = self._instruments.get(intent.instrument_id)
        if instrument is None:
            denial = Denial(
                GRID_RULE, ReasonCode.INSTRUMENT_RULES, f"unknown instrument {intent.instrument_id}"
            )
            self._deny(intent, RiskDecision((denial,)), now)
            return
        snapped = snap_to_grid(intent, instrument)
        if isinstance(snapped, Denial):
            self._deny(intent, RiskDecision((snapped,)), now)
            return
        decision = self._check.check(snapped, instrument, self.context(snapped.instrument_id, now))
        guard = self._book_guard(snapped.instrument_id)
        if guard is not None:
            decision = RiskDecision((guard, *decision.denials))
        if not decision.approved:
            self._deny(snapped, decision, now)
            return
        self.approvals += 1
        if self._throttle is not None:
            self._throttle.record(now)
        approval_id = self._next_approval
        self._next_approval += 1
        self._in_flight[approval_id] = snapped
        command_out = ExecuteIntent(snapped, approval_id, now)
        self._journal.record(RISK_STREAM, command_out)
        self._bus.send(EXECUTION, command_out)

    def _deny(self, intent: OrderIntent, decision: RiskDecision, now: int) -> None:
        for code in decision.reason_codes:
            self.denials[code.value] += 1
        command = DenyIntent(intent, decision, now)
        self._journal.record(RISK_STREAM, command)
        self._bus.send(EXECUTION, command)

    def _book_guard(self, instrument_id: InstrumentId) -> Denial | None:
        top = self._tops.get(instrument_id)
        if top is None:
            return Denial(GUARD_RULE, ReasonCode.NO_REFERENCE, f"no book of {instrument_id} seen yet")
        if top.stale:
            return Denial(GUARD_RULE, ReasonCode.STALE_REFERENCE, f"the book of {instrument_id} is stale")
        if top.mid is None:
            return Denial(GUARD_RULE, ReasonCode.NO_REFERENCE, f"the book of {instrument_id} is one-sided")
        return None

    def context(self, instrument_id: InstrumentId, now_ns: int) -> RiskContext:
        """The snapshot the rules see for an order on `instrument_id` at `now_ns`."""
        state = self.trading_state
        if instrument_id in self._halted_instruments:
            state = state.most_restrictive(TradingState.HALTED)
        exposures = self._exposures()
        portfolio = self._portfolio
        reserved = self._reserved()
        balances = {
            currency: CurrencyBalance(total, reserved.get(currency, ZERO))
            for currency, total in portfolio.balances
        }
        for currency, amount in reserved.items():
            balances.setdefault(currency, CurrencyBalance(ZERO, amount))
        return RiskContext(
            now_ns=now_ns,
            equity=portfolio.equity,
            high_water_mark=max(portfolio.high_water_mark, ZERO),
            daily_pnl=portfolio.daily_pnl,
            reporting_currency=self._currency,
            trading_state=state,
            balances=balances,
            exposures=exposures,
            references={
                iid: ReferencePrice(mid, top.ts_ns)
                for iid, top in self._tops.items()
                if not top.stale and (mid := top.mid) is not None and mid > 0
            },
            open_order_count=len(self._orders) + len(self._in_flight),
            gross_notional=self._gross_notional(exposures),
            recent_order_ts_ns=() if self._throttle is None else self._throttle.snapshot(),
        )

    def _working(self) -> Iterable[tuple[InstrumentId, OrderSide, Decimal, Decimal | None]]:
        """(instrument, side, working quantity, limit price) of open orders and approved intents."""
        for order in self._orders.values():
            yield order.instrument_id, order.side, order.working_quantity, order.price
        for intent in self._in_flight.values():
            yield intent.instrument_id, intent.side, intent.quantity, intent.price

    def _exposures(self) -> dict[InstrumentId, Exposure]:
        buys: dict[InstrumentId, Decimal] = {}
        sells: dict[InstrumentId, Decimal] = {}
        for instrument_id, side, quantity, _price in self._working():
            book = buys if side is OrderSide.BUY else sells
            book[instrument_id] = _EXACT.add(book.get(instrument_id, ZERO), quantity)
        exposures: dict[InstrumentId, Exposure] = {}
        for instrument_id in dict.fromkeys([*self._positions, *buys, *sells]):
            exposure = Exposure(
                self._positions.get(instrument_id, ZERO),
                buys.get(instrument_id, ZERO),
                sells.get(instrument_id, ZERO),
            )
            if exposure.is_exposed:
                exposures[instrument_id] = exposure
        return exposures

    def _reserved(self) -> dict[str, Decimal]:
        reserved: dict[str, Decimal] = {}
        for instrument_id, _side, quantity, price in self._working():
            instrument = self._instruments.get(instrument_id)
            valuation = price if price is not None else self._mark(instrument_id)
            if instrument is None or valuation is None or quantity <= 0:
                continue
            amount = _EXACT.multiply(quantity, valuation)
            reserved[instrument.quote] = _EXACT.add(reserved.get(instrument.quote, ZERO), amount)
        return reserved

    def _gross_notional(self, exposures: Mapping[InstrumentId, Exposure]) -> Decimal:
        gross = ZERO
        for instrument_id, exposure in exposures.items():
            instrument = self._instruments.get(instrument_id)
            mark = self._mark(instrument_id)
            if instrument is None or instrument.quote != self._currency or mark is None:
                continue
            gross = _EXACT.add(gross, _EXACT.multiply(exposure.worst_case(), mark))
        return gross

    # ----- breaker and trading state -----

    def _apply_breaker(self, outputs: BreakerOutput) -> None:
        for output in outputs:
            self._journal.record(RISK_STREAM, output)
            if isinstance(output, CancelAllOrders):
                self._bus.send(EXECUTION, output)
            elif isinstance(output, BreakerTripped) and self._notifier is not None:
                self._notifier.notify(
                    Severity.CRITICAL, f"circuit breaker tripped: {output.reason_code}: {output.detail}"
                )
        if outputs:
            self._publish_state("circuit breaker")

    def _publish_state(self, reason: str) -> None:
        state = self.trading_state
        if state is self._published_state:
            return
        self._published_state = state
        change = TradingStateChanged(state, reason, self._clock.now_ns())
        self._journal.record(RISK_STREAM, change)
        for destination in self._strategies:
            self._bus.send(destination, change)

    def _on_halt(self, command: HaltTrading) -> None:
        self._journal.record(RISK_STREAM, command)
        now = self._clock.now_ns()
        reason = f"halted by {command.by}: {command.reason}"
        if command.instrument_id is not None:
            self._halted_instruments[command.instrument_id] = reason
            for order in list(self._orders.values()):
                if order.instrument_id == command.instrument_id:
                    cancel = CancelOrder(order.client_order_id, reason, now)
                    self._journal.record(RISK_STREAM, cancel)
                    self._bus.send(EXECUTION, cancel)
            return
        self._operator_state = TradingState.HALTED
        cancel_all = CancelAllOrders(reason, now)
        self._journal.record(RISK_STREAM, cancel_all)
        self._bus.send(EXECUTION, cancel_all)
        self._publish_state(reason)

    def _on_resume(self, command: ResumeTrading) -> None:
        self._journal.record(RISK_STREAM, command)
        self._operator_state = TradingState.ACTIVE
        self._halted_instruments.clear()
        if self._breaker.is_tripped:
            reset = self._breaker.reset(command.by, command.why, self._clock.now_ns())
            self._journal.record(RISK_STREAM, reset)
        self._publish_state(f"resumed by {command.by}: {command.why}")
