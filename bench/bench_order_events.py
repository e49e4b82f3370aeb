"""Benchmark: applying a realistic life cycle of events to each of N orders.

Each order sees: submitted, accepted, three partial fills with a duplicate of the second one and a
cancel request racing the third (which completes the order), then the venue's cancel rejection:
8 events, of which 7 apply and 1 is reported as a duplicate. Building the events is not timed;
only `Order.apply` is. Run: `.venv/bin/python bench/bench_order_events.py [--orders N]`.
"""

from __future__ import annotations

import argparse
import time
from decimal import Decimal

from domain.fill import Fill
from domain.identifiers import ClientOrderId, FillId, StrategyId, VenueOrderId
from domain.instrument import InstrumentId
from domain.order_terms import LiquiditySide, OrderSide
from domain.orders import (
    Order,
    OrderAccepted,
    OrderCancelRejected,
    OrderCancelRequested,
    OrderEvent,
    OrderFilled,
    OrderStatus,
    OrderSubmitted,
    UpdateOutcome,
)
from domain.signals import OrderIntent

BTC = InstrumentId("COINBASE", "BTC-USD")
INTENT = OrderIntent(StrategyId("bench"), BTC, OrderSide.BUY, "0.0300", price="65000.00")
FILLS = ((Decimal("0.0100"), Decimal("64999.99")), (Decimal("0.0120"), Decimal("65000.00")))
LAST_FILL = (Decimal("0.0080"), Decimal("64999.50"))
BATCH = 10_000  # orders built, then timed, per batch: bounds memory for large N


def life_cycle(number: int) -> tuple[Order, list[OrderEvent]]:
    """One new order and the events of its life cycle."""
    oid = ClientOrderId(number)
    order = Order.from_intent(INTENT, oid, ts_ns=number)

    def fill(index: int, quantity: Decimal, price: Decimal) -> OrderFilled:
        return OrderFilled.from_fill(
            Fill(
                FillId(f"{number}-{index}"),
                oid,
                BTC,
                OrderSide.BUY,
                price,
                quantity,
                fee=Decimal("0.26"),
                fee_currency="USD",
                liquidity=LiquiditySide.MAKER,
                ts_ns=number + 10 + index,
            )
        )

    first, second = fill(1, *FILLS[0]), fill(2, *FILLS[1])
    events: list[OrderEvent] = [
        OrderSubmitted(oid, number + 1),
        OrderAccepted(oid, number + 2, VenueOrderId(f"v-{number}")),
        first,
        second,
        second,  # the same fill reported by a second feed
        OrderCancelRequested(oid, number + 20),
        fill(3, *LAST_FILL),
        OrderCancelRejected(oid, number + 30, "order already filled"),
    ]
    return order, events


def main() -> None:
    """Parse the arguments, run the benchmark, print the rates."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=100_000, help="number of orders (default 100000)")
    args = parser.parse_args()
    if args.orders <= 0:
        parser.error("--orders must be positive")

    elapsed = 0.0
    events_total = 0
    for start in range(0, args.orders, BATCH):
        batch = [life_cycle(number) for number in range(start, min(start + BATCH, args.orders))]
        began = time.perf_counter()
        for order, events in batch:
            for event in events:
                order.apply(event)
        elapsed += time.perf_counter() - began
        for order, events in batch:  # correctness, outside the timing
            events_total += len(events)
            if order.status is not OrderStatus.FILLED or order.filled_quantity != INTENT.quantity:
                raise SystemExit(f"wrong result for {order.client_order_id}: {order.status}")
            if len(order.events) != len(events) - 1:
                raise SystemExit(f"the duplicate fill of {order.client_order_id} was not ignored")
    # One last look at the reporting path, so a regression cannot hide behind the timing loop.
    order, events = life_cycle(args.orders)
    outcomes = [order.apply(event).outcome for event in events]
    if outcomes.count(UpdateOutcome.DUPLICATE_FILL_IGNORED) != 1:
        raise SystemExit(f"expected one ignored duplicate, got {outcomes}")

    print(f"orders:           {args.orders:,}")
    print(f"events:           {events_total:,} ({events_total // args.orders} per order, 1 a duplicate)")
    print(f"time (apply):     {elapsed:.3f} s")
    print(f"events/s:         {events_total / elapsed:,.0f}")
    print(f"orders/s:         {args.orders / elapsed:,.0f}")
    print(f"µs per order:     {elapsed / args.orders * 1e6:.2f}")
    print(f"µs per event:     {elapsed / events_total * 1e6:.2f}")


if __name__ == "__main__":
    main()
