"""The projector: current-state tables (orders, fills, positions, ...) derived from journal records.

A durable journal writes these rows in the same transaction as the records they come from, so
the tables never disagree with the journal. They are derived by the same fold that rebuilds the
kernel at start-up (`KernelState`): one fold, so a projection cannot say something the recovered
kernel would not. `apply` folds a record and notes what it changed; `drain_rows` turns the notes
into rows (the current values of what changed, once each) and forgets them.
"""

from __future__ import annotations

from decimal import Decimal

from application.engines.messages import TradingStateChanged
from application.ports.event_journal import JournalRecord, ProjectionRow, ProjectionRows
from application.recovery.kernel_state import KernelState, canonical_text
from application.runtime.journal_encoding import encode_value
from domain.fill import Fill
from domain.identifiers import ClientOrderId, StrategyId
from domain.instrument import InstrumentId
from domain.risk.breaker_events import BreakerEvent, BreakerTripped


def _money(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


class KernelProjector:
    """A `Projector` over a `KernelState` (see the module doc)."""

    def __init__(self, state: KernelState, *, emit_existing: bool = False) -> None:
        """Project on from `state`; `emit_existing` also emits every current row on the first drain.

        A fresh state (nothing folded) always emits its starting balances on the first drain.
        """
        self._state = state
        self._orders: dict[ClientOrderId, None] = {}
        self._fills: list[ProjectionRow] = []
        self._positions: dict[InstrumentId, None] = {}
        self._currencies: dict[str, None] = {}
        self._trading_state = False
        self._breaker_events: list[ProjectionRow] = []
        self._strategies: dict[StrategyId, None] = {}
        self._balance_sequence: dict[str, int] = {}
        self._position_sequence: dict[InstrumentId, int] = {}
        if emit_existing:
            self._orders.update(dict.fromkeys(order.client_order_id for order in state.orders))
            self._positions.update(dict.fromkeys(p.instrument_id for p in state.portfolio.positions()))
            self._trading_state = state.trading_state_record is not None
            self._strategies.update(dict.fromkeys(state.strategy_states))
        if emit_existing or state.last_sequence == 0:
            self._currencies.update(dict.fromkeys(sorted(state.portfolio.account.balances())))
            for currency in self._currencies:
                self._balance_sequence[currency] = state.last_sequence
            for instrument_id in self._positions:
                self._position_sequence[instrument_id] = state.last_sequence

    @property
    def state(self) -> KernelState:
        """The state folded so far."""
        return self._state

    def apply(self, record: JournalRecord) -> None:
        """Fold one record (the next in sequence) and note what it changed."""
        change = self._state.apply_record(record)
        if change.empty:
            return
        if change.order_id is not None:
            self._orders[change.order_id] = None
        if change.fill is not None:
            self._on_fill(change.fill, record)
        if change.trading_state:
            self._trading_state = True
        event = change.breaker_event
        if event is not None:
            self._breaker_events.append(breaker_event_row(record.sequence, event))
        if change.strategy_id is not None:
            self._strategies[change.strategy_id] = None

    def _on_fill(self, fill: Fill, record: JournalRecord) -> None:
        position = self._state.portfolio.position(fill.instrument_id)
        assert position is not None  # the fill was just applied to it
        fee_currency = position.fee_currency_of(fill)
        self._fills.append(
            {
                "fill_id": fill.fill_id.value,
                "client_order_id": fill.client_order_id.value,
                "instrument_id": str(fill.instrument_id),
                "side": fill.side.value,
                "price": str(fill.price),
                "quantity": str(fill.quantity),
                "fee": str(fill.fee),
                "fee_currency": fee_currency,
                "liquidity": fill.liquidity.value,
                "ts_ns": fill.ts_ns,
                "sequence": record.sequence,
            }
        )
        self._positions[fill.instrument_id] = None
        self._position_sequence[fill.instrument_id] = record.sequence
        for currency in (position.currency, fee_currency):
            self._currencies[currency] = None
            self._balance_sequence[currency] = record.sequence

    def drain_rows(self) -> ProjectionRows:
        """The rows changed since the last drain (then forgets them)."""
        state = self._state
        rows = ProjectionRows(
            orders=tuple(self._order_row(cid) for cid in self._orders),
            fills=tuple(self._fills),
            positions=tuple(self._position_row(iid) for iid in self._positions),
            balances=tuple(
                {
                    "currency": currency,
                    "total": str(state.portfolio.account.balance(currency)),
                    "last_sequence": self._balance_sequence.get(currency, state.last_sequence),
                }
                for currency in self._currencies
            ),
            trading_state=self._trading_state_rows(),
            breaker_events=tuple(self._breaker_events),
            strategy_states=tuple(
                {
                    "strategy_id": sid.value,
                    "state_json": canonical_text(encode_value(state.strategy_states[sid])),
                    "last_sequence": state.strategy_state_sequence(sid),
                }
                for sid in self._strategies
            ),
        )
        self._orders.clear()
        self._fills.clear()
        self._positions.clear()
        self._currencies.clear()
        self._trading_state = False
        self._breaker_events.clear()
        self._strategies.clear()
        return rows

    def _order_row(self, client_order_id: ClientOrderId) -> ProjectionRow:
        order = self._state.order(client_order_id)
        assert order is not None
        venue_order_id = order.venue_order_id
        return {
            "client_order_id": client_order_id.value,
            "strategy_id": order.strategy_id.value,
            "instrument_id": str(order.instrument_id),
            "side": order.side.value,
            "order_type": order.order_type.value,
            "time_in_force": order.time_in_force.value,
            "price": _money(order.price),
            "quantity": str(order.quantity),
            "filled_quantity": str(order.filled_quantity),
            "status": order.status.value,
            "venue_order_id": None if venue_order_id is None else venue_order_id.value,
            "created_ts_ns": order.ts_init_ns,
            "updated_ts_ns": self._state.order_updated_ts_ns(client_order_id),
            "last_sequence": self._state.order_last_sequence(client_order_id),
        }

    def _position_row(self, instrument_id: InstrumentId) -> ProjectionRow:
        position = self._state.portfolio.position(instrument_id)
        assert position is not None
        return {
            "instrument_id": str(instrument_id),
            "quantity": str(position.quantity),
            "average_price": _money(position.average_entry_price),
            "realized_pnl": str(position.realized_pnl),
            "last_sequence": self._position_sequence.get(instrument_id, self._state.last_sequence),
        }

    def _trading_state_rows(self) -> tuple[ProjectionRow, ...]:
        if not self._trading_state:
            return ()
        record = self._state.trading_state_record
        if record is None or not isinstance(record.event, TradingStateChanged):
            return ()
        return (trading_state_row(record, record.event),)


def breaker_event_row(sequence: int, event: BreakerEvent) -> ProjectionRow:
    """The `breaker_events` row of a trip or a reset journaled at `sequence`."""
    if isinstance(event, BreakerTripped):
        return {
            "sequence": sequence,
            "kind": "tripped",
            "reason": event.reason_code.value,
            "detail": event.detail,
            "by": event.by,
            "ts_ns": event.ts_ns,
        }
    return {
        "sequence": sequence,
        "kind": "reset",
        "reason": event.why,
        "detail": "cleared: " + ",".join(reason.value for reason in event.cleared),
        "by": event.by,
        "ts_ns": event.ts_ns,
    }


def trading_state_row(record: JournalRecord, event: TradingStateChanged) -> ProjectionRow:
    """The one `trading_state` row, as of the `TradingStateChanged` in `record`."""
    return {
        "id": 1,
        "state": event.state.value,
        "reason": event.reason,
        "ts_ns": record.ts_ns,
        "last_sequence": record.sequence,
    }
