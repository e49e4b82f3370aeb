"""The dYdX v4 indexer wire schema: WebSocket frames and the records they share with REST bodies.

The structs mirror the indexer's JSON (camelCase names mapped to snake_case) and hold exact
values: prices, sizes and amounts are `Decimal` (the indexer sends them as decimal strings) and
must be finite; timestamps are timezone-aware datetimes. Identifiers, heights and enumerations
the venue extends over time (order status, fill type, time in force) stay `str`: a new status
must not make a frame undecodable. A field is required only where every version of the message
carries it; order updates in particular arrive partial (an expired order has no price or size).

Sources: dydxprotocol/v4-chain `indexer/services/comlink/public/websocket-documentation.md` and
`indexer/services/socks`, and the real messages in the shared data folder.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

import msgspec

#: An ISO 8601 timestamp with its zone ("2024-07-24T19:12:35.705Z"); a naive one is refused.
Timestamp = Annotated[datetime, msgspec.Meta(tz=True)]
Side = Literal["BUY", "SELL"]


class Record(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """Base of every indexer record: camelCase on the wire, and every Decimal finite."""

    def __post_init__(self) -> None:
        # msgspec decodes "NaN" and "Infinity" into Decimal; no price, size or amount may be one.
        for name in self.__struct_fields__:
            value = getattr(self, name)
            if type(value) is Decimal and not value.is_finite():
                raise ValueError(f"{name} must be a finite number, got {value}")


# --- the envelope every WebSocket frame shares ------------------------------------------------


class Frame(msgspec.Struct, frozen=True, kw_only=True):
    """One WebSocket frame: its type, the connection's message counter, channel, id and contents."""

    type: str
    message_id: int
    connection_id: str | None = None
    channel: str | None = None
    id: str | None = None
    version: str | None = None
    message: str | None = None  # error frames
    subaccount_number: int | None = msgspec.field(default=None, name="subaccountNumber")  # parent batches
    contents: Any = None  # decoded per channel and type by the codec


# --- v4_orderbook -------------------------------------------------------------------------------


class PriceLevelObject(Record, frozen=True):
    """A book level as an object: how snapshots (the subscribed frame and REST) send it."""

    price: Decimal
    size: Decimal


#: A book level: `[price, size]` in updates, `{"price", "size"}` in snapshots. Size 0 deletes.
PriceLevel = tuple[Decimal, Decimal] | PriceLevelObject


class OrderbookContents(Record, frozen=True):
    """The contents of a v4_orderbook frame (and the REST orderbook body): changed levels per side."""

    bids: tuple[PriceLevel, ...] = ()
    asks: tuple[PriceLevel, ...] = ()


# --- v4_trades ----------------------------------------------------------------------------------


class Trade(Record, frozen=True):
    """A public trade. `side` is the taker's side; `id` is the taker fill's id."""

    id: str
    side: Side
    size: Decimal
    price: Decimal
    created_at: Timestamp
    type: str | None = None  # LIMIT, MARKET, LIQUIDATED, DELEVERAGED, ...
    created_at_height: str | None = None
    liquidation: bool | None = None  # older indexer versions only


class TradesContents(Record, frozen=True):
    """The contents of a v4_trades frame (and the REST trades body)."""

    trades: tuple[Trade, ...] = ()


# --- v4_markets ---------------------------------------------------------------------------------


class PerpetualMarket(Record, frozen=True):
    """A perpetual market as v4_markets and REST /v4/perpetualMarkets report it; updates are partial."""

    ticker: str | None = None
    clob_pair_id: str | None = None
    status: str | None = None
    atomic_resolution: int | None = None
    quantum_conversion_exponent: int | None = None
    step_base_quantums: int | None = None
    subticks_per_tick: int | None = None
    tick_size: Decimal | None = None
    step_size: Decimal | None = None
    market_type: str | None = None
    id: str | None = None
    market_id: int | None = None
    oracle_price: Decimal | None = None
    price_change_24h: Decimal | None = msgspec.field(default=None, name="priceChange24H")
    volume_24h: Decimal | None = msgspec.field(default=None, name="volume24H")
    trades_24h: int | None = msgspec.field(default=None, name="trades24H")
    next_funding_rate: Decimal | None = None
    initial_margin_fraction: Decimal | None = None
    maintenance_margin_fraction: Decimal | None = None
    open_interest: Decimal | None = None
    base_open_interest: Decimal | None = None
    open_interest_lower_cap: Decimal | None = None
    open_interest_upper_cap: Decimal | None = None
    default_funding_rate_1h: Decimal | None = msgspec.field(default=None, name="defaultFundingRate1H")


class OraclePrice(Record, frozen=True):
    """An oracle price update; newer indexers send spot and PnL prices instead of `oraclePrice`."""

    oracle_price: Decimal | None = None
    price: Decimal | None = None
    spot_price: Decimal | None = None
    pnl_price: Decimal | None = None
    effective_at: Timestamp | None = None
    effective_at_height: str | None = None
    market_id: int | None = None


class MarketsContents(Record, frozen=True):
    """The contents of a v4_markets frame: full markets (subscribed), or trading and oracle updates."""

    markets: dict[str, PerpetualMarket] | None = None
    trading: dict[str, PerpetualMarket] | None = None
    oracle_prices: dict[str, OraclePrice] | None = None


# --- v4_subaccounts and v4_parent_subaccounts ---------------------------------------------------


class Order(Record, frozen=True):
    """An order update for a subaccount; any field may be absent (an expired order has no price)."""

    id: str | None = None  # absent in some payloads, which name the order by subaccount and client id
    subaccount_id: str | None = None
    client_id: str | None = None
    clob_pair_id: str | None = None
    ticker: str | None = None
    side: Side | None = None
    size: Decimal | None = None
    price: Decimal | None = None
    trigger_price: Decimal | None = None
    total_filled: Decimal | None = None
    total_optimistic_filled: Decimal | None = None
    type: str | None = None
    status: str | None = None
    time_in_force: str | None = None
    post_only: bool | None = None
    reduce_only: bool | None = None
    order_flags: str | None = None
    good_til_block: str | int | None = None
    good_til_block_time: Timestamp | None = None
    created_at_height: str | None = None
    client_metadata: str | None = None
    removal_reason: str | None = None
    updated_at: Timestamp | None = None
    updated_at_height: str | None = None
    subaccount_number: int | None = None
    order_router_address: str | None = None
    duration: str | None = None  # TWAP orders only: duration, interval, price tolerance
    interval: str | None = None
    price_tolerance: str | None = None


class EventIdBuffer(Record, frozen=True):
    """An event id as a serialised Node Buffer: how early indexer versions sent it."""

    type: str
    data: tuple[int, ...]


class Fill(Record, frozen=True):
    """A fill of one of the subaccount's orders, as maker or taker."""

    id: str
    side: Side
    size: Decimal
    price: Decimal
    liquidity: str | None = None  # TAKER or MAKER
    type: str | None = None  # LIMIT, MARKET, LIQUIDATED, LIQUIDATION, DELEVERAGED, OFFSETTING
    fee: Decimal | None = None
    quote_amount: Decimal | None = None
    affiliate_rev_share: Decimal | None = None
    order_id: str | None = None
    subaccount_id: str | None = None
    clob_pair_id: str | None = None
    ticker: str | None = None
    market: str | None = None
    market_type: str | None = None
    event_id: str | EventIdBuffer | None = None
    transaction_hash: str | None = None
    created_at: Timestamp | None = None
    created_at_height: str | None = None
    client_metadata: str | None = None
    subaccount_number: int | None = None


class PerpetualPosition(Record, frozen=True):
    """A perpetual position of the subaccount (size is signed: negative when short)."""

    market: str
    status: str | None = None
    side: str | None = None  # LONG or SHORT
    size: Decimal | None = None
    max_size: Decimal | None = None
    entry_price: Decimal | None = None
    exit_price: Decimal | None = None
    realized_pnl: Decimal | None = None
    unrealized_pnl: Decimal | None = None
    net_funding: Decimal | None = None
    sum_open: Decimal | None = None
    sum_close: Decimal | None = None
    created_at: Timestamp | None = None
    created_at_height: str | None = None
    closed_at: Timestamp | None = None
    address: str | None = None
    subaccount_number: int | None = None
    position_id: str | None = None


class AssetPosition(Record, frozen=True):
    """A collateral (asset) position of the subaccount, USDC in practice."""

    size: Decimal
    symbol: str | None = None
    side: str | None = None  # LONG or SHORT
    asset_id: str | None = None
    address: str | None = None
    subaccount_number: int | None = None
    position_id: str | None = None


class TransferParty(Record, frozen=True):
    """One end of a transfer: a wallet address, with a subaccount number when it is a subaccount."""

    address: str
    subaccount_number: int | None = None


class Transfer(Record, frozen=True):
    """A transfer in or out of the subaccount (deposit, withdrawal, transfer)."""

    sender: TransferParty
    recipient: TransferParty
    size: Decimal
    symbol: str | None = None
    type: str | None = None
    id: str | None = None
    created_at: Timestamp | None = None
    created_at_height: str | None = None
    transaction_hash: str | None = None


class TradingReward(Record, frozen=True):
    """A trading reward credited to the subaccount."""

    trading_reward: Decimal
    created_at: Timestamp | None = None
    created_at_height: str | None = None


class Subaccount(Record, frozen=True):
    """A subaccount's state as the subscribed frame and REST report it."""

    address: str
    subaccount_number: int | None = None
    equity: Decimal | None = None
    free_collateral: Decimal | None = None
    open_perpetual_positions: dict[str, PerpetualPosition] | None = None
    asset_positions: dict[str, AssetPosition] | None = None
    margin_enabled: bool | None = None
    updated_at_height: str | None = None
    latest_processed_block_height: str | None = None
    parent_subaccount_number: int | None = None
    child_subaccounts: tuple[Subaccount, ...] | None = None
    trading_rewards: tuple[TradingReward, ...] | None = None


class SubaccountContents(Record, frozen=True):
    """The contents of a v4_subaccounts or v4_parent_subaccounts frame (one batch element)."""

    subaccount: Subaccount | None = None
    orders: tuple[Order, ...] = ()
    fills: tuple[Fill, ...] = ()
    perpetual_positions: tuple[PerpetualPosition, ...] = ()
    asset_positions: tuple[AssetPosition, ...] = ()
    transfers: Transfer | None = None
    trading_reward: TradingReward | None = None
    block_height: str | None = None


# --- v4_candles and v4_block_height -------------------------------------------------------------


class Candle(Record, frozen=True):
    """One candle of a market at one resolution."""

    started_at: Timestamp
    ticker: str
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    resolution: str | None = None
    base_token_volume: Decimal | None = None
    usd_volume: Decimal | None = None
    trades: int | None = None
    starting_open_interest: Decimal | None = None
    orderbook_mid_price_open: Decimal | None = None
    orderbook_mid_price_close: Decimal | None = None
    id: str | None = None


class CandlesContents(Record, frozen=True):
    """The contents of the subscribed v4_candles frame (and the REST candles body)."""

    candles: tuple[Candle, ...] = ()


class BlockHeightContents(Record, frozen=True):
    """A block height: `height` in the subscribed frame and REST, `blockHeight` in updates."""

    time: Timestamp
    height: str | None = None
    block_height: str | None = None
