"""Adapters to the outside world: venues, recorded feeds, persistence, metrics."""
