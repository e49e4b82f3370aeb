"""Wiring the engines together: the one place that knows who sends what to whom.

`wire_kernel` builds every engine, registers each under its destination name with a runtime
(anything with `register` and `send`: the deterministic runtime, or the threaded one later) and
subscribes them to each other:

    frames -> data -> BookTop -> portfolio, the strategies of the instrument
                   -> data.tops (the latest top of each book) <- read by risk at each check
                   -> TradeTick -> the strategies of the instrument
                   -> OrderBookUpdate, TradeTick -> venue:<name> (adapters that consume them)
    strategy:<id> -> CheckOrder -> risk -> ExecuteIntent / DenyIntent -> execution -> venue adapter
                  -> CancelOrder -> execution
    venue adapter sink -> reports -> execution -> OrderUpdated -> risk, portfolio (fills), strategy:<id>
    portfolio -> PortfolioSnapshot -> risk;  risk -> CancelAllOrders -> execution
    risk -> TradingStateChanged -> strategy:<id>

After a process restart `recovered` (the journal's state, `application.recovery`) restores the
engines before any message, so the kernel continues where the journal ends. Risk, execution and
the portfolio also get a `state_factory` (an empty `KernelState` configured as this kernel is):
when their actor is restarted, their `rebuild()` folds the journal into one and resets from it.

Venue adapters are built by the caller (their report sink must send to `EXECUTION` on the same
runtime) and passed in keyed by the venue name that instrument ids carry.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Protocol

import attrs

from application.engines.data_engine import DEFAULT_TOP_DEPTH, DataEngine, SentFrameHandler
from application.engines.execution_engine import ExecutionEngine
from application.engines.journal_writer import JournalWriter
from application.engines.messages import (
    DATA,
    EXECUTION,
    PORTFOLIO,
    RISK,
    strategy_destination,
    venue_destination,
)
from application.engines.portfolio_engine import PortfolioEngine
from application.engines.risk_engine import RiskEngine
from application.engines.strategy_engine import StrategyEngine
from application.engines.venue_engine import VenueEngine
from application.market_data_pipeline import MarketDataPipeline
from application.ports.clock import Clock
from application.ports.event_journal import EventJournal
from application.ports.notifier import Notifier
from application.ports.venue_gateway import VenueGateway
from application.recovery.kernel_state import KernelState
from application.runtime.bus import Handler
from application.strategies.strategy import Strategy
from domain.identifiers import StrategyId
from domain.instrument import Instrument, InstrumentId
from domain.risk.risk_limits import RiskLimits


class Runtime(Protocol):
    """What wiring needs of a runtime: a bus, and a way to register handlers by name."""

    def send(self, destination: str, message: object) -> None:
        """Queue a message."""
        ...

    def register(self, destination: str, handler: Handler) -> None:
        """Deliver `destination`'s messages to `handler`."""
        ...


@attrs.frozen
class FeedSpec:
    """A venue's market-data pipeline and, if its codec needs them, the frames we sent."""

    pipeline: MarketDataPipeline
    on_sent: SentFrameHandler | None = None


@attrs.frozen
class Kernel:
    """The engines of one kernel, wired."""

    journal: JournalWriter
    data: DataEngine
    strategies: Mapping[StrategyId, StrategyEngine]
    risk: RiskEngine
    execution: ExecutionEngine
    portfolio: PortfolioEngine
    venues: Mapping[str, VenueEngine]


def wire_kernel(
    runtime: Runtime,
    clock: Clock,
    journal: EventJournal,
    *,
    instruments: Mapping[InstrumentId, Instrument],
    feeds: Mapping[str, FeedSpec],
    venues: Mapping[str, VenueGateway],
    strategies: Sequence[Strategy],
    limits: RiskLimits,
    currency: str,
    starting_balance: Decimal,
    seed: int,
    notifier: Notifier | None = None,
    depth: int = DEFAULT_TOP_DEPTH,
    recovered: KernelState | None = None,
) -> Kernel:
    """Build the engines and register them with `runtime` (see the module doc).

    With `recovered` (the state `application.recovery.recover` folded from the journal), every
    engine is restored from it before any message: orders and ids, portfolio, risk, strategies.
    """
    writer = JournalWriter(journal, clock)

    def empty_state() -> KernelState:
        """A state with nothing folded, configured as this kernel (what `rebuild()` folds into)."""
        return KernelState(instruments, currency=currency, starting_balance=starting_balance, id_seed=seed)

    data = DataEngine(runtime, writer, depth=depth)
    for venue, feed in feeds.items():
        data.add_venue(venue, feed.pipeline, feed.on_sent)
    strategy_engines: dict[StrategyId, StrategyEngine] = {}
    for strategy in strategies:
        if strategy.strategy_id in strategy_engines:
            raise ValueError(f"two strategies are named {strategy.strategy_id}")
        engine = StrategyEngine(strategy, instruments, runtime, writer, clock)
        strategy_engines[strategy.strategy_id] = engine
        destination = strategy_destination(strategy.strategy_id)
        runtime.register(destination, engine)
        for instrument_id in strategy.instrument_ids:
            data.subscribe(instrument_id, destination)
    risk = RiskEngine(
        limits,
        instruments,
        runtime,
        writer,
        clock,
        currency=currency,
        starting_equity=starting_balance,
        strategy_destinations=[strategy_destination(sid) for sid in strategy_engines],
        notifier=notifier,
        state_factory=empty_state,
        tops=data.tops,  # read at each check, not sent frame by frame (ADR 0008)
    )
    execution = ExecutionEngine(
        venues, runtime, writer, clock, seed=seed, notifier=notifier, state_factory=empty_state
    )
    portfolio = PortfolioEngine(
        instruments,
        runtime,
        writer,
        clock,
        currency=currency,
        starting_balance=starting_balance,
        state_factory=empty_state,
    )
    venue_engines: dict[str, VenueEngine] = {}
    for venue_name, gateway in venues.items():
        venue_engine = VenueEngine(gateway)
        venue_engines[venue_name] = venue_engine
        runtime.register(venue_destination(venue_name), venue_engine)
        if venue_engine.wants_market_data:
            data.add_market_data_consumer(venue_name, venue_engine)
    if recovered is not None:
        execution.restore(recovered)
        portfolio.restore(recovered)
        risk.restore(recovered)
        for engine in strategy_engines.values():
            engine.restore(recovered)
    runtime.register(DATA, data)
    runtime.register(RISK, risk)
    runtime.register(EXECUTION, execution)
    runtime.register(PORTFOLIO, portfolio)
    return Kernel(writer, data, strategy_engines, risk, execution, portfolio, venue_engines)
