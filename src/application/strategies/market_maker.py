"""A market maker: one post-only quote per side around the mid, spread scaled by volatility,
skewed against inventory, repriced only when worth it and never faster than allowed.

Pricing (`quote_prices`):
- fair price = the mid of the best bid and ask;
- spread (bps) = clamp(base_spread_bps + vol_multiplier * vol_bps, min_spread_bps, max_spread_bps),
  where vol_bps is the sample standard deviation of the log returns of the last `vol_window` mid
  samples, in basis points (a sample is the mid of a fresh book top at least
  `vol_sample_interval_ns` after the previous sample; 0 samples every top); no quote before the
  window is full;
- skew (bps) = inventory_skew_bps * clamp(position / max_position, -1, 1); both quotes move down by
  it when long (sell more readily, buy less) and up when short;
- bid = (mid shifted by the skew) * (1 - spread / 2), ask = ... * (1 + spread / 2), bid rounded
  DOWN and ask rounded UP to the instrument's price grid; a bid at or above the best ask is pulled
  to one tick below it and an ask at or below the best bid to one tick above it, since a post-only
  order that would cross is rejected.

Quoting, per side, at most one working quote (`MarketMaker._manage_side`):
- size = min(quote_size, room, the instrument's max size) rounded DOWN to the size grid, where room
  is what keeps the worst case inside max_position: position + every open order on that side
  (cancels still pending included, the quote being replaced too, since they may fill before the
  cancel lands) + the intent in flight. Near the limit a replacement is therefore smaller, or waits
  for the cancel to be confirmed; a size under the instrument's minimum is not quoted. When the
  worst case is already over the limit, the side's quotes are canceled. In REDUCING, only the side
  that reduces the position is quoted, reduce-only and sized so the position cannot pass zero even
  if everything on that side fills; every other quote on either side is canceled.
- a quote is replaced (cancel, then a new intent, in that order) only when the desired price moved
  by at least `requote_threshold_bps` of the resting price AND `min_requote_interval_ns` passed
  since the last new quote on that side. New quotes on a side are never closer together than that
  interval, whatever the reason (first quote, after a fill, after a cancel).
- a new intent is tracked by its tag until the order shows in the view (see `tracking`); while it
  is in flight the side waits.
- stale book: every quote is canceled and nothing new is sent; halted: nothing at all.

The strategy reacts to book tops (which also feed the volatility), timers and order events (a fill
moves the skew); trades are ignored.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal

import attrs

from application.strategies import state as st
from application.strategies.config import check_int, require
from application.strategies.indicators import RollingVolatility, vol_as_decimal
from application.strategies.strategy import Permission, SingleInstrumentStrategy, StrategyStateError
from application.strategies.strategy_view import OpenOrderView, StrategyView
from application.strategies.tracking import CancelTracker, InFlight, TopOfBook
from domain.identifiers import StrategyId
from domain.instrument import Instrument, InstrumentId
from domain.market_data import BookTop
from domain.numbers import BPS, EXACT_CONTEXT, ONE, REPORT_CONTEXT, ZERO, to_decimal
from domain.order_terms import OrderSide, OrderType, TimeInForce
from domain.orders.order_events import OrderEvent
from domain.signals import CancelIntent, OrderIntent, Signal

_CTX = REPORT_CONTEXT
_TWO = Decimal(2)
_SIDES = (OrderSide.BUY, OrderSide.SELL)
_TAG_PREFIX = {OrderSide.BUY: "bid", OrderSide.SELL: "ask"}


@attrs.frozen
class MarketMakerConfig:
    """The market maker's numbers: sizes in base units, spreads in bps, times in ns."""

    quote_size: Decimal = attrs.field(converter=to_decimal)
    max_position: Decimal = attrs.field(converter=to_decimal)
    base_spread_bps: Decimal = attrs.field(default=Decimal(10), converter=to_decimal)
    vol_multiplier: Decimal = attrs.field(default=Decimal(1), converter=to_decimal)
    min_spread_bps: Decimal = attrs.field(default=Decimal(2), converter=to_decimal)
    max_spread_bps: Decimal = attrs.field(default=Decimal(200), converter=to_decimal)
    inventory_skew_bps: Decimal = attrs.field(
        default=Decimal(5), converter=to_decimal
    )  # the shift of both quotes at |position| = max_position
    min_requote_interval_ns: int = 250_000_000
    requote_threshold_bps: Decimal = attrs.field(default=Decimal(1), converter=to_decimal)
    vol_window: int = 20
    vol_sample_interval_ns: int = 1_000_000_000  # at most one mid sample per interval; 0: every top
    pending_timeout_ns: int = 2_000_000_000

    def __attrs_post_init__(self) -> None:
        name = type(self).__name__
        require(self.quote_size > 0, name, f"quote_size must be positive, got {self.quote_size}")
        require(self.max_position > 0, name, f"max_position must be positive, got {self.max_position}")
        require(self.base_spread_bps >= 0, name, "base_spread_bps must not be negative")
        require(self.vol_multiplier >= 0, name, "vol_multiplier must not be negative")
        require(
            0 < self.min_spread_bps <= self.max_spread_bps < 2 * BPS,
            name,
            "spreads need 0 < min_spread_bps <= max_spread_bps < 20000 "
            f"(got {self.min_spread_bps} and {self.max_spread_bps})",
        )
        require(0 <= self.inventory_skew_bps < BPS, name, "inventory_skew_bps must be within [0, 10000)")
        require(self.requote_threshold_bps >= 0, name, "requote_threshold_bps must not be negative")
        check_int(name, "min_requote_interval_ns", self.min_requote_interval_ns, 0)
        check_int(name, "vol_window", self.vol_window, 2)
        check_int(name, "vol_sample_interval_ns", self.vol_sample_interval_ns, 0)
        check_int(name, "pending_timeout_ns", self.pending_timeout_ns, 1)


@attrs.frozen
class QuotePrices:
    """The prices the market maker wants, and how it got them (for tests and reports)."""

    bid: Decimal | None  # None when no positive bid fits the grid
    ask: Decimal
    spread_bps: Decimal
    skew_bps: Decimal

    def price(self, side: OrderSide) -> Decimal | None:
        """The price of one side."""
        return self.bid if side is OrderSide.BUY else self.ask


def _clamp(value: Decimal, low: Decimal, high: Decimal) -> Decimal:
    return max(low, min(high, value))


def quote_prices(
    config: MarketMakerConfig,
    instrument: Instrument,
    *,
    best_bid: Decimal,
    best_ask: Decimal,
    vol_bps: float,
    position: Decimal,
) -> QuotePrices:
    """The bid and ask the market maker wants (see the module doc), on the grid and not crossing."""
    mid = EXACT_CONTEXT.divide(EXACT_CONTEXT.add(best_bid, best_ask), _TWO)
    raw_spread = _CTX.add(
        config.base_spread_bps, _CTX.multiply(config.vol_multiplier, vol_as_decimal(vol_bps))
    )
    spread_bps = _clamp(raw_spread, config.min_spread_bps, config.max_spread_bps)
    half = _CTX.divide(_CTX.divide(spread_bps, _TWO), BPS)
    inventory = _clamp(_CTX.divide(position, config.max_position), -ONE, ONE)
    skew_bps = _CTX.multiply(config.inventory_skew_bps, inventory)
    reservation = _CTX.multiply(mid, _CTX.subtract(ONE, _CTX.divide(skew_bps, BPS)))
    bid = instrument.round_price(_CTX.multiply(reservation, _CTX.subtract(ONE, half)), OrderSide.BUY)
    ask = instrument.round_price(_CTX.multiply(reservation, _CTX.add(ONE, half)), OrderSide.SELL)
    tick = instrument.price_increment
    if bid >= best_ask:
        bid = instrument.round_price(best_ask - tick, OrderSide.BUY)
    if ask <= best_bid:
        ask = instrument.round_price(best_bid + tick, OrderSide.SELL)
    return QuotePrices(bid if bid > 0 else None, ask, spread_bps, skew_bps)


def moved_bps(resting: Decimal, desired: Decimal) -> Decimal:
    """|desired - resting| in bps of the resting price."""
    return _CTX.divide(_CTX.multiply(abs(desired - resting), BPS), resting)


class MarketMaker(SingleInstrumentStrategy):
    """Quotes both sides of one instrument (see the module doc)."""

    KIND = "market_maker"
    VERSION = 1

    def __init__(
        self, strategy_id: StrategyId, instrument_id: InstrumentId, config: MarketMakerConfig
    ) -> None:
        super().__init__(strategy_id, instrument_id)
        self.config = config
        self._vol = RollingVolatility(config.vol_window)
        self._cancels = CancelTracker(config.pending_timeout_ns)
        self._last_top: TopOfBook | None = None
        self._last_sample_ns: int | None = None
        self._last_quote_ns: dict[OrderSide, int | None] = dict.fromkeys(_SIDES)
        self._in_flight: dict[OrderSide, InFlight | None] = dict.fromkeys(_SIDES)
        self._next_tag = 1

    # ----- what the strategy knows (read-only, for reports and tests) -----

    @property
    def vol_bps(self) -> float | None:
        """The current volatility of mid log returns in bps (None while warming up)."""
        return self._vol.value_bps

    def in_flight(self, side: OrderSide) -> InFlight | None:
        """The intent sent on `side` and not yet seen in the view."""
        return self._in_flight[side]

    def desired_quotes(self, position: Decimal, instrument: Instrument) -> QuotePrices | None:
        """The quotes wanted now at `position`, or None (no two-sided book yet, or warming up)."""
        top = self._last_top
        vol = self._vol.value_bps
        if top is None or top.best_bid is None or top.best_ask is None or vol is None:
            return None
        return quote_prices(
            self.config,
            instrument,
            best_bid=top.best_bid,
            best_ask=top.best_ask,
            vol_bps=vol,
            position=position,
        )

    # ----- the hooks -----

    def _book(self, top: BookTop, view: StrategyView, permission: Permission) -> Sequence[Signal]:
        mid = top.mid
        if mid is not None and mid > 0 and not top.stale and not view.book_stale:
            last = self._last_sample_ns
            if last is None or top.ts_ns - last >= self.config.vol_sample_interval_ns:
                self._vol.update(mid)
                self._last_sample_ns = top.ts_ns
        self._last_top = TopOfBook.of(top)
        return self._quote(view, permission)

    def _timer(self, ts_ns: int, view: StrategyView, permission: Permission) -> Sequence[Signal]:
        del ts_ns  # the view's time is the time
        return self._quote(view, permission)

    def _order_event(self, event: OrderEvent, view: StrategyView, permission: Permission) -> Sequence[Signal]:
        del event  # the view already reflects it: position, open orders
        return self._quote(view, permission)

    # ----- quoting -----

    def _quote(self, view: StrategyView, permission: Permission) -> list[Signal]:
        now = view.now_ns
        self._cancels.refresh(view)
        for side in _SIDES:
            pending = self._in_flight[side]
            if pending is not None and pending.resolved(view, self.config.pending_timeout_ns):
                self._in_flight[side] = None
        if permission is Permission.NOTHING:
            return []
        if self._last_top is not None and self._last_top.stale:
            permission = Permission.CANCEL_ONLY
        if permission is Permission.CANCEL_ONLY:
            return self._cancel_all(view.open_orders, now)
        quotes = self.desired_quotes(view.position, view.instrument)
        signals: list[Signal] = []
        for side in _SIDES:
            price = None if quotes is None else quotes.price(side)
            signals.extend(self._manage_side(side, price, quotes is not None, view, permission))
        return signals

    def _cancel_all(self, orders: Sequence[OpenOrderView], now_ns: int) -> list[Signal]:
        return [
            CancelIntent(self.strategy_id, order.client_order_id)
            for order in orders
            if self._cancels.request(order, now_ns)
        ]

    def _room(self, side: OrderSide, view: StrategyView, reduce_only: bool) -> Decimal:
        """How much more may rest on `side`, judged on the worst case (everything fills)."""
        pending = self._in_flight[side]
        exposure = (
            view.position * side.sign
            + view.open_quantity(side)
            + (pending.quantity if pending is not None else ZERO)
        )
        # Reduce-only: the worst case must not pass zero; otherwise it must stay within the limit.
        limit = ZERO if reduce_only else self.config.max_position
        return limit - exposure

    def _manage_side(
        self, side: OrderSide, price: Decimal | None, priced: bool, view: StrategyView, permission: Permission
    ) -> list[Signal]:
        now = view.now_ns
        reduce_only = permission is Permission.REDUCE_ONLY
        live = [order for order in view.orders_on(side) if not self._cancels.cancelling(order, now)]
        room = self._room(side, view, reduce_only)
        allowed = view.position * side.sign < 0 if reduce_only else True
        if not allowed or room < 0:
            return self._cancel_all(live, now)
        if self._in_flight[side] is not None or not priced:
            return []  # wait for the quote in flight; without a price, leave resting quotes alone
        if price is None:  # no positive bid on the grid: nothing sensible to quote
            return self._cancel_all(live, now)
        signals: list[Signal] = []
        keep = next((order for order in live if order.price == price), live[0]) if live else None
        signals.extend(self._cancel_all([order for order in live if order is not keep], now))
        last = self._last_quote_ns[side]
        interval_passed = last is None or now - last >= self.config.min_requote_interval_ns
        if keep is not None:
            if keep.price is not None and (
                keep.price == price or moved_bps(keep.price, price) < self.config.requote_threshold_bps
            ):
                return signals
            if not interval_passed:
                return signals
            signals.extend(self._cancel_all([keep], now))
        if not interval_passed:
            return signals
        size = self._quote_size(room, price, view.instrument)
        if size is None:
            return signals
        tag = f"{_TAG_PREFIX[side]}-{self._next_tag}"
        self._next_tag += 1
        signals.append(
            OrderIntent(
                self.strategy_id,
                self.instrument_id,
                side,
                size,
                OrderType.LIMIT,
                price,
                TimeInForce.GTC,
                post_only=True,
                reduce_only=reduce_only,
                tag=tag,
            )
        )
        self._in_flight[side] = InFlight(tag, side, size, now)
        self._last_quote_ns[side] = now
        return signals

    def _quote_size(self, room: Decimal, price: Decimal, instrument: Instrument) -> Decimal | None:
        wanted = min(self.config.quote_size, room)
        if instrument.max_size is not None:
            wanted = min(wanted, instrument.max_size)
        if wanted <= 0:
            return None
        size = instrument.round_size(wanted)
        if size <= 0 or instrument.size_violations(size, price):
            return None
        return size

    # ----- state -----

    def snapshot(self) -> Mapping[str, object]:
        """The state as JSON-friendly values (see `restore`)."""
        return {
            "kind": self.KIND,
            "version": self.VERSION,
            "volatility": self._vol.snapshot(),
            "last_sample_ns": self._last_sample_ns,
            "last_top": None if self._last_top is None else self._last_top.snapshot(),
            "last_quote_ns": {side.value: self._last_quote_ns[side] for side in _SIDES},
            "in_flight": {
                side.value: None if (pending := self._in_flight[side]) is None else pending.snapshot()
                for side in _SIDES
            },
            "cancels": self._cancels.snapshot(),
            "next_tag": self._next_tag,
        }

    def restore(self, state: Mapping[str, object]) -> None:
        """Replace the state with a `snapshot`; a foreign or corrupt state is refused, unchanged."""
        st.check_kind(state, self.KIND, self.VERSION)
        vol = RollingVolatility(self.config.vol_window)
        vol.restore(st.mapping(state, "volatility"))
        cancels = CancelTracker(self.config.pending_timeout_ns)
        cancels.restore(st.sequence(state, "cancels"))
        last_quote = st.mapping(state, "last_quote_ns")
        in_flight = st.mapping(state, "in_flight")
        last_quote_ns = {side: st.optional_integer(last_quote, side.value) for side in _SIDES}
        pending = {side: InFlight.restore(st.optional_mapping(in_flight, side.value)) for side in _SIDES}
        for side, item in pending.items():
            if item is not None and item.side is not side:
                raise StrategyStateError(f"an in-flight {item.side.value} quote filed under {side.value}")
        next_tag = st.integer(state, "next_tag")
        last_sample_ns = st.optional_integer(state, "last_sample_ns")
        last_top = TopOfBook.restore(st.optional_mapping(state, "last_top"))
        self._vol = vol
        self._last_sample_ns = last_sample_ns
        self._cancels = cancels
        self._last_top = last_top
        self._last_quote_ns = last_quote_ns
        self._in_flight = pending
        self._next_tag = next_tag
