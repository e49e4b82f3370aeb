"""The venue is handed market data before anything about the frame is published.

A strategy can only price an order on a book the venue already has; otherwise, in the threaded
runtime, the simulated venue matched orders against an older book and rejected post-only quotes
as crossing (five such rejects trip the breaker and halt trading).
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from application.engines.data_engine import DataEngine
from application.engines.journal_writer import JournalWriter
from application.engines.messages import MarketFrame
from application.market_data_pipeline import MarketDataPipeline
from application.ports import InMemoryJournal, SimulatedClock
from domain.instrument import InstrumentId
from domain.market_data import BookTop, OrderBookUpdate, TradeTick
from domain.order_terms import OrderSide

BTC = InstrumentId("TEST", "BTC-USD")
D = Decimal


class ScriptedCodec:
    def __init__(self, events: list[object]) -> None:
        self.events = events

    def feed_safe(self, text: str | bytes, receive_ts_ns: int, connection_id: str) -> Sequence[object]:
        return self.events


class RecordingBus:
    def __init__(self, log: list[str]) -> None:
        self.log = log

    def send(self, destination: str, message: object) -> None:
        self.log.append(f"bus {destination} {type(message).__name__}")


class RecordingVenue:
    def __init__(self, log: list[str]) -> None:
        self.log = log

    def handle(self, message: object) -> None:
        self.log.append(f"venue {type(message).__name__}")


def test_the_venue_gets_book_updates_and_trades_before_any_top_or_trade_is_published() -> None:
    snapshot = OrderBookUpdate(BTC, True, ((D(99), D(1)),), ((D(100), D(1)),), 1)
    trade = TradeTick(BTC, "t1", D(100), D(1), OrderSide.BUY, 1)
    log: list[str] = []
    engine = DataEngine(RecordingBus(log), JournalWriter(InMemoryJournal(), SimulatedClock(1)))
    engine.add_venue("TEST", MarketDataPipeline(ScriptedCodec([snapshot, trade])))
    engine.subscribe(BTC, "strategy:mm")
    engine.add_market_data_consumer("TEST", RecordingVenue(log))

    engine.handle(MarketFrame("TEST", "frame", 1, "c1"))

    assert log[:2] == ["venue OrderBookUpdate", "venue TradeTick"]
    assert "bus strategy:mm TradeTick" in log
    assert f"bus strategy:mm {BookTop.__name__}" in log
    assert all(entry.startswith("bus ") for entry in log[2:])


class TopCheckingBus:
    """Checks, at every send of a top, that `tops` already holds it (what risk will read)."""

    def __init__(self) -> None:
        self.engine: DataEngine | None = None
        self.checked = 0

    def send(self, destination: str, message: object) -> None:
        if isinstance(message, BookTop):
            assert self.engine is not None
            assert self.engine.tops[message.instrument_id] is message
            self.checked += 1


def test_the_latest_top_is_readable_before_any_engine_hears_of_it() -> None:
    """Risk reads `tops` when it checks an order: it must hold the top the strategy priced on."""
    snapshot = OrderBookUpdate(BTC, True, ((D(99), D(1)),), ((D(100), D(1)),), 1)
    update = OrderBookUpdate(BTC, False, ((D("99.5"), D(2)),), (), 2)
    codec = ScriptedCodec([snapshot])
    bus = TopCheckingBus()
    engine = DataEngine(bus, JournalWriter(InMemoryJournal(), SimulatedClock(1)))
    bus.engine = engine
    engine.add_venue("TEST", MarketDataPipeline(codec))
    engine.subscribe(BTC, "strategy:mm")
    assert dict(engine.tops) == {}
    engine.handle(MarketFrame("TEST", "frame", 1, "c1"))
    first = engine.tops[BTC]
    assert (first.best_bid, first.best_ask, first.ts_ns) == (D(99), D(100), 1)
    codec.events = [update]
    engine.handle(MarketFrame("TEST", "frame", 2, "c1"))
    assert engine.tops[BTC].best_bid == D("99.5")
    assert first.best_bid == D(99)  # an entry is replaced, never mutated
    assert bus.checked == 4  # two tops, each to the strategy and the portfolio
