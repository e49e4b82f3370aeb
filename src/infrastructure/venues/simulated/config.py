"""The simulated venue's settings: name, fees, latencies, seed, starting balances.

Everything is exact and deterministic: fees are Decimal basis points, latencies are integer
nanoseconds, and the only randomness (latency jitter) is drawn from `random.Random(seed)`.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

import attrs

from domain.currency import check_currency
from domain.errors import InvalidValueError
from domain.numbers import to_decimal

#: Starting balances as (currency, amount) pairs, sorted by currency: hashable and JSON-friendly.
Balances = tuple[tuple[str, Decimal], ...]


def _to_balances(value: Mapping[str, Decimal | int | str] | Balances) -> Balances:
    items = value.items() if isinstance(value, Mapping) else value
    balances: dict[str, Decimal] = {}
    for currency, amount in items:
        code = check_currency(currency)
        if code in balances:
            raise InvalidValueError(f"starting balance for {code} given twice")
        balances[code] = to_decimal(amount)
    return tuple(sorted(balances.items()))


def _non_negative_ns(_inst: object, attribute: attrs.Attribute[int], value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidValueError(f"{attribute.name} must be non-negative int nanoseconds, got {value!r}")


def _non_empty(_inst: object, attribute: attrs.Attribute[str], value: str) -> None:
    if not value or value != value.strip():
        raise InvalidValueError(f"{attribute.name} must be a non-empty trimmed string, got {value!r}")


def _int_seed(_inst: object, attribute: attrs.Attribute[int], value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidValueError(f"{attribute.name} must be an int, got {value!r}")


@attrs.frozen
class SimulatedVenueConfig:
    """How the simulated venue behaves.

    - `venue`: the gateway's venue name; also the prefix of its ids (`SIM-1`, `SIM-F-1`).
    - `maker_fee_bps`, `taker_fee_bps`: fees in basis points of the fill's notional, charged in
      the instrument's quote currency; a negative maker fee is a rebate.
    - `latency_ns`: kernel -> venue, added to every request (submit, cancel, cancel all).
    - `report_latency_ns`: venue -> kernel, added to every report.
    - `latency_jitter_ns`: each request and each report adds a further `randint(0, jitter)`
      drawn from `random.Random(seed)` (nothing is drawn when it is 0).
    - `starting_balances`: the cash ledger at start, per currency.
    - `quote_currency`: the venue settles in one currency; every instrument it trades must be
      quoted in it (checked when the venue is built).
    """

    venue: str = attrs.field(default="SIM", validator=_non_empty)
    maker_fee_bps: Decimal = attrs.field(default=Decimal(0), converter=to_decimal)
    taker_fee_bps: Decimal = attrs.field(default=Decimal(0), converter=to_decimal)
    latency_ns: int = attrs.field(default=0, validator=_non_negative_ns)
    report_latency_ns: int = attrs.field(default=0, validator=_non_negative_ns)
    latency_jitter_ns: int = attrs.field(default=0, validator=_non_negative_ns)
    seed: int = attrs.field(default=0, validator=_int_seed)
    starting_balances: Balances = attrs.field(factory=tuple, converter=_to_balances)
    quote_currency: str = attrs.field(default="USD", validator=_non_empty)

    def starting_balance_map(self) -> dict[str, Decimal]:
        """The starting balances as a fresh dict."""
        return dict(self.starting_balances)
