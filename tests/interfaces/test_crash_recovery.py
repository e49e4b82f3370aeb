"""The crash harness: `start` in paper mode, killed with SIGKILL at random instants, restarted each time.

Each cycle starts the kernel on the same journal database and simulated-venue store, lets it run
for a random time (seeded, so a failure can be reproduced) and kills it with SIGKILL: no handler
runs, no flush, no snapshot. Kills land everywhere: during start-up (imports, recovery,
reconciliation), between an order's write-ahead and its send, between a venue fill and its
journaling, during a snapshot. AFTER EVERY KILL a restart recovers, reconciles and stops without
trading (`start --duration 0`, open orders left working), and then the stores must show:
- no fill lost: every fill in the venue's own store is applied in the journal exactly once, and
  the journal applied no fill the venue does not have;
- no order sent twice: no client order id in the venue's submission log twice (nor journaled as
  submitted twice);
- positions and balances equal to the venue's, exactly and both ways: the journal's positions, and
  the balances its fills imply on the venue's spot ledger; the restart's own reconciliation found
  no position or balance difference and nothing that halts;
- the journal's sequence contiguous from 1, every payload decodable, every snapshot sound;
- the breaker and trading state kept: the breaker's history as of the kill is still its history
  (a tripped breaker stays tripped), and an operator's halt (journaled mid-harness by
  `trading halt`, lifted three cycles later by `trading resume`) holds across kills: nothing is
  submitted while it lasts.

`TK_CRASH_KILLS` sets the number of kills on SQLite (default 30; the slow suite runs 120);
`TK_CRASH_KILLS_PG` on PostgreSQL (default 6; the slow suite 40). The last test trips the breaker,
kills the kernel, checks after the restarts that it stays tripped (even under limits that would
trade) and that nothing is submitted, then `trading resume` journals a person's reset and the next
start trades.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import time
from collections import Counter
from contextlib import closing
from decimal import Decimal
from pathlib import Path

import attrs
import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from application.runtime.journal_decoding import decode_event_text
from domain.orders.order_events import OrderFilled
from infrastructure.persistence.database import open_engine
from infrastructure.persistence.schema import (
    breaker_events,
    events,
    fills,
    positions,
    reconciliations,
    trading_state,
)
from infrastructure.persistence.verify import verify_journal
from interfaces.cli.app import cli
from tests.interfaces.kernel_process import KernelProcess, popen_start

CONFIG = """
[start]
message_rate_per_s = 400
cancel_open_orders_on_stop = {cancel}

[persistence]
snapshot_interval_s = 0.7
flush_interval_s = 0.02
"""
STARTING_BALANCE = Decimal(100_000)  # USD, the paper venue's and the portfolio's
#: Limits nothing stays under: the fee of the first fill is a drawdown that trips the breaker.
TRIPPING = '\n[venue]\nmaker_fee_bps = "2"\n\n[risk]\nmax_drawdown_fraction = "0.000000001"\n'
TIMEOUT_S = 60


def _write_configs(workdir: Path, extra: str = "") -> None:
    (workdir / "crash.toml").write_text(CONFIG.format(cancel="true") + extra)
    # The restart after a kill: recover, reconcile, stop; orders stay working for the next cycle.
    (workdir / "check.toml").write_text(CONFIG.format(cancel="false") + extra)


def _run(workdir: Path, *args: str) -> subprocess.Popen[str]:
    return popen_start(workdir, *args)


def _stores(url: str) -> tuple[str, ...]:
    return ("--db", url, "--venue-store", "venue.sqlite")


def _cli(*args: str) -> str:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout


@attrs.frozen
class Control:
    """The breaker and trading state as the journal holds them."""

    breaker_history: tuple[tuple[object, ...], ...]
    tripped: bool
    trading_state: str


def _control(url: str) -> Control:
    engine = open_engine(url)
    try:
        with engine.connect() as connection:
            history = tuple(
                tuple(row)
                for row in connection.execute(
                    sa.select(breaker_events.c.sequence, breaker_events.c.kind, breaker_events.c.by).order_by(
                        breaker_events.c.sequence
                    )
                )
            )
            state = connection.execute(sa.select(trading_state.c.state)).scalar_one_or_none()
    finally:
        engine.dispose()
    tripped = False
    for _sequence, kind, _by in history:
        tripped = kind == "tripped" or (tripped and kind != "reset")
    return Control(history, tripped, state or "ACTIVE")


def _has_journal(workdir: Path, url: str) -> bool:
    """True once the journal's schema exists (a kill may land before, or while, it is created)."""
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
        return False  # opening it would create the file
    engine = open_engine(url)
    try:
        return "breaker_events" in sa.inspect(engine).get_table_names()
    finally:
        engine.dispose()


def _venue_state(
    workdir: Path,
) -> tuple[dict[str, dict[str, object]], dict[str, Decimal], dict[str, Decimal], Counter[str]]:
    """The venue's own store: fills by id, non-zero positions and balances, submissions per order id."""
    with closing(sqlite3.connect(f"file:{workdir / 'venue.sqlite'}?mode=ro", uri=True)) as venue:
        venue_fills = {
            fill_id: json.loads(data) for fill_id, data in venue.execute("SELECT fill_id, data FROM fills")
        }
        venue_positions = {
            key: Decimal(size) for key, size in venue.execute("SELECT instrument_id, size FROM positions")
        }
        balances = {
            key: Decimal(amount) for key, amount in venue.execute("SELECT currency, amount FROM balances")
        }
        submissions = Counter(cid for (cid,) in venue.execute("SELECT client_order_id FROM submissions"))
    non_zero_positions = {key: size for key, size in venue_positions.items() if size}
    non_zero_balances = {key: amount for key, amount in balances.items() if amount}
    return venue_fills, non_zero_positions, non_zero_balances, submissions


def _implied_balances(journal_fills: list[OrderFilled]) -> dict[str, Decimal]:
    """What the journal's fills leave on the venue's spot ledger: cash pays notional and fees."""
    balances = {"USD": STARTING_BALANCE}
    for report in journal_fills:
        fill = report.fill
        sign = 1 if fill.side.value == "BUY" else -1
        quote = fill.instrument_id.symbol.split("-")[1]
        base = fill.instrument_id.symbol.split("-")[0]
        balances[quote] = balances.get(quote, Decimal(0)) - sign * fill.price * fill.quantity
        balances[fill.fee_currency] = balances.get(fill.fee_currency, Decimal(0)) - fill.fee
        balances[base] = balances.get(base, Decimal(0)) + sign * fill.quantity
    return {currency: amount for currency, amount in balances.items() if amount}


def _check(workdir: Path, url: str, before: Control, *, halted_since: int | None) -> int:
    """Every invariant of the module doc, after a restart; returns the venue's fill count."""
    engine = open_engine(url)
    try:
        verification = verify_journal(engine)
        assert verification.ok, verification.summary() + "".join(verification.problems())
        with engine.connect() as connection:
            submitted = Counter(
                connection.execute(
                    sa.select(events.c.stream_id).where(events.c.type == "OrderSubmitted")
                ).scalars()
            )
            filled_rows = connection.execute(
                sa.select(events.c.sequence, events.c.stream_id, events.c.payload).where(
                    events.c.type == "OrderFilled"
                )
            ).all()
            projected_fills = set(connection.execute(sa.select(fills.c.fill_id)).scalars())
            journal_positions = {
                row.instrument_id: Decimal(row.quantity) for row in connection.execute(sa.select(positions))
            }
            report = json.loads(
                connection.execute(
                    sa.select(reconciliations.c.report).order_by(reconciliations.c.id.desc()).limit(1)
                ).scalar_one()
            )
    finally:
        engine.dispose()
    late = 0 if halted_since is None else _submitted_since(url, halted_since)
    venue_fills, venue_positions, venue_balances, submissions = _venue_state(workdir)

    # No order sent twice.
    assert not {cid: n for cid, n in submissions.items() if n > 1}, "the venue received an order twice"
    assert not {cid: n for cid, n in submitted.items() if n > 1}, "an order journaled as submitted twice"
    # No fill lost, none invented: applied (journaled under its order's stream) exactly once each.
    applied: list[OrderFilled] = []
    for row in filled_rows:
        event = decode_event_text(row.payload)
        assert isinstance(event, OrderFilled)
        if row.stream_id == event.client_order_id.value:
            applied.append(event)
    applied_ids = Counter(event.fill.fill_id.value for event in applied)
    assert not {fid: n for fid, n in applied_ids.items() if n > 1}, "a fill applied twice"
    assert set(applied_ids) == set(venue_fills), (
        f"venue fills missing from the journal: {sorted(set(venue_fills) - set(applied_ids))}; "
        f"journal fills the venue lacks: {sorted(set(applied_ids) - set(venue_fills))}"
    )
    assert projected_fills == set(venue_fills)
    # Positions and balances: exactly the venue's, both ways (zeros are no position, no balance).
    assert {key: size for key, size in journal_positions.items() if size} == venue_positions
    assert _implied_balances(applied) == venue_balances
    assert not report["halted"], report
    money = [d for d in report["differences"] if d["kind"] in ("position", "balance") or d["halts"]]
    assert not money, report
    counts = report["counts"]  # as of that restart's reconciliation
    assert counts["local_positions"] == counts["venue_positions"], report
    assert counts["local_balances"] == counts["venue_balances"], report
    # The breaker and trading state as of the kill are kept.
    after = _control(url)
    assert after.breaker_history[: len(before.breaker_history)] == before.breaker_history
    if before.tripped:
        assert after.tripped
    if before.trading_state == "HALTED":
        assert after.trading_state == "HALTED"
    if halted_since is not None:
        assert after.trading_state == "HALTED"
        assert late == 0, "an order was submitted while trading was halted"
    return len(venue_fills)


def _kill_and_restart(workdir: Path, url: str, cycle: int, delay_s: float, halted_since: int | None) -> int:
    process = _run(
        workdir, "--config", "crash.toml", "--duration", "60", "--seed", str(cycle + 1), *_stores(url)
    )
    try:  # kill anywhere from mid-import to well into trading (start-up takes a second or so)
        time.sleep(delay_s)
    finally:
        process.kill()  # SIGKILL: no handler runs, nothing is flushed
    _stdout, stderr = process.communicate(timeout=TIMEOUT_S)
    assert process.returncode == -signal.SIGKILL, stderr
    assert "Traceback" not in stderr, stderr
    # Killed before the schema existed: the restart starts from nothing.
    before = _control(url) if _has_journal(workdir, url) else Control((), False, "ACTIVE")
    restart = _run(workdir, "--config", "check.toml", "--duration", "0", *_stores(url))
    _stdout, stderr = restart.communicate(timeout=TIMEOUT_S)
    assert restart.returncode == 0, f"cycle {cycle}: {stderr}"
    assert "reconciled: " in stderr, stderr
    assert "Traceback" not in stderr, stderr
    return _check(workdir, url, before, halted_since=halted_since)


def _submitted_since(url: str, sequence: int) -> int:
    engine = open_engine(url)
    try:
        with engine.connect() as connection:
            return int(
                connection.execute(
                    sa.select(sa.func.count())
                    .select_from(events)
                    .where(events.c.type == "OrderSubmitted", events.c.sequence > sequence)
                ).scalar_one()
            )
    finally:
        engine.dispose()


def _last_sequence(url: str) -> int:
    engine = open_engine(url)
    try:
        with engine.connect() as connection:
            return int(connection.execute(sa.select(sa.func.max(events.c.sequence))).scalar_one())
    finally:
        engine.dispose()


def _harness(workdir: Path, url: str, kills: int, seed: int) -> None:
    _write_configs(workdir)
    rng = random.Random(seed)
    halt_at, resume_at = kills // 3, kills // 3 + 3  # an operator's halt across a few kills
    halted_since: int | None = None
    venue_fills = 0
    for cycle in range(kills):
        venue_fills = _kill_and_restart(workdir, url, cycle, rng.uniform(0.3, 2.5), halted_since)
        if cycle == halt_at:
            _cli("trading", "halt", "--by", "harness", "--reason", "halt across kills", "--db", url)
            halted_since = _last_sequence(url)
        elif cycle == resume_at and halted_since is not None:
            _cli("trading", "resume", "--by", "harness", "--reason", "resume across kills", "--db", url)
            halted_since = None
    # A last clean run: it recovers, reconciles, trades a little and stops (cancel-all, snapshot).
    before = _control(url)
    process = _run(
        workdir, "--config", "crash.toml", "--duration", "2", "--seed", str(kills + 1), *_stores(url)
    )
    stdout, stderr = process.communicate(timeout=TIMEOUT_S)
    assert process.returncode == 0, stderr
    assert "open      0 open orders left" in stdout, stdout
    venue_fills = _check(workdir, url, before, halted_since=None)
    assert venue_fills > 0, "the harness never filled an order: it proves nothing"


def _kills(variable: str, default: int) -> int:
    return int(os.environ.get(variable, str(default)))


@pytest.mark.timeout(600)  # 30 kills take about a minute and a half; a slow machine gets headroom
def test_sigkill_anywhere_loses_no_fill_and_sends_no_order_twice(tmp_path: Path) -> None:
    _harness(tmp_path, f"sqlite:///{tmp_path / 'journal.db'}", _kills("TK_CRASH_KILLS", 30), seed=20261121)


@pytest.mark.timeout(600)
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_sigkill_anywhere_on_postgresql(tmp_path: Path, database_url: str) -> None:
    _harness(tmp_path, database_url, _kills("TK_CRASH_KILLS_PG", 6), seed=20261122)


@pytest.mark.slow
@pytest.mark.timeout(3600)
def test_many_sigkills_under_the_slow_marker(tmp_path: Path) -> None:
    _harness(tmp_path, f"sqlite:///{tmp_path / 'journal.db'}", max(_kills("TK_CRASH_KILLS", 30), 120), seed=7)


@pytest.mark.slow
@pytest.mark.timeout(3600)
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_many_sigkills_on_postgresql_under_the_slow_marker(tmp_path: Path, database_url: str) -> None:
    _harness(tmp_path, database_url, max(_kills("TK_CRASH_KILLS_PG", 6), 40), seed=8)


@pytest.mark.timeout(300)
def test_a_tripped_breaker_stays_tripped_across_sigkills_until_a_person_resumes_trading(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'journal.db'}"
    # Any drawdown at all trips the breaker: the fee of the first fill does it.
    _write_configs(tmp_path, TRIPPING)
    kernel = KernelProcess(tmp_path, "--config", "crash.toml", "--duration", "60", *_stores(url))
    try:
        kernel.wait_for("critical: circuit breaker tripped", timeout_s=60)
        time.sleep(0.5)  # the trip's records reach the journal (group commit)
        # While the kernel runs, an offline resume is refused: the kernel would not hear of it.
        refused = CliRunner().invoke(
            cli, ["trading", "resume", "--by", "alice", "--reason", "x", "--db", url]
        )
        assert (refused.exit_code, refused.stdout) == (2, "")
        assert refused.stderr.startswith("error: ")
        assert "is in use by start (pid " in refused.stderr
    finally:
        kernel.kill()
    before = _control(url)
    assert before.tripped, "the breaker never tripped: the test proves nothing"
    assert before.trading_state == "HALTED"
    killed_at = _last_sequence(url)

    # The restart, under limits that would let it trade, stays HALTED: only a person clears it.
    halted = _run(tmp_path, "--duration", "0", *_stores(url))
    stdout, stderr = halted.communicate(timeout=TIMEOUT_S)
    assert halted.returncode == 0, stderr
    assert "state     HALTED" in stdout, stdout
    _check(tmp_path, url, before, halted_since=killed_at)  # still tripped, nothing submitted
    # Killed again while halted and restarted: the same.
    _kill_and_restart(tmp_path, url, 1, 1.5, halted_since=killed_at)
    assert _control(url).tripped

    said = _cli("trading", "resume", "--by", "alice", "--reason", "drawdown limit raised", "--db", url)
    assert said.startswith(
        "trading resumed by alice (drawdown limit raised): breaker reset; journal records "
    )
    status = json.loads(_cli("status", "--json", "--db", url))
    assert not status["breaker"]["tripped"]
    reset = status["breaker"]["history"][-1]
    assert (reset["kind"], reset["by"], reset["reason"]) == ("reset", "alice", "drawdown limit raised")
    assert reset["detail"] == "cleared: max_drawdown"
    assert (status["trading_state"], status["trading_state_reason"]) == (
        "ACTIVE",
        "resumed by alice: drawdown limit raised",
    )
    resumed = _control(url)
    resumed_at = _last_sequence(url)
    assert _submitted_since(url, killed_at) == 0  # nothing traded while the breaker was tripped

    trading = _run(tmp_path, "--duration", "3", *_stores(url))  # the default limits
    stdout, stderr = trading.communicate(timeout=TIMEOUT_S)
    assert trading.returncode == 0, stderr
    assert "state     ACTIVE" in stdout, stdout
    assert _submitted_since(url, resumed_at) > 0
    _check(tmp_path, url, resumed, halted_since=None)
