"""Every file under ../shared/data/dydx-v4 decodes: each WebSocket message through the codec with no
decode error, each REST body through its decoder with no unknown field, and every perpetual-markets
body and v4_markets frame through the instrument provider.

The cases are found by walking the folder, not listed: a new file is tested without a code change,
and a file this test cannot classify fails as its own case.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from domain.market_data import FeedIssue, OrderBookUpdate, TradeTick
from infrastructure.venues.dydx import rest_messages as messages
from infrastructure.venues.dydx.decoding import convert, decode, decode_json
from infrastructure.venues.dydx.events import (
    DydxBlockHeight,
    DydxCandles,
    DydxMarketsUpdate,
    DydxSubaccountUpdate,
    DydxTradeHistory,
)
from infrastructure.venues.dydx.instrument_provider import DydxInstrumentProvider
from infrastructure.venues.dydx.market_data_codec import DydxMarketDataCodec

#: REST bodies by file name (indexer-real/http/<name>.json, indexer-fixtures/http_<name>.json).
REAL_REST: dict[str, Any] = {
    "addresses": messages.AddressResponse,
    "asset_positions": messages.AssetPositionsResponse,
    "conditional_order": messages.OrderResponse,
    "fills": messages.FillsResponse,
    "list_perpetual_markets": messages.PerpetualMarketsResponse,
    "list_perpetual_markets_empty_oracle_price": messages.PerpetualMarketsResponse,
    "list_perpetual_markets_v8": messages.PerpetualMarketsResponse,
    "list_perpetual_positions": messages.PerpetualPositionsResponse,
    "order": messages.OrderResponse,
    "orders": messages.OrdersResponse,
    "subaccount": messages.SubaccountResponse,
    "v4_fills": messages.FillsResponse,
}
WRAPPED_REST: dict[str, Any] = {
    "get_block_height": messages.BlockHeightResponse,
    "get_candles": messages.CandlesResponse,
    "get_fills": messages.FillsResponse,
    "get_historical_funding": messages.HistoricalFundingResponse,
    "get_orderbook": messages.OrderbookResponse,
    "get_orders": messages.OrdersResponse,
    "get_perpetual_markets": messages.PerpetualMarketsResponse,
    "get_subaccount": messages.SubaccountResponse,
    "get_time": messages.TimeResponse,
    "get_trades": messages.TradesResponse,
    "get_transfers": messages.TransfersResponse,
}
#: What each channel's frames may yield (error and connected frames have no channel).
EVENTS_BY_CHANNEL: dict[str | None, tuple[type, ...]] = {
    None: (FeedIssue,),
    "v4_orderbook": (OrderBookUpdate,),
    "v4_trades": (TradeTick, DydxTradeHistory),
    "v4_markets": (DydxMarketsUpdate,),
    "v4_subaccounts": (DydxSubaccountUpdate,),
    "v4_parent_subaccounts": (DydxSubaccountUpdate,),
    "v4_candles": (DydxCandles,),
    "v4_block_height": (DydxBlockHeight,),
}


class Case(NamedTuple):
    """One message or body: where it comes from, what it is, and its text."""

    name: str  # relative to the dYdX folder, with ":line" for a line of a .jsonl file
    kind: str  # "ws", "rest", "rest-wrapped", or "unclassified"
    real: bool  # recorded from the venue, bytes unchanged
    text: str


def _dydx_root() -> Path | None:
    # The same lookup as the shared_dir fixture, done at collection time to parametrize.
    configured = os.environ.get("TK_SHARED_DIR")
    root = Path(configured) if configured else Path(__file__).resolve().parents[3].parent / "shared"
    path = root / "data" / "dydx-v4"
    return path if path.is_dir() else None


def _classify(root: Path, path: Path) -> list[Case]:
    name = str(path.relative_to(root))
    real = name.startswith("indexer-real/")
    if path.suffix == ".jsonl":
        cases = []
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if line.strip():
                message = json.loads(line)["message"]
                cases.append(Case(f"{name}:{number}", "ws", real, json.dumps(message)))
        return cases
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".json" and (path.parent.name == "websocket" or path.name.startswith("ws_")):
        return [Case(name, "ws", real, text)]
    if path.suffix == ".json" and path.parent.name == "http":
        return [Case(name, "rest", real, text)]
    if path.suffix == ".json" and path.name.startswith("http_"):
        return [Case(name, "rest-wrapped", real, text)]
    return [Case(name, "unclassified", real, text)]


def _all_cases() -> list[Case] | None:
    root = _dydx_root()
    if root is None:
        return None
    return [case for path in sorted(root.rglob("*")) if path.is_file() for case in _classify(root, path)]


ALL_CASES = _all_cases()


def _params(kind: str) -> list[Any]:
    if ALL_CASES is None:
        return [pytest.param(None, id="shared-data-missing")]
    return [pytest.param(case, id=case.name) for case in ALL_CASES if case.kind == kind]


def _present(case: Case | None, dydx_dir: Path) -> Case:
    assert dydx_dir.is_dir()  # the fixture skips or fails when the shared data is missing
    assert case is not None
    return case


def _rest_type(case: Case) -> Any:
    stem = Path(case.name).stem
    table, key = (REAL_REST, stem) if case.kind == "rest" else (WRAPPED_REST, stem.removeprefix("http_"))
    if key not in table:
        pytest.fail(f"{case.name}: no REST decoder is mapped for this body; add it to this test")
    return table[key]


@pytest.mark.parametrize("case", _params("ws"))
def test_every_websocket_message_decodes_without_error(case: Case | None, dydx_dir: Path) -> None:
    case = _present(case, dydx_dir)
    codec = DydxMarketDataCodec()
    events = codec.feed(case.text, 1_700_000_000_000_000_000, "c1")
    stats = codec.stats
    assert (stats.decode_errors, stats.unexpected_errors) == (0, 0)
    assert not stats.unknown_channels
    assert not stats.unknown_types
    frame = json.loads(case.text)
    allowed = EVENTS_BY_CHANNEL[frame.get("channel")]
    assert all(isinstance(event, allowed) for event in events), events
    if frame["type"] in ("subscribed", "channel_data", "channel_batch_data", "error"):
        assert events, "a data frame yields at least one event"
    markets = [event for event in events if isinstance(event, DydxMarketsUpdate)]
    if markets:
        provider = DydxInstrumentProvider()
        for update in markets:
            provider.apply(update)
        if case.real:
            assert provider.rejected == {}
        assert all(reason for reason in provider.rejected.values())


@pytest.mark.parametrize("case", _params("rest"))
def test_every_real_rest_body_decodes_with_no_unknown_field(case: Case | None, dydx_dir: Path) -> None:
    case = _present(case, dydx_dir)
    checked = decode(case.text, _rest_type(case))
    assert checked.unknown_fields == frozenset()
    assert checked.null_strings == frozenset()
    if isinstance(checked.value, messages.PerpetualMarketsResponse):
        provider = DydxInstrumentProvider()
        provider.load_perpetual_markets(case.text)
        assert provider.rejected == {}
        assert len(provider.instruments()) == len(checked.value.markets)


@pytest.mark.parametrize("case", _params("rest-wrapped"))
def test_every_wrapped_rest_body_decodes_with_no_unknown_field(case: Case | None, dydx_dir: Path) -> None:
    case = _present(case, dydx_dir)
    # These bodies are stored inside {"requestId", "status", "isoTimestamp", "result"}: the
    # storer's wrapper, not the indexer's format; the indexer's body is `result`.
    wrapper = decode_json(case.text)
    assert wrapper["status"] == "success"
    checked = convert(wrapper["result"], _rest_type(case), "$.result")
    assert checked.unknown_fields == frozenset()
    if isinstance(checked.value, messages.PerpetualMarketsResponse):
        provider = DydxInstrumentProvider()
        provider.load_perpetual_markets(json.dumps(wrapper["result"]))
        assert provider.rejected == {}
        assert len(provider.instruments()) == len(checked.value.markets)


def test_every_file_is_classified_and_none_is_left_out(dydx_dir: Path) -> None:
    assert ALL_CASES is not None
    cases = ALL_CASES
    unclassified = [case.name for case in cases if case.kind == "unclassified"]
    assert unclassified == [], "files this test has no decoder for: classify them"
    files = {path for path in dydx_dir.rglob("*") if path.is_file()}
    assert {str(path.relative_to(dydx_dir)) for path in files} == {case.name.split(":")[0] for case in cases}
    # At least what the folder held when this was written: 34 real WebSocket messages, 14
    # hand-written ones and 71 abacus lines; 12 real REST bodies and 11 wrapped ones.
    assert sum(case.kind == "ws" for case in cases) >= 34 + 14 + 71
    assert sum(case.kind == "rest" for case in cases) >= 12
    assert sum(case.kind == "rest-wrapped" for case in cases) >= 11
