"""Commands: what one engine asks another to do, in the imperative, as immutable values.

The order of engines: data -> strategy -> risk -> execution -> venue; fills and order events
flow back through execution to the portfolio, risk and the strategies.
"""

from __future__ import annotations

import attrs

from domain.identifiers import ClientOrderId
from domain.instrument import InstrumentId
from domain.orders.order import Order
from domain.risk.breaker_events import CancelAllOrders
from domain.signals import OrderIntent

__all__ = [
    "CancelAllOrders",
    "CancelOrder",
    "CheckOrder",
    "HaltTrading",
    "ResumeTrading",
    "SaveStrategyState",
    "SubmitOrder",
]


@attrs.frozen
class CheckOrder:
    """Risk: check a strategy's intent and, if approved, have execution submit it."""

    intent: OrderIntent
    ts_ns: int


@attrs.frozen
class SubmitOrder:
    """Execution: journal this approved order, then send it to its venue."""

    order: Order
    ts_ns: int


@attrs.frozen
class CancelOrder:
    """Execution: ask the venue to cancel one order."""

    client_order_id: ClientOrderId
    reason: str
    ts_ns: int


@attrs.frozen
class HaltTrading:
    """Risk: stop all trading now (state HALTED) and cancel every open order."""

    reason: str
    by: str
    ts_ns: int
    instrument_id: InstrumentId | None = None


@attrs.frozen
class ResumeTrading:
    """Risk: a person resets the breaker and trading resumes; who and why are recorded."""

    by: str
    why: str
    ts_ns: int


@attrs.frozen
class SaveStrategyState:
    """A strategy engine: journal the strategy's state now if it changed since the last checkpoint.

    Sent at the end of a replay and on a graceful shutdown, so the journal ends with every
    strategy's state (between them, silent market data is checkpointed only at an interval).
    """

    ts_ns: int
