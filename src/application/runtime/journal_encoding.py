"""Canonical bytes for journal records, and the journal's sha256: the fingerprint of a run.

Two runs made the same decisions exactly when their journals encode to the same bytes. The
encoding is JSON with sorted keys and no insignificant whitespace (UTF-8, non-ASCII kept as is):

- a record is `{"event": ..., "seq": n, "stream": "...", "ts_ns": n}`;
- `None`, `bool`, `int` and `str` are themselves; a `Decimal` is its exact text (`str()`, so
  "100.10" and "100.1" differ: the text is what the venue sent); a `float` is refused
  (`NonCanonicalValueError`): nothing inexact may reach a journal;
- an enum is its value; bytes are lower-case hex;
- an attrs instance is `{"type": class name, <field>: value, ...}` over the fields its
  constructor takes (so the `Order` aggregate is journaled by its terms, not its mutable state);
- a tuple or list is a JSON array; a mapping is an object whose keys are strings as they are,
  or the canonical text of any other key (an `InstrumentId` key becomes its encoded object's
  text); a set or frozenset is an array sorted by the items' canonical text.

The journal sha256 is sha256 over the records' canonical bytes joined by b"\\n" (no trailing
newline): `journal_sha256(journal.read())`.
"""

from __future__ import annotations

import enum
import hashlib
import json
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import cast

import attrs

from application.ports.event_journal import JournalRecord


class NonCanonicalValueError(TypeError):
    """A value that has no canonical encoding (a float, or an unknown type)."""


def encode_value(value: object) -> object:
    """The JSON-ready canonical form of `value` (see the module doc)."""
    cls = type(value)
    # Exact types first (every record is encoded as it is journaled), then the types seen before
    # (attrs classes, enums); anything else, such as a StrEnum (a str), takes `_encode_other`.
    if cls is str or cls is int or cls is bool or value is None:
        return value
    if cls is Decimal:
        return str(value)
    fields = _ATTRS_FIELDS.get(cls)
    if fields is not None:
        encoded: dict[str, object] = {"type": cls.__name__}
        for key, name in fields:
            encoded[key] = encode_value(getattr(value, name))
        return encoded
    if cls is dict:
        return {
            key if type(key) is str else _key(key): encode_value(item)
            for key, item in cast("dict[object, object]", value).items()
        }
    if cls is tuple or cls is list:
        return [encode_value(item) for item in cast("tuple[object, ...]", value)]
    if cls in _ENUMS:
        return encode_value(cast("enum.Enum", value).value)
    return _encode_other(value)


def _encode_other(value: object) -> object:
    cls = type(value)
    if isinstance(value, enum.Enum):  # before str and int: a StrEnum is its value, not the member
        _ENUMS.add(cls)
        return encode_value(value.value)
    if isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, float):
        raise NonCanonicalValueError(f"a float cannot be journaled exactly: {value!r}")
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).hex()
    if attrs.has(cls):
        _ATTRS_FIELDS[cls] = _constructor_fields(cls)
        return encode_value(value)
    if isinstance(value, (tuple, list)):
        return [encode_value(item) for item in value]
    if isinstance(value, Mapping):
        return {_key(key): encode_value(item) for key, item in value.items()}
    if isinstance(value, (set, frozenset)):
        return sorted((encode_value(item) for item in value), key=_text)
    raise NonCanonicalValueError(f"no canonical encoding for {type(value).__name__}: {value!r}")


#: Enum classes seen (their members encode as their values).
_ENUMS: set[type] = set()


#: Per attrs class: (key, attribute) of the fields its constructor takes, computed once per class.
_ATTRS_FIELDS: dict[type, tuple[tuple[str, str], ...]] = {}


def _constructor_fields(cls: type) -> tuple[tuple[str, str], ...]:
    # constructor fields only: an aggregate's mutable state is not its identity
    return tuple((field.alias or field.name, field.name) for field in attrs.fields(cls) if field.init)


#: One encoder for every text (json.dumps with arguments builds a new one per call).
_JSON = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _text(encoded: object) -> str:
    return _JSON.encode(encoded)


def _key(key: object) -> str:
    if isinstance(key, str):
        return key
    return _text(encode_value(key))


def canonical_bytes(record: JournalRecord) -> bytes:
    """The canonical bytes of one journal record."""
    encoded = {
        "seq": record.sequence,
        "ts_ns": record.ts_ns,
        "stream": record.stream_id,
        "event": encode_value(record.event),
    }
    return _text(encoded).encode("utf-8")


class JournalHasher:
    """sha256 over records' canonical bytes joined by newlines, fed one record at a time."""

    def __init__(self) -> None:
        self._sha = hashlib.sha256()
        self.records = 0

    def update(self, record: JournalRecord) -> None:
        """Add the next record."""
        if self.records:
            self._sha.update(b"\n")
        self._sha.update(canonical_bytes(record))
        self.records += 1

    def hexdigest(self) -> str:
        """The sha256 of everything added so far, as hex."""
        return self._sha.hexdigest()


def journal_sha256(records: Iterable[JournalRecord]) -> str:
    """The journal's fingerprint: sha256 of its records' canonical bytes joined by b"\\n"."""
    hasher = JournalHasher()
    for record in records:
        hasher.update(record)
    return hasher.hexdigest()
