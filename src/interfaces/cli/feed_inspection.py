"""`feed inspect`: run a recorded feed through its venue's codec and books, and report.

The report is a plain dict (the JSON shape is documented in docs/feed-inspect.md); prices and
sizes are decimal strings, times are nanoseconds plus ISO 8601 UTC text.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from application.market_data_pipeline import MarketDataPipeline
from domain.market_data import FeedIssueKind
from domain.order_book import OrderBook
from infrastructure.recorded_feed import open_feed
from infrastructure.venues.market_data_codecs import market_data_for

REPORT_VERSION = 1
_NS_PER_S = 1_000_000_000


def iso_utc(ts_ns: int | None) -> str | None:
    """`ts_ns` as ISO 8601 UTC with nanoseconds, e.g. 2026-08-09T21:05:48.629007800Z."""
    if ts_ns is None:
        return None
    seconds, nanos = divmod(ts_ns, _NS_PER_S)
    moment = datetime.fromtimestamp(seconds, tz=UTC)
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{nanos:09d}Z"


def _seconds(ns: int) -> str:
    whole, nanos = divmod(ns, _NS_PER_S)
    return f"{whole}.{nanos:09d}"


def _book_report(book: OrderBook, depth: int) -> dict[str, Any]:
    return {
        "has_snapshot": book.has_snapshot,
        "stale": book.stale,
        "stale_reason": book.stale_reason,
        "crossed": book.is_crossed(),
        "bid_levels": book.bid_level_count,
        "ask_levels": book.ask_level_count,
        "bids": [[str(price), str(size)] for price, size in book.bids(depth)],
        "asks": [[str(price), str(size)] for price, size in book.asks(depth)],
    }


def inspect_feed(path: Path, depth: int = 5) -> dict[str, Any]:
    """Decode every frame of `path` and return the inspection report (raises FeedFileError)."""
    feed = open_feed(path)
    venue = market_data_for(feed.header.venue)
    pipeline = MarketDataPipeline(venue, resolve_crossing=venue.resolve_crossing)
    sent = 0
    for frame in feed.frames(include_sent=True):
        if frame.is_sent:
            sent += 1
            venue.on_sent(frame.text, frame.receive_ts_ns, frame.connection_id)
        else:
            pipeline.on_frame(frame.text, frame.receive_ts_ns, frame.connection_id)
    stats = pipeline.stats
    counts = venue.counts()
    issues = stats.issues
    last_ns = stats.last_ts_ns
    return {
        "report_version": REPORT_VERSION,
        "file": {
            "path": str(path),
            "format": feed.kind,
            "venue": venue.venue,
            "instruments": list(feed.header.instruments),
            "warnings": list(feed.warnings),
        },
        "frames": stats.frames,
        "frames_sent": sent,
        "decode_errors": counts.decode_errors,
        "channels": dict(sorted(counts.frames_by_channel.items())),
        "event_types": dict(sorted(counts.events_by_type.items())),
        "unknown_channels": dict(sorted(counts.unknown_channels.items())),
        "unknown_fields": dict(sorted(counts.unknown_fields.items())),
        "book_updates": stats.book_updates,
        "level_changes": stats.level_changes,
        "trades": stats.trades,
        "issues": {kind.value: issues[kind] for kind in FeedIssueKind},
        "gaps": issues[FeedIssueKind.GAP],
        "duplicates": issues[FeedIssueKind.DUPLICATE],
        "out_of_order": issues[FeedIssueKind.OUT_OF_ORDER],
        "crossed_books": {
            "after_frame": stats.crossed_after_frame,
            "resolved": stats.crossed_resolved,
        },
        "stale_intervals": [
            {
                "instrument": str(interval.instrument_id),
                "reason": interval.reason,
                "start_ns": interval.start_ns,
                "end_ns": interval.end_ns,
                "start": iso_utc(interval.start_ns),
                "end": iso_utc(interval.end_ns),
                "duration_s": _seconds(
                    (interval.end_ns if interval.end_ns is not None else last_ns or interval.start_ns)
                    - interval.start_ns
                ),
            }
            for interval in pipeline.stale_intervals
        ],
        "time": {
            "first_ns": stats.first_ts_ns,
            "last_ns": last_ns,
            "first": iso_utc(stats.first_ts_ns),
            "last": iso_utc(last_ns),
            "duration_s": _seconds((last_ns or 0) - (stats.first_ts_ns or 0)),
        },
        "books": {
            str(instrument_id): _book_report(book, depth)
            for instrument_id, book in sorted(pipeline.books.items(), key=lambda item: str(item[0]))
        },
    }


def render_text(report: dict[str, Any]) -> str:
    """The report as a short human-readable summary."""
    lines = [
        f"file        {report['file']['path']} ({report['file']['format']}, {report['file']['venue']})",
        f"time        {report['time']['first']} .. {report['time']['last']} "
        f"({report['time']['duration_s']} s)",
        f"frames      {report['frames']} received, {report['frames_sent']} sent, "
        f"{report['decode_errors']} decode errors",
        f"books       {report['book_updates']} updates, {report['level_changes']} level changes, "
        f"{report['trades']} trades",
        f"sequence    {report['gaps']} gaps, {report['duplicates']} duplicates, "
        f"{report['out_of_order']} out of order",
        f"crossed     {report['crossed_books']['after_frame']} after a frame, "
        f"{report['crossed_books']['resolved']} resolved",
        f"stale       {len(report['stale_intervals'])} intervals",
    ]
    for warning in report["file"]["warnings"]:
        lines.append(f"warning     {warning}")
    lines.append("channels")
    lines.extend(f"  {name:<28} {count}" for name, count in report["channels"].items())
    lines.append("event types")
    lines.extend(f"  {name:<28} {count}" for name, count in report["event_types"].items())
    if report["unknown_channels"] or report["unknown_fields"]:
        lines.append("unknown")
        lines.extend(f"  channel {name:<20} {count}" for name, count in report["unknown_channels"].items())
        lines.extend(f"  field {name:<22} {count}" for name, count in report["unknown_fields"].items())
    for interval in report["stale_intervals"]:
        lines.append(
            f"  stale {interval['instrument']} from {interval['start']} to {interval['end'] or 'the end'}"
            f" ({interval['reason']})"
        )
    for instrument, book in report["books"].items():
        state = "STALE" if book["stale"] else ("no snapshot" if not book["has_snapshot"] else "ok")
        lines.append(f"book {instrument} [{state}] {book['bid_levels']} bids / {book['ask_levels']} asks")
        asks = list(reversed(book["asks"]))
        lines.extend(f"  ask {price:>18} {size:>18}" for price, size in asks)
        lines.extend(f"  bid {price:>18} {size:>18}" for price, size in book["bids"])
    return "\n".join(lines)
