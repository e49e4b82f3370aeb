"""Domain exceptions: every rule violation the domain can report."""


class DomainError(Exception):
    """Base class of every error raised by the domain."""


class InvalidValueError(DomainError, ValueError):
    """A value is not acceptable: a float where an exact number is required, off-grid, negative."""
