"""The persistence layer's exceptions: one base class, one line of text each.

Operators read these messages on a terminal or in a log at the worst possible moment (the
kernel refuses to start, a backup fails), so each says what is wrong and, where there is one,
what to do about it, in one line.
"""

from __future__ import annotations

from application.recovery.kernel_state import SnapshotError


class PersistenceError(Exception):
    """Base class of every persistence failure."""


class DatabaseUrlError(PersistenceError):
    """The database URL is malformed or names an unsupported database."""


class DatabaseUnavailableError(PersistenceError):
    """The database server cannot be reached, or the database file cannot be opened."""


class NotADatabaseError(PersistenceError):
    """The file exists but is not an SQLite database."""


class SchemaError(PersistenceError):
    """The database schema does not match this tradekernel."""


class SchemaTooNewError(SchemaError):
    """The database was migrated by a newer tradekernel than this one."""


class SchemaOutdatedError(SchemaError):
    """The database schema is older than this tradekernel: it must be upgraded first."""


class SchemaUnknownError(SchemaError):
    """The database holds tables but no tradekernel schema revision."""


class JournalWriteError(PersistenceError):
    """A flush failed: the records stay buffered (with their sequence numbers) for the next one."""


class CorruptRecordError(PersistenceError):
    """A journal record cannot be decoded (or is missing): the journal cannot be replayed."""


class CorruptSnapshotError(PersistenceError, SnapshotError):
    """A stored snapshot does not match its sha256 (start-up falls back to an older one)."""


class SnapshotAheadError(PersistenceError, ValueError):
    """A snapshot was saved for a sequence that is not durable yet."""


class KernelRunningError(PersistenceError):
    """Another process (a running kernel, or an offline command) holds the journal's kernel lock."""


class BackupError(PersistenceError):
    """A backup or restore was refused or failed its checks."""
