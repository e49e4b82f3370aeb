"""reconcile_orders and compare_balances against a scripted venue, checked with the real Order.apply."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

import attrs

from application.ports.venue_gateway import (
    VENUE_CANCELED,
    VENUE_EXPIRED,
    VENUE_FILLED,
    VENUE_OPEN,
    VENUE_REJECTED,
    VenueGateway,
    VenueOrderStatus,
    VenueReport,
)
from application.recovery.reconciliation import (
    NOT_RECEIVED,
    REJECTED_AT_VENUE,
    OrderReconciliation,
    ReconciliationPolicy,
    compare_balances,
    reconcile_orders,
)
from domain.fill import Fill
from domain.identifiers import ClientOrderId, FillId, StrategyId, VenueOrderId
from domain.instrument import Instrument, InstrumentId
from domain.order_terms import LiquiditySide, OrderSide, OrderType, TimeInForce
from domain.orders.order import Order
from domain.orders.order_events import (
    OrderAccepted,
    OrderCanceled,
    OrderCancelRequested,
    OrderExpired,
    OrderFilled,
    OrderRejected,
    OrderSubmitted,
)
from domain.orders.order_status import OrderStatus
from domain.portfolio.portfolio import Portfolio

D = Decimal
BTC = InstrumentId("X", "BTC-USD")
INSTRUMENTS = {BTC: Instrument(BTC, "BTC", "USD", D("0.01"), D("0.001"))}
NOW = 10_000


@attrs.define
class ScriptedVenue:
    """A venue gateway whose answers the test writes."""

    venue: str = "X"
    statuses: dict[ClientOrderId, VenueOrderStatus] = attrs.field(factory=dict)
    fills: list[Fill] = attrs.field(factory=list)
    opened: list[VenueOrderStatus] = attrs.field(factory=list)
    ledger: dict[str, Decimal] = attrs.field(factory=dict)
    held: dict[InstrumentId, Decimal] = attrs.field(factory=dict)
    calls: list[tuple[str, object]] = attrs.field(factory=list)

    def submit(self, order: Order) -> None:
        self.calls.append(("submit", order.client_order_id))

    def cancel(self, client_order_id: ClientOrderId) -> None:
        self.calls.append(("cancel", client_order_id))

    def cancel_all(self, instrument_id: InstrumentId | None = None) -> None:
        self.calls.append(("cancel_all", instrument_id))

    def cancel_venue_order(self, venue_order_id: VenueOrderId) -> None:
        self.calls.append(("cancel_venue_order", venue_order_id))

    def order_status(self, client_order_id: ClientOrderId) -> VenueOrderStatus | None:
        return self.statuses.get(client_order_id)

    def open_orders(self) -> Sequence[VenueOrderStatus]:
        return list(self.opened)

    def fills_since(self, ts_ns: int) -> Sequence[Fill]:
        return [fill for fill in self.fills if fill.ts_ns >= ts_ns]

    def balances(self) -> dict[str, Decimal]:
        return dict(self.ledger)

    def positions(self) -> dict[InstrumentId, Decimal]:
        return dict(self.held)


def order(number: int, *events: str, quantity: str = "2") -> Order:
    """An order with client id `number`, moved through the named steps."""
    key = ClientOrderId(number)
    result = Order(
        client_order_id=key,
        strategy_id=StrategyId("s"),
        instrument_id=BTC,
        side=OrderSide.BUY,
        order_type=OrderType.LIMIT,
        quantity=D(quantity),
        price=D("100"),
        time_in_force=TimeInForce.GTC,
        post_only=False,
        reduce_only=False,
        expire_at_ns=None,
        trigger_price=None,
        ts_init_ns=1,
    )
    result.apply(OrderSubmitted(key, 2))
    for step in events:
        if step == "ack":
            result.apply(OrderAccepted(key, 3, VenueOrderId(f"V{number}")))
        elif step == "cancel":
            result.apply(OrderCancelRequested(key, 4))
        elif step == "canceled":
            result.apply(OrderCanceled(key, 5))
        elif step == "rejected":
            result.apply(OrderRejected(key, 5, "no"))
    return result


def fill(number: int, fill_id: str, quantity: str = "1", ts_ns: int = 100) -> Fill:
    return Fill(
        FillId(fill_id),
        ClientOrderId(number),
        BTC,
        OrderSide.BUY,
        D("100"),
        D(quantity),
        D("0.1"),
        "USD",
        LiquiditySide.MAKER,
        ts_ns,
        VenueOrderId(f"V{number}"),
    )


def status(number: int | None, word: str, filled: str = "0", venue_id: str | None = None) -> VenueOrderStatus:
    return VenueOrderStatus(
        client_order_id=None if number is None else ClientOrderId(number),
        venue_order_id=VenueOrderId(venue_id or f"V{number}"),
        instrument_id=BTC,
        side=OrderSide.BUY,
        price=D("100"),
        quantity=D("2"),
        filled_quantity=D(filled),
        status=word,
    )


def run(
    orders: Sequence[Order], venue: ScriptedVenue, policy: ReconciliationPolicy | None = None
) -> tuple[list[VenueReport], OrderReconciliation]:
    gateways: dict[str, VenueGateway] = {"X": venue}
    found = reconcile_orders(
        {o.client_order_id: o for o in orders},
        {fill_id for o in orders for fill_id in o.fill_ids},
        0,
        gateways,
        policy if policy is not None else ReconciliationPolicy(),
        now_ns=NOW,
    )
    by_id = {o.client_order_id: o for o in orders}
    for report in found.reports:  # every report is a valid transition of the real order
        assert by_id[report.client_order_id].apply(report).applied
    return list(found.reports), found


def test_status_corrections_follow_the_venue() -> None:
    submitted_never_received = order(1)
    submitted_rejected = order(2)
    pending_canceled = order(3, "ack", "cancel")
    accepted_expired = order(4, "ack")
    submitted_open = order(5)
    venue = ScriptedVenue(
        statuses={
            ClientOrderId(2): attrs.evolve(status(2, VENUE_REJECTED), venue_order_id=None),
            ClientOrderId(3): status(3, VENUE_CANCELED),
            ClientOrderId(4): status(4, VENUE_EXPIRED),
            ClientOrderId(5): status(5, VENUE_OPEN),
        },
        opened=[status(5, VENUE_OPEN)],
    )
    orders = [
        submitted_never_received,
        submitted_rejected,
        pending_canceled,
        accepted_expired,
        submitted_open,
    ]
    reports, _ = run(orders, venue)
    assert reports == [
        OrderRejected(ClientOrderId(1), NOW, NOT_RECEIVED),
        OrderRejected(ClientOrderId(2), NOW, REJECTED_AT_VENUE),
        OrderCanceled(ClientOrderId(3), NOW),
        OrderExpired(ClientOrderId(4), NOW),
        OrderAccepted(ClientOrderId(5), NOW, VenueOrderId("V5")),
    ]
    assert [o.status for o in orders] == [
        OrderStatus.REJECTED,
        OrderStatus.REJECTED,
        OrderStatus.CANCELED,
        OrderStatus.EXPIRED,
        OrderStatus.ACCEPTED,
    ]
    assert venue.calls == []  # reconciliation itself sends nothing
    again, _ = run(orders, venue)
    assert again == []


def test_missed_fills_come_first_including_fills_of_orders_canceled_locally() -> None:
    open_order = order(1, "ack")
    lost_race = order(2, "ack", "cancel", "canceled")  # the venue filled it before the cancel
    venue = ScriptedVenue(
        statuses={
            ClientOrderId(1): status(1, VENUE_FILLED, "2"),
            ClientOrderId(2): status(2, VENUE_FILLED, "2"),
        },
        fills=[fill(1, "F1"), fill(2, "F2", "2"), fill(1, "F3")],
    )
    reports, found = run([open_order, lost_race], venue)
    assert [type(r) for r in reports] == [OrderFilled, OrderFilled, OrderFilled]
    assert open_order.status is OrderStatus.FILLED
    assert open_order.filled_quantity == D(2)
    assert lost_race.status is OrderStatus.FILLED  # (CANCELED, final fill) -> FILLED
    assert found.differences == ()


def test_a_fill_already_applied_is_not_reported_again() -> None:
    partly = order(1, "ack")
    partly.apply(OrderFilled.from_fill(fill(1, "F1")))
    venue = ScriptedVenue(statuses={ClientOrderId(1): status(1, VENUE_OPEN, "1")}, fills=[fill(1, "F1")])
    reports, found = run([partly], venue)
    assert reports == []
    assert found.differences == ()


def test_reports_the_order_refuses_are_differences_not_reports() -> None:
    rejected = order(1, "rejected")  # the venue said no, yet reports a fill
    venue = ScriptedVenue(fills=[fill(1, "F1"), fill(99, "F9")])
    reports, found = run([rejected], venue)
    assert reports == []
    kinds = [(d.kind, d.halts) for d in found.differences]
    assert kinds == [("fill_not_applicable", True), ("fill_of_unknown_order", True)]


def test_a_lost_cancel_is_resent_and_unknown_orders_follow_the_policy() -> None:
    pending = order(1, "ack", "cancel")
    venue = ScriptedVenue(
        statuses={ClientOrderId(1): status(1, VENUE_OPEN)},
        opened=[status(1, VENUE_OPEN), status(None, VENUE_OPEN, venue_id="FOREIGN")],
    )
    _, found = run([pending], venue)
    assert found.cancels_to_resend == (ClientOrderId(1),)
    assert [o.status.venue_order_id for o in found.to_cancel] == [VenueOrderId("FOREIGN")]
    _, adopted = run([pending], venue, ReconciliationPolicy(unknown_orders="adopt"))
    assert len(adopted.adopted) == 1
    assert adopted.to_cancel == ()
    assert not any(d.halts for d in adopted.differences)


def test_balances_compare_the_spot_ledger_with_tolerance_and_positions_exactly() -> None:
    portfolio = Portfolio()
    portfolio.deposit("USD", D(1000))
    portfolio.apply_fill(fill(1, "F1", "2"), INSTRUMENTS[BTC])  # 2 @ 100, fee 0.1
    venue = ScriptedVenue(ledger={"USD": D("799.9"), "BTC": D(2)}, held={BTC: D(2)})
    policy = ReconciliationPolicy()
    assert compare_balances(portfolio, {"X": venue}, policy, INSTRUMENTS) == ()

    venue.ledger["USD"] = D("800.9")  # one dollar more: reported, within tolerance
    (difference,) = compare_balances(portfolio, {"X": venue}, policy, INSTRUMENTS)
    assert (difference.kind, difference.local, difference.venue, difference.halts) == (
        "balance",
        D("799.9"),
        D("800.9"),
        False,
    )
    assert difference.to_json() == {
        "kind": "balance",
        "key": "USD",
        "local": "799.9",
        "venue": "800.9",
        "halts": False,
    }
    venue.ledger["USD"] = D("799.9")
    venue.ledger["BTC"] = D("2.000001")  # other currencies are exact by default
    venue.held[BTC] = D("2.000001")
    halting = [d.kind for d in compare_balances(portfolio, {"X": venue}, policy, INSTRUMENTS) if d.halts]
    assert halting == ["position", "balance"]
    loose = ReconciliationPolicy(balance_tolerance={"BTC": D("0.01")})
    assert [d.kind for d in compare_balances(portfolio, {"X": venue}, loose, INSTRUMENTS) if d.halts] == [
        "position"
    ]
    margin = ReconciliationPolicy(margin_venues=frozenset({"X"}))
    venue.ledger = {"USD": D("999.9")}
    venue.held[BTC] = D(2)
    assert compare_balances(portfolio, {"X": venue}, margin, INSTRUMENTS) == ()
