"""Account rules: order rate, daily loss limit and drawdown from the high-water mark."""

from __future__ import annotations

from decimal import Decimal

from domain.order_terms import OrderSide
from domain.risk import DailyLossLimit, Exposure, MaxDrawdown, OrderRateLimit, ReasonCode, RiskRule
from domain.signals import OrderIntent
from tests.domain.risk import BTC_USD, NOW, SECOND, btc_usd, context, limit, market

D = Decimal
BUY, SELL = OrderSide.BUY, OrderSide.SELL
OPENING = limit(BUY, "1", "50000")
LONG_ONE = {BTC_USD: Exposure(D(1))}


def code(rule: RiskRule, intent: OrderIntent, **ctx_overrides: object) -> ReasonCode | None:
    denial = rule.check(intent, btc_usd(), context(**ctx_overrides))  # type: ignore[arg-type]
    return None if denial is None else denial.reason_code


class TestOrderRateLimit:
    RULE = OrderRateLimit(max_orders=2, window_ns=SECOND)

    def test_orders_inside_the_window_count_and_older_ones_do_not(self) -> None:
        assert code(self.RULE, OPENING, recent_order_ts_ns=(NOW - 1,)) is None
        assert (
            code(self.RULE, OPENING, recent_order_ts_ns=(NOW - SECOND + 1, NOW - 1)) is ReasonCode.ORDER_RATE
        )
        # An order exactly one window old has left it.
        assert code(self.RULE, OPENING, recent_order_ts_ns=(NOW - SECOND, NOW - 1)) is None

    def test_reducing_orders_are_throttled_too(self) -> None:
        recent = (NOW - 2, NOW - 1)

        assert code(
            self.RULE, market(SELL, "1", reduce_only=True), exposures=LONG_ONE, recent_order_ts_ns=recent
        ) is (ReasonCode.ORDER_RATE)


class TestDailyLossLimit:
    RULE = DailyLossLimit(D(2_000))

    def test_new_risk_stops_once_the_loss_reaches_the_limit(self) -> None:
        assert code(self.RULE, OPENING, daily_pnl=D("-1999.99")) is None
        assert code(self.RULE, OPENING, daily_pnl=D(-2_000)) is ReasonCode.DAILY_LOSS_LIMIT
        assert code(self.RULE, OPENING, daily_pnl=D(-5_000)) is ReasonCode.DAILY_LOSS_LIMIT

    def test_a_reducing_order_still_passes(self) -> None:
        assert code(self.RULE, limit(SELL, "1", "50000"), daily_pnl=D(-5_000), exposures=LONG_ONE) is None
        assert code(self.RULE, limit(SELL, "1.0001", "50000"), daily_pnl=D(-5_000), exposures=LONG_ONE) is (
            ReasonCode.DAILY_LOSS_LIMIT
        )


class TestMaxDrawdown:
    RULE = MaxDrawdown(D("0.1"))

    def test_new_risk_stops_once_the_drawdown_reaches_the_limit(self) -> None:
        assert code(self.RULE, OPENING, equity=D("90000.01"), high_water_mark=D(100_000)) is None
        assert (
            code(self.RULE, OPENING, equity=D(90_000), high_water_mark=D(100_000)) is ReasonCode.MAX_DRAWDOWN
        )
        assert code(self.RULE, OPENING, equity=D(-1), high_water_mark=D(100_000)) is ReasonCode.MAX_DRAWDOWN

    def test_equity_above_the_mark_is_no_drawdown(self) -> None:
        assert code(self.RULE, OPENING, equity=D(150_000), high_water_mark=D(100_000)) is None

    def test_without_a_positive_high_water_mark_new_risk_is_denied(self) -> None:
        denial = self.RULE.check(OPENING, btc_usd(), context(equity=D(0), high_water_mark=D(0)))

        assert denial is not None
        assert denial.reason_code is ReasonCode.MAX_DRAWDOWN
        assert "high-water mark" in denial.message

    def test_a_reducing_order_still_passes(self) -> None:
        ctx = {"equity": D(50_000), "high_water_mark": D(100_000), "exposures": LONG_ONE}

        assert code(self.RULE, limit(SELL, "1", "50000"), **ctx) is None
        assert code(self.RULE, limit(BUY, "1", "50000"), **ctx) is ReasonCode.MAX_DRAWDOWN
