"""Coinbase RFC 3339 timestamps parse to exact integer nanoseconds."""

from __future__ import annotations

import datetime

import pytest

from infrastructure.venues.coinbase import timestamps
from infrastructure.venues.coinbase.timestamps import TimestampError, parse_timestamp_ns

BASE_S = int(datetime.datetime(2026, 8, 9, 21, 5, 48, tzinfo=datetime.UTC).timestamp())


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-08-09T21:05:48.483587501Z", BASE_S * 10**9 + 483_587_501),
        ("2026-08-09T21:05:48.50436Z", BASE_S * 10**9 + 504_360_000),
        ("2026-08-09T21:05:48Z", BASE_S * 10**9),
        ("2026-08-09T21:05:48.1234567891Z", BASE_S * 10**9 + 123_456_789),  # truncated past ns
        ("2026-08-09t21:05:48.5z", BASE_S * 10**9 + 500_000_000),
        ("2026-08-09 21:05:48.5Z", BASE_S * 10**9 + 500_000_000),
        ("2026-08-09T22:05:48.5+01:00", BASE_S * 10**9 + 500_000_000),
        ("2026-08-09T20:35:48-00:30", BASE_S * 10**9),
        ("1970-01-01T00:00:00Z", 0),
    ],
)
def test_parse(text: str, expected: int) -> None:
    assert parse_timestamp_ns(text) == expected
    assert parse_timestamp_ns(text) == expected  # the cached fast path agrees


@pytest.mark.parametrize(
    "text",
    [
        "",
        "x",
        "2026-08-09T21:05:48",  # no zone
        "2026-08-09T21:05:48.Z",
        "2026-08-09T21:05:48.+1Z",
        "2026-08-09T21:05:48.\u0661Z",  # a non-ASCII digit
        "2026-08-09T21:05:48.5Zjunk",
        "2026-02-30T21:05:48Z",
        "2026-08-09T24:00:00Z",
        "2026-08-09T23:60:00Z",
        "2026-08-09T23:59:61Z",
        "\u0662026-08-09T21:05:48Z",
    ],
)
def test_refused(text: str) -> None:
    parse_timestamp_ns("2026-08-09T21:05:48Z")  # warm the cache of this second
    with pytest.raises(TimestampError):
        parse_timestamp_ns(text)


def test_caches_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(timestamps, "_MAX_CACHED_DAYS", 1)
    monkeypatch.setattr(timestamps, "_MAX_CACHED_SECONDS", 1)
    monkeypatch.setattr(timestamps, "_day_seconds", {})
    monkeypatch.setattr(timestamps, "_second_cache", {})
    assert parse_timestamp_ns("1970-01-02T00:00:01Z") == 86_401 * 10**9
    assert parse_timestamp_ns("1970-01-03T00:00:01Z") == 172_801 * 10**9
    assert parse_timestamp_ns("1970-01-02T00:00:01.5Z") == 86_401 * 10**9 + 500_000_000
    assert len(timestamps._day_seconds) == 1
    assert len(timestamps._second_cache) == 1
