"""The journal's tables, as SQLAlchemy Core: the one description of the schema the code uses.

The Alembic migrations in `migrations/versions` create exactly these tables (a test compares
them). The `events` table is the source of truth; every other table is derived (projections,
snapshots) or informational (reconciliation reports). Decimals are stored as TEXT so that the
exact text ("100.10") survives any database; timestamps are BIGINT nanoseconds since the epoch.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_name)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "pk": "pk_%(table_name)s",
    }
)

events = sa.Table(
    "events",
    metadata,
    sa.Column("sequence", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("ts_ns", sa.BigInteger, nullable=False),
    sa.Column("type", sa.String(100), nullable=False),
    sa.Column("stream_id", sa.String(200), nullable=False),
    sa.Column("schema_version", sa.Integer, nullable=False),
    sa.Column("payload", sa.Text, nullable=False),
    sa.Index("ix_events_stream_id", "stream_id"),
)

snapshots = sa.Table(
    "snapshots",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("sequence", sa.BigInteger, nullable=False),
    sa.Column("ts_ns", sa.BigInteger, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("data", sa.LargeBinary, nullable=False),
    sa.Index("ix_snapshots_sequence", "sequence"),
)

reconciliations = sa.Table(
    "reconciliations",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("ts_ns", sa.BigInteger, nullable=False),
    sa.Column("report", sa.Text, nullable=False),
)

orders = sa.Table(
    "orders",
    metadata,
    sa.Column("client_order_id", sa.String(32), primary_key=True),
    sa.Column("strategy_id", sa.String(100), nullable=False),
    sa.Column("instrument_id", sa.String(200), nullable=False),
    sa.Column("side", sa.String(16), nullable=False),
    sa.Column("order_type", sa.String(32), nullable=False),
    sa.Column("time_in_force", sa.String(16), nullable=False),
    sa.Column("price", sa.Text, nullable=True),
    sa.Column("quantity", sa.Text, nullable=False),
    sa.Column("filled_quantity", sa.Text, nullable=False),
    sa.Column("status", sa.String(32), nullable=False),
    sa.Column("venue_order_id", sa.String(200), nullable=True),
    sa.Column("created_ts_ns", sa.BigInteger, nullable=False),
    sa.Column("updated_ts_ns", sa.BigInteger, nullable=False),
    sa.Column("last_sequence", sa.BigInteger, nullable=False),
)

fills = sa.Table(
    "fills",
    metadata,
    sa.Column("fill_id", sa.String(200), primary_key=True),
    sa.Column("client_order_id", sa.String(32), nullable=False),
    sa.Column("instrument_id", sa.String(200), nullable=False),
    sa.Column("side", sa.String(16), nullable=False),
    sa.Column("price", sa.Text, nullable=False),
    sa.Column("quantity", sa.Text, nullable=False),
    sa.Column("fee", sa.Text, nullable=False),
    sa.Column("fee_currency", sa.String(32), nullable=False),
    sa.Column("liquidity", sa.String(16), nullable=False),
    sa.Column("ts_ns", sa.BigInteger, nullable=False),
    sa.Column("sequence", sa.BigInteger, nullable=False),
    sa.Index("ix_fills_client_order_id", "client_order_id"),
)

positions = sa.Table(
    "positions",
    metadata,
    sa.Column("instrument_id", sa.String(200), primary_key=True),
    sa.Column("quantity", sa.Text, nullable=False),
    sa.Column("average_price", sa.Text, nullable=True),
    sa.Column("realized_pnl", sa.Text, nullable=False),
    sa.Column("last_sequence", sa.BigInteger, nullable=False),
)

balances = sa.Table(
    "balances",
    metadata,
    sa.Column("currency", sa.String(32), primary_key=True),
    sa.Column("total", sa.Text, nullable=False),
    sa.Column("last_sequence", sa.BigInteger, nullable=False),
)

trading_state = sa.Table(
    "trading_state",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("state", sa.String(32), nullable=False),
    sa.Column("reason", sa.Text, nullable=True),
    sa.Column("ts_ns", sa.BigInteger, nullable=False),
    sa.Column("last_sequence", sa.BigInteger, nullable=False),
)

breaker_events = sa.Table(
    "breaker_events",
    metadata,
    sa.Column("sequence", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("reason", sa.Text, nullable=True),
    sa.Column("detail", sa.Text, nullable=True),
    sa.Column("by", sa.String(100), nullable=True),
    sa.Column("ts_ns", sa.BigInteger, nullable=False),
)

strategy_states = sa.Table(
    "strategy_states",
    metadata,
    sa.Column("strategy_id", sa.String(100), primary_key=True),
    sa.Column("state_json", sa.Text, nullable=False),
    sa.Column("last_sequence", sa.BigInteger, nullable=False),
)

kernel_meta = sa.Table(
    "kernel_meta",
    metadata,
    sa.Column("key", sa.String(100), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

#: Projection tables by `ProjectionRows` field name, and whether rows are upserted (else inserted).
PROJECTION_TABLES: dict[str, tuple[sa.Table, bool]] = {
    "orders": (orders, True),
    "fills": (fills, False),
    "positions": (positions, True),
    "balances": (balances, True),
    "trading_state": (trading_state, True),
    "breaker_events": (breaker_events, False),
    "strategy_states": (strategy_states, True),
}
