"""Benchmark: durable journal writes per second on SQLite and PostgreSQL, by group-commit size.

Usage: .venv/bin/python bench/bench_journal.py [--events 20000] [--db sqlite|postgresql|both]

Appends `--events` realistic order events (a submitted / accepted / filled cycle, exact decimals)
to a fresh `SqlJournal` and flushes every B records (B = 1: every event its own durable commit,
as `record_durably` does for each outgoing order; B = 100 and 1000: group commit). The time
includes encoding each payload and every commit (SQLite: WAL + synchronous=FULL, fsync'd), so
events/s is the rate at which the kernel can make events durable. B = 1 is run on at most
`--events`/10 events (it is fsync-bound). PostgreSQL comes from TK_PG_URL (default: the local
server); a fresh database is created and dropped.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from domain.fill import Fill
from domain.identifiers import ClientOrderId, FillId, VenueOrderId
from domain.instrument import InstrumentId
from domain.order_terms import LiquiditySide, OrderSide
from domain.orders.order_events import OrderAccepted, OrderFilled, OrderSubmitted
from infrastructure.persistence.sql_journal import SqlJournal

PG_SERVER_URL = os.environ.get("TK_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
BTC = InstrumentId("COINBASE", "BTC-USD")
NOW = 1_700_000_000_000_000_000
BATCHES = (1, 100, 1000)


def events(n: int) -> list[tuple[int, str, object]]:
    """`n` (ts_ns, stream id, event) triples: each order is submitted, accepted, then filled."""
    out: list[tuple[int, str, object]] = []
    for i in range(n):
        order = ClientOrderId(i // 3 + 1)
        ts_ns = NOW + i * 1_000
        kind = i % 3
        event: object
        if kind == 0:
            event = OrderSubmitted(order, ts_ns)
        elif kind == 1:
            event = OrderAccepted(order, ts_ns, VenueOrderId(f"venue-{i:09d}"))
        else:
            price = Decimal(50_000) + Decimal(i % 997) * Decimal("0.01")
            fill = Fill(
                FillId(f"fill-{i:09d}"), order, BTC, OrderSide.BUY if i % 2 else OrderSide.SELL, price,
                Decimal("0.0125"), Decimal("0.31"), "USD", LiquiditySide.MAKER, ts_ns,
            )  # fmt: skip
            event = OrderFilled.from_fill(fill)
        out.append((ts_ns, order.value, event))
    return out


@contextmanager
def fresh_database(kind: str, workdir: Path) -> Iterator[str]:
    """The URL of a new, empty database of `kind`, removed afterwards."""
    if kind == "sqlite":
        yield f"sqlite:///{workdir / f'bench-{uuid.uuid4().hex}.db'}"
        return
    server = sa.create_engine(PG_SERVER_URL, isolation_level="AUTOCOMMIT")
    name = f"tk_bench_{uuid.uuid4().hex}"
    with server.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(PG_SERVER_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with server.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        server.dispose()


def run(url: str, stream: list[tuple[int, str, object]], batch: int) -> float:
    """Seconds to append and durably flush `stream`, flushing every `batch` records."""
    journal = SqlJournal.open(url, batch_size=max(batch, 1) + 1)  # the bench decides when to flush
    try:
        start = time.perf_counter()
        for i, (ts_ns, stream_id, event) in enumerate(stream, 1):
            journal.append(ts_ns, stream_id, event)
            if i % batch == 0:
                journal.flush()
        journal.flush()
        elapsed = time.perf_counter() - start
        assert journal.durable_sequence == len(stream)
    finally:
        journal.close()
    return elapsed


def main() -> None:
    """Run the benchmark and print a table of durable events per second."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000, help="events per group-commit run")
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args()

    kinds = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    stream = events(args.events)
    print(
        f"{'database':<11} {'flush every':>11} {'events':>8} {'seconds':>8} {'events/s':>10} {'us/event':>9}"
    )
    with tempfile.TemporaryDirectory(prefix="tk-bench-journal-") as tmp:
        for kind in kinds:
            for batch in BATCHES:
                n = min(len(stream), max(len(stream) // 10, 100)) if batch == 1 else len(stream)
                with fresh_database(kind, Path(tmp)) as url:
                    elapsed = run(url, stream[:n], batch)
                print(
                    f"{kind:<11} {batch:>11,} {n:>8,} {elapsed:>8.3f} {n / elapsed:>10,.0f} "
                    f"{elapsed / n * 1e6:>9.1f}"
                )


if __name__ == "__main__":
    main()
