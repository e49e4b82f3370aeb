"""Coinbase products bodies become domain instruments with the right increments and limits."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from domain.instrument import Instrument, InstrumentId
from infrastructure.recorded_feed import RecordedFrame, RecordedHttp
from infrastructure.venues.coinbase.instrument_provider import (
    ProductsError,
    SkippedProduct,
    instruments_from_products,
    parse_products,
)

PRODUCTS_URL = "https://api.coinbase.com/api/v3/brokerage/market/products"


@pytest.fixture(scope="module")
def capture_products_body(capture: tuple[list[RecordedFrame], list[RecordedHttp]]) -> str:
    (http,) = capture[1]
    assert http.url == PRODUCTS_URL
    return http.body


def test_capture_products_btc_and_eth(capture_products_body: str) -> None:
    instruments = {
        instrument.id.symbol: instrument for instrument in instruments_from_products(capture_products_body)
    }
    assert instruments["BTC-USD"] == Instrument(
        id=InstrumentId("COINBASE", "BTC-USD"),
        base="BTC",
        quote="USD",
        price_increment=Decimal("0.01"),
        size_increment=Decimal("0.00000001"),
        min_size=Decimal("0.00000001"),
        min_notional=Decimal(1),
        max_size=Decimal(3400),
    )
    eth = instruments["ETH-USD"]
    assert (eth.base, eth.quote, eth.price_increment, eth.size_increment) == (
        "ETH",
        "USD",
        Decimal("0.01"),
        Decimal("0.00000001"),
    )
    assert (eth.min_size, eth.min_notional, eth.max_size) == (
        Decimal("0.00000001"),
        Decimal(1),
        Decimal(42000),
    )
    assert eth.is_price_on_grid(Decimal("1919.41"))
    assert not eth.is_price_on_grid(Decimal("1919.415"))


def test_capture_products_skips_delisted(capture_products_body: str) -> None:
    catalog = parse_products(capture_products_body)
    assert len(catalog.instruments) == 912
    assert len(catalog.skipped) == 8
    assert {skip.reason for skip in catalog.skipped} == {"status is 'delisted', not 'online'"}
    assert SkippedProduct("DAI-USD", "status is 'delisted', not 'online'") in catalog.skipped
    symbols = catalog.by_symbol()
    assert "DAI-USD" not in symbols
    assert all(instrument.id.venue == "COINBASE" for instrument in catalog.instruments)


def test_capture_products_are_consistent_with_the_capture_prices(
    capture_products_body: str, capture_frames: list[RecordedFrame]
) -> None:
    instruments = parse_products(capture_products_body).by_symbol()
    for frame in capture_frames[:40]:
        data = json.loads(frame.text)
        if data["channel"] != "ticker":
            continue
        for ticker in data["events"][0]["tickers"]:
            instrument = instruments[ticker["product_id"]]
            assert instrument.is_price_on_grid(Decimal(ticker["best_bid"]))
            assert instrument.is_size_on_grid(Decimal(ticker["best_bid_quantity"]))


def test_fixture_products(fixtures_dir: Path) -> None:
    catalog = parse_products((fixtures_dir / "http_products.json").read_bytes())
    assert [instrument.id.symbol for instrument in catalog.instruments] == ["BTC-USD", "BTC-USDC"]
    assert catalog.skipped == ()
    usdc = catalog.instruments[1]
    assert (usdc.base, usdc.quote, usdc.price_increment, usdc.min_notional) == (
        "BTC",
        "USDC",
        Decimal("0.01"),
        Decimal(1),
    )


def test_futures_are_skipped(fixtures_dir: Path) -> None:
    catalog = parse_products((fixtures_dir / "http_products_future.json").read_text())
    assert catalog.instruments == ()
    assert catalog.skipped
    assert all("FUTURE is not supported" in skip.reason for skip in catalog.skipped)


def product(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "product_id": "SOL-USD",
        "base_increment": "0.001",
        "quote_increment": "0.01",
        "price_increment": "0.01",
        "base_min_size": "0.001",
        "base_max_size": "5000",
        "quote_min_size": "1",
        "base_currency_id": "SOL",
        "quote_currency_id": "USD",
        "status": "online",
        "product_type": "SPOT",
        "is_disabled": False,
        "trading_disabled": False,
    }
    base.update(changes)
    return base


def body(*products: dict[str, Any]) -> str:
    return json.dumps({"products": list(products), "num_products": len(products)})


def test_mapping_of_each_field() -> None:
    (instrument,) = instruments_from_products(body(product()), venue="CB")
    assert instrument == Instrument(
        id=InstrumentId("CB", "SOL-USD"),
        base="SOL",
        quote="USD",
        price_increment=Decimal("0.01"),
        size_increment=Decimal("0.001"),
        min_size=Decimal("0.001"),
        min_notional=Decimal(1),
        max_size=Decimal(5000),
    )


def test_quote_increment_is_the_fallback_price_increment_and_limits_are_optional() -> None:
    (instrument,) = instruments_from_products(
        body(product(price_increment="", base_min_size="", base_max_size="", quote_min_size=""))
    )
    assert instrument.price_increment == Decimal("0.01")
    assert (instrument.min_size, instrument.min_notional, instrument.max_size) == (0, 0, None)


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"status": "offline"}, "status is 'offline', not 'online'"),
        ({"is_disabled": True}, "is_disabled"),
        ({"trading_disabled": True}, "trading_disabled"),
        ({"product_type": "FUTURE"}, "product_type FUTURE is not supported (spot only)"),
        ({"base_increment": ""}, "invalid: base_increment is missing"),
        ({"base_increment": "abc"}, "invalid: base_increment is not a number: 'abc'"),
        ({"price_increment": "NaN"}, "invalid: price_increment is not finite: 'NaN'"),
        ({"price_increment": "0"}, "invalid: SOL-USD.COINBASE: price_increment must be positive"),
        ({"base_max_size": "0.0001"}, "invalid: SOL-USD.COINBASE: max_size must be at least min_size"),
        ({"base_currency_id": ""}, "invalid: base must be a non-empty trimmed string, got ''"),
    ],
)
def test_products_that_cannot_be_instruments_are_skipped_with_a_reason(
    changes: dict[str, Any], reason: str
) -> None:
    catalog = parse_products(body(product(product_id="X-USD"), product(**changes)))
    assert [instrument.id.symbol for instrument in catalog.instruments] == ["X-USD"]
    (skipped,) = catalog.skipped
    assert skipped.product_id == "SOL-USD"
    assert skipped.reason.startswith(reason)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "not json",
        "[]",
        "{}",
        '{"products": {}}',
        '{"products": [{"base_increment": "1"}]}',
        '{"products": [{"product_id": 5}]}',
        '{"products": [{"product_id": "A", "is_disabled": "no"}]}',
        "\ud800",
    ],
)
def test_malformed_body_is_a_clear_error(text: str) -> None:
    with pytest.raises(ProductsError, match="not a Coinbase products body"):
        parse_products(text)


def test_product_without_id_is_a_clear_error() -> None:
    with pytest.raises(ProductsError, match="product #1 has an empty product_id"):
        parse_products(body(product(), product(product_id=" ")))
