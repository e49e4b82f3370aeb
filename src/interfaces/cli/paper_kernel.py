"""The paper kernel behind `start`: threaded engines, the simulated venue, the synthetic feed and,
by default, durable state: the SQL journal and the simulated venue's own store.

Start-up with a journal database (see docs/persistence.md):
1. the database's kernel lock is taken (one kernel per journal; `trading resume` waits for none);
2. `recover_latest`: the newest usable snapshot plus the journal's tail folded into a
   `KernelState`; an unusable snapshot is skipped with a warning (an older one, or the whole
   journal, is folded instead); a corrupt or unknown record in what is folded stops start-up with
   an error naming its sequence number;
3. the journal is reopened with a `KernelProjector` on a copy of that state (projections are
   written in the same transaction as the records) and a background group commit;
4. the engines are wired with `recovered=state`; the simulated venue loads its own store (it
   stands for the exchange, which outlives our process);
5. `reconcile`: missed fills, orders in doubt (journaled, maybe never sent: asked, never resent),
   unknown venue orders, balances and positions; a difference beyond tolerance halts trading. The
   report is stored for `status`.
Between these steps (and while folding) `should_stop` is asked: a stop signal during start-up ends
it before trading, with nothing sent to the venue. While running, records are durable within
`flush_interval_s` (orders and cancels at once, before they are sent) and a snapshot is taken
every `snapshot_interval_s` and at shutdown.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
import click

from application.commands import SaveStrategyState
from application.engines.messages import DATA, EXECUTION, RISK, MarketFrame, strategy_destination
from application.market_data_pipeline import MarketDataPipeline
from application.ports.event_journal import EventJournal, InMemoryJournal
from application.ports.notifier import Severity
from application.ports.venue_gateway import VenueReport, VenueReportSink
from application.recovery import KernelProjector, KernelState, RecoveryInterruptedError, recover_latest
from application.recovery.reconciliation import ReconciliationPolicy, ReconciliationReport
from application.recovery.startup import reconcile_at_startup
from application.runtime.kernel_wiring import FeedSpec, Kernel, wire_kernel
from application.runtime.threaded_runtime import ThreadedRuntime
from domain.errors import DomainError
from domain.numbers import ZERO
from domain.orders.order_events import OrderAccepted
from domain.orders.order_status import OrderStatus
from domain.risk.breaker_events import CancelAllOrders
from infrastructure.persistence.kernel_lock import KernelLock
from infrastructure.persistence.sql_journal import SqlJournal
from infrastructure.replay import ReplayConfigError, ReplaySettings
from infrastructure.replay.replay_runner import build_strategy, simulated_venue_config
from infrastructure.synthetic_market import SyntheticMarketConfig, synthetic_frames, synthetic_instruments
from infrastructure.system_clock import SystemClock
from infrastructure.venues.market_data_codecs import market_data_for
from infrastructure.venues.simulated import SimulatedVenue, SimulatedVenueStore

VENUE = "COINBASE"
CONNECTION = "COINBASE.ws.synthetic"
_NS_PER_S = 1_000_000_000
#: Fills the venue reports are asked for from this long before the last fill journaled.
FILL_LOOKBACK_NS = 60 * _NS_PER_S


@attrs.frozen
class StartOptions:
    """The `[start]` section: what `start` adds to the replay configuration."""

    cancel_open_orders_on_stop: bool = True
    message_rate_per_s: int = 200
    trade_probability: Decimal = Decimal("0.3")


@attrs.frozen
class PersistenceOptions:
    """Where state lives (`[persistence]`) and how reconciliation decides (`[reconciliation]`).

    `database_url` None keeps the journal in memory and the venue without a store (ephemeral).
    """

    database_url: str | None = "sqlite:///tradekernel.db"
    venue_store: Path | None = Path("paper-venue.sqlite")
    snapshot_interval_s: Decimal = Decimal(60)
    flush_interval_s: Decimal = Decimal("0.05")
    policy: ReconciliationPolicy = attrs.field(factory=ReconciliationPolicy)


class StderrNotifier:
    """Notifications on stderr, one line each."""

    def notify(self, severity: Severity, message: str) -> None:
        """Print `SEVERITY: message`."""
        click.echo(f"{severity.value}: {message}", err=True)


class _SettlingRuntime:
    """The runtime as reconciliation needs it: idle means the venue has nothing pending either."""

    def __init__(self, runtime: ThreadedRuntime, venue: SimulatedVenue) -> None:
        self._runtime = runtime
        self._venue = venue

    def send(self, destination: str, message: object) -> None:
        self._runtime.send(destination, message)

    def wait_idle(self) -> None:
        deadline = time.monotonic() + 5.0
        while True:
            self._runtime.wait_idle(timeout_s=5.0)
            self._runtime.poll_sources()
            self._runtime.wait_idle(timeout_s=5.0)
            if self._venue.next_event_ns() is None or time.monotonic() > deadline:
                return
            time.sleep(0.005)


class StartupInterruptedError(Exception):
    """A stop signal arrived before trading began: start-up stopped between two of its steps."""


class VenueStoreError(Exception):
    """The simulated venue's store cannot be opened or loaded (one line naming the file)."""


class PaperKernel:
    """The threaded kernel, the simulated venue and the synthetic feed, wired for `start`.

    `should_stop` is asked between the steps of start-up (and while the journal is folded): True
    raises `StartupInterruptedError` after releasing what was opened, before anything is sent to the
    venue. `warn` receives one line per snapshot that recovery skipped.
    """

    def __init__(
        self,
        settings: ReplaySettings,
        options: StartOptions,
        seed: int,
        persistence: PersistenceOptions | None = None,
        *,
        should_stop: Callable[[], bool] | None = None,
        warn: Callable[[str], None] | None = None,
    ) -> None:
        self.settings = settings
        self.options = options
        self.persistence = persistence or PersistenceOptions(database_url=None, venue_store=None)
        self._should_stop = should_stop or (lambda: False)
        self._warn = warn or (lambda _line: None)
        self.clock = SystemClock()
        self.notifier = StderrNotifier()
        self.instruments = synthetic_instruments(VENUE, settings.currency)
        if not self.instruments:
            raise ReplayConfigError(f"no synthetic instrument is quoted in {settings.currency}")
        self.recovered: KernelState | None = None
        self.sql_journal: SqlJournal | None = None
        self.projector: KernelProjector | None = None
        self.lock: KernelLock | None = None
        self.venue_store: SimulatedVenueStore | None = None
        self._runtime: ThreadedRuntime | None = None  # once built: stopped by `close`
        self._closed = False
        try:
            self._build(settings, seed)
        except BaseException:
            self.close()  # what start-up opened, in reverse: nothing was sent to the venue yet
            raise

    def _checkpoint(self) -> None:
        if self._should_stop():
            raise StartupInterruptedError("interrupted during start-up")

    def _build(self, settings: ReplaySettings, seed: int) -> None:
        self._checkpoint()
        self.journal: EventJournal = self._open_journal()
        self._checkpoint()
        self.runtime = ThreadedRuntime(
            self.clock, notifier=self.notifier, timer_interval_ns=settings.timer_interval_ns
        )
        self._runtime = self.runtime
        strategies = (
            [] if settings.strategy is None else [build_strategy(settings.strategy, VENUE, self.instruments)]
        )
        runtime = self.runtime

        def sink(report: VenueReport) -> None:
            runtime.send(EXECUTION, report)

        self.venue = self._open_venue(sink)
        self._checkpoint()
        market = market_data_for(VENUE)
        self.pipeline = MarketDataPipeline(market, resolve_crossing=market.resolve_crossing)
        self.kernel: Kernel = wire_kernel(
            runtime,
            self.clock,
            self.journal,
            instruments=self.instruments,
            feeds={VENUE: FeedSpec(self.pipeline, market.on_sent)},
            venues={VENUE: self.venue},
            strategies=strategies,
            limits=settings.risk_limits(),
            currency=settings.currency,
            starting_balance=settings.starting_balance,
            seed=settings.seed,
            notifier=self.notifier,
            depth=settings.depth,
            recovered=self.recovered,
        )
        runtime.add_source(self.venue)
        runtime.add_gateway(self.venue)
        self.strategy_destinations = [strategy_destination(s.strategy_id) for s in strategies]
        for destination in self.strategy_destinations:
            runtime.add_timer_destination(destination)
        self.market_seed = seed
        self.frames = 0
        # What the recovered state already held: the summary counts this run's orders and fills.
        self._restored_orders = frozenset(order.client_order_id for order in self.kernel.execution.orders)
        totals = self.kernel.portfolio.fills.values()
        self._fills_at_start = sum(total.count for total in totals)
        self._fees_at_start = sum((total.fees for total in totals), ZERO)
        self.reconciliation: ReconciliationReport | None = None
        self._snapshot_stop = threading.Event()
        self._snapshot_thread: threading.Thread | None = None
        self._checkpoint()

    # ----- start-up --------------------------------------------------------------------------

    def _state(self) -> KernelState:
        settings = self.settings
        return KernelState(
            self.instruments,
            currency=settings.currency,
            starting_balance=settings.starting_balance,
            id_seed=settings.seed,
        )

    def _open_venue(self, sink: VenueReportSink) -> SimulatedVenue:
        """The simulated venue, on its own store when there is one (a store it cannot load: one line)."""
        store_path = self.persistence.venue_store
        try:
            self.venue_store = None if store_path is None else SimulatedVenueStore(store_path)
            return SimulatedVenue(
                self.clock,
                sink,
                self.instruments.values(),
                simulated_venue_config(self.settings),
                store=self.venue_store,
            )
        except (sqlite3.Error, DomainError, ValueError, KeyError, TypeError) as error:
            what = f"missing {error}" if isinstance(error, KeyError) else str(error).splitlines()[0]
            raise VenueStoreError(
                f"the simulated venue's store {store_path} cannot be loaded: {what} "
                f"({type(error).__name__}; move it aside to start the venue afresh)"
            ) from error

    def _open_journal(self) -> EventJournal:
        """The journal: in memory, or the SQL journal (under the kernel lock) after recovering its state."""
        url = self.persistence.database_url
        if url is None:
            return InMemoryJournal()
        settings = self.settings
        self.lock = KernelLock(url, holder="start")
        reader = SqlJournal.open(url)
        try:
            recovered = recover_latest(
                reader,
                reader.snapshot_candidates(),
                self.instruments,
                currency=settings.currency,
                starting_balance=settings.starting_balance,
                id_seed=settings.seed,
                should_stop=self._should_stop,
            )
        except RecoveryInterruptedError:
            raise StartupInterruptedError("interrupted during start-up") from None
        finally:
            reader.close()
        for line in recovered.warnings():
            self._warn(line)
        state = recovered.state
        if state.last_sequence:
            self.recovered = state
            projected = KernelState.from_snapshot(
                state.snapshot_bytes(),
                self.instruments,
                currency=settings.currency,
                starting_balance=settings.starting_balance,
                id_seed=settings.seed,
            )
        else:
            projected = self._state()
        self.projector = KernelProjector(projected)
        journal = SqlJournal.open(url, projector=self.projector)
        journal.start_background_flush(float(self.persistence.flush_interval_s))
        self.sql_journal = journal
        return journal

    def reconcile(self) -> ReconciliationReport | None:
        """Reconcile with the venue (persistent runs only); stores the report for `status`."""
        journal = self.sql_journal
        if journal is None:
            return None
        execution = self.kernel.execution
        recovered = self.recovered
        last_fill = None if recovered is None else recovered.last_fill_ts_ns
        since = 0 if last_fill is None else max(0, last_fill - FILL_LOOKBACK_NS)
        fill_ids = frozenset() if recovered is None else frozenset(recovered.fill_ids)
        report = reconcile_at_startup(
            _SettlingRuntime(self.runtime, self.venue),
            execution_destination=EXECUTION,
            risk_destination=RISK,
            orders={order.client_order_id: order for order in execution.orders},
            fill_ids=fill_ids,
            since_ts_ns=since,
            portfolio_provider=lambda: self.kernel.portfolio.portfolio,
            venues={VENUE: self.venue},
            policy=self.persistence.policy,
            clock=self.clock,
            notifier=self.notifier,
            instruments=self.instruments,
        )
        journal.flush()
        journal.save_reconciliation(report.ts_ns, report.to_json())
        self.reconciliation = report
        return report

    # ----- running -----------------------------------------------------------------------------

    def start_snapshots(self) -> None:
        """Take a snapshot every `snapshot_interval_s` (persistent runs only)."""
        if self.sql_journal is None:
            return
        interval_s = float(self.persistence.snapshot_interval_s)

        def loop() -> None:
            while not self._snapshot_stop.wait(interval_s):
                self.checkpoint()

        self._snapshot_thread = threading.Thread(target=loop, name="journal-snapshots", daemon=True)
        self._snapshot_thread.start()

    def checkpoint(self) -> int | None:
        """Flush and snapshot the projected state; returns the snapshot's sequence."""
        journal, projector = self.sql_journal, self.projector
        if journal is None or projector is None:
            return None
        return journal.checkpoint(self.clock.now_ns(), projector.state.snapshot_bytes)

    def run_feed(self, stop: threading.Event, duration_s: float | None) -> None:
        """Deliver synthetic frames at their times (relative to now) until `stop` or the duration."""
        start_ns = self.clock.now_ns()
        config = SyntheticMarketConfig(
            seed=self.market_seed,
            start_ns=start_ns,
            duration_ns=None if duration_s is None else int(duration_s * _NS_PER_S),
            message_rate_per_s=self.options.message_rate_per_s,
            trade_probability=float(self.options.trade_probability),
            connection_id=CONNECTION,
        )
        self.runtime.start_timers()
        for ts_ns, text in synthetic_frames(config):
            delay_s = (ts_ns - self.clock.now_ns()) / _NS_PER_S
            if delay_s > 0 and stop.wait(delay_s):
                return
            if stop.is_set():
                return
            self.runtime.send(DATA, MarketFrame(VENUE, text, ts_ns, CONNECTION))
            self.frames += 1

    def shutdown(self) -> int:
        """Stop strategies, cancel open orders (per config), drain, flush, snapshot; returns open orders."""
        runtime = self.runtime
        now = self.clock.now_ns()
        for destination in self.strategy_destinations:
            runtime.send(destination, SaveStrategyState(now))  # the journal ends with its state
            runtime.mute(destination)
        if self.options.cancel_open_orders_on_stop:
            runtime.send(EXECUTION, CancelAllOrders("shutdown", self.clock.now_ns()))
        deadline = time.monotonic() + 5.0
        while time.monotonic() < deadline:
            runtime.wait_idle(timeout_s=5.0)
            runtime.poll_sources()
            runtime.wait_idle(timeout_s=5.0)
            due = self.venue.next_event_ns()
            if not self.options.cancel_open_orders_on_stop or (due is None and not self.open_orders()):
                break
            time.sleep(0.01)
        runtime.stop_timers()
        runtime.wait_idle(timeout_s=5.0)
        self._snapshot_stop.set()
        if self._snapshot_thread is not None:
            self._snapshot_thread.join(10.0)
        self.journal.flush()
        self.checkpoint()
        return self.open_orders()

    def close(self) -> None:
        """Stop the runtime, then release the journal (flushed), the venue store and the lock (idempotent)."""
        if self._closed:
            return
        self._closed = True
        try:
            if self._runtime is not None:
                self._runtime.stop()
            if self.sql_journal is not None:
                self.sql_journal.close()
            if self.venue_store is not None:
                self.venue_store.close()
        finally:
            if self.lock is not None:
                self.lock.release()

    # ----- reading -----------------------------------------------------------------------------

    def open_orders(self) -> int:
        """Orders of ours not yet in a terminal state."""
        return sum(1 for order in tuple(self.kernel.execution.orders) if not order.status.is_terminal)

    def snapshot(self) -> dict[str, Any]:
        """The numbers of the status line and the summary (best effort while running)."""
        execution = self.kernel.execution
        portfolio_engine = self.kernel.portfolio
        portfolio = portfolio_engine.portfolio
        currency = self.settings.currency
        counts = dict(execution.counts)
        # This run's orders only (a resumed run also holds the journal's earlier orders).
        orders = tuple(o for o in execution.orders if o.client_order_id not in self._restored_orders)
        fills = dict(portfolio_engine.fills)
        marks = portfolio_engine.marks()
        return {
            "frames": self.frames,
            "submitted": counts.get("submitted", 0),
            "accepted": sum(1 for order in orders if any(isinstance(e, OrderAccepted) for e in order.events)),
            "filled": sum(1 for order in orders if order.status is OrderStatus.FILLED),
            "canceled": sum(1 for order in orders if order.status is OrderStatus.CANCELED),
            "denied": sum(dict(self.kernel.risk.denials).values()),
            "rejected": sum(1 for order in orders if order.status is OrderStatus.REJECTED),
            "open": self.open_orders(),
            "fills": sum(totals.count for totals in fills.values()) - self._fills_at_start,
            "fees": sum((totals.fees for totals in fills.values()), ZERO) - self._fees_at_start,
            "resumed": self.recovered is not None,
            "realized": portfolio.realized_pnl(currency),
            "unrealized": portfolio.unrealized_pnl(currency, marks),
            "state": self.kernel.risk.trading_state.value,
            "journal": self.journal.last_sequence,
            "currency": currency,
        }
