"""Properties of the pre-trade check over random limits, contexts and orders (on and off the grid).

The oracle below re-derives every configured limit from the raw numbers, in exact `Fraction`
arithmetic, without calling any rule class. The headline property: no order the check approves
breaks a configured limit. Its converse guards against a check that simply denies everything.
"""

from __future__ import annotations

from decimal import ROUND_CEILING, Decimal
from fractions import Fraction
from typing import TypeVar

from hypothesis import event, given
from hypothesis import strategies as st

from domain.instrument import Instrument, InstrumentId
from domain.order_terms import OrderSide, OrderType, TimeInForce
from domain.risk import (
    CurrencyBalance,
    Exposure,
    PreTradeCheck,
    ReferencePrice,
    RiskContext,
    RiskDecision,
    RiskLimits,
    TradingState,
)
from domain.signals import OrderIntent
from tests.domain.risk import NOW, SECOND, STRATEGY, btc_usd, eth_btc

D = Decimal
INSTRUMENTS = (btc_usd(), eth_btc())
MID_TICKS = {INSTRUMENTS[0].id: (100_000, 10_000_000), INSTRUMENTS[1].id: (1_000, 10_000)}
SIZE_STEPS = {INSTRUMENTS[0].id: 50_000, INSTRUMENTS[1].id: 100_000}
OTHERS = tuple(InstrumentId("OTHER", f"X{i}-USD") for i in range(8))


T = TypeVar("T")


def optional(strategy: st.SearchStrategy[T]) -> st.SearchStrategy[T | None]:
    return st.one_of(st.none(), strategy)


def amounts(low: int, high: int) -> st.SearchStrategy[Decimal]:
    return st.integers(low, high).map(D)


def chance(draw: st.DrawFn, one_in: int) -> bool:
    # sampled_from, not integers: hypothesis favours the low end of small integer ranges.
    return draw(st.sampled_from([False] * (one_in - 1) + [True]))


NUDGES = (D(-1), D(0), D(1))  # in units of the last place of a limit: just under, at, just over
LAST_PLACE = D("0.00000001")


def near(
    draw: st.DrawFn, candidates: list[Decimal], low: Decimal, high: Decimal | None = None
) -> Decimal | None:
    """A limit exactly at, or one unit of 1e-8 beside, one of `candidates` (None if none is valid).

    Candidates include what a *wrong* implementation would compute (the limit price instead of the
    mid, the position without resting orders...), so an off-by-a-little rule is caught.
    """
    valid = [c for c in candidates if c > low and (high is None or c <= high)]
    if not valid:
        return None
    base = draw(st.sampled_from(valid)).quantize(LAST_PLACE, rounding=ROUND_CEILING)
    value = base + draw(st.sampled_from(NUDGES)) * LAST_PLACE
    if value <= low or (high is not None and value > high):
        return None
    return value


LIMIT_FIELDS = (
    "max_order_notional",
    "max_order_equity_fraction",
    "max_position_notional",
    "max_gross_notional",
    "max_open_orders",
    "max_open_positions",
    "price_band_bps",
    "max_reference_age_ns",
    "order_rate",
    "daily_loss_limit",
    "max_drawdown_fraction",
)


@st.composite
def limits_around(
    draw: st.DrawFn, instrument: Instrument, intent: OrderIntent, ctx: RiskContext
) -> RiskLimits:
    """Limits where 1 or 2 sit right at an edge this order and context reach; the rest off or loose."""
    focus = draw(st.sets(st.sampled_from(LIMIT_FIELDS), min_size=1, max_size=2))

    def mode(field: str) -> str:
        return "near" if field in focus else draw(st.sampled_from(["off", "off", "random"]))

    def pick(
        field: str, loose: st.SearchStrategy[Decimal], edges: list[Decimal], high: Decimal | None = None
    ) -> Decimal | None:
        chosen = mode(field)
        if chosen == "random":
            return draw(loose)
        return near(draw, edges, D(0), high) if chosen == "near" else None

    def pick_int(field: str, loose: st.SearchStrategy[int], edges: list[int]) -> int | None:
        chosen = mode(field)
        if chosen == "random":
            return draw(loose)
        valid = [edge for edge in edges if edge > 0]
        return draw(st.sampled_from(valid)) if chosen == "near" and valid else None

    # Edges, including what a wrong rule would compute: the limit price instead of the higher of
    # price and mid, a position without its resting orders, the order alone, the gross growth.
    reference = ctx.references.get(intent.instrument_id)
    prices = [x for x in (intent.price, None if reference is None else reference.mid) if x is not None]
    rate = D(1) if instrument.quote == "USD" else ctx.rates.get(instrument.quote, D(1))
    q, sign = intent.quantity, intent.side.sign
    exposure = ctx.exposures.get(intent.instrument_id, Exposure())
    p, bids, offers = exposure.position, exposure.open_buy, exposure.open_sell
    after = p + sign * ((bids if sign > 0 else offers) + q)
    other_side = p - offers if sign > 0 else p + bids
    growth = max(D(0), max(abs(after), abs(other_side)) - max(abs(p + bids), abs(p - offers)))
    sizes = [abs(after), abs(p + sign * q), q]
    notionals = [q * price * rate for price in prices]
    equity = ctx.equity if ctx.equity > 0 else D(1)
    hwm = ctx.high_water_mark
    band = [abs(intent.price - reference.mid) / reference.mid * 10_000] if intent.price and reference else []
    ages = [] if reference is None else [ctx.now_ns - reference.ts_ns + d for d in (-1, 0, 1)]
    exposed = sum(1 for e in ctx.exposures.values() if e.is_exposed)
    order_ages = [ctx.now_ns - ts for ts in ctx.recent_order_ts_ns]
    window = draw(st.sampled_from([age + d for age in order_ages for d in (0, 1) if age + d > 0] or [SECOND]))
    sent = sum(1 for age in order_ages if age < window)
    rate_limit = pick_int("order_rate", st.integers(20, 40), [sent, sent + 1])
    return RiskLimits(
        max_order_notional=pick("max_order_notional", amounts(100_000, 2_000_000), notionals),
        max_order_equity_fraction=pick(
            "max_order_equity_fraction",
            st.integers(10, 100).map(lambda n: D(n) / 100),
            [n / equity for n in notionals],
            high=D(1),
        ),
        max_position_notional=pick(
            "max_position_notional",
            amounts(2_000_000, 5_000_000),
            [size * price * rate for size in sizes for price in prices],
        ),
        max_gross_notional=pick(
            "max_gross_notional",
            amounts(5_000_000, 10_000_000),
            [ctx.gross_notional + size * price * rate for size in [growth, *sizes] for price in prices],
        ),
        max_open_orders=pick_int(
            "max_open_orders", st.integers(10, 50), [ctx.open_order_count, ctx.open_order_count + 1]
        ),
        max_open_positions=pick_int("max_open_positions", st.integers(10, 20), [exposed, exposed + 1]),
        price_band_bps=pick("price_band_bps", amounts(100, 2_000), band),
        max_reference_age_ns=pick_int("max_reference_age_ns", st.integers(SECOND, 10 * SECOND), ages),
        max_orders_per_window=rate_limit,
        order_window_ns=None if rate_limit is None else window,
        daily_loss_limit=pick("daily_loss_limit", amounts(10_000, 100_000), [-ctx.daily_pnl]),
        max_drawdown_fraction=pick(
            "max_drawdown_fraction",
            st.integers(10, 100).map(lambda n: D(n) / 100),
            [(hwm - ctx.equity) / hwm] if hwm > 0 else [],
            high=D(1),
        ),
    )


@st.composite
def exposures(draw: st.DrawFn, instrument: Instrument) -> Exposure:
    steps = SIZE_STEPS[instrument.id]
    inc = instrument.size_increment
    return Exposure(
        position=draw(st.integers(-steps, steps)) * inc,
        open_buy=draw(st.integers(0, steps // 2)) * inc if chance(draw, 2) else D(0),
        open_sell=draw(st.integers(0, steps // 2)) * inc if chance(draw, 2) else D(0),
    )


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[RiskLimits, Instrument, OrderIntent, RiskContext]:
    """An instrument, an order on or off its grid, a context around it, and limits near its edges.

    Three scenarios in four are "benign" (a healthy account, fresh data, small orders on the grid) so
    that many orders are approved and the approval property is tested often; the rest draw
    every input freely, so every rule gets to deny.
    """
    benign = not chance(draw, 4)
    instrument = draw(st.sampled_from(INSTRUMENTS))
    low, high = MID_TICKS[instrument.id]
    mid_ticks = draw(st.integers(low, high))
    mid = mid_ticks * instrument.price_increment
    half_tick = instrument.price_increment / 2

    def sometimes() -> bool:
        return not benign and chance(draw, 10)

    side = draw(st.sampled_from(OrderSide))
    max_steps = SIZE_STEPS[instrument.id] // (50 if benign else 1)
    quantity = draw(st.integers(10 if benign else 1, max_steps)) * instrument.size_increment
    if sometimes():
        quantity += instrument.size_increment / 2  # off the size grid
    order_type = draw(
        st.sampled_from([OrderType.LIMIT, OrderType.LIMIT, OrderType.MARKET, OrderType.STOP_LIMIT])
    )
    price = trigger = None
    if order_type is not OrderType.MARKET:
        spread = mid_ticks // (400 if benign else 20)  # within 0.25% or 5% of the mid
        price = (mid_ticks + draw(st.integers(-spread, spread))) * instrument.price_increment
        if sometimes():
            price += half_tick  # off the price grid
    if order_type is OrderType.STOP_LIMIT:
        trigger = mid + side.sign * draw(st.integers(1, 100)) * instrument.price_increment
        if sometimes():
            trigger += half_tick
    intent = OrderIntent(
        strategy_id=STRATEGY,
        instrument_id=instrument.id,
        side=side,
        quantity=quantity,
        order_type=order_type,
        price=price,
        trigger_price=trigger,
        time_in_force=TimeInForce.IOC if order_type is OrderType.MARKET else TimeInForce.GTC,
        reduce_only=chance(draw, 8 if benign else 4),
    )

    others = draw(st.lists(st.sampled_from(OTHERS), max_size=3 if benign else 8, unique=True))
    exposure_map: dict[InstrumentId, Exposure] = {
        other: Exposure(position=D(draw(st.sampled_from([1, -1, 0]))), open_buy=D(draw(st.integers(0, 1))))
        for other in others
    }
    if chance(draw, 2):
        exposure_map[instrument.id] = draw(exposures(instrument))
    references = {}
    if not sometimes():
        age = draw(st.integers(-SECOND, SECOND // 2 if benign else 12 * SECOND))
        references[instrument.id] = ReferencePrice(mid, NOW - age)
    # Equity derived from the high-water mark and a drawdown of 3 decimals, so edges are exact.
    high_water_mark = draw(amounts(1_000_000, 10_000_000) if benign else amounts(0, 2_000_000))
    drawdown = D(draw(st.integers(-100, 100) if benign else st.integers(-500, 1_200))) / 1000
    equity = high_water_mark * (1 - drawdown)
    balances = {}
    if not sometimes():
        total = draw(amounts(10_000_000, 20_000_000) if benign else amounts(0, 3_000_000))
        balances[instrument.quote] = CurrencyBalance(total, draw(amounts(0, 1_000_000)))
    states = [*[TradingState.ACTIVE] * (5 if benign else 3), TradingState.REDUCING]
    if not benign:
        states.append(TradingState.HALTED)
    ctx = RiskContext(
        now_ns=NOW,
        equity=equity,
        high_water_mark=high_water_mark,
        daily_pnl=draw(amounts(-20_000, 20_000) if benign else amounts(-60_000, 60_000)),
        reporting_currency="USD",
        trading_state=draw(st.sampled_from(states)),
        balances=balances,
        rates={} if chance(draw, 5) else {"BTC": draw(amounts(20_000, 100_000))},
        exposures=exposure_map,
        references=references,
        open_order_count=draw(st.integers(0, 5 if benign else 40)),
        gross_notional=draw(amounts(0, 100_000 if benign else 3_000_000)),
        recent_order_ts_ns=tuple(
            NOW - ago for ago in draw(st.lists(st.integers(0, 4 * SECOND), max_size=3 if benign else 20))
        ),
    )
    limits = draw(limits_around(instrument, intent, ctx))
    assert limits.validate().ok, limits.validate().errors
    return limits, instrument, intent, ctx


def on_grid(value: Fraction, increment: Decimal) -> bool:
    return (value / Fraction(increment)).denominator == 1


def violations(
    limits: RiskLimits, instrument: Instrument, intent: OrderIntent, ctx: RiskContext
) -> list[tuple[str, str]]:
    """Every configured limit the order would break, re-derived from the raw numbers.

    Each entry is (the reason code a correct check reports, what is broken). An order that
    cannot be valued breaks every value-based limit, reported as no_reference (a market order
    with no mid) or no_conversion_rate (no rate for its quote currency).
    """
    broken: list[tuple[str, str]] = []
    q = Fraction(intent.quantity)
    sign = intent.side.sign
    price = None if intent.price is None else Fraction(intent.price)
    reference = ctx.references.get(intent.instrument_id)
    mid = None if reference is None else Fraction(reference.mid)
    exposure = ctx.exposures.get(intent.instrument_id, Exposure())
    p, bids, offers = Fraction(exposure.position), Fraction(exposure.open_buy), Fraction(exposure.open_sell)
    same_side = bids if sign > 0 else offers
    worst_after_on_side = p + sign * (same_side + q)
    reduces = sign * worst_after_on_side <= 0

    if ctx.trading_state is TradingState.HALTED:
        broken.append(("trading_halted", "halted"))
    if ctx.trading_state is TradingState.REDUCING and not reduces:
        broken.append(("reducing_only", "reducing state admits only reducing orders"))
    if intent.reduce_only and not reduces:
        broken.append(("reduce_only_increases_exposure", "reduce-only order may increase exposure"))

    # The instrument's own rules.
    instrument_broken = (
        not on_grid(q, instrument.size_increment)
        or q < instrument.min_size
        or (instrument.max_size is not None and q > instrument.max_size)
        or (price is not None and not on_grid(price, instrument.price_increment))
        or (price is not None and q * price < instrument.min_notional)
        or (
            intent.trigger_price is not None
            and not on_grid(Fraction(intent.trigger_price), instrument.price_increment)
        )
        or (
            price is None
            and instrument.min_notional > 0
            and (mid is None or q * mid < instrument.min_notional)
        )
    )
    if instrument_broken:
        broken.append(("instrument_rules", "off the instrument grid or outside its bounds"))

    # Reference: present, fresh, and the price within the band.
    if limits.price_band_bps is not None or limits.max_reference_age_ns is not None:
        if reference is None or mid is None:
            broken.append(("no_reference", "no reference"))
        elif (
            limits.max_reference_age_ns is not None
            and ctx.now_ns - reference.ts_ns > limits.max_reference_age_ns
        ):
            broken.append(("stale_reference", "stale reference"))
        elif (
            limits.price_band_bps is not None
            and price is not None
            and abs(price - mid) / mid * 10_000 > limits.price_band_bps
        ):
            broken.append(("price_band", "price outside band"))

    # Conservative valuation: the higher of the limit price and the mid.
    known = [x for x in (price, mid) if x is not None]
    value_price = max(known) if known else None
    rate = Fraction(1) if instrument.quote == "USD" else ctx.rates.get(instrument.quote)

    def over(code: str, quantity: Fraction, limit: Fraction, base: Fraction = Fraction(0)) -> None:
        if value_price is None:
            broken.append(("no_reference", f"{code}: cannot value a market order"))
        elif rate is None:
            broken.append(("no_conversion_rate", f"{code}: cannot convert {instrument.quote}"))
        elif base + quantity * value_price * Fraction(rate) > limit:
            broken.append((code, f"{code}: over the limit"))

    if limits.max_order_notional is not None:
        over("max_order_notional", q, Fraction(limits.max_order_notional))
    if limits.max_order_equity_fraction is not None:
        over(
            "max_order_equity_fraction", q, Fraction(limits.max_order_equity_fraction) * Fraction(ctx.equity)
        )
    if limits.max_position_notional is not None and not reduces:
        over("max_position_notional", abs(worst_after_on_side), Fraction(limits.max_position_notional))
    if limits.max_gross_notional is not None and not reduces:
        worst_before = max(abs(p + bids), abs(p - offers))
        other_side = p - offers if sign > 0 else p + bids
        growth = max(Fraction(0), max(abs(worst_after_on_side), abs(other_side)) - worst_before)
        over("max_gross_notional", growth, Fraction(limits.max_gross_notional), Fraction(ctx.gross_notional))

    if limits.max_open_orders is not None and ctx.open_order_count + 1 > limits.max_open_orders:
        broken.append(("max_open_orders", "too many open orders"))
    if limits.max_open_positions is not None and not reduces:
        exposed = {
            iid for iid, e in ctx.exposures.items() if e.position != 0 or e.open_buy != 0 or e.open_sell != 0
        }
        if len(exposed | {intent.instrument_id}) > limits.max_open_positions:
            broken.append(("max_open_positions", "too many open positions"))
    if limits.max_orders_per_window is not None and limits.order_window_ns is not None:
        in_window = [ts for ts in ctx.recent_order_ts_ns if ctx.now_ns - ts < limits.order_window_ns]
        if len(in_window) + 1 > limits.max_orders_per_window:
            broken.append(("order_rate", "order rate over max"))

    if not reduces:
        balance = ctx.balances.get(instrument.quote)
        available = Fraction(0) if balance is None else Fraction(balance.total) - Fraction(balance.reserved)
        if value_price is None:
            broken.append(("no_reference", "balance: cannot value a market order"))
        elif q * value_price > available:
            broken.append(("insufficient_balance", "insufficient available balance"))
    if limits.daily_loss_limit is not None and not reduces and ctx.daily_pnl <= -limits.daily_loss_limit:
        broken.append(("daily_loss_limit", "daily loss limit reached"))
    if limits.max_drawdown_fraction is not None and not reduces:
        hwm = Fraction(ctx.high_water_mark)
        if hwm <= 0 or (hwm - Fraction(ctx.equity)) / hwm >= limits.max_drawdown_fraction:
            broken.append(("max_drawdown", "max drawdown reached"))
    return broken


def decide(limits: RiskLimits, instrument: Instrument, intent: OrderIntent, ctx: RiskContext) -> RiskDecision:
    decision = PreTradeCheck(limits).check(intent, instrument, ctx)
    event("approved" if decision.approved else "denied")
    return decision


@given(scenarios())
def test_no_order_the_check_approves_breaks_a_configured_limit(
    scenario: tuple[RiskLimits, Instrument, OrderIntent, RiskContext],
) -> None:
    decision = decide(*scenario)

    if decision.approved:
        assert [what for _, what in violations(*scenario)] == []


@given(scenarios())
def test_an_order_within_every_limit_is_approved(
    scenario: tuple[RiskLimits, Instrument, OrderIntent, RiskContext],
) -> None:
    broken = violations(*scenario)

    if not broken:
        assert decide(*scenario).approved


@given(scenarios())
def test_each_rule_denies_exactly_when_its_limit_is_broken(
    scenario: tuple[RiskLimits, Instrument, OrderIntent, RiskContext],
) -> None:
    expected = {code for code, _ in violations(*scenario)}

    assert {str(code) for code in decide(*scenario).reason_codes} == expected


@given(scenarios())
def test_nothing_is_approved_while_halted_and_only_reducing_orders_while_reducing(
    scenario: tuple[RiskLimits, Instrument, OrderIntent, RiskContext],
) -> None:
    _, _, intent, ctx = scenario
    decision = decide(*scenario)
    exposure = ctx.exposures.get(intent.instrument_id, Exposure())
    resting = exposure.open_buy if intent.side is OrderSide.BUY else exposure.open_sell
    after = exposure.position + intent.side.sign * (resting + intent.quantity)

    if ctx.trading_state is TradingState.HALTED:
        assert not decision.approved
    if decision.approved and ctx.trading_state is TradingState.REDUCING:
        assert exposure.position != 0
        assert abs(after) < abs(exposure.position)  # |position| shrinks...
        assert after == 0 or (after > 0) == (exposure.position > 0)  # ...without flipping


@given(scenarios())
def test_a_denied_order_always_says_why(
    scenario: tuple[RiskLimits, Instrument, OrderIntent, RiskContext],
) -> None:
    decision = decide(*scenario)

    assert decision.approved == (decision.denials == ())
    for denial in decision.denials:
        assert denial.message
        assert denial.reason_code == denial.reason_code.lower()
