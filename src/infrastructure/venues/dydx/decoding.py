"""Decoding dYdX JSON into the wire structs: one error type, exact numbers, unknown fields found.

Every number is decoded exactly: JSON strings into `Decimal` by the structs, and bare JSON
numbers with a fraction or exponent into `Decimal` too (never `float`), because the generic
decoder runs with `float_hook=Decimal`. A frame is decoded in two steps, generic JSON first and
then `msgspec.convert` into the typed struct, so that between the two a walk guided by the
struct's type can:
- list the keys the structs do not declare (`Checked.unknown_fields`) before they are dropped:
  the venue adds fields without notice, and a new field in a fill is worth noticing even when it
  is safe to ignore;
- read the string "null" as null where the field is optional and not a string (a price, a
  timestamp): indexer payloads carry `"exitPrice": "null"`. The places are listed
  (`Checked.null_strings`) so the quirk stays visible.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Generic, TypeVar

import attrs
import msgspec
import msgspec.inspect as mi

T = TypeVar("T")

_GENERIC = msgspec.json.Decoder(float_hook=Decimal)


class DecodeError(Exception):
    """A frame or body is malformed: not JSON, or not the schema the venue documents."""


@attrs.frozen
class Checked(Generic[T]):
    """A decoded value and what the decoding noticed on the way."""

    value: T
    unknown_fields: frozenset[str] = frozenset()
    null_strings: frozenset[str] = frozenset()


def decode_json(data: str | bytes) -> Any:
    """Parse JSON text into dicts, lists, str, int, Decimal, bool and None; DecodeError if malformed."""
    try:
        return _GENERIC.decode(data)
    except (msgspec.MsgspecError, ValueError, RecursionError) as exc:
        # ValueError: a str holding lone surrogates cannot be encoded to UTF-8.
        # RecursionError: absurdly deep nesting; a hostile frame, never a venue one.
        raise DecodeError(f"not valid JSON: {exc}") from None


def convert(value: Any, target: type[T], path: str) -> Checked[T]:
    """Convert decoded JSON into `target` (mutating "null" strings); DecodeError if it does not fit."""
    walk = _Walk()
    walk.visit(value, _type_info(target), path)
    try:
        converted = msgspec.convert(value, target)
    except (msgspec.MsgspecError, ValueError, TypeError, ArithmeticError, RecursionError) as exc:
        raise DecodeError(f"{path}: {exc}") from None
    return Checked(converted, frozenset(walk.unknown), frozenset(walk.nulled))


def decode(data: str | bytes, target: type[T], path: str = "$") -> Checked[T]:
    """Parse JSON text and convert it into `target` (a REST body, say); DecodeError if malformed."""
    return convert(decode_json(data), target, path)


_TYPE_INFO: dict[Any, mi.Type] = {}
_STRUCT_FIELDS: dict[type, dict[str, mi.Type]] = {}


def _type_info(target: Any) -> mi.Type:
    info = _TYPE_INFO.get(target)
    if info is None:
        info = _TYPE_INFO[target] = mi.type_info(target)
    return info


def _struct_fields(info: mi.StructType) -> dict[str, mi.Type]:
    fields = _STRUCT_FIELDS.get(info.cls)
    if fields is None:
        fields = _STRUCT_FIELDS[info.cls] = {field.encode_name: field.type for field in info.fields}
    return fields


def _members(info: mi.Type) -> tuple[mi.Type, ...]:
    return info.types if isinstance(info, mi.UnionType) else (info,)


_HOLDS_STRUCT: dict[int, bool] = {}


def _holds_struct(info: mi.Type) -> bool:
    """True when a value of this type can contain a struct: only then is there anything to walk."""
    known = _HOLDS_STRUCT.get(id(info))
    if known is None:
        _HOLDS_STRUCT[id(info)] = False  # a recursive type is settled by its StructType member
        known = _HOLDS_STRUCT[id(info)] = any(_member_holds_struct(member) for member in _members(info))
    return known


def _member_holds_struct(info: mi.Type) -> bool:
    if isinstance(info, mi.StructType):
        return True
    if isinstance(info, (mi.ListType, mi.VarTupleType)):
        return _holds_struct(info.item_type)
    if isinstance(info, mi.TupleType):
        return any(_holds_struct(item) for item in info.item_types)
    if isinstance(info, mi.DictType):
        return _holds_struct(info.value_type)
    return False


def _null_string_means_null(info: mi.Type) -> bool:
    members = _members(info)
    nullable = any(isinstance(member, mi.NoneType) for member in members)
    return nullable and not any(isinstance(member, mi.StrType) for member in members)


class _Walk:
    """One walk over a generic value along a declared type; see the module docstring."""

    def __init__(self) -> None:
        self.unknown: set[str] = set()
        self.nulled: set[str] = set()

    def visit(self, value: Any, info: mi.Type, path: str) -> None:
        # Only containers that may hold a struct are walked: scalars and [price, size] pairs are not.
        if isinstance(value, dict):
            if _holds_struct(info):
                self._visit_object(value, info, path)
        elif isinstance(value, list) and _holds_struct(info):
            self._visit_array(value, info, path)

    def _visit_object(self, value: dict[str, Any], info: mi.Type, path: str) -> None:
        for member in _members(info):
            if isinstance(member, mi.StructType):
                fields = _struct_fields(member)
                for key, item in value.items():
                    field_info = fields.get(key)
                    if field_info is None:
                        self.unknown.add(f"{path}.{key}")
                    elif item == "null" and _null_string_means_null(field_info):
                        value[key] = None
                        self.nulled.add(f"{path}.{key}")
                    elif isinstance(item, (dict, list)):
                        self.visit(item, field_info, f"{path}.{key}")
                return
            if isinstance(member, mi.DictType):
                for item in value.values():
                    self.visit(item, member.value_type, f"{path}.*")
                return

    def _visit_array(self, value: list[Any], info: mi.Type, path: str) -> None:
        for member in _members(info):
            if isinstance(member, (mi.ListType, mi.VarTupleType)):
                item_info = member.item_type
                item_path = f"{path}[]"
                for item in value:
                    if isinstance(item, (dict, list)):
                        self.visit(item, item_info, item_path)
                return
            if isinstance(member, mi.TupleType):
                for item, item_info in zip(value, member.item_types, strict=False):
                    self.visit(item, item_info, f"{path}[]")
                return
