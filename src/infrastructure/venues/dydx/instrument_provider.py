"""dYdX perpetual markets as domain instruments, from REST /v4/perpetualMarkets and v4_markets.

Each market becomes an `Instrument` on venue DYDX with the indexer's ticker as symbol
("BTC-USD", a perpetual), the ticker's first part as base and USD as quote:
- price increment = the tick size, size increment = the step size, both derived from the
  protocol's integers (`DydxMarketParameters`): those are what orders are signed and checked
  with; the indexer's `tickSize` and `stepSize` strings are derived from them and must agree;
- minimum size = the step size: the chain accepts any positive multiple of `stepBaseQuantums`
  (there is no separate minimum order size in the v4 clob pair);
- no minimum notional and no maximum order size (open interest caps bound positions, not orders).

A market whose strings disagree with its integers, or whose ticker is not `BASE-USD`, is not
turned into an instrument: it is listed in `rejected` with the reason. Real indexer data always
agrees; hand-written fixtures sometimes do not, and trading on a wrong grid would have every
order refused. Partial v4_markets updates (a status, a funding rate) only update the status.
"""

from __future__ import annotations

from collections.abc import Iterable

from domain.errors import DomainError
from domain.instrument import Instrument, InstrumentId
from infrastructure.venues.dydx.decoding import decode
from infrastructure.venues.dydx.events import DydxMarketsUpdate
from infrastructure.venues.dydx.market_parameters import DydxMarketParameters
from infrastructure.venues.dydx.messages import PerpetualMarket
from infrastructure.venues.dydx.rest_messages import PerpetualMarketsResponse

VENUE = "DYDX"
QUOTE = "USD"


class DydxInstrumentProvider:
    """The instruments and protocol parameters of dYdX perpetual markets, kept current from updates."""

    def __init__(self, venue: str = VENUE) -> None:
        self.venue = venue
        self._instruments: dict[str, Instrument] = {}
        self._parameters: dict[str, DydxMarketParameters] = {}
        self._status: dict[str, str] = {}
        self._rejected: dict[str, str] = {}

    @property
    def rejected(self) -> dict[str, str]:
        """Markets not turned into instruments, with the reason (a copy)."""
        return dict(self._rejected)

    def load_perpetual_markets(self, body: str | bytes) -> list[Instrument]:
        """Load a GET /v4/perpetualMarkets body: the instruments added or changed (DecodeError if bad)."""
        response = decode(body, PerpetualMarketsResponse).value
        return self._apply(response.markets.items())

    def apply(self, update: DydxMarketsUpdate) -> list[Instrument]:
        """Apply a v4_markets update from the codec; returns the instruments added or changed."""
        return self._apply(update.markets)

    def instrument(self, symbol: str) -> Instrument | None:
        """The instrument of a ticker, if known and consistent."""
        return self._instruments.get(symbol)

    def instruments(self) -> list[Instrument]:
        """Every known instrument, by symbol."""
        return [self._instruments[symbol] for symbol in sorted(self._instruments)]

    def parameters(self, symbol: str) -> DydxMarketParameters | None:
        """The protocol parameters of a ticker (for order signing), if known and consistent."""
        return self._parameters.get(symbol)

    def status(self, symbol: str) -> str | None:
        """The market's last reported status: ACTIVE, PAUSED, CANCEL_ONLY, POST_ONLY, FINAL_SETTLEMENT..."""
        return self._status.get(symbol)

    def _apply(self, markets: Iterable[tuple[str, PerpetualMarket]]) -> list[Instrument]:
        changed: list[Instrument] = []
        for ticker, market in markets:
            if market.status is not None:
                self._status[ticker] = market.status
            try:
                built = self._build(ticker, market)
            except (DomainError, _InconsistentMarketError) as exc:
                self._reject(ticker, str(exc))
                continue
            if built is None:
                continue
            parameters, instrument = built
            self._rejected.pop(ticker, None)
            self._parameters[ticker] = parameters
            if self._instruments.get(ticker) != instrument:
                self._instruments[ticker] = instrument
                changed.append(instrument)
        return changed

    def _build(self, ticker: str, market: PerpetualMarket) -> tuple[DydxMarketParameters, Instrument] | None:
        parameters = DydxMarketParameters.from_market(ticker, market)
        if parameters is None:
            return None  # a partial update: nothing to build from
        base, dash, quote = ticker.rpartition("-")
        if not dash or not base or quote != QUOTE:
            raise _InconsistentMarketError(f"{ticker}: expected a BASE-{QUOTE} ticker")
        tick, step = parameters.tick_size, parameters.step_size
        if market.tick_size is not None and market.tick_size != tick:
            raise _InconsistentMarketError(f"{ticker}: tickSize {market.tick_size}, parameters give {tick}")
        if market.step_size is not None and market.step_size != step:
            raise _InconsistentMarketError(f"{ticker}: stepSize {market.step_size}, parameters give {step}")
        instrument = Instrument(
            id=InstrumentId(self.venue, ticker),
            base=base,
            quote=QUOTE,
            price_increment=tick,
            size_increment=step,
            min_size=step,
        )
        return parameters, instrument

    def _reject(self, ticker: str, reason: str) -> None:
        self._rejected[ticker] = reason
        self._instruments.pop(ticker, None)
        self._parameters.pop(ticker, None)


class _InconsistentMarketError(ValueError):
    """A market's reported increments or ticker do not match its protocol parameters."""
