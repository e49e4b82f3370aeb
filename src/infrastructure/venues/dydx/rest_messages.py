"""The dYdX v4 indexer REST bodies (GET /v4/...) as msgspec structs, built from the shared records.

The records (orders, fills, positions, markets, ...) are those of the WebSocket schema in
`messages.py`: the indexer's WebSocket initial responses are these REST bodies. Decode a body with
`decoding.decode(text, PerpetualMarketsResponse)`; DecodeError if it is malformed.
"""

from __future__ import annotations

from decimal import Decimal

from infrastructure.venues.dydx.messages import (
    AssetPosition,
    BlockHeightContents,
    CandlesContents,
    Fill,
    Order,
    OrderbookContents,
    PerpetualMarket,
    PerpetualPosition,
    Record,
    Subaccount,
    Timestamp,
    TradesContents,
    TransferParty,
)


class PerpetualMarketsResponse(Record, frozen=True):
    """GET /v4/perpetualMarkets."""

    markets: dict[str, PerpetualMarket]


class SubaccountResponse(Record, frozen=True):
    """GET /v4/addresses/{address}/subaccountNumber/{number}."""

    subaccount: Subaccount


class AddressResponse(Record, frozen=True):
    """GET /v4/addresses/{address}."""

    subaccounts: tuple[Subaccount, ...]
    total_trading_rewards: Decimal | None = None


class AssetPositionsResponse(Record, frozen=True):
    """GET /v4/assetPositions."""

    positions: tuple[AssetPosition, ...]


class PerpetualPositionsResponse(Record, frozen=True):
    """GET /v4/perpetualPositions."""

    positions: tuple[PerpetualPosition, ...]


class FillsResponse(Record, frozen=True):
    """GET /v4/fills."""

    fills: tuple[Fill, ...]


class HistoricalFunding(Record, frozen=True):
    """One funding rate payment period of a market."""

    ticker: str
    rate: Decimal
    price: Decimal
    effective_at: Timestamp
    effective_at_height: str | None = None


class HistoricalFundingResponse(Record, frozen=True):
    """GET /v4/historicalFunding/{ticker}."""

    historical_funding: tuple[HistoricalFunding, ...]


class TimeResponse(Record, frozen=True):
    """GET /v4/time: the indexer's clock."""

    iso: Timestamp
    epoch: Decimal


class TransferRecord(Record, frozen=True):
    """A transfer as REST reports it (`amount` and `asset` where the WebSocket says size and symbol)."""

    sender: TransferParty
    recipient: TransferParty
    amount: Decimal
    asset: str | None = None
    type: str | None = None
    id: str | None = None
    created_at: Timestamp | None = None
    created_at_height: str | None = None
    transaction_hash: str | None = None


class TransfersResponse(Record, frozen=True):
    """GET /v4/transfers."""

    transfers: tuple[TransferRecord, ...]


#: REST bodies that are a bare record or list: GET /v4/orders/{id}, GET /v4/orders.
OrderResponse = Order
OrdersResponse = tuple[Order, ...]
#: GET /v4/orderbooks/perpetualMarket/{ticker}, GET /v4/trades/perpetualMarket/{ticker},
#: GET /v4/candles/perpetualMarkets/{ticker}, GET /v4/height.
OrderbookResponse = OrderbookContents
TradesResponse = TradesContents
CandlesResponse = CandlesContents
BlockHeightResponse = BlockHeightContents
