"""The application layer: actors and ports that drive the domain. No venue SDK, database or network."""
