"""The portfolio: the account plus one position per instrument, valued at marks.

Accounting is margin-style in each instrument's quote (settlement) currency: a fill changes the
settlement balance by its realized P&L, and the balance of its fee currency by minus its fee
(a blank fee currency means the settlement currency). Equity in a currency C is the balance in C
plus the unrealized P&L of the open positions settled in C, so for every fill, exactly:

    Δ equity(C) = realized(C) + Δ unrealized(C) - fees charged in C.

Valuations need a mark for every open position they cover; a missing one raises
`MissingMarkError` (a position is never silently valued at zero).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

import attrs

from domain.currency import check_currency
from domain.errors import DomainError, InvalidValueError
from domain.fill import Fill
from domain.identifiers import FillId
from domain.instrument import Instrument, InstrumentId
from domain.numbers import EXACT_CONTEXT, ZERO, exact, to_decimal
from domain.numbers import check_positive_price as check_mark
from domain.portfolio.account import Account
from domain.portfolio.equity_tracker import EquitySnapshot, EquityTracker
from domain.portfolio.position import Position
from domain.portfolio.round_trip import RoundTrip

Marks = Mapping[InstrumentId, Decimal]


class MissingMarkError(DomainError):
    """An open position cannot be valued: no mark price was given for its instrument."""


class ConflictingFillError(DomainError):
    """A fill arrived with the id of an applied fill but different contents."""


def _same_execution(position: Position, first: Fill, second: Fill) -> bool:
    """True when two fills of `position`'s instrument agree on everything that moves money."""
    return (
        first.client_order_id == second.client_order_id
        and first.side is second.side
        and first.price == second.price
        and first.quantity == second.quantity
        and first.fee == second.fee
        and position.fee_currency_of(first) == position.fee_currency_of(second)
    )


@attrs.frozen
class FillResult:
    """What applying one fill did: P&L realized (settlement currency), fee, round trip closed.

    `duplicate` is True when the fill had already been applied; it then changed nothing and
    reports zero P&L and fee.
    """

    fill_id: FillId
    instrument_id: InstrumentId
    currency: str
    realized_pnl: Decimal
    fee: Decimal
    fee_currency: str
    quantity_after: Decimal
    round_trip: RoundTrip | None
    duplicate: bool = False


@attrs.define
class Portfolio:
    """The account, the positions by instrument, and an equity tracker per valued currency.

    Apply fills through `apply_fill` (which books the account too), and move money in or out
    through `deposit` and `withdraw` (which keep flows out of drawdown and daily P&L). A
    reconciliation adjustment (`account.reconcile` or `account.adjust`) is treated as P&L: it is
    money gained or lost that we had not recorded, such as funding.
    """

    account: Account = attrs.field(factory=Account)
    _positions: dict[InstrumentId, Position] = attrs.field(factory=dict, init=False)
    _trackers: dict[str, EquityTracker] = attrs.field(factory=dict, init=False)
    _applied: dict[tuple[InstrumentId, FillId], Fill] = attrs.field(factory=dict, init=False)

    def apply_fill(self, fill: Fill, instrument: Instrument) -> FillResult:
        """Apply a fill of `instrument` to its position and book its P&L and fee; a repeat is ignored.

        Fills are deduplicated by (instrument, fill id), since venues may deliver one twice (a
        stream and a REST backfill, say). A repeat must agree on what moves money (order, side,
        price, quantity, fee and its currency, a blank one meaning the settlement currency); it may
        differ in metadata such as its timestamp. One that disagrees raises `ConflictingFillError`.
        """
        if fill.instrument_id != instrument.id:
            raise InvalidValueError(f"fill {fill.fill_id} is for {fill.instrument_id}, not {instrument.id}")
        position = self._positions.get(instrument.id)
        if position is None:
            position = Position(instrument.id, instrument.quote)
        elif position.currency != instrument.quote:
            raise InvalidValueError(
                f"{instrument.id} settles in {position.currency}, but the instrument says {instrument.quote}"
            )
        key = (fill.instrument_id, fill.fill_id)
        applied = self._applied.get(key)
        if applied is not None:
            if not _same_execution(position, applied, fill):
                raise ConflictingFillError(
                    f"fill {fill.fill_id} on {fill.instrument_id} differs from the one applied"
                )
            return FillResult(
                fill_id=fill.fill_id,
                instrument_id=fill.instrument_id,
                currency=position.currency,
                realized_pnl=ZERO,
                fee=ZERO,
                fee_currency=position.fee_currency_of(fill),
                quantity_after=position.quantity,
                round_trip=None,
                duplicate=True,
            )
        change = position.apply(fill)
        self._positions[instrument.id] = position
        self._applied[key] = fill
        with exact():
            self.account.adjust(position.currency, change.realized_pnl)
            self.account.adjust(change.fee_currency, -change.fee)
        return FillResult(
            fill_id=fill.fill_id,
            instrument_id=fill.instrument_id,
            currency=position.currency,
            realized_pnl=change.realized_pnl,
            fee=change.fee,
            fee_currency=change.fee_currency,
            quantity_after=change.quantity_after,
            round_trip=change.round_trip,
        )

    def position(self, instrument_id: InstrumentId) -> Position | None:
        """The position in an instrument, None if it was never traded (read it; don't apply fills to it)."""
        return self._positions.get(instrument_id)

    def positions(self) -> tuple[Position, ...]:
        """Every position ever opened, flat ones included, in instrument id order."""
        return tuple(self._positions[key] for key in sorted(self._positions))

    def open_positions(self) -> tuple[Position, ...]:
        """The positions that are not flat, in instrument id order."""
        return tuple(position for position in self.positions() if not position.is_flat)

    def realized_pnl(self, currency: str) -> Decimal:
        """P&L realized on all positions settled in `currency` (exact)."""
        code = check_currency(currency)
        with exact():
            return sum((p.realized_pnl for p in self._positions.values() if p.currency == code), ZERO)

    def fees(self, currency: str) -> Decimal:
        """Fees charged in `currency` across all positions, rebates negative (exact)."""
        code = check_currency(currency)
        with exact():
            return sum((p.fees(code) for p in self._positions.values()), ZERO)

    def unrealized_pnl(self, currency: str, marks: Marks) -> Decimal:
        """Unrealized P&L at `marks` of the open positions settled in `currency` (exact)."""
        code = check_currency(currency)
        total = ZERO
        # Exact sums do not depend on their order: no sorting (this runs after every mark).
        for position in self._positions.values():
            if position.currency == code and not position.is_flat:
                total = EXACT_CONTEXT.add(total, position.unrealized_pnl(self._mark(position, marks)))
        return total

    def equity(self, currency: str, marks: Marks) -> Decimal:
        """Balance in `currency` plus unrealized P&L at `marks` of the positions settled in it (exact)."""
        return EXACT_CONTEXT.add(self.account.balance(currency), self.unrealized_pnl(currency, marks))

    def exposures(self, marks: Marks) -> dict[InstrumentId, Decimal]:
        """Gross notional |quantity| × mark of each open position, in its settlement currency."""
        return {p.instrument_id: p.notional(self._mark(p, marks)) for p in self.open_positions()}

    def gross_exposure(self, currency: str, marks: Marks) -> Decimal:
        """Σ |quantity| × mark over the open positions settled in `currency` (exact)."""
        code = check_currency(currency)
        with exact():
            return sum(
                (p.notional(self._mark(p, marks)) for p in self.open_positions() if p.currency == code), ZERO
            )

    def net_exposure(self, currency: str, marks: Marks) -> Decimal:
        """Σ quantity × mark over the open positions settled in `currency`: shorts count negative."""
        code = check_currency(currency)
        with exact():
            return sum(
                (
                    p.signed_notional(self._mark(p, marks))
                    for p in self.open_positions()
                    if p.currency == code
                ),
                ZERO,
            )

    def mark_to_market(self, currency: str, marks: Marks, ts_ns: int) -> EquitySnapshot:
        """Value equity in `currency` at `marks` as of `ts_ns` and update its tracker (HWM, drawdown, day)."""
        equity = self.equity(currency, marks)
        tracker = self._trackers.get(currency)
        if tracker is None:
            tracker = EquityTracker(currency)
        snapshot = tracker.update(equity, ts_ns)
        self._trackers[currency] = tracker
        return snapshot

    def equity_tracker(self, currency: str) -> EquityTracker | None:
        """The equity tracker of `currency`, None before its first valuation."""
        return self._trackers.get(check_currency(currency))

    def restore_equity_tracker(self, snapshot: EquitySnapshot) -> None:
        """Resume tracking a currency from its last persisted snapshot (after a restart)."""
        self._trackers[snapshot.currency] = EquityTracker(snapshot.currency, snapshot)

    def deposit(self, currency: str, amount: Decimal) -> Decimal:
        """Pay money in: credit the account and keep the flow out of drawdown and daily P&L."""
        value = to_decimal(amount)
        balance = self.account.deposit(currency, value)
        self._record_flow(currency, value)
        return balance

    def withdraw(self, currency: str, amount: Decimal) -> Decimal:
        """Pay money out (at most what is available): debit the account, keep the flow out of P&L."""
        value = to_decimal(amount)
        balance = self.account.withdraw(currency, value)
        with exact():
            self._record_flow(currency, -value)
        return balance

    def _record_flow(self, currency: str, amount: Decimal) -> None:
        tracker = self._trackers.get(currency)
        if tracker is not None:
            tracker.record_flow(amount)

    @staticmethod
    def _mark(position: Position, marks: Marks) -> Decimal:
        mark = marks.get(position.instrument_id)
        if mark is None:
            raise MissingMarkError(f"no mark for the open position in {position.instrument_id}")
        return check_mark(mark)
