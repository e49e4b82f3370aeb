"""Benchmark: tick-to-order latency and per-hop actor latency in the threaded runtime (free running).

Part 1, tick-to-order. The kernel is wired as `start` wires it (`interfaces.cli.start_command`):
`ThreadedRuntime` free running on the `SystemClock` (one supervised pykka actor per engine,
`start_timers()`: the simulated venue advanced every 10 ms, 1 s strategy timers), the engines of
`wire_kernel`, the `SimulatedVenue` (zero latency), the market maker on BTC-USD with `start`'s
parameters EXCEPT that it requotes as often as it can (`min_requote_interval_ns` 0,
`requote_threshold_bps` 0 by default: every move of its desired price cancels and replaces a
quote), so that many frames cause orders, and risk's `RiskLimits.conservative` with the order
rate limit raised from 10 to `--max-orders-per-s` (default 1000) orders/s (else risk denies most
of them and the sample is tiny). The feed is the seeded synthetic Coinbase feed at
`--rate` market frames/s of simulated time (plus a heartbeat a second), generated in memory
BEFORE the clock starts, then handed to the data engine at `--rate` frames/s of wall time
(`start + i / rate`, slept to, never bursting to catch up beyond what was missed) for
`--seconds`, on the main thread, as `start`'s feeder does (receive time = the system clock at
hand-off).

Latency = the time (`perf_counter_ns`, CLOCK_MONOTONIC) from just before the frame is sent to the
data engine's actor (`runtime.send(DATA, frame)`) to the moment the execution engine calls
`submit` on the venue gateway for an order CAUSED by that frame. The gateway is wrapped in a
timing proxy that forwards every call to the simulated venue.

Causality (which frame an order comes from) is tracked exactly, not guessed from timestamps: the
bus the engines are wired to is a thin proxy over the runtime (`TracingBus`). The feeder sends
each frame in an `Envelope(frame, Cause(frame number, t0))`. Every handler is registered wrapped
(`_Traced`): it unwraps an envelope, puts its cause in a thread-local for the duration of
`handle`, and every `send` made by the handler (on that actor's thread) wraps the outgoing
message in an envelope with the same cause. So the cause follows frame -> data -> BookTop ->
strategy -> CheckOrder -> risk -> ExecuteIntent -> execution, and the proxy's `submit` (called
synchronously inside execution's `handle`) reads it from the thread-local. A strategy handling
anything but a BookTop or a TradeTick (an order update, a timer) clears the cause: orders placed
in reaction to acknowledgements, fills or timers are not tick-to-order and are counted apart
("uncaused"). Messages sent by the runtime itself (timers, the venue's reports from the poll
thread) carry no cause. Cost of the tracing: one small object and a thread-local write per
message (about a microsecond per hop, included in the figures). Samples are per order; a frame
that causes two orders (bid and ask) gives two samples, and `first order per frame` keeps only
the first. The hand-off time is also compared with the frame's schedule (`feeder lag`): when the
feeder falls behind (machine busy), frames are sent late and queue, and latency is counted from
the actual hand-off, so queueing inside the kernel is included but lateness of the feeder is not.

Part 2, per-hop actor latency. On the SAME runtime (same supervisor, same bus), after part 1
(feed stopped, timers stopped, kernel idle), a chain of `--hops` trivial ping actors is
registered; a message is sent to the first at `--rate` messages/s and each actor, as soon as its
`handle` starts, records (now - the time the previous sender called `send`) and forwards to the
next; the last one also records the whole chain's time (first `send` to its `handle`: the
floor of any path through that many actors, such as tick-to-order's four). One hop =
`ThreadedRuntime.send` (its lock and in-flight count, the supervised ref's
`tell`, the pykka inbox) + the receiving actor thread's wake-up + the `EngineActor` dispatch up to
the engine's `handle`. `--hop-seconds` seconds (default 3).

    .venv/bin/python bench/bench_latency.py                            # 2,000 frames/s, 10 s
    .venv/bin/python bench/bench_latency.py --rate 2000 --seconds 60
    .venv/bin/python bench/bench_latency.py --seconds 3 --hop-seconds 1

Target (issue): tick-to-order p99 < 1 ms at 2,000 frames/s. The last line printed is a JSON
object with every result.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import attrs

from application.engines.messages import DATA, EXECUTION, MarketFrame, strategy_destination
from application.market_data_pipeline import MarketDataPipeline
from application.ports.event_journal import InMemoryJournal
from application.ports.notifier import Severity
from application.ports.venue_gateway import VenueReport
from application.runtime.bus import Handler
from application.runtime.kernel_wiring import FeedSpec, Kernel, wire_kernel
from application.runtime.threaded_runtime import ThreadedRuntime
from bench_replay import machine_info  # bench/ is on sys.path when run as a script
from domain.market_data import BookTop, TradeTick
from domain.orders.order import Order
from domain.risk.risk_limits import RiskLimits
from infrastructure.replay import ReplaySettings, StrategySettings
from infrastructure.replay.replay_runner import build_strategy, simulated_venue_config
from infrastructure.synthetic_market import SyntheticMarketConfig, synthetic_frames, synthetic_instruments
from infrastructure.system_clock import SystemClock
from infrastructure.venues.market_data_codecs import market_data_for
from infrastructure.venues.simulated import SimulatedVenue
from infrastructure.venues.simulated.forwarding_gateway import ForwardingGateway
from interfaces.cli.start_command import START_DEFAULT_PARAMS

VENUE = "COINBASE"
CONNECTION = "COINBASE.ws.bench"
_NS_PER_S = 1_000_000_000


# ----- causality --------------------------------------------------------------------------------


@attrs.frozen
class Cause:
    """The frame a message descends from: its number and when it was handed to the data engine."""

    frame: int
    t0_ns: int


@attrs.frozen
class Envelope:
    """A message and the frame it descends from."""

    message: object
    cause: Cause


_local = threading.local()


def current_cause() -> Cause | None:
    """The cause of the message the current thread's actor is handling (None: none)."""
    return getattr(_local, "cause", None)


class _Traced:
    """A handler that unwraps envelopes and holds their cause while it handles the message."""

    def __init__(self, handler: Handler, strategy: bool) -> None:
        self._handler = handler
        self._strategy = strategy

    def handle(self, message: object) -> None:
        cause: Cause | None = None
        if type(message) is Envelope:
            cause, message = message.cause, message.message
        if self._strategy and type(message) not in (BookTop, TradeTick):
            cause = None  # an order placed on an order update or a timer is not tick-to-order
        _local.cause = cause
        try:
            self._handler.handle(message)
        finally:
            _local.cause = None


class TracingBus:
    """The bus the engines are wired to: passes each message on with its sender's cause."""

    def __init__(self, runtime: ThreadedRuntime) -> None:
        self.runtime = runtime

    def send(self, destination: str, message: object) -> None:
        cause = getattr(_local, "cause", None)
        self.runtime.send(destination, message if cause is None else Envelope(message, cause))

    def register(self, destination: str, handler: Handler) -> None:
        self.runtime.register(destination, _Traced(handler, destination.startswith("strategy:")))


class TimingGateway(ForwardingGateway):
    """The venue gateway as execution sees it: times each submit against its cause, then forwards."""

    def __init__(self, venue: SimulatedVenue) -> None:
        super().__init__(venue)
        self.samples_ns: list[int] = []  # one per order caused by a frame
        self.first_per_frame_ns: dict[int, int] = {}
        self.uncaused = 0  # orders placed on a timer, an order update, ...
        self.recording = True

    def submit(self, order: Order) -> None:
        now = time.perf_counter_ns()
        cause = getattr(_local, "cause", None)
        if self.recording:
            if cause is None:
                self.uncaused += 1
            else:
                latency = now - cause.t0_ns
                self.samples_ns.append(latency)
                self.first_per_frame_ns.setdefault(cause.frame, latency)
        super().submit(order)


class _Notifier:
    def __init__(self) -> None:
        self.messages: list[str] = []

    def notify(self, severity: Severity, message: str) -> None:
        self.messages.append(f"{severity.value}: {message}")


# ----- the kernel -------------------------------------------------------------------------------


class BenchKernel:
    """`start`'s paper kernel, wired to a TracingBus and a TimingGateway."""

    def __init__(self, params: dict[str, object], max_orders_per_s: int) -> None:
        balance = ReplaySettings().starting_balance
        limits = attrs.evolve(RiskLimits.conservative(balance), max_orders_per_window=max_orders_per_s)
        self.settings = ReplaySettings(
            strategy=StrategySettings("market_maker", "BTC-USD", params=params), limits=limits
        )
        settings = self.settings
        self.clock = SystemClock()
        self.notifier = _Notifier()
        self.runtime = ThreadedRuntime(
            self.clock, notifier=self.notifier, timer_interval_ns=settings.timer_interval_ns
        )
        self.bus = TracingBus(self.runtime)
        self.instruments = synthetic_instruments(VENUE, settings.currency)
        assert settings.strategy is not None
        strategies = [build_strategy(settings.strategy, VENUE, self.instruments)]
        bus = self.bus

        def sink(report: VenueReport) -> None:
            bus.send(EXECUTION, report)

        self.venue = SimulatedVenue(
            self.clock,
            sink,
            self.instruments.values(),
            simulated_venue_config(settings),
        )
        self.gateway = TimingGateway(self.venue)
        market = market_data_for(VENUE)
        self.pipeline = MarketDataPipeline(market, resolve_crossing=market.resolve_crossing)
        self.journal = InMemoryJournal()
        self.kernel: Kernel = wire_kernel(
            self.bus,
            self.clock,
            self.journal,
            instruments=self.instruments,
            feeds={VENUE: FeedSpec(self.pipeline, market.on_sent)},
            venues={VENUE: self.gateway},
            strategies=strategies,
            limits=settings.risk_limits(),
            currency=settings.currency,
            starting_balance=settings.starting_balance,
            seed=settings.seed,
            notifier=self.notifier,
            depth=settings.depth,
        )
        self.runtime.add_source(self.venue)
        self.runtime.add_gateway(self.venue)
        for strategy in strategies:
            self.runtime.add_timer_destination(strategy_destination(strategy.strategy_id))


def feed(kernel: BenchKernel, frames: list[tuple[int, str]], rate: float) -> dict[str, Any]:
    """Hand `frames` to the data engine at `rate` frames/s of wall time; returns the feeder's stats."""
    runtime = kernel.runtime
    clock_ns = time.perf_counter_ns
    wall_ns = kernel.clock.now_ns
    interval_ns = _NS_PER_S / rate
    lags: list[int] = []
    runtime.start_timers()
    start = clock_ns()
    for index, (_ts, text) in enumerate(frames):
        due = start + int(index * interval_ns)
        delay = due - clock_ns()
        if delay > 0:
            time.sleep(delay / _NS_PER_S)
        t0 = clock_ns()
        lags.append(t0 - due)
        frame = MarketFrame(VENUE, text, wall_ns(), CONNECTION)
        runtime.send(DATA, Envelope(frame, Cause(index, t0)))
    elapsed = clock_ns() - start
    lags.sort()
    return {
        "frames": len(frames),
        "seconds": elapsed / _NS_PER_S,
        "achieved_rate": len(frames) / (elapsed / _NS_PER_S),
        "feeder_lag_p50_us": _pct(lags, 50) / 1000,
        "feeder_lag_p99_us": _pct(lags, 99) / 1000,
        "feeder_lag_max_us": lags[-1] / 1000,
    }


# ----- per-hop latency --------------------------------------------------------------------------


class Ping:
    """A trivial actor: records how long its message took to arrive, then passes it on."""

    def __init__(
        self,
        runtime: ThreadedRuntime,
        next_hop: str | None,
        record: Callable[[int], None],
        chain: Callable[[int], None] | None = None,
    ) -> None:
        self._runtime = runtime
        self._next = next_hop
        self._record = record
        self._chain = chain  # the last actor records the whole chain's time

    def handle(self, message: object) -> None:
        started = time.perf_counter_ns()
        assert isinstance(message, tuple)
        sequence, sent, first_sent = message
        self._record(started - sent)
        if self._next is not None:
            self._runtime.send(self._next, (sequence, time.perf_counter_ns(), first_sent))
        elif self._chain is not None:
            self._chain(started - first_sent)


def hop_latency(
    runtime: ThreadedRuntime, hops: int, rate: float, seconds: float
) -> tuple[list[int], list[int], int]:
    """Per-hop latencies and whole-chain latencies (ns) of `hops` ping actors driven at `rate` messages/s.

    The whole chain (the first `send` to the last actor's `handle`, no work anywhere) is the floor
    of any path through that many actors: tick-to-order crosses four (data, strategy, risk,
    execution) and cannot be faster than four empty hops on the same machine.
    """
    samples: list[int] = []
    chains: list[int] = []
    lock = threading.Lock()

    def record(value: int) -> None:
        with lock:
            samples.append(value)

    def record_chain(value: int) -> None:
        with lock:
            chains.append(value)

    names = [f"ping:{index}" for index in range(hops)]
    for index, name in enumerate(names):
        last = index + 1 == hops
        ping = Ping(runtime, None if last else names[index + 1], record, record_chain if last else None)
        runtime.register(name, ping)
    count = int(rate * seconds)
    interval_ns = _NS_PER_S / rate
    start = time.perf_counter_ns()
    for sequence in range(count):
        delay = start + int(sequence * interval_ns) - time.perf_counter_ns()
        if delay > 0:
            time.sleep(delay / _NS_PER_S)
        now = time.perf_counter_ns()
        runtime.send(names[0], (sequence, now, now))
    runtime.wait_idle(timeout_s=30.0)
    return samples, chains, count


# ----- output -----------------------------------------------------------------------------------


def _pct(ordered: Sequence[int], percent: float) -> float:
    """Nearest-rank percentile of sorted values (0 when empty)."""
    if not ordered:
        return 0.0
    rank = max(1, -(-len(ordered) * percent // 100))
    return float(ordered[int(rank) - 1])


def summary(samples_ns: Sequence[int]) -> dict[str, float | int]:
    """Count, p50, p90, p99, p99.9, max and mean, in microseconds."""
    ordered = sorted(samples_ns)
    result: dict[str, float | int] = {"count": len(ordered)}
    for name, percent in (("p50", 50), ("p90", 90), ("p99", 99), ("p99_9", 99.9)):
        result[f"{name}_us"] = round(_pct(ordered, percent) / 1000, 1)
    result["max_us"] = round(ordered[-1] / 1000, 1) if ordered else 0.0
    result["mean_us"] = round(sum(ordered) / len(ordered) / 1000, 1) if ordered else 0.0
    return result


def _table(rows: list[tuple[str, dict[str, float | int]]]) -> str:
    header = (
        f"{'measure':<34} {'count':>7} {'p50 us':>9} {'p90 us':>9} {'p99 us':>9} "
        f"{'p99.9 us':>9} {'max us':>9} {'mean us':>9}"
    )
    lines = [header, "-" * len(header)]
    for name, s in rows:
        lines.append(
            f"{name:<34} {s['count']:>7} {s['p50_us']:>9.1f} {s['p90_us']:>9.1f} {s['p99_us']:>9.1f} "
            f"{s['p99_9_us']:>9.1f} {s['max_us']:>9.1f} {s['mean_us']:>9.1f}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; print machine info, a table, then one JSON line."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rate", type=float, default=2000.0, help="frames/s handed to the data engine")
    parser.add_argument("--seconds", type=float, default=10.0, help="seconds of feed")
    parser.add_argument("--warmup", type=float, default=1.0, help="seconds of feed not recorded first")
    parser.add_argument("--seed", type=int, default=1, help="synthetic market seed")
    parser.add_argument("--trade-probability", type=float, default=0.3)
    parser.add_argument(
        "--requote-interval-ns", type=int, default=0, help="market maker min_requote_interval_ns"
    )
    parser.add_argument("--requote-threshold-bps", default="0", help="market maker requote_threshold_bps")
    parser.add_argument(
        "--max-orders-per-s", type=int, default=1000, help="risk limit (conservative: 10; raised to measure)"
    )
    parser.add_argument("--hops", type=int, default=4, help="ping actors in the per-hop chain")
    parser.add_argument("--hop-rate", type=float, default=2000.0, help="ping messages/s into the chain")
    parser.add_argument("--hop-seconds", type=float, default=3.0)
    arguments = parser.parse_args(argv)

    info = machine_info()
    for key, value in info.items():
        print(f"{key:<15} {value}")
    params: dict[str, object] = dict(START_DEFAULT_PARAMS["market_maker"])
    params["min_requote_interval_ns"] = arguments.requote_interval_ns
    params["requote_threshold_bps"] = arguments.requote_threshold_bps
    print(f"strategy        market_maker BTC-USD {params}")
    print(
        f"risk            RiskLimits.conservative, max_orders_per_window {arguments.max_orders_per_s} per 1 s"
    )

    total_s = arguments.warmup + arguments.seconds
    start = time.perf_counter()
    config = SyntheticMarketConfig(
        seed=arguments.seed,
        start_ns=time.time_ns(),
        duration_ns=int(total_s * _NS_PER_S),
        message_rate_per_s=max(1, round(arguments.rate)),
        trade_probability=arguments.trade_probability,
        connection_id=CONNECTION,
    )
    frames = list(synthetic_frames(config))
    print(
        f"feed            {len(frames):,} synthetic frames generated in {time.perf_counter() - start:.2f} s"
    )
    warm = sum(1 for ts, _ in frames if ts < config.start_ns + int(arguments.warmup * _NS_PER_S))

    kernel = BenchKernel(params, arguments.max_orders_per_s)
    runtime = kernel.runtime
    try:
        kernel.gateway.recording = False
        warm_stats = feed(kernel, frames[:warm], arguments.rate) if warm else None
        runtime.wait_idle(timeout_s=30.0)
        kernel.gateway.recording = True
        feeder = feed(kernel, frames[warm:], arguments.rate)
        runtime.wait_idle(timeout_s=30.0)
        runtime.stop_timers()
        runtime.wait_idle(timeout_s=30.0)
        gateway = kernel.gateway
        tick = summary(gateway.samples_ns)
        first = summary(list(gateway.first_per_frame_ns.values()))
        counts = dict(kernel.kernel.execution.counts)
        hop_samples, chain_samples, hop_messages = hop_latency(
            runtime, arguments.hops, arguments.hop_rate, arguments.hop_seconds
        )
        hop = summary(hop_samples)
        chain = summary(chain_samples)
    finally:
        runtime.stop()

    print(
        f"feeder          {feeder['frames']:,} frames in {feeder['seconds']:.2f} s = "
        f"{feeder['achieved_rate']:,.0f} frames/s (after {warm:,} warm-up frames); lag behind schedule "
        f"p50 {feeder['feeder_lag_p50_us']:.0f} us, p99 {feeder['feeder_lag_p99_us']:.0f} us, "
        f"max {feeder['feeder_lag_max_us']:.0f} us"
    )
    print(
        f"orders          {tick['count']} caused by a frame ({len(gateway.first_per_frame_ns)} frames), "
        f"{gateway.uncaused} on updates/timers; execution counts {counts}"
    )
    print(f"hops            {hop_messages:,} messages x {arguments.hops} hops at {arguments.hop_rate:,.0f}/s")
    if kernel.notifier.messages:
        print(f"notifications   {kernel.notifier.messages}")
    print()
    rows = [
        ("tick-to-order, every order", tick),
        ("tick-to-order, first order/frame", first),
        (f"actor hop (tell -> handle), {arguments.hops}-chain", hop),
        (f"whole {arguments.hops}-hop chain, no work (floor)", chain),
    ]
    print(_table(rows))
    target_met = tick["count"] > 0 and float(tick["p99_us"]) < 1000.0
    verdict = "met" if target_met else "NOT met"
    print(f"target tick-to-order p99 < 1000 us at {arguments.rate:,.0f} frames/s: {verdict}")
    print(
        json.dumps(
            {
                "bench": "latency",
                **info,
                "rate": arguments.rate,
                "seconds": arguments.seconds,
                "warmup_seconds": arguments.warmup,
                "max_orders_per_s": arguments.max_orders_per_s,
                "strategy_params": {key: str(value) for key, value in params.items()},
                "feeder": feeder,
                "warmup_feeder": warm_stats,
                "orders_uncaused": gateway.uncaused,
                "execution_counts": counts,
                "tick_to_order_us": tick,
                "tick_to_order_first_per_frame_us": first,
                "hop": {"hops": arguments.hops, "rate": arguments.hop_rate, "messages": hop_messages, **hop},
                "chain": {"hops": arguments.hops, "rate": arguments.hop_rate, **chain},
                "notifications": kernel.notifier.messages,
                "target_p99_under_1ms": target_met,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
