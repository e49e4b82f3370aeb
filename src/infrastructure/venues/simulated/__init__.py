"""The simulated venue: matches our orders against a replayed market, deterministically from a seed.

`SimulatedVenue` implements the `VenueGateway` port (see `simulated_venue` for the timeline and
the order rules, `matching_engine` for queue positions and consumed liquidity); with a
`SimulatedVenueStore` it keeps its state durably, like an exchange (see `venue_store`).
"""

from infrastructure.venues.simulated.config import SimulatedVenueConfig
from infrastructure.venues.simulated.matching_engine import Execution, MatchingEngine, RestingOrder
from infrastructure.venues.simulated.simulated_venue import (
    ALREADY_CANCELED,
    ALREADY_EXPIRED,
    ALREADY_FILLED,
    DUPLICATE_CLIENT_ORDER_ID,
    POST_ONLY_WOULD_CROSS,
    SNAPSHOT_FORMAT,
    UNKNOWN_ORDER,
    OrderTerms,
    SimulatedVenue,
)
from infrastructure.venues.simulated.venue_store import SimulatedVenueStore

__all__ = [
    "ALREADY_CANCELED",
    "ALREADY_EXPIRED",
    "ALREADY_FILLED",
    "DUPLICATE_CLIENT_ORDER_ID",
    "POST_ONLY_WOULD_CROSS",
    "SNAPSHOT_FORMAT",
    "UNKNOWN_ORDER",
    "Execution",
    "MatchingEngine",
    "OrderTerms",
    "RestingOrder",
    "SimulatedVenue",
    "SimulatedVenueConfig",
    "SimulatedVenueStore",
]
