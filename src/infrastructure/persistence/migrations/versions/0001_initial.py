"""The initial journal schema: events, snapshots, reconciliations, projections, kernel_meta.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create every table of the first schema."""
    op.create_table(
        "events",
        sa.Column("sequence", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("ts_ns", sa.BigInteger, nullable=False),
        sa.Column("type", sa.String(100), nullable=False),
        sa.Column("stream_id", sa.String(200), nullable=False),
        sa.Column("schema_version", sa.Integer, nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("sequence", name="pk_events"),
    )
    op.create_index("ix_events_stream_id", "events", ["stream_id"])
    op.create_table(
        "snapshots",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("sequence", sa.BigInteger, nullable=False),
        sa.Column("ts_ns", sa.BigInteger, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("data", sa.LargeBinary, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_snapshots"),
    )
    op.create_index("ix_snapshots_sequence", "snapshots", ["sequence"])
    op.create_table(
        "reconciliations",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("ts_ns", sa.BigInteger, nullable=False),
        sa.Column("report", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_reconciliations"),
    )
    op.create_table(
        "orders",
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
        sa.PrimaryKeyConstraint("client_order_id", name="pk_orders"),
    )
    op.create_table(
        "fills",
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
        sa.PrimaryKeyConstraint("fill_id", name="pk_fills"),
    )
    op.create_index("ix_fills_client_order_id", "fills", ["client_order_id"])
    op.create_table(
        "positions",
        sa.Column("instrument_id", sa.String(200), primary_key=True),
        sa.Column("quantity", sa.Text, nullable=False),
        sa.Column("average_price", sa.Text, nullable=True),
        sa.Column("realized_pnl", sa.Text, nullable=False),
        sa.Column("last_sequence", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("instrument_id", name="pk_positions"),
    )
    op.create_table(
        "balances",
        sa.Column("currency", sa.String(32), primary_key=True),
        sa.Column("total", sa.Text, nullable=False),
        sa.Column("last_sequence", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("currency", name="pk_balances"),
    )
    op.create_table(
        "trading_state",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("state", sa.String(32), nullable=False),
        sa.Column("reason", sa.Text, nullable=True),
        sa.Column("ts_ns", sa.BigInteger, nullable=False),
        sa.Column("last_sequence", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_trading_state"),
    )
    op.create_table(
        "breaker_events",
        sa.Column("sequence", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text, nullable=True),
        sa.Column("detail", sa.Text, nullable=True),
        sa.Column("by", sa.String(100), nullable=True),
        sa.Column("ts_ns", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("sequence", name="pk_breaker_events"),
    )
    op.create_table(
        "strategy_states",
        sa.Column("strategy_id", sa.String(100), primary_key=True),
        sa.Column("state_json", sa.Text, nullable=False),
        sa.Column("last_sequence", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("strategy_id", name="pk_strategy_states"),
    )
    op.create_table(
        "kernel_meta",
        sa.Column("key", sa.String(100), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_kernel_meta"),
    )


def downgrade() -> None:
    """Drop every table (the journal with them: only for development)."""
    for table in (
        "kernel_meta",
        "strategy_states",
        "breaker_events",
        "trading_state",
        "balances",
        "positions",
        "fills",
        "orders",
        "reconciliations",
        "snapshots",
        "events",
    ):
        op.drop_table(table)
