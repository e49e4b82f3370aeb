"""User-facing entry points: the CLI, health and metrics endpoints."""
