"""Durable persistence: the SQLAlchemy event journal (SQLite by default, PostgreSQL in production).

- `database`: opening engines with the journal's pragmas and one-line errors;
- `schema` and `migrations`: the tables, and the Alembic scripts shipped in this package;
- `sql_journal`: `SqlJournal`, the `DurableJournal` with group commit and projections;
- `verify` and `backup`: checking a journal, online backup and checked restore (SQLite).
"""
