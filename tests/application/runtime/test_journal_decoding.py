"""Journal payloads read back: every journaled event decodes to itself, byte for byte."""

from __future__ import annotations

import enum
import typing
from collections import Counter
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path

import attrs
import pytest

from application.commands import HaltTrading
from application.engines.messages import OrderInitialized, PortfolioSnapshot
from application.ports.event_journal import JournalRecord
from application.runtime.journal_decoding import (
    EVENT_TYPES,
    PAYLOAD_SCHEMA_VERSION,
    UndecodableEventError,
    decode_event,
    decode_event_text,
    encode_event_text,
)
from application.runtime.journal_encoding import canonical_bytes, encode_value
from domain.instrument import InstrumentId
from domain.market_data import BookTop, FeedIssue, FeedIssueKind
from domain.order_terms import OrderSide
from domain.risk.breaker_events import BreakerReset, BreakerTripped, TripReason
from domain.risk.risk_limits import RiskLimits
from infrastructure.replay import ReplaySettings, StrategySettings, run_replay
from infrastructure.replay.replay_runner import ReplayInput, VenueSettings
from infrastructure.synthetic_market import SyntheticMarketConfig, write_synthetic_feed

CAPTURE = "data/coinbase-advanced/capture/coinbase-advanced-2026-08-09-btc-eth.jsonl.zst"
BTC = InstrumentId("COINBASE", "BTC-USD")
# ReplayInput is an infrastructure record: the infrastructure journal extends the registry with it.
REPLAY_TYPES = {**EVENT_TYPES, "ReplayInput": ReplayInput}
MM_PARAMS = {
    "quote_size": "0.05",
    "max_position": "0.2",
    "base_spread_bps": "0",
    "vol_multiplier": "0",
    "min_spread_bps": "0.0001",
    "vol_window": 3,
    "vol_sample_interval_ns": 0,
    "min_requote_interval_ns": 0,
    "requote_threshold_bps": "0",
}


def _round_trip(records: list[JournalRecord]) -> Counter[str]:
    seen: Counter[str] = Counter()
    for record in records:
        event = record.event
        text = encode_event_text(event)
        back = decode_event_text(text, registry=REPLAY_TYPES)
        assert type(back) is type(event)
        assert encode_event_text(back) == text, text
        assert canonical_bytes(JournalRecord(record.sequence, record.ts_ns, record.stream_id, back)) == (
            canonical_bytes(record)
        )
        if not isinstance(event, OrderInitialized):  # the Order aggregate compares by identity
            assert back == event, text
        seen[type(event).__name__] += 1
    return seen


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("feeds") / "synthetic.jsonl"
    write_synthetic_feed(path, SyntheticMarketConfig(seed=5, frame_count=3000, message_rate_per_s=100))
    return path


def test_every_record_of_a_real_capture_replay_decodes_to_itself(shared_dir: Path) -> None:
    settings = ReplaySettings(
        strategy=StrategySettings("market_maker", params={"quote_size": "0.001", "max_position": "0.005"}),
        seed=1,
    )
    seen = _round_trip(list(run_replay(shared_dir / CAPTURE, settings).journal.read()))
    assert {"ReplayInput", "Timer", "StrategyStateSaved", "CheckOrder", "ExecuteIntent"} <= set(seen)
    assert {"OrderInitialized", "OrderSubmitted", "OrderAccepted"} <= set(seen)


def test_every_record_of_a_trading_synthetic_replay_decodes_to_itself(synthetic: Path) -> None:
    settings = ReplaySettings(
        strategy=StrategySettings("market_maker", "ETH-USD", params=MM_PARAMS),
        venue=VenueSettings(maker_fee_bps=Decimal("1"), taker_fee_bps=Decimal("5"), latency_ns=1_000_000),
        seed=11,
    )
    seen = _round_trip(list(run_replay(synthetic, settings).journal.read()))
    expected = {
        "OrderInitialized",
        "OrderSubmitted",
        "OrderAccepted",
        "OrderFilled",
        "OrderCanceled",
        "OrderCancelRequested",
        "OrderCancelRejected",
        "CancelOrder",
        "FillResult",
        "StrategyStateSaved",
        "DenyIntent",
        "OrderDenied",
    }
    assert expected <= set(seen), seen


def test_a_replay_that_trips_the_breaker_decodes_to_itself(synthetic: Path) -> None:
    limits = attrs.evolve(
        RiskLimits.conservative(Decimal(100_000)),
        max_open_orders=1,
        max_drawdown_fraction=Decimal("0.0000001"),
    )
    settings = ReplaySettings(
        strategy=StrategySettings("market_maker", "ETH-USD", params=MM_PARAMS),
        venue=VenueSettings(maker_fee_bps=Decimal("1"), taker_fee_bps=Decimal("5"), latency_ns=1_000_000),
        seed=11,
        limits=limits,
    )
    seen = _round_trip(list(run_replay(synthetic, settings).journal.read()))
    assert {"BreakerTripped", "CancelAllOrders", "TradingStateChanged", "DenyIntent", "OrderDenied"} <= set(
        seen
    ), seen


class Colour(enum.IntEnum):
    RED = 1
    BLUE = 2


@attrs.frozen
class Sample:
    marks: Mapping[InstrumentId, Decimal]
    tags: frozenset[str]
    raw: bytes
    colour: Colour
    pair: tuple[int, str]
    extra: object = None
    _hidden: int = attrs.field(default=0, validator=attrs.validators.ge(0))


SAMPLE_TYPES = {**EVENT_TYPES, "Sample": Sample}
PLAIN = Sample({}, frozenset(), b"", Colour.RED, (1, "x"))


def _fields(value: object, **changes: object) -> dict[str, object]:
    encoded = encode_value(value)
    assert isinstance(encoded, dict)
    return {**encoded, **changes}


def test_exotic_fields_round_trip() -> None:
    sample = Sample(
        {BTC: Decimal("1.50")},
        frozenset({"b", "a"}),
        b"\x00\xff",
        Colour.BLUE,
        (1, "x"),
        extra={"nested": [BookTop(BTC, 1, (), (), stale=True), None, "1.0"]},
        hidden=7,
    )
    text = encode_event_text(sample)
    back = decode_event_text(text, registry=SAMPLE_TYPES)
    assert back == sample
    assert encode_event_text(back) == text
    assert isinstance(back, Sample)
    assert back.colour is Colour.BLUE
    assert str(back.marks[BTC]) == "1.50"


def test_decimal_text_optionals_enums_and_nested_tuples_are_exact() -> None:
    top = BookTop(BTC, 5, ((Decimal("100.10"), Decimal("2")),), (), stale=False)
    back = decode_event_text(encode_event_text(top))
    assert back == top
    assert isinstance(back, BookTop)
    assert str(back.bids[0][0]) == "100.10"
    assert decode_event_text(encode_event_text(HaltTrading("r", "ops", 1))) == HaltTrading("r", "ops", 1)
    halt = HaltTrading("r", "ops", 1, BTC)
    assert decode_event(encode_value(halt)) == halt
    reset = BreakerReset("ops", "ok", 3, (TripReason.MAX_DRAWDOWN, TripReason.VENUE_REJECTS))
    assert decode_event_text(encode_event_text(reset)) == reset
    snapshot = PortfolioSnapshot(
        "USD", Decimal("10.00"), Decimal("11"), Decimal("-1"), (("USD", Decimal("10.00")),), 4
    )
    assert encode_event_text(decode_event_text(encode_event_text(snapshot))) == encode_event_text(snapshot)
    issue = FeedIssue(FeedIssueKind.GAP, "s", "d", 2, expected=3)
    assert decode_event_text(encode_event_text(issue)) == issue
    assert decode_event({"a": [1, "2", None, True]}) == {"a": [1, "2", None, True]}
    assert PAYLOAD_SCHEMA_VERSION == 1


def test_what_does_not_fit_is_refused_with_a_named_error() -> None:
    with pytest.raises(UndecodableEventError, match="Nope"):
        decode_event_text('{"type":"Nope"}')
    with pytest.raises(UndecodableEventError, match="BreakerTripped: missing field 'detail'"):
        decode_event_text('{"type":"BreakerTripped","reason_code":"max_drawdown","ts_ns":1,"by":"x"}')
    text = encode_event_text(BookTop(BTC, 5, ((Decimal("1"), Decimal("2")),), (), stale=False))
    with pytest.raises(UndecodableEventError, match=r"BookTop.bids\[0\]\[0\]: expected str, got int"):
        decode_event_text(text.replace('"1"', "1", 1))
    with pytest.raises(UndecodableEventError, match="float"):
        decode_event_text(text.replace('"1"', "1.5", 1))
    with pytest.raises(UndecodableEventError, match=r"BreakerTripped\.reason_code"):
        decode_event(_fields(BreakerTripped(TripReason.MAX_DRAWDOWN, "d", 1), reason_code="nope"))
    with pytest.raises(UndecodableEventError, match="unknown field"):
        decode_event(_fields(BreakerTripped(TripReason.MAX_DRAWDOWN, "d", 1), extra=1))
    with pytest.raises(UndecodableEventError, match="not JSON"):
        decode_event_text("{")
    with pytest.raises(UndecodableEventError, match="InstrumentId"):
        decode_event_text(
            '{"type":"HaltTrading","reason":"r","by":"b","ts_ns":1,"instrument_id":{"type":"X"}}'
        )
    with pytest.raises(UndecodableEventError, match=r"Sample\.raw"):
        decode_event(_fields(PLAIN, raw="zz"), registry=SAMPLE_TYPES)
    with pytest.raises(UndecodableEventError, match=r"Sample\.pair"):
        decode_event(_fields(PLAIN, pair=[1]), registry=SAMPLE_TYPES)
    with pytest.raises(UndecodableEventError, match=r"Sample\.colour"):
        decode_event(_fields(PLAIN, colour=3), registry=SAMPLE_TYPES)
    with pytest.raises(UndecodableEventError, match="refused its fields"):
        decode_event(_fields(PLAIN, hidden=-1), registry=SAMPLE_TYPES)
    assert OrderSide("BUY") is OrderSide.BUY


def test_every_registered_class_has_resolvable_annotations() -> None:
    for cls in EVENT_TYPES.values():
        typing.get_type_hints(cls)
    assert EVENT_TYPES["OrderInitialized"] is OrderInitialized
