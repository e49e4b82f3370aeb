"""The dYdX crossed-book rule: after a whole frame, drop the stale side's crossing levels.

The indexer's book can cross (best bid >= best ask) and stay crossed for a while: there is no
central book, each block proposer's mempool is the book of its block, and order removals reach
the indexer late or not at all (docs.dydx.exchange, "How to uncross the orderbook"). The venue's
guide resolves a cross with the order of messages as a logical clock: of the two crossing
levels, the one written by the older message is stale and goes; when both come from the same
message, their sizes are netted (the smaller level goes).

The rule here, applied by the market-data pipeline after a whole frame when the book is crossed
(`DydxCrossingResolver` is its `CrossingResolver`):
1. A level changed by the frame is newer than every level it did not change. The book was not
   crossed before the frame (this rule ran after the previous one), so the cross involves a level
   the frame changed.
2. If the frame changed the best bid but not the best ask, the asks are stale: every ask at or
   below the best bid is dropped (`OrderBook.remove_crossed_levels(keep=BID)`); and conversely.
   Frames from the indexer's channel_data touch one side, so this is the common case.
3. If the frame changed both best levels (a crossed snapshot, or a batch touching both tops: a
   batch is one update and does not keep the order between its bid and ask changes), neither
   side is older. Following the guide's same-message rule, the side whose best level is larger
   is kept and the other side's crossing levels are dropped; with equal sizes both best levels
   go, as a match would empty both. Unlike the guide, the kept level is not reduced by the
   dropped size: its next update corrects it.
4. If the frame changed neither best level (the book was crossed before the frame: the rule did
   not run, or a tie left deeper levels crossed), rule 3 applies.
5. The rule repeats until the book is not crossed (only equal sizes can leave it crossed).
Each resolution is counted and reported as a FeedIssue(CROSSED_BOOK); the book is left uncrossed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from decimal import Decimal

import attrs

from domain.market_data import BookSide, FeedIssue, FeedIssueKind, OrderBookUpdate
from domain.order_book import OrderBook


@attrs.define
class CrossingStats:
    """How often the rule ran, which branch decided, and how many levels it dropped."""

    resolutions: int = 0
    levels_removed: int = 0
    by_rule: Counter[str] = attrs.Factory(Counter)  # "stale_asks", "stale_bids", "larger_bid", ...


class DydxCrossingResolver:
    """Resolves a crossed dYdX book after a whole frame (see the module docstring for the rule)."""

    def __init__(self) -> None:
        self.stats = CrossingStats()

    def __call__(self, book: OrderBook, updates: Sequence[OrderBookUpdate]) -> FeedIssue | None:
        """Uncross `book` after a frame (`updates`: its updates of the book); the issue, or None."""
        best_bid, best_ask = book.best_bid(), book.best_ask()
        if best_bid is None or best_ask is None or best_bid[0] < best_ask[0]:
            return None
        crossed = f"best bid {best_bid[0]} x {best_bid[1]} >= best ask {best_ask[0]} x {best_ask[1]}"
        # Compared by value: a set of Decimals finds 100.10 for 100.1.
        changed_bids = {price for update in updates for price, _ in update.bids}
        changed_asks = {price for update in updates for price, _ in update.asks}
        ts_ns = max((update.ts_ns for update in updates), default=0)
        removed = 0
        rules: list[str] = []
        while best_bid is not None and best_ask is not None and best_bid[0] >= best_ask[0]:
            rule, keep = _decide(best_bid, best_ask, best_bid[0] in changed_bids, best_ask[0] in changed_asks)
            if keep is None:
                # Equal sizes written by the same frame: a match would empty both levels.
                both = OrderBookUpdate(
                    book.instrument_id, False, ((best_bid[0], _ZERO),), ((best_ask[0], _ZERO),), ts_ns
                )
                book.apply(both)
                removed += 2
            else:
                removed += book.remove_crossed_levels(keep)
            rules.append(rule)
            best_bid, best_ask = book.best_bid(), book.best_ask()
        self.stats.resolutions += 1
        self.stats.levels_removed += removed
        self.stats.by_rule.update(rules)
        return FeedIssue(
            kind=FeedIssueKind.CROSSED_BOOK,
            stream=str(book.instrument_id),
            detail=f"crossed after the frame: {crossed}; rule {', '.join(rules)}: {removed} level(s) dropped",
            ts_ns=ts_ns,
            instrument_ids=(book.instrument_id,),
        )


_ZERO = Decimal(0)
_Level = tuple[Decimal, Decimal]


def _decide(bid: _Level, ask: _Level, bid_changed: bool, ask_changed: bool) -> tuple[str, BookSide | None]:
    """Which side to keep: the one the frame changed, else the larger; None when both go."""
    if bid_changed and not ask_changed:
        return "stale_asks", BookSide.BID
    if ask_changed and not bid_changed:
        return "stale_bids", BookSide.ASK
    if bid[1] > ask[1]:
        return "larger_bid", BookSide.BID
    if ask[1] > bid[1]:
        return "larger_ask", BookSide.ASK
    return "equal_sizes", None
