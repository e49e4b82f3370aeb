"""The portfolio engine: the `Portfolio` (positions, account, equity), kept from fills and marks.

- A fill (an `OrderUpdated` carrying an applied `OrderFilled`) is applied with
  `Portfolio.apply_fill`; the `FillResult` (realized P&L, fee, the round trip it closed) is
  journaled under "portfolio".
- A `BookTop` that is not stale and has a mid sets the instrument's mark; open positions without
  a mark yet are valued at their last fill price, never at zero.
- After every fill and every mark that can change it, equity in the reporting currency is valued
  (`Portfolio.mark_to_market`: high-water mark, drawdown, start-of-day equity) and, when any of
  it changed, a `PortfolioSnapshot` goes to risk (limits and the breaker's loss and drawdown).
  A mark of an instrument without an open position, on the day of the last valuation, changes
  none of it and is only stored (no valuation: equity is what it was).

For reports the engine keeps the starting and latest equity, the largest drawdown (high-water
mark less equity, in the currency), the closed round trips, fill totals per instrument, and one
equity sample per `sample_interval_ns` of clock time (the last valuation in each interval).

Rebuild (a restarted actor, `rebuild()`): the portfolio (positions, balances, realized P&L, the
applied fill ids), the last fill prices, fill totals and round trips are replaced by a fold of the
journal (`KernelState`, from `state_factory`), which applies every fill execution journaled as
applied to its order. Under the threaded runtime the fold may already hold fills whose
`OrderUpdated` is still in this engine's inbox (execution journals a fill before it publishes
it): delivered after the rebuild, each is a duplicate (same fill id) to the portfolio, journaled
as such and applied once. Kept: the marks (market data is not journaled, and a fill cannot
corrupt them), the equity tracker (high-water mark and start-of-day equity come from valuations,
which are not journaled; it is only replaced whole, so never half-updated) and the report figures
(starting equity, drawdown, samples). Equity is then revalued, and risk hears of any change.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from typing import TYPE_CHECKING

import attrs

from application.engines.journal_writer import JournalWriter
from application.engines.messages import PORTFOLIO_STREAM, RISK, OrderUpdated, PortfolioSnapshot
from application.ports.clock import Clock
from application.runtime.bus import Bus
from domain.instrument import Instrument, InstrumentId
from domain.market_data import BookTop
from domain.numbers import EXACT_CONTEXT, ZERO
from domain.orders.order_events import OrderFilled
from domain.portfolio.equity_tracker import NS_PER_DAY
from domain.portfolio.portfolio import Portfolio
from domain.portfolio.round_trip import RoundTrip

if TYPE_CHECKING:  # the recovery package imports the engines' messages
    from application.recovery.kernel_state import KernelState

_EXACT = EXACT_CONTEXT


@attrs.define
class FillTotals:
    """What fills of one instrument added up to: count, base quantity, quote notional, fees."""

    count: int = 0
    quantity: Decimal = ZERO
    notional: Decimal = ZERO
    fees: Decimal = ZERO


class PortfolioEngine:
    """Applies fills, marks to market, publishes equity to risk (see the module doc)."""

    def __init__(
        self,
        instruments: Mapping[InstrumentId, Instrument],
        bus: Bus,
        journal: JournalWriter,
        clock: Clock,
        *,
        currency: str,
        starting_balance: Decimal,
        publish_to: Iterable[str] = (RISK,),
        sample_interval_ns: int = 1_000_000_000,
        state_factory: Callable[[], KernelState] | None = None,
    ) -> None:
        if sample_interval_ns <= 0:
            raise ValueError(f"sample_interval_ns must be positive, got {sample_interval_ns}")
        self._instruments = dict(instruments)
        self._bus = bus
        self._journal = journal
        self._clock = clock
        self._currency = currency
        self._publish_to = tuple(publish_to)
        self._sample_interval_ns = sample_interval_ns
        self._state_factory = state_factory  # an empty KernelState configured as the kernel is
        self._portfolio = Portfolio()
        if starting_balance > 0:
            self._portfolio.deposit(currency, starting_balance)
        self._marks: dict[InstrumentId, Decimal] = {}
        self._last_fill_price: dict[InstrumentId, Decimal] = {}
        self._last_sent: PortfolioSnapshot | None = None
        self._journaled_baseline: tuple[Decimal, Decimal] | None = None  # (high-water mark, day start)
        self.equity_start = self._portfolio.equity(currency, {})
        self.equity_end = self.equity_start
        self.max_drawdown = ZERO
        self.round_trips: list[RoundTrip] = []
        self.fills: dict[InstrumentId, FillTotals] = {}
        self.equity_samples: list[tuple[int, Decimal]] = []  # (interval start ns, last equity in it)

    # ----- what the engine knows -----

    @property
    def portfolio(self) -> Portfolio:
        """The portfolio (read it; it changes only through this engine's messages)."""
        return self._portfolio

    @property
    def currency(self) -> str:
        """The reporting currency."""
        return self._currency

    @property
    def instruments(self) -> Mapping[InstrumentId, Instrument]:
        """The instruments fills are applied with (a copy)."""
        return dict(self._instruments)

    def marks(self) -> dict[InstrumentId, Decimal]:
        """The price each open position is valued at: its mark, else its last fill price."""
        marks = dict(self._last_fill_price)
        marks.update(self._marks)
        return marks

    def restore(self, state: KernelState) -> None:
        """Take over a recovered state's portfolio, before any message.

        Positions, balances, realized P&L and the applied fill ids (a re-delivered fill is then a
        duplicate) come from the state, as do fill totals and round trips; open positions are
        valued at their last fill price until a mark arrives. Equity starts at its value now. The
        equity tracker (high-water mark, start-of-day equity) is not journaled: it starts afresh
        at the first valuation.
        """
        if self._last_sent is not None or self.fills:
            raise ValueError("restore a portfolio engine before it handles any message")
        self._reset(state)
        tracker = self._portfolio.equity_tracker(self._currency)
        if tracker is not None and tracker.last is not None:
            self._journaled_baseline = (tracker.last.high_water_mark, tracker.last.start_of_day_equity)
        self.equity_start = self._portfolio.equity(self._currency, self.marks())
        self.equity_end = self.equity_start

    def rebuild(self) -> None:
        """Replace the portfolio and what fills added up to with the journal's fold (see the module doc)."""
        if self._state_factory is None:
            raise RuntimeError("the portfolio engine cannot rebuild: it was built without a state_factory")
        state = self._state_factory()
        for record in self._journal.journal.read(state.last_sequence + 1):
            state.apply(record)
        tracker = self._portfolio.equity_tracker(self._currency)
        last_valuation = None if tracker is None else tracker.last
        self._reset(state)
        if last_valuation is not None:
            self._portfolio.restore_equity_tracker(last_valuation)
        self._revalue()

    def _reset(self, state: KernelState) -> None:
        """Replace the portfolio, last fill prices, fill totals and round trips with the state's (copies)."""
        self._portfolio = copy.deepcopy(state.portfolio)
        self._last_fill_price = state.last_fill_prices
        self.fills = {
            iid: FillTotals(total.count, total.quantity, total.notional, total.fees)
            for iid, total in state.fill_totals.items()
        }
        self.round_trips = list(state.round_trips)

    # ----- messages -----

    def handle(self, message: object) -> None:
        """Handle a BookTop (a mark) or an OrderUpdated with a fill."""
        if isinstance(message, BookTop):
            mid = message.mid
            if message.stale or mid is None or mid <= 0:
                return
            if self._marks.get(message.instrument_id) == mid and self._last_sent is not None:
                return  # nothing to revalue
            self._marks[message.instrument_id] = mid
            if self._unchanged_by_mark(message.instrument_id):
                return
            self._revalue()
        elif isinstance(message, OrderUpdated):
            if isinstance(message.event, OrderFilled):
                self._on_fill(message.event)
        else:
            raise TypeError(f"the portfolio engine does not handle {type(message).__name__}")

    def _on_fill(self, event: OrderFilled) -> None:
        fill = event.fill
        instrument = self._instruments[fill.instrument_id]
        result = self._portfolio.apply_fill(fill, instrument)
        self._journal.record(PORTFOLIO_STREAM, result)
        if result.duplicate:
            return
        self._last_fill_price[fill.instrument_id] = fill.price
        totals = self.fills.setdefault(fill.instrument_id, FillTotals())
        totals.count += 1
        totals.quantity = _EXACT.add(totals.quantity, fill.quantity)
        totals.notional = _EXACT.add(totals.notional, _EXACT.multiply(fill.price, fill.quantity))
        totals.fees = _EXACT.add(totals.fees, result.fee)
        if result.round_trip is not None:
            self.round_trips.append(result.round_trip)
        self._revalue()

    def _unchanged_by_mark(self, instrument_id: InstrumentId) -> bool:
        """True when a new mark of `instrument_id` cannot change the valuation: the instrument has
        no open position (its unrealized P&L is zero at any mark) and the last valuation is of the
        same day (so the day's start is unchanged). Equity, high-water mark and daily P&L are then
        what they were, so no snapshot would be sent; only the equity sample is kept up to date."""
        position = self._portfolio.position(instrument_id)
        if position is not None and not position.is_flat:
            return False
        tracker = self._portfolio.equity_tracker(self._currency)
        last = tracker.last if tracker is not None else None
        now = self._clock.now_ns()
        if self._last_sent is None or last is None or now < last.ts_ns:
            return False
        if now // NS_PER_DAY != last.day:
            return False
        self._sample(now, self.equity_end)
        return True

    def _sample(self, now: int, equity: Decimal) -> None:
        bucket = now - now % self._sample_interval_ns
        if self.equity_samples and self.equity_samples[-1][0] == bucket:
            self.equity_samples[-1] = (bucket, equity)
        else:
            self.equity_samples.append((bucket, equity))

    def _revalue(self) -> None:
        now = self._clock.now_ns()
        snapshot = self._portfolio.mark_to_market(self._currency, self.marks(), now)
        baseline = (snapshot.high_water_mark, snapshot.start_of_day_equity)
        if baseline != self._journaled_baseline:
            # The risk limits' baselines: journaled when they move, so a restart resumes them.
            self._journal.record(PORTFOLIO_STREAM, snapshot)
            self._journaled_baseline = baseline
        self.equity_end = snapshot.equity
        self.max_drawdown = max(self.max_drawdown, snapshot.drawdown)
        self._sample(now, snapshot.equity)
        balances = tuple(sorted(self._portfolio.account.balances().items()))
        last = self._last_sent
        daily_pnl = snapshot.daily_pnl
        if (
            last is not None
            and last.equity == snapshot.equity
            and last.high_water_mark == snapshot.high_water_mark
            and last.daily_pnl == daily_pnl
            and last.balances == balances
        ):
            return  # nothing risk would act on changed
        out = PortfolioSnapshot(
            self._currency, snapshot.equity, snapshot.high_water_mark, daily_pnl, balances, now
        )
        self._last_sent = out
        for destination in self._publish_to:
            self._bus.send(destination, out)
