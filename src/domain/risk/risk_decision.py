"""Risk decisions: why a rule denied an order (stable reason codes) and the verdict of a check."""

from __future__ import annotations

import enum

import attrs


class ReasonCode(enum.StrEnum):
    """Why a risk rule denied an order; stable snake_case strings, because reports count them."""

    TRADING_HALTED = "trading_halted"
    REDUCING_ONLY = "reducing_only"
    INSTRUMENT_MISMATCH = "instrument_mismatch"
    INSTRUMENT_RULES = "instrument_rules"
    REDUCE_ONLY_INCREASES_EXPOSURE = "reduce_only_increases_exposure"
    NO_REFERENCE = "no_reference"
    STALE_REFERENCE = "stale_reference"
    PRICE_BAND = "price_band"
    NO_CONVERSION_RATE = "no_conversion_rate"
    MAX_ORDER_NOTIONAL = "max_order_notional"
    MAX_ORDER_EQUITY_FRACTION = "max_order_equity_fraction"
    MAX_POSITION_NOTIONAL = "max_position_notional"
    MAX_GROSS_NOTIONAL = "max_gross_notional"
    MAX_OPEN_ORDERS = "max_open_orders"
    MAX_OPEN_POSITIONS = "max_open_positions"
    ORDER_RATE = "order_rate"
    INSUFFICIENT_BALANCE = "insufficient_balance"
    DAILY_LOSS_LIMIT = "daily_loss_limit"
    MAX_DRAWDOWN = "max_drawdown"


@attrs.frozen
class Denial:
    """One rule's refusal of an order: which rule, a stable reason code, and a message for humans."""

    rule: str
    reason_code: ReasonCode
    message: str


@attrs.frozen
class RiskDecision:
    """The verdict of a pre-trade check: approved exactly when no rule denied the order.

    `approved` is derived from `denials` rather than stored, so the two can never disagree.
    """

    denials: tuple[Denial, ...] = ()

    @property
    def approved(self) -> bool:
        """True when no rule denied the order."""
        return not self.denials

    @property
    def reason_codes(self) -> tuple[ReasonCode, ...]:
        """The distinct reason codes of the denials, in the order the rules ran."""
        # Several rules may cite the same cause (e.g. no_reference); a report counts it once.
        return tuple(dict.fromkeys(denial.reason_code for denial in self.denials))
