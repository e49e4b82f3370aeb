"""Specs of the pre-trade risk package; this module holds the builders the spec files share."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from domain.identifiers import StrategyId
from domain.instrument import Instrument, InstrumentId
from domain.order_terms import OrderSide, OrderType, TimeInForce
from domain.risk import CurrencyBalance, Exposure, ReferencePrice, RiskContext, TradingState
from domain.signals import OrderIntent

D = Decimal
NOW = 1_700_000_000_000_000_000
SECOND = 1_000_000_000
STRATEGY = StrategyId("spec")
BTC_USD = InstrumentId("COINBASE", "BTC-USD")
ETH_USD = InstrumentId("COINBASE", "ETH-USD")
ETH_BTC = InstrumentId("COINBASE", "ETH-BTC")
MID = D(50_000)
EQUITY = D(100_000)
NIL = D(0)


def btc_usd(**overrides: object) -> Instrument:
    """BTC-USD: cent prices, 0.0001 BTC sizes, at least 0.0001 BTC and 1 USD, at most 100 BTC."""
    fields: dict[str, object] = {
        "id": BTC_USD,
        "base": "BTC",
        "quote": "USD",
        "price_increment": D("0.01"),
        "size_increment": D("0.0001"),
        "min_size": D("0.0001"),
        "min_notional": D(1),
        "max_size": D(100),
    }
    fields.update(overrides)
    return Instrument(**fields)  # type: ignore[arg-type]


def eth_btc() -> Instrument:
    """ETH-BTC: quoted in BTC, so valuing it in USD needs a BTC rate."""
    return Instrument(
        id=ETH_BTC, base="ETH", quote="BTC", price_increment=D("0.00001"), size_increment=D("0.001")
    )


def limit(
    side: OrderSide,
    quantity: Decimal | str,
    price: Decimal | str,
    *,
    instrument_id: InstrumentId = BTC_USD,
    reduce_only: bool = False,
) -> OrderIntent:
    """A GTC limit order intent."""
    return OrderIntent(
        strategy_id=STRATEGY,
        instrument_id=instrument_id,
        side=side,
        quantity=D(quantity),
        price=D(price),
        reduce_only=reduce_only,
    )


def market(
    side: OrderSide,
    quantity: Decimal | str,
    *,
    instrument_id: InstrumentId = BTC_USD,
    reduce_only: bool = False,
) -> OrderIntent:
    """An IOC market order intent."""
    return OrderIntent(
        strategy_id=STRATEGY,
        instrument_id=instrument_id,
        side=side,
        quantity=D(quantity),
        order_type=OrderType.MARKET,
        time_in_force=TimeInForce.IOC,
        reduce_only=reduce_only,
    )


def context(
    *,
    now_ns: int = NOW,
    equity: Decimal | str = EQUITY,
    high_water_mark: Decimal | str = EQUITY,
    daily_pnl: Decimal | str = NIL,
    trading_state: TradingState = TradingState.ACTIVE,
    balances: Mapping[str, CurrencyBalance] | None = None,
    rates: Mapping[str, Decimal] | None = None,
    exposures: Mapping[InstrumentId, Exposure] | None = None,
    references: Mapping[InstrumentId, ReferencePrice] | None = None,
    open_order_count: int = 0,
    gross_notional: Decimal | str = NIL,
    recent_order_ts_ns: tuple[int, ...] = (),
) -> RiskContext:
    """A USD-reporting context: 100k equity, 1M USD free, a fresh BTC-USD mid of 50,000, flat."""
    return RiskContext(
        now_ns=now_ns,
        equity=D(equity),
        high_water_mark=D(high_water_mark),
        daily_pnl=D(daily_pnl),
        reporting_currency="USD",
        trading_state=trading_state,
        balances={"USD": CurrencyBalance(D(1_000_000))} if balances is None else balances,
        rates={} if rates is None else rates,
        exposures={} if exposures is None else exposures,
        references={BTC_USD: ReferencePrice(MID, now_ns)} if references is None else references,
        open_order_count=open_order_count,
        gross_notional=D(gross_notional),
        recent_order_ts_ns=recent_order_ts_ns,
    )
