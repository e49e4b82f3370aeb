"""Messages between the engines: destinations, and the values that travel between them.

Every message is an immutable value (frozen attrs, or a domain value such as `BookTop`), so the
same message can be handed to a handler on another thread. Commands from `application.commands`
(CheckOrder, CancelOrder, CancelAllOrders, HaltTrading, ResumeTrading) travel as they are; the
values here are what the engines add to them.

Destinations are plain strings (the bus addresses actors by name):

    data                 the data engine (frames in; books, tops, trades out)
    strategy:<id>        one strategy engine per strategy instance
    risk                 the risk engine (pre-trade check, circuit breaker, trading state)
    execution            the execution engine (client order ids, the order table, routing)
    portfolio            the portfolio engine (fills, marks, equity)
    venue:<name>         one venue engine per venue (market data the venue adapter needs)
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

import attrs

from application.strategies.strategy_view import OpenOrderView
from domain.identifiers import ClientOrderId, StrategyId
from domain.instrument import InstrumentId
from domain.order_terms import OrderSide, OrderType, TimeInForce
from domain.orders.order import Order
from domain.orders.order_events import OrderEvent
from domain.orders.order_status import OrderStatus
from domain.risk.risk_decision import RiskDecision
from domain.risk.trading_state import TradingState
from domain.signals import OrderIntent, Signal

DATA = "data"
RISK = "risk"
EXECUTION = "execution"
PORTFOLIO = "portfolio"

#: Journal stream ids of the engines that are not per order or per instrument.
RISK_STREAM = "risk"
PORTFOLIO_STREAM = "portfolio"


def strategy_destination(strategy_id: StrategyId) -> str:
    """The bus address of a strategy's engine."""
    return f"strategy:{strategy_id.value}"


def venue_destination(venue: str) -> str:
    """The bus address of a venue's engine (the venue name as instruments carry it)."""
    return f"venue:{venue}"


# ----- data in ---------------------------------------------------------------------------------


@attrs.frozen
class MarketFrame:
    """One raw frame received from a venue's market-data connection."""

    venue: str
    text: str | bytes
    receive_ts_ns: int
    connection_id: str


@attrs.frozen
class SentFrame:
    """A frame we sent on a market-data connection (some codecs count them, e.g. dYdX subscribes)."""

    venue: str
    text: str
    ts_ns: int
    connection_id: str


@attrs.frozen
class Timer:
    """A timer tick at `ts_ns` for the strategies (the kernel's clock; simulated in replay)."""

    ts_ns: int


# ----- strategy -> risk / execution ------------------------------------------------------------


@attrs.frozen
class SignalIgnored:
    """Journal record: a strategy's signal the kernel did not act on, and why."""

    strategy_id: StrategyId
    signal: Signal
    reason: str
    ts_ns: int


# ----- risk -> execution -----------------------------------------------------------------------


@attrs.frozen
class ExecuteIntent:
    """Execution: risk approved this (grid-snapped) intent; give it an id, journal it, send it.

    `approval_id` numbers risk's approvals; execution echoes it on the order's first snapshot so
    risk can swap its in-flight reservation for the order.
    """

    intent: OrderIntent
    approval_id: int
    ts_ns: int


@attrs.frozen
class DenyIntent:
    """Execution: risk denied this intent; record it as a DENIED order (it is never sent)."""

    intent: OrderIntent
    decision: RiskDecision
    ts_ns: int


@attrs.frozen
class TradingStateChanged:
    """The effective trading state (operator's and breaker's, the stricter) changed."""

    state: TradingState
    reason: str
    ts_ns: int


# ----- execution -> everyone -------------------------------------------------------------------


@attrs.frozen
class OrderSnapshot:
    """An order as it stands right after one event: everything other engines may know of it."""

    client_order_id: ClientOrderId
    strategy_id: StrategyId
    instrument_id: InstrumentId
    side: OrderSide
    order_type: OrderType
    time_in_force: TimeInForce
    price: Decimal | None
    quantity: Decimal
    filled_quantity: Decimal
    leaves_quantity: Decimal
    status: OrderStatus
    tag: str
    reduce_only: bool
    post_only: bool

    @classmethod
    def of(cls, order: Order) -> OrderSnapshot:
        """The snapshot of `order` now."""
        return cls(
            client_order_id=order.client_order_id,
            strategy_id=order.strategy_id,
            instrument_id=order.instrument_id,
            side=order.side,
            order_type=order.order_type,
            time_in_force=order.time_in_force,
            price=order.price,
            quantity=order.quantity,
            filled_quantity=order.filled_quantity,
            leaves_quantity=order.leaves_quantity,
            status=order.status,
            tag=order.tag,
            reduce_only=order.reduce_only,
            post_only=order.post_only,
        )

    @property
    def is_terminal(self) -> bool:
        """True when the venue will not work the order again."""
        return self.status.is_terminal

    @property
    def working_quantity(self) -> Decimal:
        """What may still fill: the leaves of an order that is not terminal, else zero."""
        return Decimal(0) if self.status.is_terminal else self.leaves_quantity

    def view(self) -> OpenOrderView:
        """The strategy's view of this order."""
        return OpenOrderView(
            client_order_id=self.client_order_id,
            side=self.side,
            price=self.price,
            quantity=self.quantity,
            leaves_quantity=self.leaves_quantity,
            status=self.status,
            tag=self.tag,
            reduce_only=self.reduce_only,
        )


@attrs.frozen
class OrderUpdated:
    """Execution -> risk, portfolio and the owning strategy: an event applied to an order.

    `snapshot` is the order right after `event`. `approval_id` is set on the first update of an
    order built from an `ExecuteIntent` (its OrderSubmitted).
    """

    event: OrderEvent
    snapshot: OrderSnapshot
    approval_id: int | None = None


@attrs.frozen
class OrderInitialized:
    """Journal record: an order was built from an intent (its full terms, before anything else)."""

    order: Order
    approval_id: int | None
    ts_ns: int


@attrs.frozen
class VenueCallFailed:
    """A call to a venue raised: the request's fate is unknown, so it is never repeated blindly."""

    venue: str
    operation: str  # submit, cancel, cancel_all
    client_order_id: ClientOrderId | None
    error: str
    ts_ns: int


@attrs.frozen
class VenueCallSucceeded:
    """A venue call returned normally after one or more failures (the breaker's run of failures ends)."""

    venue: str
    ts_ns: int


@attrs.frozen
class ForeignOrders:
    """Execution: venue orders the kernel did not place (found by reconciliation at start-up).

    Their reports (the cancel reconciliation asked for, a fill of an adopted order) are journaled
    as `ReportNotApplied` with reason `FOREIGN_ORDER_REASON` and counted, but not applied and not
    notified as CRITICAL: they are expected. Their money effects stay out of the portfolio, so a
    later reconciliation shows them as differences.
    """

    client_order_ids: frozenset[ClientOrderId]
    ts_ns: int


#: The `ReportNotApplied.reason` of a report about a venue order the kernel did not place.
FOREIGN_ORDER_REASON = "a venue order the kernel did not place (found by reconciliation)"


@attrs.frozen
class ReportNotApplied:
    """Journal record: a venue report execution could not apply (unknown order, contradiction)."""

    report: OrderEvent
    reason: str
    ts_ns: int


@attrs.frozen
class CancelNotSent:
    """Journal record: a cancel that was not sent (unknown order, already terminal)."""

    client_order_id: ClientOrderId
    reason: str
    ts_ns: int


@attrs.frozen
class StrategyStateSaved:
    """Journal record: a strategy's `snapshot()` after a handled message changed it.

    The strategy engine journals one whenever the snapshot differs from the last one it journaled
    (so the last record of a strategy is its state after the last message it handled); a
    restarted strategy actor builds a fresh strategy and `restore`s the last one (see
    `StrategyEngine.rebuild`). `state` is a private deep copy, never shared with the strategy.
    """

    strategy_id: StrategyId
    state: Mapping[str, object]
    ts_ns: int


# ----- portfolio -> risk -----------------------------------------------------------------------


@attrs.frozen
class PortfolioSnapshot:
    """Portfolio -> risk: equity and balances in the reporting currency after a fill or a mark."""

    currency: str
    equity: Decimal
    high_water_mark: Decimal
    daily_pnl: Decimal
    balances: tuple[tuple[str, Decimal], ...]
    ts_ns: int

    @property
    def drawdown_fraction(self) -> Decimal:
        """(high-water mark - equity) / high-water mark, 0 without a positive mark."""
        if self.high_water_mark <= 0:
            return Decimal(0)
        return max(Decimal(0), (self.high_water_mark - self.equity) / self.high_water_mark)


# ----- replay ----------------------------------------------------------------------------------


@attrs.frozen
class ReplayInput:
    """The journal's first record in a replay: which recording it replays (its sha256 and size).

    Market data is not journaled value by value (adr/0005-journal-content.md); this record ties
    the journal to the exact bytes that reproduce it, so a changed frame changes the journal."""

    sha256: str
    venue: str
    frames: int
    frames_sent: int
