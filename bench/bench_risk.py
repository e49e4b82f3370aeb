"""Benchmark: the cost of one pre-trade risk check with every rule on.

Usage: .venv/bin/python bench/bench_risk.py [--orders 100000] [--seed 7]

Builds a PreTradeCheck from `RiskLimits.conservative` (all fourteen rules active), one realistic
context (positions and resting orders on several instruments, a throttle window with traffic),
and a pool of random orders around the mid, then times `check` over `--orders` orders.
"""

from __future__ import annotations

import argparse
import random
import time
from collections import Counter
from decimal import Decimal

from domain.identifiers import StrategyId
from domain.instrument import Instrument, InstrumentId
from domain.order_terms import OrderSide, OrderType, TimeInForce
from domain.risk import CurrencyBalance, Exposure, PreTradeCheck, ReferencePrice, RiskContext, RiskLimits
from domain.signals import OrderIntent

NOW = 1_700_000_000_000_000_000
POOL = 1_000  # distinct orders, cycled: building intents is not what is measured


def build(seed: int) -> tuple[PreTradeCheck, Instrument, RiskContext, list[OrderIntent]]:
    """The check, the instrument, one context and a pool of orders on and around the mid."""
    rng = random.Random(seed)
    btc = InstrumentId("COINBASE", "BTC-USD")
    instrument = Instrument(
        id=btc, base="BTC", quote="USD", price_increment="0.01", size_increment="0.0001", min_notional="1"
    )
    check = PreTradeCheck(RiskLimits.conservative(Decimal(1_000_000)))
    assert len(check.rules) == 14, [rule.name for rule in check.rules]
    others = {InstrumentId("COINBASE", f"X{i}-USD"): Exposure(Decimal(i + 1)) for i in range(3)}
    ctx = RiskContext(
        now_ns=NOW,
        equity=Decimal(1_000_000),
        high_water_mark=Decimal(1_020_000),
        daily_pnl=Decimal(-3_000),
        reporting_currency="USD",
        balances={"USD": CurrencyBalance(Decimal(900_000), Decimal(50_000))},
        exposures={btc: Exposure(Decimal("0.5"), Decimal("0.2"), Decimal("0.3")), **others},
        references={btc: ReferencePrice(Decimal(50_000), NOW - 200_000_000)},
        open_order_count=8,
        gross_notional=Decimal(150_000),
        recent_order_ts_ns=tuple(NOW - i * 150_000_000 for i in range(6)),
    )
    strategy = StrategyId("bench")
    intents = []
    for _ in range(POOL):
        side = rng.choice(list(OrderSide))
        quantity = Decimal(rng.randint(1, 6_000)) * instrument.size_increment
        if rng.random() < 0.2:
            intents.append(
                OrderIntent(
                    strategy, btc, side, quantity, order_type=OrderType.MARKET, time_in_force=TimeInForce.IOC
                )
            )
        else:
            price = Decimal(50_000) + Decimal(rng.randint(-100_000, 100_000)) * instrument.price_increment
            intents.append(
                OrderIntent(strategy, btc, side, quantity, price=price, reduce_only=rng.random() < 0.1)
            )
    return check, instrument, ctx, intents


def main() -> None:
    """Run the benchmark and print checks per second and microseconds per check."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=100_000, help="how many checks to time")
    parser.add_argument("--seed", type=int, default=7, help="seed of the random order pool")
    args = parser.parse_args()

    check, instrument, ctx, intents = build(args.seed)
    for intent in intents:  # warm up
        check.check(intent, instrument, ctx)

    reasons: Counter[str] = Counter()
    approved = 0
    start = time.perf_counter()
    for i in range(args.orders):
        decision = check.check(intents[i % POOL], instrument, ctx)
        approved += decision.approved
    elapsed = time.perf_counter() - start
    for intent in intents:
        reasons.update(str(code) for code in check.check(intent, instrument, ctx).reason_codes)

    print(f"orders checked : {args.orders:,} ({len(check.rules)} rules on)")
    print(f"elapsed        : {elapsed:.3f} s")
    print(f"checks/s       : {args.orders / elapsed:,.0f}")
    print(f"us per check   : {elapsed / args.orders * 1e6:.2f}")
    print(f"approved       : {approved / args.orders:.1%}")
    print("denial reasons in the pool: " + ", ".join(f"{code}={n}" for code, n in reasons.most_common()))


if __name__ == "__main__":
    main()
