"""The kernel's state as a pure fold of its journal, its snapshots, and recovery at start-up.

Why a fold: the journal is the only record of what the kernel did that survives a crash, so the
state after a restart must be a function of the journal alone. `KernelState.apply` folds one
record at a time, in contiguous sequence order (no I/O, no clock), into what the engines hold:

- orders: each `OrderInitialized` builds a fresh `Order` from the journaled terms, and every
  order event journaled under the order's stream (its client order id text) is applied to it,
  exactly as execution applied it. Execution journals an event there only once `Order.apply`
  accepted it; refusals are journaled as other types (`OrderUpdate` for a duplicate fill or an
  overfill, `ReportNotApplied`, `CancelNotSent`, `VenueCallFailed`) and are skipped. A journaled
  event that the rebuilt order does not accept means the journal contradicts itself: it raises.
- the portfolio: the starting balance is deposited (as `PortfolioEngine` does) and every fill
  applied to an order is applied to the portfolio at the point execution journaled it. The
  portfolio's own `FillResult` records are not needed: after a crash the `OrderUpdated` that
  would have carried a journaled fill to the portfolio is lost, yet the fill happened.
- the next client order id counter (after the highest issued in this seed's namespace), the
  breaker's trips and resets, the operator's halts and resumes, the last published trading
  state, and the last `StrategyStateSaved` of each strategy.

A snapshot is the COMPACTED journal: the original records (in sequence order) that reproduce the
state when folded, after a header line holding the format version and the last sequence folded.
Each record is one line of canonical JSON (as `journal_encoding` writes records) and the whole is
zlib-compressed. Keeping records rather than a bespoke state encoding means there is exactly one
way to build state (the fold), so a snapshot cannot drift from what the journal says.
"""

from __future__ import annotations

import copy
import hashlib
import json
import zlib
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal

import attrs

from application.commands import HaltTrading, ResumeTrading
from application.engines.messages import (
    PORTFOLIO_STREAM,
    RISK_STREAM,
    ExecuteIntent,
    OrderInitialized,
    StrategyStateSaved,
    TradingStateChanged,
)
from application.ports.event_journal import EventJournal, JournalRecord, StoredSnapshot
from application.runtime.journal_encoding import canonical_bytes, encode_value
from domain.errors import DomainError
from domain.fill import Fill
from domain.identifiers import ClientOrderId, FillId, StrategyId
from domain.instrument import Instrument, InstrumentId
from domain.numbers import EXACT_CONTEXT, ZERO
from domain.orders.order import Order
from domain.orders.order_events import ORDER_EVENT_TYPES, OrderFilled
from domain.orders.order_status import OrderStatus
from domain.portfolio.equity_tracker import EquitySnapshot
from domain.portfolio.portfolio import Portfolio
from domain.portfolio.round_trip import RoundTrip
from domain.risk.breaker_events import BreakerEvent, BreakerReset, BreakerTripped
from domain.risk.trading_state import TradingState

SNAPSHOT_FORMAT = "tk-kernel-snapshot"
SNAPSHOT_VERSION = 1
_COUNTER_BITS = 24
_COUNTER_MASK = (1 << _COUNTER_BITS) - 1
_NAMESPACES = 256
_EXACT = EXACT_CONTEXT


class JournalSequenceError(ValueError):
    """Records folded out of order: a gap or a repeat in the sequence numbers."""


class InconsistentJournalError(ValueError):
    """The journal contradicts itself (an order event its order does not accept, an unknown order)."""


class SnapshotError(ValueError):
    """Snapshot bytes that cannot be read back (corrupt, truncated, or of an unknown format)."""


class RecoveryInterruptedError(Exception):
    """Recovery was asked to stop (a signal during start-up) before the journal's end."""


#: Records folded between two questions to `should_stop`.
STOP_CHECK_INTERVAL = 256


@attrs.define
class FillTotal:
    """What applied fills of one instrument added up to: count, base quantity, quote notional, fees."""

    count: int = 0
    quantity: Decimal = ZERO
    notional: Decimal = ZERO
    fees: Decimal = ZERO


@attrs.frozen
class StateChange:
    """What folding one record changed (for projections): which order, fill, breaker event, etc."""

    order_id: ClientOrderId | None = None
    fill: Fill | None = None  # a fill applied to its order (and to the portfolio)
    trading_state: bool = False
    breaker_event: BreakerEvent | None = None
    strategy_id: StrategyId | None = None

    @property
    def empty(self) -> bool:
        """True when the record changed nothing the projections show."""
        return self == _NO_CHANGE


_NO_CHANGE = StateChange()


class ControlFold:
    """Risk's control records folded: the breaker's trips and resets, the operator's halts and
    resumes, and the trading state risk last published. One rule for the kernel's recovery
    (`KernelState`) and the offline `trading` commands (`trading_control.TradingControl`)."""

    def __init__(self) -> None:
        self._history: list[BreakerEvent] = []
        self._operator_state = TradingState.ACTIVE
        self._halted_instruments: dict[InstrumentId, str] = {}
        self._published = TradingState.ACTIVE

    def apply(self, event: object) -> bool:
        """Fold one of risk's events; False when it is not a control record."""
        if isinstance(event, (BreakerTripped, BreakerReset)):
            self._history.append(event)
        elif isinstance(event, TradingStateChanged):
            self._published = event.state
        elif isinstance(event, HaltTrading):
            if event.instrument_id is not None:
                self._halted_instruments[event.instrument_id] = f"halted by {event.by}: {event.reason}"
            else:
                self._operator_state = TradingState.HALTED
        elif isinstance(event, ResumeTrading):
            self._operator_state = TradingState.ACTIVE
            self._halted_instruments.clear()
        else:
            return False
        return True

    @property
    def breaker_history(self) -> tuple[BreakerEvent, ...]:
        """Every breaker trip and reset, in journal order."""
        return tuple(self._history)

    @property
    def operator_state(self) -> TradingState:
        """HALTED after an operator's (or reconciliation's) `HaltTrading` of everything, until a resume."""
        return self._operator_state

    @property
    def halted_instruments(self) -> dict[InstrumentId, str]:
        """Instruments halted one by one (with why), until a `ResumeTrading`."""
        return dict(self._halted_instruments)

    @property
    def published_state(self) -> TradingState:
        """The trading state risk last journaled (ACTIVE before any change)."""
        return self._published


class KernelState:
    """The kernel's state folded from journal records (see the module doc)."""

    def __init__(
        self,
        instruments: Mapping[InstrumentId, Instrument],
        *,
        currency: str,
        starting_balance: Decimal,
        id_seed: int,
    ) -> None:
        self._instruments = dict(instruments)
        self._currency = currency
        self._starting_balance = starting_balance
        self._id_seed = id_seed
        self._namespace = id_seed % _NAMESPACES
        self._last_sequence = 0
        self._orders: dict[ClientOrderId, Order] = {}
        self._order_sequence: dict[ClientOrderId, int] = {}  # the last record that changed each order
        self._order_ts: dict[ClientOrderId, int] = {}
        self._portfolio = Portfolio()
        if starting_balance > 0:
            self._portfolio.deposit(currency, starting_balance)
        self._fill_ids: set[FillId] = set()
        self._last_fill_ts_ns: int | None = None
        self._last_fill_price: dict[InstrumentId, Decimal] = {}
        self._fill_totals: dict[InstrumentId, FillTotal] = {}
        self._round_trips: list[RoundTrip] = []
        self._portfolio_refusals: list[str] = []
        self._next_counter = 0
        self._last_approval_id = 0
        self._control = ControlFold()
        self._strategy_states: dict[StrategyId, JournalRecord] = {}
        # The compacted journal: the records a snapshot keeps, by sequence (insertion = sequence order).
        self._kept: dict[int, JournalRecord] = {}
        self._kept_trading_state: int | None = None
        self._kept_execute_intent: int | None = None
        self._equity_baselines: dict[str, JournalRecord] = {}

    # ----- folding -----

    def apply(self, record: JournalRecord) -> None:
        """Fold the next record; its sequence must be `last_sequence + 1`."""
        self.apply_record(record)

    def apply_record(self, record: JournalRecord) -> StateChange:
        """Fold the next record (contiguous sequence) and say what it changed."""
        expected = self._last_sequence + 1
        if record.sequence != expected:
            what = "a repeat" if record.sequence <= self._last_sequence else "a gap"
            raise JournalSequenceError(
                f"journal record {record.sequence} folded after {self._last_sequence}: {what} "
                f"(expected sequence {expected})"
            )
        change = self._fold(record)
        self._last_sequence = record.sequence
        return change

    def _fold(self, record: JournalRecord) -> StateChange:
        event = record.event
        if isinstance(event, OrderInitialized):
            return self._on_initialized(record, event)
        if isinstance(event, ORDER_EVENT_TYPES):
            return self._on_order_event(record)
        if record.stream_id == RISK_STREAM:
            return self._on_risk(record)
        if isinstance(event, EquitySnapshot) and record.stream_id == PORTFOLIO_STREAM:
            # The last valuation's high-water mark and start-of-day equity: the baselines of the
            # drawdown and daily-loss limits resume from it.
            previous_baseline = self._equity_baselines.get(event.currency)
            if previous_baseline is not None:
                self._kept.pop(previous_baseline.sequence, None)
            self._equity_baselines[event.currency] = record
            self._kept[record.sequence] = record
            self._portfolio.restore_equity_tracker(event)
            return _NO_CHANGE
        if isinstance(event, StrategyStateSaved) and record.stream_id == event.strategy_id.value:
            previous = self._strategy_states.get(event.strategy_id)
            if previous is not None:
                self._kept.pop(previous.sequence, None)
            self._strategy_states[event.strategy_id] = record
            self._kept[record.sequence] = record
            return StateChange(strategy_id=event.strategy_id)
        return _NO_CHANGE  # market data, commands, refusals, FillResults: nothing to rebuild

    def _on_initialized(self, record: JournalRecord, event: OrderInitialized) -> StateChange:
        terms = event.order
        client_order_id = terms.client_order_id
        if record.stream_id != client_order_id.value:
            raise InconsistentJournalError(
                f"record {record.sequence}: order {client_order_id} initialized under stream "
                f"{record.stream_id!r}"
            )
        if client_order_id in self._orders:
            raise InconsistentJournalError(
                f"record {record.sequence}: order {client_order_id} initialized twice "
                "(a client order id reused)"
            )
        order = attrs.evolve(terms)  # a fresh INITIALIZED order with the journaled terms
        if order.status is not OrderStatus.INITIALIZED or order.events:
            raise InconsistentJournalError(f"record {record.sequence}: order {client_order_id} is not fresh")
        self._orders[client_order_id] = order
        self._order_sequence[client_order_id] = record.sequence
        self._order_ts[client_order_id] = record.ts_ns
        number = client_order_id.number
        if number >> _COUNTER_BITS == self._namespace:
            self._next_counter = max(self._next_counter, (number & _COUNTER_MASK) + 1)
        if event.approval_id is not None:
            self._last_approval_id = max(self._last_approval_id, event.approval_id)
        self._kept[record.sequence] = record
        return StateChange(order_id=client_order_id)

    def _on_order_event(self, record: JournalRecord) -> StateChange:
        event = record.event
        assert isinstance(event, ORDER_EVENT_TYPES)
        client_order_id = event.client_order_id
        if record.stream_id != client_order_id.value:
            return _NO_CHANGE  # not execution's record of an applied event
        order = self._orders.get(client_order_id)
        if order is None:
            raise InconsistentJournalError(
                f"record {record.sequence}: {type(event).__name__} for order {client_order_id}, "
                "which the journal never initialized"
            )
        try:
            update = order.apply(event)
        except DomainError as error:
            raise InconsistentJournalError(
                f"record {record.sequence}: {type(event).__name__} journaled as applied to order "
                f"{client_order_id}, but the rebuilt order refuses it: {error}"
            ) from error
        if not update.applied:
            raise InconsistentJournalError(
                f"record {record.sequence}: journaled as applied, but the rebuilt order says: "
                f"{update.message}"
            )
        self._order_sequence[client_order_id] = record.sequence
        self._order_ts[client_order_id] = record.ts_ns
        self._kept[record.sequence] = record
        if isinstance(event, OrderFilled):
            return StateChange(order_id=client_order_id, fill=self._on_fill(record, event.fill))
        return StateChange(order_id=client_order_id)

    def _on_fill(self, record: JournalRecord, fill: Fill) -> Fill | None:
        instrument = self._instruments.get(fill.instrument_id)
        if instrument is None:
            raise InconsistentJournalError(
                f"record {record.sequence}: fill {fill.fill_id} of unknown instrument {fill.instrument_id}"
            )
        try:
            result = self._portfolio.apply_fill(fill, instrument)
        except DomainError as error:
            # The live portfolio refused it the same way (its engine raised): keep the fold going
            # so the kernel can restart, and say so for reconciliation.
            self._portfolio_refusals.append(f"record {record.sequence}: fill {fill.fill_id}: {error}")
            return None
        if result.duplicate:
            return None  # the portfolio had it already (the same fill id on another order)
        self._fill_ids.add(fill.fill_id)
        if self._last_fill_ts_ns is None or fill.ts_ns > self._last_fill_ts_ns:
            self._last_fill_ts_ns = fill.ts_ns
        self._last_fill_price[fill.instrument_id] = fill.price
        totals = self._fill_totals.setdefault(fill.instrument_id, FillTotal())
        totals.count += 1
        totals.quantity = _EXACT.add(totals.quantity, fill.quantity)
        totals.notional = _EXACT.add(totals.notional, _EXACT.multiply(fill.price, fill.quantity))
        totals.fees = _EXACT.add(totals.fees, result.fee)
        if result.round_trip is not None:
            self._round_trips.append(result.round_trip)
        return fill

    def _on_risk(self, record: JournalRecord) -> StateChange:
        event = record.event
        if self._control.apply(event):
            if isinstance(event, TradingStateChanged):  # only the latest is kept
                if self._kept_trading_state is not None:
                    self._kept.pop(self._kept_trading_state, None)
                self._kept_trading_state = record.sequence
            self._kept[record.sequence] = record
            if isinstance(event, (BreakerTripped, BreakerReset)):
                return StateChange(breaker_event=event)
            if isinstance(event, TradingStateChanged):
                return StateChange(trading_state=True)
            return _NO_CHANGE
        if isinstance(event, ExecuteIntent):
            # Only the latest is kept: it numbers risk's approvals (an order may not exist for it yet).
            if self._kept_execute_intent is not None:
                self._kept.pop(self._kept_execute_intent, None)
            self._kept_execute_intent = record.sequence
            self._kept[record.sequence] = record
            self._last_approval_id = max(self._last_approval_id, event.approval_id)
        return _NO_CHANGE

    # ----- what the state holds -----

    @property
    def currency(self) -> str:
        """The reporting currency."""
        return self._currency

    @property
    def starting_balance(self) -> Decimal:
        """The balance deposited before the first record."""
        return self._starting_balance

    @property
    def id_seed(self) -> int:
        """The client order id seed whose namespace `next_id_counter` counts."""
        return self._id_seed

    @property
    def instruments(self) -> Mapping[InstrumentId, Instrument]:
        """The instruments fills are applied with."""
        return dict(self._instruments)

    @property
    def last_sequence(self) -> int:
        """The sequence of the last record folded (0: none)."""
        return self._last_sequence

    @property
    def orders(self) -> tuple[Order, ...]:
        """Every order, in creation order (read them: they belong to this state)."""
        return tuple(self._orders.values())

    def order(self, client_order_id: ClientOrderId) -> Order | None:
        """The order with this id, or None."""
        return self._orders.get(client_order_id)

    @property
    def open_orders(self) -> tuple[Order, ...]:
        """The orders that are, or may be, working at the venue (SUBMITTED to PENDING_CANCEL)."""
        return tuple(order for order in self._orders.values() if order.is_open)

    @property
    def unsent_orders(self) -> tuple[Order, ...]:
        """Orders still INITIALIZED: built, but the process stopped before they were submitted."""
        return tuple(o for o in self._orders.values() if o.status is OrderStatus.INITIALIZED)

    def order_last_sequence(self, client_order_id: ClientOrderId) -> int:
        """The sequence of the last record that changed the order (0: unknown order)."""
        return self._order_sequence.get(client_order_id, 0)

    def order_updated_ts_ns(self, client_order_id: ClientOrderId) -> int:
        """The journal time of the last record that changed the order (0: unknown order)."""
        return self._order_ts.get(client_order_id, 0)

    @property
    def portfolio(self) -> Portfolio:
        """The portfolio (read it: it belongs to this state)."""
        return self._portfolio

    @property
    def portfolio_refusals(self) -> tuple[str, ...]:
        """Fills applied to their order that the portfolio refused (a conflicting fill id), why."""
        return tuple(self._portfolio_refusals)

    @property
    def fill_ids(self) -> frozenset[FillId]:
        """Every fill id applied."""
        return frozenset(self._fill_ids)

    @property
    def last_fill_ts_ns(self) -> int | None:
        """The latest venue time of an applied fill (None: no fill yet)."""
        return self._last_fill_ts_ns

    @property
    def last_fill_prices(self) -> dict[InstrumentId, Decimal]:
        """The price of the last applied fill per instrument (marks until the market is seen)."""
        return dict(self._last_fill_price)

    @property
    def fill_totals(self) -> dict[InstrumentId, FillTotal]:
        """What applied fills added up to per instrument (copies)."""
        return {iid: attrs.evolve(total) for iid, total in self._fill_totals.items()}

    @property
    def round_trips(self) -> tuple[RoundTrip, ...]:
        """The round trips the applied fills closed, in order."""
        return tuple(self._round_trips)

    @property
    def next_id_counter(self) -> int:
        """The counter after the highest client order id issued in `id_seed`'s namespace."""
        return self._next_counter

    @property
    def last_approval_id(self) -> int:
        """The highest approval id risk journaled (0: none)."""
        return self._last_approval_id

    @property
    def breaker_history(self) -> tuple[BreakerEvent, ...]:
        """Every breaker trip and reset, in journal order."""
        return self._control.breaker_history

    @property
    def operator_state(self) -> TradingState:
        """HALTED after an operator's `HaltTrading` (of everything) until a `ResumeTrading`."""
        return self._control.operator_state

    @property
    def halted_instruments(self) -> dict[InstrumentId, str]:
        """Instruments an operator halted (with the reason), until a `ResumeTrading`."""
        return self._control.halted_instruments

    @property
    def trading_state(self) -> TradingState:
        """The effective trading state risk last published (ACTIVE before any)."""
        return self._control.published_state

    @property
    def trading_state_record(self) -> JournalRecord | None:
        """The last `TradingStateChanged` record, or None."""
        return None if self._kept_trading_state is None else self._kept.get(self._kept_trading_state)

    @property
    def strategy_states(self) -> dict[StrategyId, Mapping[str, object]]:
        """The last journaled state of each strategy (deep copies)."""
        return {
            sid: copy.deepcopy(dict(_saved(record).state)) for sid, record in self._strategy_states.items()
        }

    def strategy_state_sequence(self, strategy_id: StrategyId) -> int:
        """The sequence of the strategy's last `StrategyStateSaved` (0: none)."""
        record = self._strategy_states.get(strategy_id)
        return 0 if record is None else record.sequence

    # ----- snapshots -----

    def compacted_records(self) -> tuple[JournalRecord, ...]:
        """The records a snapshot keeps: folded in order, they rebuild this state."""
        return tuple(self._kept.values())

    def snapshot_bytes(self) -> bytes:
        """The compacted journal: a header line, then one canonical JSON record per line, zlib'd."""
        records = self.compacted_records()
        header = {
            "format": SNAPSHOT_FORMAT,
            "version": SNAPSHOT_VERSION,
            "last_sequence": self._last_sequence,
            "records": len(records),
        }
        lines = [canonical_text(header).encode("utf-8")]
        lines.extend(canonical_bytes(record) for record in records)
        return zlib.compress(b"\n".join(lines), 6)

    @classmethod
    def from_snapshot(
        cls,
        data: bytes,
        instruments: Mapping[InstrumentId, Instrument],
        *,
        currency: str,
        starting_balance: Decimal,
        id_seed: int,
    ) -> KernelState:
        """The state a snapshot holds; fold the journal from `last_sequence + 1` on to continue."""
        state = cls(instruments, currency=currency, starting_balance=starting_balance, id_seed=id_seed)
        try:
            text = zlib.decompress(data).decode("utf-8")
        except (zlib.error, UnicodeDecodeError) as error:
            raise SnapshotError(f"snapshot is not a zlib-compressed UTF-8 text: {error}") from error
        lines = text.split("\n")
        header = _json_object(lines[0], "header")
        if header.get("format") != SNAPSHOT_FORMAT or header.get("version") != SNAPSHOT_VERSION:
            raise SnapshotError(
                f"unknown snapshot format {header.get('format')!r} version {header.get('version')!r} "
                f"(expected {SNAPSHOT_FORMAT!r} version {SNAPSHOT_VERSION})"
            )
        last_sequence = header.get("last_sequence")
        count = header.get("records")
        if not isinstance(last_sequence, int) or not isinstance(count, int) or last_sequence < 0:
            raise SnapshotError(f"snapshot header is malformed: {lines[0]!r}")
        body = lines[1:] if count else [line for line in lines[1:] if line]
        if len(body) != count:
            raise SnapshotError(f"snapshot holds {len(body)} records, its header says {count}")
        for number, line in enumerate(body, start=1):
            record = _decode_record(line, number)
            if record.sequence <= state._last_sequence or record.sequence > last_sequence:
                raise SnapshotError(
                    f"snapshot record {number} has sequence {record.sequence}, out of order "
                    f"(after {state._last_sequence}, at most {last_sequence})"
                )
            try:
                state._fold(record)
            except (InconsistentJournalError, DomainError) as error:
                raise SnapshotError(
                    f"snapshot record {number} (sequence {record.sequence}): {error}"
                ) from error
            state._last_sequence = record.sequence
        state._last_sequence = last_sequence
        return state

    # ----- comparing states -----

    def describe(self) -> dict[str, object]:
        """A canonical, JSON-ready description of the state (what `state_digest` hashes)."""
        orders = [
            {
                "id": order.client_order_id.value,
                "status": order.status.value,
                "filled": str(order.filled_quantity),
                "leaves": str(order.leaves_quantity),
                "notional": str(order.filled_notional),
                "fees": encode_value(order.fees),
                "venue_order_id": None if order.venue_order_id is None else order.venue_order_id.value,
                "fills": [fill_id.value for fill_id in order.fill_ids],
                "events": len(order.events),
            }
            for order in self._orders.values()
        ]
        positions = [
            {
                "instrument": str(position.instrument_id),
                "quantity": str(position.quantity),
                "realized_pnl": str(position.realized_pnl),
                "lots": [[str(lot.price), str(lot.quantity), lot.ts_ns] for lot in position.lots],
                "fees": encode_value(position.fees_by_currency()),
            }
            for position in self._portfolio.positions()
        ]
        balances = self._portfolio.account.balances()
        return {
            "last_sequence": self._last_sequence,
            "orders": orders,
            "positions": positions,
            "balances": {currency: str(amount) for currency, amount in sorted(balances.items())},
            "realized_pnl": {
                currency: str(self._portfolio.realized_pnl(currency)) for currency in sorted(balances)
            },
            "fill_ids": sorted(fill_id.value for fill_id in self._fill_ids),
            "next_id_counter": self._next_counter,
            "last_approval_id": self._last_approval_id,
            "breaker_history": encode_value(list(self.breaker_history)),
            "operator_state": self.operator_state.value,
            "halted_instruments": {str(iid): why for iid, why in sorted(self.halted_instruments.items())},
            "trading_state": self.trading_state.value,
            "strategy_states": {
                sid.value: encode_value(_saved(record).state)
                for sid, record in sorted(self._strategy_states.items())
            },
            "equity_baselines": {
                code: encode_value(record.event) for code, record in sorted(self._equity_baselines.items())
            },
        }

    def state_digest(self) -> str:
        """sha256 of the canonical description of the state (equal states, equal digests)."""
        return hashlib.sha256(canonical_text(self.describe()).encode("utf-8")).hexdigest()


def recover(
    journal: EventJournal,
    snapshot: StoredSnapshot | None,
    instruments: Mapping[InstrumentId, Instrument],
    *,
    currency: str,
    starting_balance: Decimal,
    id_seed: int,
) -> KernelState:
    """The state at the journal's end: the snapshot (or nothing) plus every record after it."""
    if snapshot is None:
        state = KernelState(
            instruments, currency=currency, starting_balance=starting_balance, id_seed=id_seed
        )
    else:
        state = KernelState.from_snapshot(
            snapshot.data, instruments, currency=currency, starting_balance=starting_balance, id_seed=id_seed
        )
        if state.last_sequence != snapshot.sequence:
            raise SnapshotError(
                f"snapshot stored at sequence {snapshot.sequence} holds state as of {state.last_sequence}"
            )
    fold(state, journal.read(state.last_sequence + 1))
    return state


def fold(
    state: KernelState, records: Iterable[JournalRecord], should_stop: Callable[[], bool] | None = None
) -> KernelState:
    """Fold `records` (contiguous, continuing the state) into `state`; returns it.

    `should_stop` is asked every `STOP_CHECK_INTERVAL` records; True raises `RecoveryInterruptedError`
    between two records (the state is then incomplete and must be dropped).
    """
    for count, record in enumerate(records):
        if should_stop is not None and count % STOP_CHECK_INTERVAL == 0 and should_stop():
            raise RecoveryInterruptedError(f"recovery interrupted before journal record {record.sequence}")
        state.apply(record)
    return state


def _saved(record: JournalRecord) -> StrategyStateSaved:
    event = record.event
    assert isinstance(event, StrategyStateSaved)
    return event


def canonical_text(value: object) -> str:
    """Canonical JSON text of a JSON-ready value (sorted keys, no spaces, UTF-8 kept)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _json_object(line: str, what: str) -> dict[str, object]:
    try:
        value = json.loads(line, parse_float=_no_float)
    except ValueError as error:
        raise SnapshotError(f"snapshot {what} is not JSON: {error}") from error
    if not isinstance(value, dict):
        raise SnapshotError(f"snapshot {what} is not a JSON object")
    return value


def _no_float(text: str) -> object:
    raise SnapshotError(f"a float in a snapshot: {text}")


def _decode_record(line: str, number: int) -> JournalRecord:
    raw = _json_object(line, f"record {number}")
    sequence, ts_ns, stream = raw.get("seq"), raw.get("ts_ns"), raw.get("stream")
    if not isinstance(sequence, int) or not isinstance(ts_ns, int) or not isinstance(stream, str):
        raise SnapshotError(f"snapshot record {number} lacks seq, ts_ns or stream")
    if "event" not in raw:
        raise SnapshotError(f"snapshot record {number} has no event")
    # Imported here: journal_decoding imports every application module (this one too) to find its types.
    from application.runtime.journal_decoding import decode_event

    try:
        event = decode_event(raw["event"])
    except (DomainError, ValueError, TypeError) as error:  # UndecodableEventError is a ValueError
        raise SnapshotError(f"snapshot record {number} (sequence {sequence}): {error}") from error
    return JournalRecord(sequence, ts_ns, stream, event)
