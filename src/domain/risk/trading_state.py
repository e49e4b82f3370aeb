"""Trading state: ACTIVE, REDUCING (only exposure-reducing orders) or HALTED (no orders)."""

from __future__ import annotations

import enum

from domain.risk.risk_decision import ReasonCode


class TradingState(enum.Enum):
    """How much trading the kernel admits, in NautilusTrader's vocabulary."""

    ACTIVE = "ACTIVE"  # every order the other rules approve
    REDUCING = "REDUCING"  # only orders that reduce exposure (see `Exposure.reduces`)
    HALTED = "HALTED"  # no order at all; cancels still go out

    @property
    def severity(self) -> int:
        """0 for ACTIVE, 1 for REDUCING, 2 for HALTED: a larger number admits less."""
        return _SEVERITY[self]

    def most_restrictive(self, other: TradingState) -> TradingState:
        """The stricter of two states, to combine e.g. an operator's state with the breaker's."""
        return self if self.severity >= other.severity else other

    def denial_reason(self, reduces_exposure: bool) -> ReasonCode | None:
        """Why this state refuses an order (that does or does not reduce exposure), or None."""
        if self is TradingState.HALTED:
            return ReasonCode.TRADING_HALTED
        if self is TradingState.REDUCING and not reduces_exposure:
            return ReasonCode.REDUCING_ONLY
        return None


_SEVERITY = {TradingState.ACTIVE: 0, TradingState.REDUCING: 1, TradingState.HALTED: 2}
