"""A trend follower: EMA crossover on bars of mids, a volatility filter, an ATR stop.

Signal:
- Prices are mids of fresh book tops (not trades: a quiet market prints few trades, and a recorded
  feed may carry none, while every book top has a mid). Stale tops are ignored for the indicators.
- Bars: the mids of each interval [k * bar_interval_ns, (k + 1) * bar_interval_ns) of the tops'
  `ts_ns` make one bar (open, high, low, close). A top of a later interval, or a timer at or past the
  bar's end, closes it. Empty intervals make no bar.
- At each bar close: a fast and a slow EMA of the closes, Wilder's ATR of the bars, and the sample
  volatility of the last `vol_window` log returns of the closes (bps per bar) are updated.
- The fast EMA crossing above the slow one (the sign of fast - slow turning positive) targets a long
  of `trade_size`, crossing below a short of `trade_size`, if the volatility is within
  [min_vol_bps, max_vol_bps], the ATR is ready and trading is ACTIVE. A crossing against the held
  direction always exits; it reverses only if the filter lets the new entry through.
- The stop is fixed at entry: entry price - atr_stop_multiple * ATR for a long (+ for a short), the
  ATR being the one at the entry decision and the entry price the average of the entry fills (the
  decision bar's close until the first fill). Fills are told apart by the position the view shows
  after them: only the part of a fill beyond flat, in the entry's direction, is entry (so the
  closing leg of a reversal is not). Every fresh mid (not only bar closes) is checked against the
  stop; a mid at or through it exits (target 0) and the strategy waits for the next crossing.

Orders: the difference between the target and the position is traded with IOC limit orders
priced marketable: a buy at best ask * (1 + max_slippage_bps), rounded DOWN to the grid but never
below the best ask (a sell mirrors it: best bid * (1 - slippage) rounded UP, never above the best
bid). A limit caps the price paid, which a MARKET order would not; IOC never rests. A position on
the wrong side of the target is first closed with a reduce-only order (an exit, or the closing
leg of a reversal); the opening leg follows once the position is flat. One order at a time: the
next waits until the last left the view (or its pending timeout passed) and `order_retry_interval_ns`
passed, so an unfilled IOC is retried at the new touch without flooding the venue. A stale book or a
halt sends nothing; REDUCING sends only reduce-only exits.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal

import attrs

from application.strategies import state as st
from application.strategies.config import check_int, require
from application.strategies.indicators import (
    AverageTrueRange,
    Bar,
    BarBuilder,
    Ema,
    RollingVolatility,
    vol_as_decimal,
)
from application.strategies.strategy import Permission, SingleInstrumentStrategy, StrategyStateError
from application.strategies.strategy_view import StrategyView
from application.strategies.tracking import InFlight, TopOfBook
from domain.identifiers import StrategyId
from domain.instrument import Instrument, InstrumentId
from domain.market_data import BookTop
from domain.numbers import BPS, EXACT_CONTEXT, ONE, REPORT_CONTEXT, ZERO, ratio, to_decimal
from domain.order_terms import OrderSide, OrderType, TimeInForce
from domain.orders.order_events import OrderEvent, OrderFilled
from domain.signals import OrderIntent, Signal

_CTX = REPORT_CONTEXT


@attrs.frozen
class TrendFollowerConfig:
    """The trend follower's numbers: size in base units, volatility and slippage in bps, times in ns."""

    trade_size: Decimal = attrs.field(converter=to_decimal)
    bar_interval_ns: int = 60_000_000_000
    fast_period: int = 10
    slow_period: int = 30
    vol_window: int = 20
    min_vol_bps: Decimal = attrs.field(default=Decimal(0), converter=to_decimal)
    max_vol_bps: Decimal = attrs.field(default=Decimal(500), converter=to_decimal)
    atr_period: int = 14
    atr_stop_multiple: Decimal = attrs.field(default=Decimal(2), converter=to_decimal)
    max_slippage_bps: Decimal = attrs.field(default=Decimal(10), converter=to_decimal)
    order_retry_interval_ns: int = 1_000_000_000
    pending_timeout_ns: int = 2_000_000_000

    def __attrs_post_init__(self) -> None:
        name = type(self).__name__
        require(self.trade_size > 0, name, f"trade_size must be positive, got {self.trade_size}")
        check_int(name, "bar_interval_ns", self.bar_interval_ns, 1)
        check_int(name, "fast_period", self.fast_period, 1)
        check_int(name, "slow_period", self.slow_period, 2)
        require(self.fast_period < self.slow_period, name, "fast_period must be below slow_period")
        check_int(name, "vol_window", self.vol_window, 2)
        require(
            0 <= self.min_vol_bps <= self.max_vol_bps,
            name,
            "the filter needs 0 <= min_vol_bps <= max_vol_bps",
        )
        check_int(name, "atr_period", self.atr_period, 1)
        require(self.atr_stop_multiple > 0, name, "atr_stop_multiple must be positive")
        require(0 <= self.max_slippage_bps < BPS, name, "max_slippage_bps must be within [0, 10000)")
        check_int(name, "order_retry_interval_ns", self.order_retry_interval_ns, 0)
        check_int(name, "pending_timeout_ns", self.pending_timeout_ns, 1)


@attrs.frozen
class Entry:
    """The position being held: its direction, the decision price, the ATR then, and entry fills."""

    direction: int  # +1 long, -1 short
    reference_price: Decimal  # the close of the bar that decided the entry
    atr: Decimal  # the ATR at the decision: the stop's distance is fixed from then on
    stop_multiple: Decimal
    filled_quantity: Decimal = ZERO
    filled_notional: Decimal = ZERO

    @property
    def price(self) -> Decimal:
        """The average entry fill price, or the decision price before any fill."""
        if self.filled_quantity == 0:
            return self.reference_price
        return ratio(self.filled_notional, self.filled_quantity)

    @property
    def stop(self) -> Decimal:
        """Entry price -/+ stop_multiple * ATR."""
        distance = _CTX.multiply(self.stop_multiple, self.atr)
        return _CTX.subtract(self.price, _CTX.multiply(Decimal(self.direction), distance))

    def stopped(self, price: Decimal) -> bool:
        """True when `price` is at or through the stop."""
        return price <= self.stop if self.direction > 0 else price >= self.stop

    def with_fill(self, quantity: Decimal, price: Decimal) -> Entry:
        """The entry after `quantity` more was bought (long) or sold (short) at `price`."""
        return attrs.evolve(
            self,
            filled_quantity=EXACT_CONTEXT.add(self.filled_quantity, quantity),
            filled_notional=EXACT_CONTEXT.add(self.filled_notional, EXACT_CONTEXT.multiply(quantity, price)),
        )

    def snapshot(self) -> dict[str, object]:
        """JSON-friendly values."""
        return {
            "direction": self.direction,
            "reference_price": str(self.reference_price),
            "atr": str(self.atr),
            "stop_multiple": str(self.stop_multiple),
            "filled_quantity": str(self.filled_quantity),
            "filled_notional": str(self.filled_notional),
        }

    @classmethod
    def restore(cls, state: Mapping[str, object] | None) -> Entry | None:
        """Take back a `snapshot` (None stays None)."""
        if state is None:
            return None
        direction = st.integer(state, "direction")
        if direction not in (1, -1):
            raise StrategyStateError(f"an entry direction is +1 or -1, got {direction}")
        return cls(
            direction,
            st.decimal(state, "reference_price"),
            st.decimal(state, "atr"),
            st.decimal(state, "stop_multiple"),
            st.decimal(state, "filled_quantity"),
            st.decimal(state, "filled_notional"),
        )


def _sign(value: Decimal) -> int:
    return (value > 0) - (value < 0)


def marketable_price(
    instrument: Instrument, side: OrderSide, top: TopOfBook, max_slippage_bps: Decimal
) -> Decimal | None:
    """An IOC limit that crosses the touch by at most the slippage, snapped the safe way (module doc)."""
    slip = _CTX.divide(max_slippage_bps, BPS)
    if side is OrderSide.BUY:
        if top.best_ask is None:
            return None
        limit = instrument.round_price(_CTX.multiply(top.best_ask, ONE + slip), OrderSide.BUY)
        return max(limit, instrument.round_price(top.best_ask, OrderSide.SELL))
    if top.best_bid is None:
        return None
    limit = instrument.round_price(_CTX.multiply(top.best_bid, ONE - slip), OrderSide.SELL)
    limit = min(limit, instrument.round_price(top.best_bid, OrderSide.BUY))
    return limit if limit > 0 else None


class TrendFollower(SingleInstrumentStrategy):
    """Follows EMA crossovers on one instrument, filtered by volatility, with an ATR stop."""

    KIND = "trend_follower"
    VERSION = 1

    def __init__(
        self, strategy_id: StrategyId, instrument_id: InstrumentId, config: TrendFollowerConfig
    ) -> None:
        super().__init__(strategy_id, instrument_id)
        self.config = config
        self._bars = BarBuilder(config.bar_interval_ns)
        self._fast = Ema(config.fast_period)
        self._slow = Ema(config.slow_period)
        self._atr = AverageTrueRange(config.atr_period)
        self._vol = RollingVolatility(config.vol_window)
        self._previous_trend: int | None = None
        self._target = ZERO
        self._entry: Entry | None = None
        self._in_flight: InFlight | None = None
        self._last_order_ns: int | None = None
        self._last_top: TopOfBook | None = None
        self._next_tag = 1

    # ----- what the strategy knows (read-only, for reports and tests) -----

    @property
    def target(self) -> Decimal:
        """The position wanted (signed)."""
        return self._target

    @property
    def entry(self) -> Entry | None:
        """The entry being held (None when flat or exiting)."""
        return self._entry

    @property
    def fast_ema(self) -> Decimal | None:
        """The fast EMA of bar closes."""
        return self._fast.value

    @property
    def slow_ema(self) -> Decimal | None:
        """The slow EMA of bar closes."""
        return self._slow.value

    @property
    def atr(self) -> Decimal | None:
        """The ATR of the bars."""
        return self._atr.value

    @property
    def vol_bps(self) -> float | None:
        """The volatility of bar-close log returns, in bps per bar."""
        return self._vol.value_bps

    # ----- the hooks -----

    def _book(self, top: BookTop, view: StrategyView, permission: Permission) -> Sequence[Signal]:
        self._last_top = TopOfBook.of(top)
        mid = top.mid
        if mid is not None and mid > 0 and not top.stale and not view.book_stale:
            closed = self._bars.add(top.ts_ns, mid)
            if closed is not None:
                self._on_bar(closed, permission)
            if self._entry is not None and self._entry.stopped(mid):
                self._exit()
        return self._work(view, permission)

    def _timer(self, ts_ns: int, view: StrategyView, permission: Permission) -> Sequence[Signal]:
        closed = self._bars.close_until(ts_ns)
        if closed is not None:
            self._on_bar(closed, permission)
        return self._work(view, permission)

    def _order_event(self, event: OrderEvent, view: StrategyView, permission: Permission) -> Sequence[Signal]:
        entry = self._entry
        if isinstance(event, OrderFilled) and entry is not None and event.fill.side.sign == entry.direction:
            # The part of the fill beyond flat, in the entry's direction, is entry; the rest (the
            # closing leg of a reversal) is not. The view's position already includes the fill.
            after = view.position * entry.direction
            before = after - event.fill.quantity
            entered = after - max(before, ZERO)
            if entered > 0:
                self._entry = entry.with_fill(min(entered, event.fill.quantity), event.fill.price)
        return self._work(view, permission)

    # ----- deciding -----

    def _on_bar(self, bar: Bar, permission: Permission) -> None:
        fast = self._fast.update(bar.close)
        slow = self._slow.update(bar.close)
        atr = self._atr.update(bar.high, bar.low, bar.close)
        vol = self._vol.update(bar.close)
        if fast is None or slow is None:
            return
        trend = _sign(fast - slow)
        if trend == 0:
            return  # a touch is no crossing: wait for the side it resolves to
        previous, self._previous_trend = self._previous_trend, trend
        if previous is None or previous == trend:
            return
        direction = trend
        wanted = self.config.trade_size * direction
        if self._target == wanted:
            return
        if self._target * direction < 0:
            self._exit()  # against the held direction: out in any case
        admitted = (
            permission.may_open
            and atr is not None
            and vol is not None
            and self.config.min_vol_bps <= vol_as_decimal(vol) <= self.config.max_vol_bps
        )
        if admitted and atr is not None:
            self._target = wanted
            self._entry = Entry(direction, bar.close, atr, self.config.atr_stop_multiple)

    def _exit(self) -> None:
        self._target = ZERO
        self._entry = None

    # ----- trading toward the target -----

    def _work(self, view: StrategyView, permission: Permission) -> list[Signal]:
        now = view.now_ns
        if self._in_flight is not None and self._in_flight.resolved(view, self.config.pending_timeout_ns):
            self._in_flight = None
        if not permission.may_reduce or self._in_flight is not None or view.open_orders:
            return []
        last = self._last_order_ns
        if last is not None and now - last < self.config.order_retry_interval_ns:
            return []
        top = self._last_top
        if top is None or top.stale:
            return []
        position, target = view.position, self._target
        if position == target:
            return []
        if position != 0 and (target * position <= 0 or abs(target) < abs(position)):
            side = OrderSide.SELL if position > 0 else OrderSide.BUY
            quantity = abs(position) if target * position <= 0 else abs(position) - abs(target)
            reduce_only = True
        else:
            if not permission.may_open:
                return []
            side = OrderSide.BUY if target > position else OrderSide.SELL
            quantity = abs(target - position)
            reduce_only = False
        instrument = view.instrument
        if instrument.max_size is not None:
            quantity = min(quantity, instrument.max_size)
        size = instrument.round_size(quantity)
        price = marketable_price(instrument, side, top, self.config.max_slippage_bps)
        if price is None or size <= 0 or instrument.size_violations(size, price):
            return []
        tag = f"{'exit' if reduce_only else 'entry'}-{self._next_tag}"
        self._next_tag += 1
        self._in_flight = InFlight(tag, side, size, now)
        self._last_order_ns = now
        return [
            OrderIntent(
                self.strategy_id,
                self.instrument_id,
                side,
                size,
                OrderType.LIMIT,
                price,
                TimeInForce.IOC,
                reduce_only=reduce_only,
                tag=tag,
            )
        ]

    # ----- state -----

    def snapshot(self) -> Mapping[str, object]:
        """The state as JSON-friendly values (see `restore`)."""
        return {
            "kind": self.KIND,
            "version": self.VERSION,
            "bars": self._bars.snapshot(),
            "fast_ema": self._fast.snapshot(),
            "slow_ema": self._slow.snapshot(),
            "atr": self._atr.snapshot(),
            "volatility": self._vol.snapshot(),
            "previous_trend": self._previous_trend,
            "target": str(self._target),
            "entry": None if self._entry is None else self._entry.snapshot(),
            "in_flight": None if self._in_flight is None else self._in_flight.snapshot(),
            "last_order_ns": self._last_order_ns,
            "last_top": None if self._last_top is None else self._last_top.snapshot(),
            "next_tag": self._next_tag,
        }

    def restore(self, state: Mapping[str, object]) -> None:
        """Replace the state with a `snapshot`; a foreign or corrupt state is refused, unchanged."""
        st.check_kind(state, self.KIND, self.VERSION)
        bars = BarBuilder(self.config.bar_interval_ns)
        bars.restore(st.mapping(state, "bars"))
        fast = Ema(self.config.fast_period)
        fast.restore(st.mapping(state, "fast_ema"))
        slow = Ema(self.config.slow_period)
        slow.restore(st.mapping(state, "slow_ema"))
        atr = AverageTrueRange(self.config.atr_period)
        atr.restore(st.mapping(state, "atr"))
        vol = RollingVolatility(self.config.vol_window)
        vol.restore(st.mapping(state, "volatility"))
        previous_trend = st.optional_integer(state, "previous_trend")
        if previous_trend not in (None, -1, 1):
            raise StrategyStateError(f"previous_trend must be -1, 1 or None, got {previous_trend}")
        target = st.decimal(state, "target")
        entry = Entry.restore(st.optional_mapping(state, "entry"))
        in_flight = InFlight.restore(st.optional_mapping(state, "in_flight"))
        last_order_ns = st.optional_integer(state, "last_order_ns")
        last_top = TopOfBook.restore(st.optional_mapping(state, "last_top"))
        next_tag = st.integer(state, "next_tag")
        self._bars, self._fast, self._slow, self._atr, self._vol = bars, fast, slow, atr, vol
        self._previous_trend = previous_trend
        self._target = target
        self._entry = entry
        self._in_flight = in_flight
        self._last_order_ns = last_order_ns
        self._last_top = last_top
        self._next_tag = next_tag
