"""Coinbase products (the body of GET /api/v3/brokerage/market/products) to domain instruments.

Mapping, per product: `product_id` -> symbol (venue "COINBASE"), `base_currency_id` / `quote_currency_id`
-> base / quote, `price_increment` (else `quote_increment`) -> price_increment, `base_increment` ->
size_increment, `base_min_size` -> min_size, `quote_min_size` -> min_notional, `base_max_size` ->
max_size (empty: no maximum).

Only spot products that trade are instruments. A product is skipped, with its reason kept in
`ProductCatalog.skipped`, when its status is not "online", it is disabled (`is_disabled`,
`trading_disabled`), it is not SPOT (futures need contract terms the Instrument does not have),
or its numbers are missing or break the Instrument's rules. A body that is not a products
listing (not JSON, no `products` list, a product without an id) raises `ProductsError`.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

import msgspec

from domain.errors import InvalidValueError
from domain.instrument import Instrument, InstrumentId

VENUE = "COINBASE"


class ProductsError(ValueError):
    """A products body cannot be read as a Coinbase products listing."""


class _Product(msgspec.Struct, frozen=True):
    product_id: str
    base_increment: str = ""
    quote_increment: str = ""
    price_increment: str = ""
    base_min_size: str = ""
    base_max_size: str = ""
    quote_min_size: str = ""
    base_currency_id: str = ""
    quote_currency_id: str = ""
    status: str = ""
    product_type: str = ""
    is_disabled: bool | None = False
    trading_disabled: bool | None = False


class _Products(msgspec.Struct, frozen=True):
    products: list[_Product]


_DECODER = msgspec.json.Decoder(_Products)


@dataclass(frozen=True, slots=True)
class SkippedProduct:
    """A product that did not become an instrument, and why."""

    product_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class ProductCatalog:
    """The instruments of a products body, and the products skipped (in body order)."""

    instruments: tuple[Instrument, ...]
    skipped: tuple[SkippedProduct, ...]

    def by_symbol(self) -> dict[str, Instrument]:
        """The instruments keyed by Coinbase product id."""
        return {instrument.id.symbol: instrument for instrument in self.instruments}


def _optional_decimal(text: str, name: str) -> Decimal | None:
    text = text.strip()
    if not text:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise InvalidValueError(f"{name} is not a number: {text!r}") from None
    if not value.is_finite():
        raise InvalidValueError(f"{name} is not finite: {text!r}")
    return value


def _required_decimal(text: str, name: str) -> Decimal:
    value = _optional_decimal(text, name)
    if value is None:
        raise InvalidValueError(f"{name} is missing")
    return value


def _skip_reason(product: _Product) -> str | None:
    if product.product_type.upper() not in {"SPOT", ""}:
        return f"product_type {product.product_type} is not supported (spot only)"
    if product.status != "online":
        return f"status is {product.status!r}, not 'online'"
    if product.is_disabled:
        return "is_disabled"
    if product.trading_disabled:
        return "trading_disabled"
    return None


def _instrument(product: _Product, venue: str) -> Instrument:
    price_increment = product.price_increment if product.price_increment.strip() else product.quote_increment
    return Instrument(
        id=InstrumentId(venue, product.product_id),
        base=product.base_currency_id,
        quote=product.quote_currency_id,
        price_increment=_required_decimal(price_increment, "price_increment"),
        size_increment=_required_decimal(product.base_increment, "base_increment"),
        min_size=_optional_decimal(product.base_min_size, "base_min_size") or Decimal(0),
        min_notional=_optional_decimal(product.quote_min_size, "quote_min_size") or Decimal(0),
        max_size=_optional_decimal(product.base_max_size, "base_max_size"),
    )


def parse_products(body: str | bytes, *, venue: str = VENUE) -> ProductCatalog:
    """Read a products body: the instruments it defines and the products skipped, with reasons.

    Raises ProductsError when the body is not a products listing.
    """
    try:
        listing = _DECODER.decode(body)
    except (msgspec.DecodeError, RecursionError, UnicodeError) as error:
        raise ProductsError(f"not a Coinbase products body: {error}") from None
    instruments: list[Instrument] = []
    skipped: list[SkippedProduct] = []
    for index, product in enumerate(listing.products):
        if not product.product_id.strip():
            raise ProductsError(f"product #{index} has an empty product_id")
        reason = _skip_reason(product)
        if reason is None:
            try:
                instruments.append(_instrument(product, venue))
                continue
            except InvalidValueError as error:
                reason = f"invalid: {error}"
        skipped.append(SkippedProduct(product.product_id, reason))
    return ProductCatalog(tuple(instruments), tuple(skipped))


def instruments_from_products(body: str | bytes, *, venue: str = VENUE) -> list[Instrument]:
    """The instruments of a products body (skipped products are dropped; see `parse_products`)."""
    return list(parse_products(body, venue=venue).instruments)
