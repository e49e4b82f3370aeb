"""Ports: what the application needs from the outside world, as typing Protocols.

Infrastructure implements them; the composition root (interfaces) injects them. Nothing in the
application imports an adapter.
"""

from application.ports.clock import Clock, SimulatedClock
from application.ports.event_journal import EventJournal, InMemoryJournal, JournalRecord
from application.ports.market_data_feed import FrameHandler, MarketDataFeed
from application.ports.notifier import Notifier, Severity
from application.ports.venue_gateway import VenueGateway, VenueOrderStatus, VenueReport, VenueReportSink

__all__ = [
    "Clock",
    "EventJournal",
    "FrameHandler",
    "InMemoryJournal",
    "JournalRecord",
    "MarketDataFeed",
    "Notifier",
    "Severity",
    "SimulatedClock",
    "VenueGateway",
    "VenueOrderStatus",
    "VenueReport",
    "VenueReportSink",
]
