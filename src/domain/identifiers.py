"""Identifiers: client order ids valid on every venue, venue order ids, fill ids, strategy ids.

A client order id must suit both venues we trade: Coinbase takes any short string, dYdX v4 takes
an unsigned 32-bit integer (`clientId`). So the id *is* a uint32 number, written as a string of a
fixed form (`TK` + 8 upper-case hex digits) for venues that want text. The number is
`namespace << 24 | counter`: 256 namespaces (from the seed) of 16,777,216 orders each.
"""

from __future__ import annotations

import re

import attrs

from domain.errors import InvalidValueError

_CLIENT_ORDER_ID = re.compile(r"^TK([0-9A-F]{8})$")
_COUNTER_BITS = 24
_COUNTER_LIMIT = 1 << _COUNTER_BITS
_NAMESPACES = 256


def _non_empty(_inst: object, attribute: attrs.Attribute[str], value: str) -> None:
    if not value:
        raise InvalidValueError(f"{attribute.name} must not be empty")


@attrs.frozen(order=True)
class ClientOrderId:
    """Our id for an order, chosen before it is sent, so a retry can never duplicate it."""

    number: int = attrs.field()

    @number.validator
    def _check(self, _attribute: attrs.Attribute[int], value: int) -> None:
        if isinstance(value, bool) or not 0 <= value < 1 << 32:
            raise InvalidValueError(f"client order id number must be a uint32, got {value!r}")

    @property
    def value(self) -> str:
        """The text form sent to venues that take strings (Coinbase)."""
        return f"TK{self.number:08X}"

    def __str__(self) -> str:
        return self.value

    @classmethod
    def parse(cls, text: str) -> ClientOrderId:
        """Parse the text form; anything else is refused."""
        match = _CLIENT_ORDER_ID.match(text)
        if match is None:
            raise InvalidValueError(f"not a client order id: {text!r}")
        return cls(int(match.group(1), 16))


@attrs.define
class ClientOrderIdGenerator:
    """Issues unique client order ids deterministically from a seed (namespace) and a counter.

    The counter must be persisted (the journal records every id issued) so that a restart
    continues after the last id and never issues one twice.
    """

    seed: int
    next_counter: int = 0

    def __attrs_post_init__(self) -> None:
        if not 0 <= self.next_counter < _COUNTER_LIMIT:
            raise InvalidValueError(f"counter out of range: {self.next_counter}")

    @property
    def namespace(self) -> int:
        """The 8-bit namespace this generator's seed selects."""
        return self.seed % _NAMESPACES

    def next_id(self) -> ClientOrderId:
        """Return the next id; raises once the namespace's 2**24 ids are used up."""
        if self.next_counter >= _COUNTER_LIMIT:
            raise InvalidValueError(f"client order ids exhausted in namespace {self.namespace}")
        number = (self.namespace << _COUNTER_BITS) | self.next_counter
        self.next_counter += 1
        return ClientOrderId(number)


@attrs.frozen(order=True)
class VenueOrderId:
    """The venue's id for an order, known once the venue has accepted it."""

    value: str = attrs.field(validator=_non_empty)

    def __str__(self) -> str:
        return self.value


@attrs.frozen(order=True)
class FillId:
    """The venue's id for one fill (trade execution); duplicate fills share it."""

    value: str = attrs.field(validator=_non_empty)

    def __str__(self) -> str:
        return self.value


@attrs.frozen(order=True)
class StrategyId:
    """The name of a strategy instance, e.g. `mm-btc`."""

    value: str = attrs.field(validator=_non_empty)

    def __str__(self) -> str:
        return self.value
