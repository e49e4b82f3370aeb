"""dYdX perpetual markets as instruments, and the exact size and price conversions of their
protocol parameters, checked against the real markets and the official client's signing vectors.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from domain.errors import InvalidValueError
from domain.instrument import Instrument, InstrumentId
from domain.numbers import Rounding
from infrastructure.venues.dydx.decoding import DecodeError, decode
from infrastructure.venues.dydx.events import DydxMarketsUpdate
from infrastructure.venues.dydx.instrument_provider import DydxInstrumentProvider
from infrastructure.venues.dydx.market_data_codec import DydxMarketDataCodec
from infrastructure.venues.dydx.market_parameters import DydxMarketParameters
from infrastructure.venues.dydx.rest_messages import PerpetualMarketsResponse

BTC_PARAMETERS = DydxMarketParameters("BTC-USD", 0, -10, -9, 1_000_000, 100_000)
ETH_PARAMETERS = DydxMarketParameters("ETH-USD", 1, -9, -9, 1_000_000, 100_000)
Read = Callable[[str], str]


def d(text: str) -> Decimal:
    return Decimal(text)


def markets_update(text: str) -> DydxMarketsUpdate:
    [update] = DydxMarketDataCodec().feed(text, 1, "c1")
    assert isinstance(update, DydxMarketsUpdate)
    return update


@pytest.fixture
def provider() -> DydxInstrumentProvider:
    return DydxInstrumentProvider()


def test_btc_usd_is_a_perpetual_with_tick_1_and_step_0_0001(
    provider: DydxInstrumentProvider, real_http: Read
) -> None:
    provider.load_perpetual_markets(real_http("list_perpetual_markets"))
    assert provider.instrument("BTC-USD") == Instrument(
        id=InstrumentId("DYDX", "BTC-USD"),
        base="BTC",
        quote="USD",
        price_increment=d("1"),
        size_increment=d("0.0001"),
        min_size=d("0.0001"),  # the step: the chain takes any positive multiple of it
    )
    assert provider.parameters("BTC-USD") == BTC_PARAMETERS
    assert provider.status("BTC-USD") == "ACTIVE"


@pytest.mark.parametrize("name", ["list_perpetual_markets", "list_perpetual_markets_empty_oracle_price"])
def test_every_real_markets_increments_are_the_indexers_tick_and_step_sizes(
    provider: DydxInstrumentProvider, real_http: Read, name: str
) -> None:
    body = real_http(name)
    markets = decode(body, PerpetualMarketsResponse).value.markets
    changed = provider.load_perpetual_markets(body)
    assert provider.rejected == {}
    assert len(changed) == len(markets) > 100
    for ticker, market in markets.items():
        instrument = provider.instrument(ticker)
        assert instrument is not None
        assert (instrument.price_increment, instrument.size_increment) == (market.tick_size, market.step_size)
        assert instrument.base == ticker.removesuffix("-USD")


def test_the_v4_markets_snapshot_gives_the_same_instruments_as_rest(
    provider: DydxInstrumentProvider, real_ws: Read
) -> None:
    changed = provider.apply(markets_update(real_ws("v4_markets_subscribed")))
    assert len(changed) == 98
    assert provider.rejected == {}
    instrument = provider.instrument("ETH-USD")
    assert instrument is not None
    assert (instrument.price_increment, instrument.size_increment) == (d("0.1"), d("0.001"))


def test_a_new_listing_announced_on_v4_markets_becomes_an_instrument(
    provider: DydxInstrumentProvider, real_ws: Read
) -> None:
    [instrument] = provider.apply(markets_update(real_ws("v4_markets_channel_data_v8")))
    assert (instrument.id.symbol, instrument.price_increment, instrument.size_increment) == (
        "TRY-USD", d("0.00001"), d("100"),
    )  # fmt: skip
    assert provider.status("TRY-USD") == "ACTIVE"


def test_a_partial_update_changes_the_status_only(
    provider: DydxInstrumentProvider, real_ws: Read, dydx_dir: Path
) -> None:
    provider.apply(markets_update(real_ws("v4_markets_subscribed")))
    before = provider.instruments()
    status = (dydx_dir / "indexer-fixtures" / "ws_markets_status_update.json").read_text()
    assert provider.apply(markets_update(status)) == []
    assert provider.instruments() == before
    assert (provider.status("BTC-USD"), provider.status("ETH-USD")) == ("PAUSED", "ACTIVE")


def test_a_market_whose_sizes_disagree_with_its_parameters_is_rejected(
    provider: DydxInstrumentProvider, dydx_dir: Path
) -> None:
    # A hand-written fixture: stepSize "0.001" where stepBaseQuantums 1e6 at 10^-10 is 0.0001.
    text = (dydx_dir / "indexer-fixtures" / "ws_markets_subscribed.json").read_text()
    assert provider.apply(markets_update(text)) == []
    assert provider.rejected == {
        "BTC-USD": "BTC-USD: stepSize 0.001, parameters give 0.0001",
        "ETH-USD": "ETH-USD: tickSize 0.1, parameters give 0.01",
    }
    assert (provider.instruments(), provider.parameters("BTC-USD")) == ([], None)


def test_a_later_inconsistent_record_withdraws_the_instrument(provider: DydxInstrumentProvider) -> None:
    good: dict[str, Any] = {
        "ticker": "BTC-USD", "clobPairId": "0", "atomicResolution": -10, "quantumConversionExponent": -9,
        "stepBaseQuantums": 1_000_000, "subticksPerTick": 100_000, "tickSize": "1", "stepSize": "0.0001",
    }  # fmt: skip
    assert len(provider.load_perpetual_markets(json.dumps({"markets": {"BTC-USD": good}}))) == 1
    provider.load_perpetual_markets(json.dumps({"markets": {"BTC-USD": {**good, "tickSize": "10"}}}))
    assert provider.instrument("BTC-USD") is None
    assert "tickSize 10" in provider.rejected["BTC-USD"]
    assert len(provider.load_perpetual_markets(json.dumps({"markets": {"BTC-USD": good}}))) == 1
    assert provider.rejected == {}


def test_a_ticker_that_is_not_base_usd_is_rejected(provider: DydxInstrumentProvider) -> None:
    market = {"clobPairId": "9", "atomicResolution": -9, "quantumConversionExponent": -9}
    market |= {"stepBaseQuantums": 1, "subticksPerTick": 1}
    provider.load_perpetual_markets(json.dumps({"markets": {"BTC-EUR": market, "USD": market}}))
    assert set(provider.rejected) == {"BTC-EUR", "USD"}


def test_a_malformed_markets_body_raises_decode_error(provider: DydxInstrumentProvider) -> None:
    with pytest.raises(DecodeError):
        provider.load_perpetual_markets('{"markets": {"BTC-USD": {"atomicResolution": "-10"}}}')


# --- conversions --------------------------------------------------------------------------------


def test_btc_and_eth_increments_follow_from_their_parameters() -> None:
    assert (BTC_PARAMETERS.step_size, BTC_PARAMETERS.tick_size) == (d("0.0001"), d("1"))
    assert (ETH_PARAMETERS.step_size, ETH_PARAMETERS.tick_size) == (d("0.001"), d("0.1"))
    assert BTC_PARAMETERS.quantums_to_size(25_000_000) == d("0.0025")
    assert BTC_PARAMETERS.subticks_to_price(6_400_000_000) == d("64000")
    assert BTC_PARAMETERS.size_to_quantums(d("0.0025")) == 25_000_000
    assert BTC_PARAMETERS.price_to_subticks(d("64000")) == 6_400_000_000


def signing_vectors(vectors_dir: Path) -> list[dict[str, Any]]:
    vectors = [json.loads(path.read_text()) for path in sorted((vectors_dir / "signing").glob("*.json"))]
    return [vector for vector in vectors if vector["message"] == "place_order"]


def test_conversions_match_every_signing_vector_of_the_official_client(vectors_dir: Path) -> None:
    vectors = signing_vectors(vectors_dir)
    assert len(vectors) >= 7
    for vector in vectors:
        market, order, expected = vector["market"], vector["order"], vector["expected"]
        parameters = DydxMarketParameters(
            market["ticker"], market["clob_pair_id"], market["atomic_resolution"],
            market["quantum_conversion_exponent"], market["step_base_quantums"], market["subticks_per_tick"],
        )  # fmt: skip
        size, price = d(order["size"]), d(order["price"])
        # The vectors' rule is floor to the step and the tick; their sizes and prices are on the grid.
        assert parameters.size_to_quantums(size, Rounding.DOWN) == expected["quantums"], vector["name"]
        assert parameters.price_to_subticks(price, Rounding.DOWN) == expected["subticks"], vector["name"]
        assert parameters.size_to_quantums(size) == expected["quantums"]
        assert parameters.quantums_to_size(expected["quantums"]) == size
        assert parameters.subticks_to_price(expected["subticks"]) == price


def test_the_size_the_float_client_gets_wrong_is_exact_here(vectors_dir: Path) -> None:
    [vector] = [v for v in signing_vectors(vectors_dir) if v["name"].startswith("v19-rounding")]
    assert ETH_PARAMETERS.size_to_quantums(d(vector["order"]["size"])) == 1_001_000_000


def test_a_positive_atomic_resolution_converts_exactly() -> None:
    pepe = DydxMarketParameters("PEPE-USD", 28, 1, -9, 1_000_000, 1_000_000)
    assert (pepe.step_size, pepe.tick_size) == (d("10000000"), d("0.0000000001"))
    assert pepe.size_to_quantums(d("10000000")) == 1_000_000
    assert pepe.price_to_subticks(d("0.0000119")) == 119_000_000_000


def test_an_off_grid_size_or_price_is_refused_unless_a_rounding_is_given() -> None:
    with pytest.raises(InvalidValueError, match=r"not a multiple of 0\.0001"):
        BTC_PARAMETERS.size_to_quantums(d("0.00015"))
    with pytest.raises(InvalidValueError, match="not a multiple of 1"):
        BTC_PARAMETERS.price_to_subticks(d("64000.5"))
    assert BTC_PARAMETERS.size_to_quantums(d("0.00015"), Rounding.DOWN) == 1_000_000
    assert BTC_PARAMETERS.size_to_quantums(d("0.00015"), Rounding.UP) == 2_000_000
    assert BTC_PARAMETERS.price_to_subticks(d("64000.5"), Rounding.UP) == 6_400_100_000


@pytest.mark.parametrize("value", ["0", "-1", "0.00001", "NaN", "1e30"])
def test_a_size_that_is_not_a_positive_representable_amount_is_refused(value: str) -> None:
    with pytest.raises(InvalidValueError):
        BTC_PARAMETERS.size_to_quantums(d(value), Rounding.DOWN)


def test_parameters_must_be_positive_integers() -> None:
    with pytest.raises(InvalidValueError):
        DydxMarketParameters("BTC-USD", 0, -10, -9, 0, 100_000)
