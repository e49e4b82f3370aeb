"""Exposure on one instrument: the position plus resting orders, and its worst case.

Risk is judged on the worst case, not on the position alone: resting orders may fill at any
moment, so a buy is judged as if every resting buy on the instrument had filled as well.
"""

from __future__ import annotations

from decimal import Decimal

import attrs

from domain.errors import InvalidValueError
from domain.numbers import ZERO, to_decimal
from domain.order_terms import OrderSide


@attrs.frozen
class Exposure:
    """A signed position (+ long, - short) and the remaining quantity of resting buys and sells.

    All quantities are in base units. `open_buy` and `open_sell` are sums of the unfilled
    quantities of the instrument's open orders on each side, never negative.
    """

    position: Decimal = attrs.field(default=ZERO, converter=to_decimal)
    open_buy: Decimal = attrs.field(default=ZERO, converter=to_decimal)
    open_sell: Decimal = attrs.field(default=ZERO, converter=to_decimal)

    def __attrs_post_init__(self) -> None:
        if self.open_buy < 0 or self.open_sell < 0:
            raise InvalidValueError(f"open order quantities must not be negative: {self}")

    @property
    def is_exposed(self) -> bool:
        """True when there is a position or a resting order that could open one."""
        return self.position != 0 or self.open_buy > 0 or self.open_sell > 0

    def extreme(self, side: OrderSide) -> Decimal:
        """The position if every resting order on `side` filled (signed)."""
        same_side = self.open_buy if side is OrderSide.BUY else self.open_sell
        return self.position + side.sign * same_side

    def extreme_after(self, side: OrderSide, quantity: Decimal) -> Decimal:
        """The position if a new order of `quantity` and every resting order on `side` filled."""
        return self.extreme(side) + side.sign * quantity

    def worst_case(self) -> Decimal:
        """The largest |position| any combination of resting fills can reach."""
        return max(abs(self.extreme(OrderSide.BUY)), abs(self.extreme(OrderSide.SELL)))

    def worst_case_after(self, side: OrderSide, quantity: Decimal) -> Decimal:
        """The largest |position| reachable once a new order of `quantity` on `side` is added."""
        other = abs(self.extreme(side.opposite))
        return max(abs(self.extreme_after(side, quantity)), other)

    def reduces(self, side: OrderSide, quantity: Decimal) -> bool:
        """True when the order can only bring |position| toward zero, never past it.

        Judged in the worst case: even if the order and every resting order on its side filled,
        the position stays on its current side of zero (or reaches zero). So a sell of 5 against
        a long of 10 with 8 already offered does not reduce: together they could flip it short.
        A flat instrument cannot be reduced.
        """
        # For a buy: position + open_buy + quantity <= 0; for a sell: the mirror image.
        return self.extreme_after(side, quantity) * side.sign <= 0
