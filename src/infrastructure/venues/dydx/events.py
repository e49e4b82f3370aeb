"""dYdX values the market data codec emits beside the domain's book updates, trades and feed issues.

The indexer streams more than the venue-neutral vocabulary of `domain.market_data` covers:
market parameters and oracle prices (v4_markets), a subaccount's orders, fills, positions and
transfers (v4_subaccounts), candles and block heights. These values carry the decoded wire
structs as they are (exact, typed); the adapters that own instruments, orders and positions turn
them into domain facts.

`ts_ns` is the receive time (ns since the epoch) unless a field says otherwise: apart from
trades, candles, oracle prices and block heights, indexer frames carry no venue time.
"""

from __future__ import annotations

import attrs

from domain.instrument import InstrumentId
from domain.market_data import TradeTick
from infrastructure.venues.dydx.market_parameters import DydxMarketParameters
from infrastructure.venues.dydx.messages import (
    AssetPosition,
    Candle,
    Fill,
    OraclePrice,
    Order,
    PerpetualMarket,
    PerpetualPosition,
    SubaccountContents,
    Transfer,
)


@attrs.frozen
class DydxMarketsUpdate:
    """A v4_markets frame: market records (every market when `is_snapshot`) and oracle prices.

    `markets` keeps the frame's order as (ticker, record) pairs; trading updates are partial
    records (a status, a funding rate). `parameters` holds the protocol parameters of every record
    that carries all of them (a new listing, a snapshot), for the instrument provider and signing.
    """

    is_snapshot: bool
    markets: tuple[tuple[str, PerpetualMarket], ...]
    oracle_prices: tuple[tuple[str, OraclePrice], ...]
    parameters: tuple[DydxMarketParameters, ...]
    message_id: int
    ts_ns: int


@attrs.frozen
class DydxTradeHistory:
    """The recent trades a v4_trades subscription starts with, oldest first: history, not live prints."""

    instrument_id: InstrumentId
    trades: tuple[TradeTick, ...]
    message_id: int
    ts_ns: int


@attrs.frozen
class DydxSubaccountUpdate:
    """One v4_subaccounts (or v4_parent_subaccounts) message: state when subscribed, changes after."""

    channel: str
    subaccount_id: str  # "{address}/{subaccountNumber}", as subscribed
    is_snapshot: bool
    contents: SubaccountContents
    block_height: int | None
    message_id: int
    ts_ns: int

    @property
    def orders(self) -> tuple[Order, ...]:
        """Order updates (all open orders when subscribed)."""
        return self.contents.orders

    @property
    def fills(self) -> tuple[Fill, ...]:
        """New fills of the subaccount's orders."""
        return self.contents.fills

    @property
    def perpetual_positions(self) -> tuple[PerpetualPosition, ...]:
        """Perpetual position updates; when subscribed, the open positions of the subaccount record."""
        if self.is_snapshot and self.contents.subaccount is not None:
            return tuple((self.contents.subaccount.open_perpetual_positions or {}).values())
        return self.contents.perpetual_positions

    @property
    def asset_positions(self) -> tuple[AssetPosition, ...]:
        """Collateral position updates; when subscribed, those of the subaccount record."""
        if self.is_snapshot and self.contents.subaccount is not None:
            return tuple((self.contents.subaccount.asset_positions or {}).values())
        return self.contents.asset_positions

    @property
    def transfers(self) -> tuple[Transfer, ...]:
        """Transfers in or out (the indexer sends at most one per message)."""
        return () if self.contents.transfers is None else (self.contents.transfers,)


@attrs.frozen
class DydxCandles:
    """Candles of one market and resolution (`stream_id` like "BTC-USD/1MIN"); history when `is_snapshot`."""

    stream_id: str
    is_snapshot: bool
    candles: tuple[Candle, ...]
    message_id: int
    ts_ns: int


@attrs.frozen
class DydxBlockHeight:
    """The chain's latest block height and its time (`time_ns`, venue time)."""

    height: int
    time_ns: int
    message_id: int
    ts_ns: int


DydxEvent = DydxMarketsUpdate | DydxTradeHistory | DydxSubaccountUpdate | DydxCandles | DydxBlockHeight
