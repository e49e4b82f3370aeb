"""Identifiers: client order ids are unique, deterministic and valid on Coinbase and dYdX."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.errors import InvalidValueError
from domain.identifiers import ClientOrderId, ClientOrderIdGenerator, FillId, StrategyId, VenueOrderId

UINT32_MAX = 2**32 - 1
COINBASE_SAFE = re.compile(r"^[A-Za-z0-9_-]{1,128}$")


def test_the_same_seed_and_counter_give_the_same_ids() -> None:
    first = ClientOrderIdGenerator(seed=42)
    second = ClientOrderIdGenerator(seed=42)
    assert [first.next_id() for _ in range(5)] == [second.next_id() for _ in range(5)]


def test_a_restarted_generator_continues_after_the_last_id_issued() -> None:
    generator = ClientOrderIdGenerator(seed=7)
    issued = [generator.next_id() for _ in range(3)]
    resumed = ClientOrderIdGenerator(seed=7, next_counter=generator.next_counter)
    assert resumed.next_id() not in issued


def test_different_seeds_use_different_namespaces() -> None:
    assert ClientOrderIdGenerator(seed=1).next_id() != ClientOrderIdGenerator(seed=2).next_id()


@given(st.integers(min_value=0, max_value=10**9), st.integers(min_value=1, max_value=300))
def test_ids_are_unique_and_valid_for_both_venues(seed: int, count: int) -> None:
    generator = ClientOrderIdGenerator(seed=seed)
    ids = [generator.next_id() for _ in range(count)]
    assert len(set(ids)) == count
    for client_order_id in ids:
        assert 0 <= client_order_id.number <= UINT32_MAX  # dYdX v4 clientId is a uint32
        assert COINBASE_SAFE.match(client_order_id.value)
        assert ClientOrderId.parse(client_order_id.value) == client_order_id


def test_a_namespace_refuses_to_wrap_around_rather_than_reuse_an_id() -> None:
    generator = ClientOrderIdGenerator(seed=0, next_counter=2**24 - 1)
    generator.next_id()
    with pytest.raises(InvalidValueError, match="exhausted"):
        generator.next_id()


def test_a_counter_out_of_range_is_refused() -> None:
    with pytest.raises(InvalidValueError):
        ClientOrderIdGenerator(seed=0, next_counter=-1)


@pytest.mark.parametrize("number", [-1, 2**32, True])
def test_client_order_id_numbers_outside_uint32_are_refused(number: int) -> None:
    with pytest.raises(InvalidValueError):
        ClientOrderId(number)


@pytest.mark.parametrize("text", ["TK0000000", "tk00000001", "TK0000000G", "XX00000001", ""])
def test_malformed_client_order_id_text_is_refused(text: str) -> None:
    with pytest.raises(InvalidValueError):
        ClientOrderId.parse(text)


def test_text_form_is_fixed_width_upper_hex() -> None:
    assert str(ClientOrderId(255)) == "TK000000FF"


@pytest.mark.parametrize("kind", [VenueOrderId, FillId, StrategyId])
def test_other_ids_must_not_be_empty(kind: type[VenueOrderId | FillId | StrategyId]) -> None:
    with pytest.raises(InvalidValueError):
        kind("")
    assert str(kind("abc")) == "abc"
