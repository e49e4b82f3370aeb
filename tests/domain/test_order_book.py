"""The L2 order book: snapshots and level updates, top of book, exact derived prices, crossing, staleness."""

from __future__ import annotations

from decimal import Decimal, localcontext

import pytest

from domain.errors import DomainError, InvalidValueError
from domain.instrument import InstrumentId
from domain.market_data import BookSide, LevelChange, OrderBookUpdate
from domain.order_book import OrderBook
from domain.order_terms import OrderSide

BTC = InstrumentId("COINBASE", "BTC-USD")
ETH = InstrumentId("COINBASE", "ETH-USD")


def D(text: str) -> Decimal:
    return Decimal(text)


def levels(*pairs: tuple[str, str]) -> tuple[LevelChange, ...]:
    return tuple((D(price), D(size)) for price, size in pairs)


def snapshot(
    bids: tuple[LevelChange, ...] = (), asks: tuple[LevelChange, ...] = (), instrument: InstrumentId = BTC
) -> OrderBookUpdate:
    return OrderBookUpdate(instrument, True, bids, asks, 1)


def delta(
    bids: tuple[LevelChange, ...] = (), asks: tuple[LevelChange, ...] = (), instrument: InstrumentId = BTC
) -> OrderBookUpdate:
    return OrderBookUpdate(instrument, False, bids, asks, 2)


def book_with(bids: tuple[LevelChange, ...] = (), asks: tuple[LevelChange, ...] = ()) -> OrderBook:
    book = OrderBook(BTC)
    book.apply(snapshot(bids, asks))
    return book


@pytest.fixture
def book() -> OrderBook:
    """Bids 100.00 x 1, 99.50 x 2, 99.00 x 3; asks 100.50 x 1.5, 101.00 x 2.5, 102.00 x 4."""
    return book_with(
        levels(("99.00", "3"), ("100.00", "1"), ("99.50", "2")),
        levels(("100.50", "1.5"), ("102.00", "4"), ("101.00", "2.5")),
    )


# -- an empty book ----------------------------------------------------------------------------


def test_a_new_book_is_empty_without_snapshot_and_not_stale() -> None:
    book = OrderBook(BTC)
    assert book.instrument_id == BTC
    assert (book.has_snapshot, book.stale, book.stale_reason) == (False, False, None)
    assert (book.bid_level_count, book.ask_level_count, book.update_count) == (0, 0, 0)
    assert book.best_bid() is None
    assert book.best_ask() is None
    assert book.bids() == []
    assert book.asks(5) == []


@pytest.mark.parametrize(
    ("bids", "asks"),
    [((), ()), (levels(("100", "1")), ()), ((), levels(("101", "1")))],
    ids=["empty", "bids only", "asks only"],
)
def test_derived_prices_need_both_sides(bids: tuple[LevelChange, ...], asks: tuple[LevelChange, ...]) -> None:
    book = book_with(bids, asks)
    assert book.spread() is None
    assert book.mid() is None
    assert book.microprice() is None
    assert book.is_crossed() is False
    assert book.remove_crossed_levels(BookSide.BID) == 0
    assert book.remove_crossed_levels(BookSide.ASK) == 0


def test_an_empty_side_has_no_depth_and_no_vwap() -> None:
    book = OrderBook(BTC)
    assert book.depth_size(BookSide.BID, 5) == 0
    assert book.vwap(OrderSide.BUY, D("1")) is None
    assert book.vwap(OrderSide.SELL, D("1")) is None


# -- snapshots --------------------------------------------------------------------------------


def test_a_snapshot_fills_both_sides_best_first(book: OrderBook) -> None:
    assert book.has_snapshot
    assert book.bids() == list(levels(("100.00", "1"), ("99.50", "2"), ("99.00", "3")))
    assert book.asks() == list(levels(("100.50", "1.5"), ("101.00", "2.5"), ("102.00", "4")))
    assert book.best_bid() == (D("100.00"), D("1"))
    assert book.best_ask() == (D("100.50"), D("1.5"))
    assert (book.bid_level_count, book.ask_level_count, book.update_count) == (3, 3, 6)


def test_a_snapshot_replaces_the_whole_book(book: OrderBook) -> None:
    book.apply(snapshot(levels(("90", "7")), ()))
    assert book.bids() == [(D("90"), D("7"))]
    assert book.asks() == []
    assert book.update_count == 7


def test_a_snapshot_skips_zero_sizes_and_keeps_the_last_size_of_a_repeated_price() -> None:
    book = book_with(
        levels(("100", "1"), ("99", "0"), ("100.0", "5"), ("98", "2"), ("98", "0")),
        levels(("101", "1"), ("101", "3"), ("102", "0")),
    )
    assert book.bids() == [(D("100"), D("5"))]
    assert book.asks() == [(D("101"), D("3"))]


def test_the_snapshot_clears_the_stale_flag(book: OrderBook) -> None:
    book.mark_stale("gap")
    book.apply(snapshot(levels(("100", "1")), levels(("101", "1"))))
    assert (book.stale, book.stale_reason) == (False, None)


# -- level updates ----------------------------------------------------------------------------


def test_a_delta_inserts_changes_and_deletes_levels(book: OrderBook) -> None:
    book.apply(
        delta(
            levels(("100.25", "4"), ("99.50", "2.2"), ("99.00", "0")),
            levels(("100.50", "0"), ("100.75", "1"), ("103.00", "9")),
        )
    )
    assert book.bids() == list(levels(("100.25", "4"), ("100.00", "1"), ("99.50", "2.2")))
    assert book.asks() == list(levels(("100.75", "1"), ("101.00", "2.5"), ("102.00", "4"), ("103.00", "9")))
    assert book.update_count == 12


def test_deleting_an_absent_level_changes_nothing_but_counts(book: OrderBook) -> None:
    before = (book.bids(), book.asks())
    book.apply(delta(levels(("42", "0"), ("1000", "0")), levels(("1", "0"), ("100.75", "0"))))
    assert (book.bids(), book.asks()) == before
    assert book.update_count == 10


def test_changes_in_one_frame_apply_in_order(book: OrderBook) -> None:
    book.apply(delta(levels(("98", "1"), ("98", "0"), ("97", "0"), ("97", "2"), ("98", "3"))))
    assert book.bids(depth=None)[-2:] == list(levels(("98", "3"), ("97", "2")))


def test_a_delta_before_any_snapshot_is_applied_but_the_book_has_no_snapshot() -> None:
    book = OrderBook(BTC)
    book.apply(delta(levels(("100", "1")), levels(("101", "2"))))
    assert book.best_bid() == (D("100"), D("1"))
    assert book.best_ask() == (D("101"), D("2"))
    assert not book.has_snapshot


@pytest.mark.parametrize("side", ["bids", "asks"])
def test_the_same_price_written_differently_is_the_same_level(side: str) -> None:
    book = book_with(levels(("100.10", "1")), levels(("100.50", "1")))
    price = "100.1" if side == "bids" else "100.5000"
    first = "100.10" if side == "bids" else "100.50"

    def apply(size: str) -> None:
        change = levels((price, size))
        book.apply(delta(change, ()) if side == "bids" else delta((), change))

    def shown() -> list[tuple[Decimal, Decimal]]:
        return book.bids() if side == "bids" else book.asks()

    apply("7")
    assert shown() == [(D(first), D("7"))]
    assert str(shown()[0][0]) == first  # the text first seen is kept
    apply("0")
    assert shown() == []
    assert (book.bid_level_count, book.ask_level_count) == ((0, 1) if side == "bids" else (1, 0))


def test_an_update_for_another_instrument_is_refused_and_changes_nothing(book: OrderBook) -> None:
    before = (book.bids(), book.asks(), book.update_count)
    with pytest.raises(DomainError, match="ETH-USD"):
        book.apply(delta(levels(("100", "9")), (), instrument=ETH))
    with pytest.raises(DomainError):
        book.apply(snapshot((), (), instrument=ETH))
    assert (book.bids(), book.asks(), book.update_count) == before


def test_an_equal_but_distinct_instrument_id_is_accepted(book: OrderBook) -> None:
    book.apply(delta(levels(("100", "9")), (), instrument=InstrumentId("COINBASE", "BTC-USD")))
    assert book.best_bid() == (D("100"), D("9"))


@pytest.mark.parametrize("is_snapshot", [False, True], ids=["delta", "snapshot"])
@pytest.mark.parametrize("negative_side", ["bids", "asks"])
def test_a_negative_size_refuses_the_whole_frame(
    book: OrderBook, is_snapshot: bool, negative_side: str
) -> None:
    before = (book.bids(), book.asks(), book.update_count, book.has_snapshot)
    good = levels(("100", "5"), ("99.75", "1"))
    bad = levels(("100.50", "2"), ("101", "-0.1"))
    bids, asks = (bad, good) if negative_side == "bids" else (good, bad)
    with pytest.raises(InvalidValueError, match=r"negative .* size -0\.1 at price 101"):
        book.apply(OrderBookUpdate(BTC, is_snapshot, bids, asks, 3))
    assert (book.bids(), book.asks(), book.update_count, book.has_snapshot) == before


def test_a_negative_zero_size_is_a_delete(book: OrderBook) -> None:
    book.apply(delta(levels(("100.00", "-0")), ()))
    assert book.best_bid() == (D("99.50"), D("2"))


# -- staleness --------------------------------------------------------------------------------


def test_mark_stale_keeps_the_first_reason_until_a_snapshot(book: OrderBook) -> None:
    book.mark_stale("sequence gap 41 -> 43")
    book.mark_stale("silence")
    book.apply(delta(levels(("100", "2")), ()))
    assert (book.stale, book.stale_reason) == (True, "sequence gap 41 -> 43")
    assert book.best_bid() == (D("100"), D("2"))  # deltas still apply: the book mirrors the feed


# -- derived prices ---------------------------------------------------------------------------


def test_spread_and_mid_are_exact(book: OrderBook) -> None:
    assert book.spread() == D("0.50")
    assert book.mid() == D("100.25")
    tight = book_with(levels(("50000.01", "1")), levels(("50000.02", "1")))
    assert tight.spread() == D("0.01")
    assert tight.mid() == D("50000.015")


def test_derived_prices_ignore_the_callers_decimal_context() -> None:
    book = book_with(
        levels(("123456789012345678901234567890.01", "0.000000000000000000000000000001")),
        levels(("123456789012345678901234567890.02", "1")),
    )
    with localcontext() as context:
        context.prec = 3
        assert book.mid() == D("123456789012345678901234567890.015")
        assert book.spread() == D("0.01")
        assert book.depth_size(BookSide.BID, 1) == D("1E-30")
        assert book.vwap(OrderSide.BUY, D("1")) == D("123456789012345678901234567890.02")


def test_microprice_leans_toward_the_thinner_side() -> None:
    # bid 100 x 1, ask 101 x 3: (100 * 3 + 101 * 1) / (1 + 3) = 401 / 4 = 100.25; the ask is heavy,
    # so the fair price sits nearer the bid.
    book = book_with(levels(("100", "1")), levels(("101", "3")))
    assert book.microprice() == D("100.25")


def test_microprice_rounds_once_to_fifty_significant_digits() -> None:
    # (100 * 2 + 101 * 1) / 3 = 301 / 3 = 100.333...
    book = book_with(levels(("100", "1")), levels(("101", "2")))
    assert book.microprice() == D("100." + "3" * 47)


def test_microprice_of_equal_sizes_is_the_mid(book: OrderBook) -> None:
    book.apply(delta(levels(("100.00", "1.5")), ()))
    assert book.microprice() == book.mid() == D("100.25")


# -- depth and vwap ---------------------------------------------------------------------------


def test_top_n_and_depth_size(book: OrderBook) -> None:
    assert book.bids(2) == list(levels(("100.00", "1"), ("99.50", "2")))
    assert book.asks(1) == [(D("100.50"), D("1.5"))]
    assert book.bids(0) == []
    assert book.asks(10) == book.asks()
    assert book.depth_size(BookSide.BID, 2) == D("3")
    assert book.depth_size(BookSide.ASK, 3) == D("8.0")
    assert book.depth_size(BookSide.ASK, 99) == D("8.0")
    assert book.depth_size(BookSide.ASK, 0) == 0


@pytest.mark.parametrize("depth", [-1, -5])
def test_a_negative_depth_is_refused(book: OrderBook, depth: int) -> None:
    with pytest.raises(InvalidValueError, match="depth"):
        book.bids(depth)
    with pytest.raises(InvalidValueError, match="depth"):
        book.asks(depth)
    with pytest.raises(InvalidValueError, match="depth"):
        book.top(depth)
    with pytest.raises(InvalidValueError, match="levels"):
        book.depth_size(BookSide.BID, depth)


@pytest.mark.parametrize(
    ("side", "size", "expected"),
    [
        # Buying walks the asks: 1.5 @ 100.50 fills 1 entirely.
        (OrderSide.BUY, "1", "100.50"),
        # 1.5 @ 100.50 + 1.5 @ 101.00 = 302.25 for 3 -> 100.75 (stops inside the 101.00 level).
        (OrderSide.BUY, "3", "100.75"),
        # 1.5 @ 100.50 + 2.5 @ 101.00 = 403.25 for 4 -> 100.8125 (exactly the first two levels).
        (OrderSide.BUY, "4", "100.8125"),
        # All asks: 150.75 + 252.50 + 408 = 811.25 for 8 -> 101.40625.
        (OrderSide.BUY, "8", "101.40625"),
        # Selling walks the bids: 1 @ 100 + 2 @ 99.50 = 299 for 3 -> 99.666... (rounded once).
        (OrderSide.SELL, "3", "99." + "6" * 47 + "7"),
        # 1 @ 100 + 0.5 @ 99.50 = 149.75 for 1.5 -> 99.8333...
        (OrderSide.SELL, "1.5", "99.8" + "3" * 47),
    ],
)
def test_vwap_against_hand_computations(book: OrderBook, side: OrderSide, size: str, expected: str) -> None:
    assert book.vwap(side, D(size)) == D(expected)


def test_vwap_is_none_when_the_book_is_too_thin(book: OrderBook) -> None:
    assert book.vwap(OrderSide.BUY, D("8.00000001")) is None
    assert book.vwap(OrderSide.SELL, D("6.1")) is None
    assert book.vwap(OrderSide.SELL, D("6")) == D("99." + "3" * 48)  # 596 / 6, every bid


@pytest.mark.parametrize("size", ["0", "-1"])
def test_vwap_refuses_a_size_that_is_not_positive(book: OrderBook, size: str) -> None:
    with pytest.raises(InvalidValueError, match="positive"):
        book.vwap(OrderSide.BUY, D(size))


# -- crossing ---------------------------------------------------------------------------------


def test_a_locked_book_counts_as_crossed(book: OrderBook) -> None:
    assert not book.is_crossed()
    book.apply(delta(levels(("100.50", "1")), ()))
    assert book.is_crossed()
    assert book.spread() == 0


def test_remove_crossed_levels_keeping_bids_drops_asks_at_or_below_the_best_bid(book: OrderBook) -> None:
    book.apply(delta(levels(("101.00", "3")), ()))  # the bid side was just updated: asks are stale
    assert book.is_crossed()
    assert book.remove_crossed_levels(BookSide.BID) == 2  # 100.50 and 101.00
    assert book.asks() == [(D("102.00"), D("4"))]
    assert book.bids()[0] == (D("101.00"), D("3"))
    assert book.ask_level_count == 1
    assert not book.is_crossed()
    assert book.remove_crossed_levels(BookSide.BID) == 0


def test_remove_crossed_levels_keeping_asks_drops_bids_at_or_above_the_best_ask(book: OrderBook) -> None:
    book.apply(delta((), levels(("99.50", "5"))))  # the ask side was just updated: bids are stale
    assert book.remove_crossed_levels(BookSide.ASK) == 2  # 100.00 and 99.50
    assert book.bids() == [(D("99.00"), D("3"))]
    assert book.asks()[0] == (D("99.50"), D("5"))
    assert book.bid_level_count == 1
    assert not book.is_crossed()


def test_a_whole_side_can_be_removed_as_crossed(book: OrderBook) -> None:
    book.apply(delta((), levels(("98", "1"))))
    assert book.remove_crossed_levels(BookSide.ASK) == 3
    assert book.bids() == []
    assert book.best_bid() is None
    # The removed levels are really gone: re-adding one is an insert, not a size change.
    book.apply(delta(levels(("97", "2")), ()))
    assert book.bids() == [(D("97"), D("2"))]


def test_repr_names_the_instrument_and_the_top(book: OrderBook) -> None:
    text = repr(book)
    assert "BTC-USD.COINBASE" in text
    assert "100.00" in text
    assert "100.50" in text
