"""Venue adapters: one package per venue, each with the same files."""
