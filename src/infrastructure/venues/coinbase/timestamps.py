"""Coinbase RFC 3339 timestamps to integer nanoseconds since the Unix epoch (UTC), exactly.

Coinbase writes times like `2026-08-09T21:05:48.483587501Z` (nanoseconds in the frame envelope)
or `2026-08-09T21:05:38.50436Z` (trailing zeros dropped in event times). `datetime` keeps only
microseconds, so the text is parsed here: a compiled pattern, with the epoch day of each date
cached (a feed rarely spans more than a few dates).
"""

from __future__ import annotations

import datetime
import re

_NS_PER_S = 1_000_000_000
_SECONDS_PER_DAY = 86_400
_EPOCH_ORDINAL = datetime.date(1970, 1, 1).toordinal()
_MAX_CACHED_DAYS = 4096

_RFC3339 = re.compile(
    r"([0-9]{4}-[0-9]{2}-[0-9]{2})[Tt ]([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]+))?"
    r"(?:[Zz]|([+-])([0-9]{2}):([0-9]{2}))",
    re.ASCII,
)

_MAX_CACHED_SECONDS = 65_536

_day_seconds: dict[str, int] = {}
_second_cache: dict[str, int] = {}  # "YYYY-MM-DDTHH:MM:SS" (a UTC time) -> epoch seconds


class TimestampError(ValueError):
    """A text is not an RFC 3339 timestamp."""


def _epoch_seconds_of_day(date_text: str) -> int:
    cached = _day_seconds.get(date_text)
    if cached is not None:
        return cached
    try:
        day = datetime.date.fromisoformat(date_text)
    except ValueError:
        raise TimestampError(f"not a calendar date: {date_text!r}") from None
    seconds = (day.toordinal() - _EPOCH_ORDINAL) * _SECONDS_PER_DAY
    if len(_day_seconds) >= _MAX_CACHED_DAYS:
        _day_seconds.clear()
    _day_seconds[date_text] = seconds
    return seconds


def parse_timestamp_ns(text: str) -> int:
    """Nanoseconds since the epoch of an RFC 3339 time; digits past the ninth are truncated.

    Raises TimestampError when `text` is not a valid RFC 3339 date and time with a zone. Fast
    path: a UTC ("Z") time whose date and time of day (the first 19 characters) were seen before
    costs a dict lookup and one int() of the fraction.
    """
    seconds = _second_cache.get(text[:19])
    if seconds is not None and text[-1] == "Z":
        fraction = text[19:-1]
        if not fraction:
            return seconds * _NS_PER_S
        digits = fraction[1:]
        if fraction[0] == "." and digits.isdigit() and digits.isascii():
            return seconds * _NS_PER_S + int(digits[:9].ljust(9, "0"))
    return _parse_slow(text)


def _parse_slow(text: str) -> int:
    match = _RFC3339.fullmatch(text)
    if match is None:
        raise TimestampError(f"not an RFC 3339 timestamp: {text!r}")
    date_text, hour, minute, second, fraction, sign, offset_hours, offset_minutes = match.groups()
    hours, minutes, seconds = int(hour), int(minute), int(second)
    if hours > 23 or minutes > 59 or seconds > 60:
        raise TimestampError(f"time of day out of range: {text!r}")
    total = _epoch_seconds_of_day(date_text) + hours * 3600 + minutes * 60 + seconds
    if sign is None:
        if len(_second_cache) >= _MAX_CACHED_SECONDS:
            _second_cache.clear()
        _second_cache[text[:19]] = total
    else:
        offset = int(offset_hours) * 3600 + int(offset_minutes) * 60
        total += -offset if sign == "+" else offset
    nanos = int(fraction[:9].ljust(9, "0")) if fraction else 0
    return total * _NS_PER_S + nanos
