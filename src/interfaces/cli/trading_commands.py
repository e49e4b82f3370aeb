"""`trading resume` and `trading halt`: the operator's decision, journaled while the kernel is stopped.

A tripped breaker or a halt by reconciliation keeps every later `start` HALTED; only a person
clears it. `trading resume --by NAME --reason TEXT` appends what the risk engine journals when it
receives a `ResumeTrading` (the resume, the breaker's manual reset naming who and why, the change
to ACTIVE; see `application/recovery/trading_control.py`), with their projection rows, so the next
`start` folds them and trades, and `status` shows the reset in the breaker's history.
`trading halt` appends a halt: the next start stays HALTED until a resume.

Both take the database's kernel lock: while a kernel runs on the database they refuse (one line,
exit 2), because the running kernel would not hear of it.
"""

from __future__ import annotations

import attrs
import click

from application.engines.messages import RISK_STREAM
from application.recovery.trading_control import CONTROL_EVENT_TYPES, TradingControl, TradingControlProjector
from domain.errors import DomainError
from domain.risk.trading_state import TradingState
from infrastructure.persistence.sql_journal import SqlJournal
from infrastructure.system_clock import SystemClock
from interfaces.cli.errors import UserError
from interfaces.cli.persistence_commands import (
    database_option,
    default_database_url,
    existing_database,
    kernel_lock,
    user_errors,
)


@click.group("trading")
def trading() -> None:
    """Resume or halt trading while the kernel is stopped (journaled for the next start)."""


def _who_and_why(function: click.decorators.FC) -> click.decorators.FC:
    function = click.option("--reason", required=True, metavar="TEXT", help="Why (journaled).")(function)
    return click.option("--by", required=True, metavar="NAME", help="Who decides (journaled).")(function)


@attrs.frozen
class _Journaled:
    """What a `trading` command found and wrote."""

    breaker_tripped: bool  # before
    halted: bool  # an operator's (or reconciliation's) halt, before
    written: tuple[int, int] | None  # the first and last sequence appended; None: nothing to do


def _journal(url: str, by: str, reason: str, *, resume: bool) -> _Journaled:
    """Append a resume's or a halt's records (under the kernel lock) with their projection rows."""
    holder = f"trading {'resume' if resume else 'halt'}"
    with existing_database(url) as engine, kernel_lock(url, holder), user_errors():
        control = TradingControl()
        journal = SqlJournal(engine, projector=TradingControlProjector(control))
        for record in journal.read_stream(RISK_STREAM, CONTROL_EVENT_TYPES):
            control.apply(record)
        found = _Journaled(
            control.breaker_tripped,
            control.operator_state is TradingState.HALTED or bool(control.halted_instruments),
            None,
        )
        now = SystemClock().now_ns()
        try:
            records = control.resume(by, reason, now) if resume else control.halt(by, reason, now)
        except (ValueError, DomainError) as error:
            raise UserError(str(error)) from None
        if not records:
            journal.close()
            return found
        first = journal.append(now, RISK_STREAM, records[0]).sequence
        for event in records[1:]:
            journal.append(now, RISK_STREAM, event)
        journal.close()  # one transaction: the records and their projection rows
        return attrs.evolve(found, written=(first, journal.last_sequence))


@trading.command("resume")
@database_option
@_who_and_why
def resume(*, database_url: str | None, by: str, reason: str) -> None:
    """Clear a halt and reset a tripped breaker, recording who and why; the next start trades."""
    url = database_url or default_database_url()
    done = _journal(url, by, reason, resume=True)
    if done.written is None:
        click.echo("trading is ACTIVE already (breaker not tripped, no halt): nothing journaled")
        return
    done_what = (("breaker reset", done.breaker_tripped), ("halt cleared", done.halted))
    cleared = [what for what, was in done_what if was]
    click.echo(
        f"trading resumed by {by.strip()} ({reason.strip()}): {' and '.join(cleared) or 'state ACTIVE'}; "
        f"journal records {done.written[0]}..{done.written[1]}; the next start trades"
    )


@trading.command("halt")
@database_option
@_who_and_why
def halt(*, database_url: str | None, by: str, reason: str) -> None:
    """Halt all trading, recording who and why; every start stays HALTED until `trading resume`."""
    url = database_url or default_database_url()
    done = _journal(url, by, reason, resume=False)
    if done.written is None:
        click.echo("trading is HALTED by an operator already: nothing journaled")
        return
    click.echo(
        f"trading halted by {by.strip()} ({reason.strip()}): journal records "
        f"{done.written[0]}..{done.written[1]}; every start stays HALTED until `trading resume`"
    )
