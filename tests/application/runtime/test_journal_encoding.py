"""The journal's canonical encoding: stable bytes, exact values, a fingerprint that moves with content."""

from __future__ import annotations

import enum
import hashlib
from decimal import Decimal

import attrs
import pytest

from application.engines.messages import OrderInitialized
from application.ports.event_journal import InMemoryJournal, JournalRecord
from application.runtime.journal_encoding import (
    JournalHasher,
    NonCanonicalValueError,
    canonical_bytes,
    encode_value,
    journal_sha256,
)
from domain.identifiers import ClientOrderId, StrategyId
from domain.instrument import InstrumentId
from domain.market_data import BookTop
from domain.order_terms import OrderSide, OrderType, TimeInForce
from domain.orders.order import Order
from domain.orders.order_events import OrderSubmitted
from domain.risk.risk_decision import ReasonCode
from domain.signals import OrderIntent

BTC = InstrumentId("COINBASE", "BTC-USD")


def test_a_record_has_one_canonical_form_pinned_byte_for_byte() -> None:
    top = BookTop(BTC, 5, ((Decimal("100.10"), Decimal("2")),), (), stale=False)
    record = JournalRecord(1, 5, "BTC-USD.COINBASE", top)
    assert canonical_bytes(record) == (
        b'{"event":{"asks":[],"bids":[["100.10","2"]],"instrument_id":{"symbol":"BTC-USD","type":"InstrumentId",'
        b'"venue":"COINBASE"},"stale":false,"ts_ns":5,"type":"BookTop"},"seq":1,"stream":"BTC-USD.COINBASE",'
        b'"ts_ns":5}'
    )


def test_values_encode_exactly() -> None:
    assert encode_value(Decimal("100.10")) == "100.10"  # the text, not the number: 100.1 differs
    assert encode_value(Decimal("1E+2")) == "1E+2"
    assert encode_value(OrderSide.BUY) == "BUY"
    assert encode_value(ReasonCode.PRICE_BAND) == "price_band"
    assert encode_value(b"\x01\xff") == "01ff"
    assert encode_value({BTC: 1, "a": (1, 2)}) == {
        '{"symbol":"BTC-USD","type":"InstrumentId","venue":"COINBASE"}': 1,
        "a": [1, 2],
    }
    assert encode_value(frozenset({"b", "a"})) == ["a", "b"]
    assert encode_value(ClientOrderId(5)) == {"number": 5, "type": "ClientOrderId"}


def test_floats_and_unknown_objects_are_refused() -> None:
    with pytest.raises(NonCanonicalValueError, match="float"):
        encode_value({"price": 1.5})
    with pytest.raises(NonCanonicalValueError, match="object"):
        encode_value(object())


def test_an_order_is_journaled_by_its_terms_not_its_mutable_state() -> None:
    intent = OrderIntent(
        StrategyId("s"),
        BTC,
        OrderSide.SELL,
        Decimal("0.5"),
        OrderType.LIMIT,
        Decimal("101"),
        TimeInForce.GTC,
        tag="t",
    )
    order = Order.from_intent(intent, ClientOrderId(9), 7)
    before = encode_value(OrderInitialized(order, 1, 7))
    order.apply(OrderSubmitted(ClientOrderId(9), 8))
    assert encode_value(OrderInitialized(order, 1, 7)) == before
    encoded = encode_value(order)
    assert isinstance(encoded, dict)
    assert encoded["type"] == "Order"
    assert "status" not in encoded
    assert encoded["price"] == "101"
    assert encoded["tag"] == "t"


def test_key_order_does_not_matter_and_private_attrs_fields_use_their_constructor_names() -> None:
    @attrs.frozen
    class Thing:
        _hidden: int
        b: int = 2

    assert encode_value({"b": 1, "a": 2}) == encode_value({"a": 2, "b": 1})
    assert encode_value(Thing(1)) == {"type": "Thing", "hidden": 1, "b": 2}

    class Colour(enum.Enum):
        RED = 1

    assert encode_value(Colour.RED) == 1


def test_the_sha256_is_over_records_joined_by_newlines_and_moves_with_any_change() -> None:
    journal = InMemoryJournal()
    journal.append(1, "a", {"x": Decimal("1.0")})
    journal.append(2, "b", OrderSubmitted(ClientOrderId(1), 2))
    records = list(journal.read())
    expected = hashlib.sha256(b"\n".join(canonical_bytes(r) for r in records)).hexdigest()
    assert journal_sha256(records) == expected
    hasher = JournalHasher()
    for record in records:
        hasher.update(record)
    assert (hasher.hexdigest(), hasher.records) == (expected, 2)
    changed = InMemoryJournal()
    changed.append(1, "a", {"x": Decimal("1.00")})  # the same number, written differently
    changed.append(2, "b", OrderSubmitted(ClientOrderId(1), 2))
    assert journal_sha256(changed.read()) != expected
    assert journal_sha256([]) == hashlib.sha256(b"").hexdigest()
