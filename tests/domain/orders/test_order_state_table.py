"""The transition table itself: reachability, terminal statuses, the real-money rows, and its errors."""

from __future__ import annotations

import itertools

import pytest

from domain.errors import DomainError
from domain.identifiers import ClientOrderId
from domain.orders import (
    FINAL_FILL,
    OPEN_STATES,
    ORDER_EVENT_TYPES,
    PARTIAL_FILL,
    RESTORE,
    RESTORE_STATES,
    TERMINAL_STATES,
    TRANSITIONS,
    EventKey,
    FillStage,
    InvalidOrderTransition,
    OrderAccepted,
    OrderCanceled,
    OrderCancelRejected,
    OrderCancelRequested,
    OrderDenied,
    OrderExpired,
    OrderFilled,
    OrderRejected,
    OrderStatus,
    OrderSubmitted,
    OrderTriggered,
    event_name,
    next_state,
    reachable_states,
    state_after_cancel_rejected,
)

S = OrderStatus
OID = ClientOrderId(0x2A)
EVENT_KEYS: list[EventKey] = [t for t in ORDER_EVENT_TYPES if t is not OrderFilled] + [
    PARTIAL_FILL,
    FINAL_FILL,
]
ALL_PAIRS = list(itertools.product(OrderStatus, EVENT_KEYS))
ILLEGAL_PAIRS = [pair for pair in ALL_PAIRS if pair not in TRANSITIONS]


def targets(state: OrderStatus, key: EventKey) -> set[OrderStatus]:
    target = TRANSITIONS[(state, key)]
    return set(RESTORE_STATES) if target is RESTORE else {target}


def exits(state: OrderStatus) -> dict[EventKey, set[OrderStatus]]:
    return {key: targets(source, key) for (source, key) in TRANSITIONS if source is state}


def test_every_status_is_reachable_from_initialized() -> None:
    assert reachable_states() == frozenset(OrderStatus)


def test_reachable_states_follow_the_table_from_any_start() -> None:
    assert reachable_states(S.DENIED) == {S.DENIED}
    assert reachable_states(S.REJECTED) == {S.REJECTED}
    assert reachable_states(S.FILLED) == {S.FILLED}
    assert reachable_states(S.CANCELED) == {S.CANCELED, S.FILLED}
    assert reachable_states(S.EXPIRED) == {S.EXPIRED, S.FILLED}
    assert S.INITIALIZED not in reachable_states(S.SUBMITTED)
    assert S.DENIED not in reachable_states(S.SUBMITTED)


def test_the_terminal_and_open_statuses_are_listed() -> None:
    assert {S.DENIED, S.REJECTED, S.FILLED, S.CANCELED, S.EXPIRED} == TERMINAL_STATES
    assert {S.SUBMITTED, S.ACCEPTED, S.TRIGGERED, S.PARTIALLY_FILLED, S.PENDING_CANCEL} == OPEN_STATES
    assert not TERMINAL_STATES & OPEN_STATES
    assert set(OrderStatus) - TERMINAL_STATES - OPEN_STATES == {S.INITIALIZED}
    assert all(status.is_terminal == (status in TERMINAL_STATES) for status in OrderStatus)
    assert all(status.is_open == (status in OPEN_STATES) for status in OrderStatus)


def test_terminal_statuses_have_no_exits_except_late_fills() -> None:
    for state in TERMINAL_STATES:
        for key, reached in exits(state).items():
            assert reached == {state} or (key is FINAL_FILL and reached == {S.FILLED}), (state, key)
    assert exits(S.DENIED) == {}
    # A cancel that raced the rejection is answered afterwards; it changes nothing.
    assert exits(S.REJECTED) == {OrderCancelRejected: {S.REJECTED}}


def test_every_open_status_can_end_and_can_be_canceled() -> None:
    for state in OPEN_STATES:
        assert reachable_states(state) & TERMINAL_STATES, state
        assert (state, OrderCanceled) in TRANSITIONS, state
        assert (state, OrderCancelRequested) in TRANSITIONS, state
        assert (state, PARTIAL_FILL) in TRANSITIONS, state
        assert targets(state, FINAL_FILL) == {S.FILLED}, state


def test_the_table_keys_fills_by_stage_and_every_other_event_by_its_type() -> None:
    keys = {key for (_state, key) in TRANSITIONS}
    assert OrderFilled not in keys
    assert keys == set(EVENT_KEYS)
    assert all(isinstance(target, OrderStatus) or target is RESTORE for target in TRANSITIONS.values())


def test_restore_is_the_target_of_a_rejected_cancel_only() -> None:
    assert [pair for pair, target in TRANSITIONS.items() if target is RESTORE] == [
        (S.PENDING_CANCEL, OrderCancelRejected)
    ]
    assert {state for (state, key) in TRANSITIONS if key is OrderCancelRequested} - {S.PENDING_CANCEL} == (
        RESTORE_STATES
    )


def test_the_table_cannot_be_changed_at_run_time() -> None:
    with pytest.raises(TypeError):
        TRANSITIONS[(S.DENIED, OrderSubmitted)] = S.SUBMITTED  # type: ignore[index]


@pytest.mark.parametrize(
    ("state", "key", "expected"),
    [
        # Our side.
        (S.INITIALIZED, OrderDenied, S.DENIED),
        (S.INITIALIZED, OrderSubmitted, S.SUBMITTED),
        # Fills before the ack.
        (S.SUBMITTED, PARTIAL_FILL, S.PARTIALLY_FILLED),
        (S.SUBMITTED, FINAL_FILL, S.FILLED),
        (S.PARTIALLY_FILLED, OrderAccepted, S.PARTIALLY_FILLED),
        (S.FILLED, OrderAccepted, S.FILLED),
        # Fills during a pending cancel.
        (S.PENDING_CANCEL, PARTIAL_FILL, S.PENDING_CANCEL),
        (S.PENDING_CANCEL, FINAL_FILL, S.FILLED),
        (S.FILLED, OrderCancelRejected, S.FILLED),
        # Late fills after the venue stopped working the order.
        (S.CANCELED, PARTIAL_FILL, S.CANCELED),
        (S.CANCELED, FINAL_FILL, S.FILLED),
        (S.EXPIRED, PARTIAL_FILL, S.EXPIRED),
        (S.EXPIRED, FINAL_FILL, S.FILLED),
        # Unsolicited venue cancels and expiries.
        (S.SUBMITTED, OrderCanceled, S.CANCELED),
        (S.ACCEPTED, OrderExpired, S.EXPIRED),
        (S.PENDING_CANCEL, OrderRejected, S.REJECTED),
        (S.ACCEPTED, OrderRejected, S.REJECTED),  # e.g. a stop-limit's limit order, at the trigger
        (S.TRIGGERED, OrderRejected, S.REJECTED),
        (S.ACCEPTED, OrderTriggered, S.TRIGGERED),
    ],
)
def test_the_real_money_rows(state: OrderStatus, key: EventKey, expected: OrderStatus) -> None:
    assert TRANSITIONS[(state, key)] is expected


@pytest.mark.parametrize(
    ("state", "key"),
    [
        (S.INITIALIZED, PARTIAL_FILL),  # never sent
        (S.DENIED, FINAL_FILL),
        (S.REJECTED, PARTIAL_FILL),  # the venue said it never worked it
        (S.ACCEPTED, OrderSubmitted),
        (S.PARTIALLY_FILLED, OrderRejected),  # a rejected order never traded
        (S.FILLED, OrderRejected),
        (S.ACCEPTED, OrderCancelRejected),  # no cancel was requested
        (S.CANCELED, OrderCanceled),
        (S.CANCELED, OrderAccepted),
        (S.FILLED, OrderCanceled),
        (S.INITIALIZED, OrderCancelRequested),
        (S.TRIGGERED, OrderTriggered),
    ],
)
def test_rows_that_must_not_exist(state: OrderStatus, key: EventKey) -> None:
    assert (state, key) not in TRANSITIONS


@pytest.mark.parametrize(("state", "key"), ILLEGAL_PAIRS)
def test_an_illegal_transition_raises_naming_the_order_the_state_and_the_event(
    state: OrderStatus, key: EventKey
) -> None:
    with pytest.raises(InvalidOrderTransition) as raised:
        next_state(OID, state, key, accepted=False, triggered=False, any_filled=False)
    error = raised.value
    assert isinstance(error, DomainError)
    assert (error.client_order_id, error.state, error.event_type) == (OID, state, event_name(key))
    assert str(error) == f"order TK0000002A: {event_name(key)} is not allowed in state {state.value}"


def test_there_are_illegal_transitions_in_every_status() -> None:
    assert {state for (state, _key) in ILLEGAL_PAIRS} == set(OrderStatus)


def test_an_illegal_transition_error_can_carry_a_detail() -> None:
    error = InvalidOrderTransition(OID, S.ACCEPTED, OrderAccepted, "already accepted")
    assert str(error) == "order TK0000002A: OrderAccepted is not allowed in state ACCEPTED (already accepted)"


def test_event_names_say_the_stage_of_a_fill() -> None:
    assert event_name(PARTIAL_FILL) == "OrderFilled (partial fill)"
    assert event_name(FINAL_FILL) == "OrderFilled (final fill)"
    assert event_name(OrderCanceled) == "OrderCanceled"
    assert [stage.value for stage in FillStage] == ["partial", "final"]


@pytest.mark.parametrize(("state", "key"), list(TRANSITIONS))
def test_next_state_follows_every_row(state: OrderStatus, key: EventKey) -> None:
    reached = next_state(OID, state, key, accepted=True, triggered=False, any_filled=True)
    expected = S.PARTIALLY_FILLED if TRANSITIONS[(state, key)] is RESTORE else TRANSITIONS[(state, key)]
    assert reached is expected


@pytest.mark.parametrize(
    ("accepted", "triggered", "any_filled", "expected"),
    [
        (False, False, False, S.SUBMITTED),
        (True, False, False, S.ACCEPTED),
        (True, True, False, S.TRIGGERED),
        (True, True, True, S.PARTIALLY_FILLED),
        (False, False, True, S.PARTIALLY_FILLED),
        (True, False, True, S.PARTIALLY_FILLED),
    ],
)
def test_a_rejected_cancel_restores_the_status_the_facts_imply(
    accepted: bool, triggered: bool, any_filled: bool, expected: OrderStatus
) -> None:
    assert (
        state_after_cancel_rejected(accepted=accepted, triggered=triggered, any_filled=any_filled) is expected
    )
    reached = next_state(
        OID,
        S.PENDING_CANCEL,
        OrderCancelRejected,
        accepted=accepted,
        triggered=triggered,
        any_filled=any_filled,
    )
    assert reached is expected
    assert reached in RESTORE_STATES
