"""The kernel's engines as plain handler classes: data, strategy, risk, execution, portfolio, venue.

Each engine changes its state only inside its `handle(message)`, one message at a time, and talks
to the others only by sending immutable messages on a `Bus` (see `messages` for the names and
values, and `application.runtime.kernel_wiring` for who sends what to whom). The deterministic
runtime runs them single-threaded for replay; a threaded runtime can give each one an actor.
"""

from application.engines.data_engine import DataEngine, book_top
from application.engines.execution_engine import ExecutionEngine
from application.engines.journal_writer import JournalWriter
from application.engines.portfolio_engine import FillTotals, PortfolioEngine
from application.engines.risk_engine import RiskEngine, snap_to_grid
from application.engines.strategy_engine import StrategyEngine
from application.engines.venue_engine import MarketDataConsumer, VenueEngine

__all__ = [
    "DataEngine",
    "ExecutionEngine",
    "FillTotals",
    "JournalWriter",
    "MarketDataConsumer",
    "PortfolioEngine",
    "RiskEngine",
    "StrategyEngine",
    "VenueEngine",
    "book_top",
    "snap_to_grid",
]
