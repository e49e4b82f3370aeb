"""Journal payloads read back: the inverse of the canonical encoding (`journal_encoding`).

A durable journal stores each event as `encode_event_text(event)` beside `PAYLOAD_SCHEMA_VERSION`
and rebuilds it with `decode_event_text(text)`. Decoding is directed by types: an encoded attrs
value names its class (`"type"`), the class is looked up in `EVENT_TYPES` (every attrs class
defined in the `domain` and `application` packages, by name), and each constructor field is
decoded by the field's resolved annotation:

- `Decimal` from its exact text (so "100.10" stays "100.10"), `int`, `str`, `bool`, `None`;
- an enum by its value; `bytes` from hex;
- `X | None` and unions (an attrs member is chosen by the `"type"` tag, others in order);
- `tuple[X, ...]`, `tuple[X, Y]`, `list[X]`, `Sequence[X]` (as a tuple), `set`/`frozenset`;
- `Mapping[K, V]`/`dict[K, V]`: `str` keys as they are, any other key from its canonical text;
- `object`/`Any` by shape: an object whose `"type"` names a known class is that class's value,
  anything else is plain JSON (objects, arrays, strings, integers, booleans, null).

The instance is built through its class's constructor (by field alias for private fields), so
converters and validators run as they do for any new value. A constructor field missing from
the payload takes its default if it has one. Anything that does not fit raises
`UndecodableEventError` naming the class and field. A float is never accepted.
"""

from __future__ import annotations

import collections.abc
import enum
import importlib
import json
import pkgutil
import types
import typing
from collections.abc import Iterable, Iterator, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any, cast

import attrs

import application
import domain
from application.runtime.journal_encoding import _text, encode_value

PAYLOAD_SCHEMA_VERSION: int = 1
"""The version of the payload encoding, stored beside every payload."""


class UndecodableEventError(ValueError):
    """A payload that does not decode to an event (unknown type, missing field, wrong value)."""


def encode_event_text(event: object) -> str:
    """The canonical JSON text of `event` (what `decode_event_text` reads back)."""
    return _text(encode_value(event))


def _attrs_classes(packages: Iterable[types.ModuleType]) -> dict[str, type]:
    found: dict[str, type] = {}
    for package in packages:
        modules = [package]
        for info in pkgutil.walk_packages(package.__path__, prefix=f"{package.__name__}."):
            modules.append(importlib.import_module(info.name))
        for module in modules:
            for value in vars(module).values():
                if not (isinstance(value, type) and attrs.has(value) and value.__module__ == module.__name__):
                    continue
                known = found.setdefault(value.__name__, value)
                if known is not value:
                    raise ImportError(
                        f"two journaled attrs classes are named {value.__name__}: "
                        f"{known.__module__}.{known.__qualname__} and {module.__name__}.{value.__qualname__}"
                    )
    return found


class _Registry(Mapping[str, type]):
    """The attrs classes of `domain` and `application` by name, collected on first use.

    Collected lazily, not at import: modules of `application` import this one, and a walk run while
    one of them is half-initialized would miss its classes (or fail on a circular import)."""

    def __init__(self) -> None:
        self._classes: dict[str, type] | None = None

    def _all(self) -> dict[str, type]:
        if self._classes is None:
            self._classes = _attrs_classes([domain, application])
        return self._classes

    def __getitem__(self, name: str) -> type:
        return self._all()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._all())

    def __len__(self) -> int:
        return len(self._all())


EVENT_TYPES: Mapping[str, type] = _Registry()
"""Every attrs class defined in `domain` and `application`, by class name (two classes of one name
raise ImportError when the registry is first used)."""


def decode_event_text(text: str, *, registry: Mapping[str, type] = EVENT_TYPES) -> object:
    """The event whose canonical text is `text` (raises UndecodableEventError)."""
    try:
        encoded = json.loads(text, parse_float=_no_float, parse_constant=_no_float)
    except UndecodableEventError:
        raise
    except ValueError as error:
        raise UndecodableEventError(f"payload is not JSON: {error}") from None
    return decode_event(encoded, registry=registry)


def decode_event(encoded: object, *, registry: Mapping[str, type] = EVENT_TYPES) -> object:
    """The event whose canonical form (`encode_value`) is `encoded` (raises UndecodableEventError).

    `registry`: the attrs classes by name (an outer layer may extend `EVENT_TYPES`)."""
    decoder = _Decoder(registry)
    if isinstance(encoded, dict) and "type" in encoded:
        tag = encoded["type"]
        cls = registry.get(tag) if isinstance(tag, str) else None
        if cls is None:
            raise UndecodableEventError(f"unknown event type {tag!r}")
        return decoder.decode(encoded, cls, "event")
    return decoder.decode(encoded, object, "event")


def _no_float(text: str) -> object:
    raise UndecodableEventError(f"a float cannot be decoded exactly: {text}")


_MISSING = object()
_HINTS: dict[type, dict[str, Any]] = {}
#: Per attrs class: (constructor key, type hint, required, where) for each init field, and the keys.
_FIELDS: dict[type, tuple[tuple[tuple[str, Any, bool, str], ...], frozenset[str]]] = {}
#: Leaf types decoded by a direct check (the hot path: most values are str, int, Decimal, enums).
_SCALARS = (str, int, bool)


def _hints(cls: type) -> dict[str, Any]:
    hints = _HINTS.get(cls)
    if hints is None:
        try:
            hints = typing.get_type_hints(cls)
        except Exception as error:  # a NameError or TypeError from an annotation
            raise UndecodableEventError(f"{cls.__name__}: its annotations do not resolve: {error}") from None
        _HINTS[cls] = hints
    return hints


def _fields(cls: type) -> tuple[tuple[tuple[str, Any, bool, str], ...], frozenset[str]]:
    cached = _FIELDS.get(cls)
    if cached is None:
        hints = _hints(cls)
        fields = tuple(
            (
                field.alias or field.name,
                hints.get(field.name, field.type),
                field.default is attrs.NOTHING,
                f"{cls.__name__}.{field.alias or field.name}",
            )
            for field in attrs.fields(cls)
            if field.init
        )
        cached = (fields, frozenset({"type", *(key for key, _, _, _ in fields)}))
        _FIELDS[cls] = cached
    return cached


class _Decoder:
    def __init__(self, registry: Mapping[str, type]) -> None:
        self._registry = registry

    def decode(self, value: object, tp: Any, where: str) -> object:
        if tp in _SCALARS and type(value) is tp:  # the hot path (bool is not an int here)
            return value
        if tp is Decimal and type(value) is str:
            try:
                return Decimal(value)
            except InvalidOperation:
                raise UndecodableEventError(f"{where}: {value!r} is not a decimal") from None
        tp = _unwrap(tp)
        if tp is Any or tp is object:
            return self._by_shape(value, where)
        if tp is None or tp is type(None):
            return self._expect(value, type(None), where)
        origin = typing.get_origin(tp)
        if origin is typing.Union or origin is types.UnionType:
            return self._union(value, typing.get_args(tp), where)
        if origin is typing.Literal:
            if value not in typing.get_args(tp) or isinstance(value, float):
                raise UndecodableEventError(f"{where}: {value!r} is not one of {typing.get_args(tp)}")
            return value
        if origin is not None:
            return self._generic(value, origin, typing.get_args(tp), where)
        if isinstance(tp, type):
            return self._plain(value, tp, where)
        raise UndecodableEventError(f"{where}: cannot decode a value of type {tp!r}")

    def _plain(self, value: object, tp: type, where: str) -> object:
        if attrs.has(tp):
            return self._attrs(value, tp, where)
        if issubclass(tp, enum.Enum):
            try:
                return tp(value)
            except ValueError:
                raise UndecodableEventError(f"{where}: {value!r} is not a {tp.__name__}") from None
        if issubclass(tp, Decimal):
            text = self._expect(value, str, where)
            try:
                return tp(cast(str, text))
            except InvalidOperation:
                raise UndecodableEventError(f"{where}: {text!r} is not a decimal") from None
        if tp is bool or tp is str or tp is int:
            return self._expect(value, tp, where)
        if tp is bytes or tp is bytearray:
            text = self._expect(value, str, where)
            try:
                return tp(bytes.fromhex(cast(str, text)))
            except ValueError:
                raise UndecodableEventError(f"{where}: {text!r} is not hex") from None
        if tp in (tuple, list, dict, set, frozenset):  # unparameterised: items by shape
            return self._generic(value, tp, (), where)
        raise UndecodableEventError(f"{where}: cannot decode a value of type {tp.__name__}")

    def _expect(self, value: object, tp: type, where: str) -> object:
        if type(value) is not tp and not (tp is int and type(value) is not bool and isinstance(value, int)):
            raise UndecodableEventError(f"{where}: expected {tp.__name__}, got {type(value).__name__}")
        return value

    def _attrs(self, value: object, cls: type, where: str) -> object:
        if not isinstance(value, dict):
            raise UndecodableEventError(
                f"{where}: expected a {cls.__name__} object, got {type(value).__name__}"
            )
        tag = value.get("type")
        named = self._registry.get(tag) if isinstance(tag, str) else None
        if tag == cls.__name__:
            named = cls
        if named is None:
            raise UndecodableEventError(f"{where}: unknown type {tag!r} (expected {cls.__name__})")
        if not issubclass(named, cls):
            raise UndecodableEventError(f"{where}: a {tag} is not a {cls.__name__}")
        return self._construct(value, named, where)

    def _construct(self, value: dict[str, object], cls: type, where: str) -> object:
        fields, names = _fields(cls)
        kwargs: dict[str, object] = {}
        for key, hint, required, field_where in fields:
            item = value.get(key, _MISSING)
            if item is _MISSING:
                if required:
                    raise UndecodableEventError(f"{cls.__name__}: missing field {key!r}")
                continue
            kwargs[key] = self.decode(item, hint, field_where)
        if len(value) > len(names) or not names.issuperset(value):
            unknown = sorted(set(value) - names)
            raise UndecodableEventError(f"{cls.__name__}: unknown field(s) {', '.join(unknown)}")
        try:
            return cls(**kwargs)
        except Exception as error:  # a validator's or converter's refusal, whatever its class
            raise UndecodableEventError(f"{where}: {cls.__name__} refused its fields: {error}") from None

    def _union(self, value: object, members: tuple[Any, ...], where: str) -> object:
        if value is None and type(None) in members:
            return None
        tag = value.get("type") if isinstance(value, dict) else None
        if isinstance(tag, str):  # an attrs member: chosen by its tag
            for member in map(_unwrap, members):
                if isinstance(member, type) and attrs.has(member) and member.__name__ == tag:
                    return self._attrs(value, member, where)
        errors: list[str] = []
        for member in members:
            if member is type(None):
                continue
            try:
                return self.decode(value, member, where)
            except UndecodableEventError as error:
                errors.append(str(error))
        raise UndecodableEventError(f"{where}: {value!r} fits no member of the union ({'; '.join(errors)})")

    def _generic(self, value: object, origin: Any, args: tuple[Any, ...], where: str) -> object:
        if origin in (tuple, list, collections.abc.Sequence, set, frozenset, collections.abc.Set):
            if not isinstance(value, list):
                raise UndecodableEventError(f"{where}: expected an array, got {type(value).__name__}")
            if origin is tuple and args and args[-1] is not Ellipsis:
                if args == ((),):
                    args = ()
                if len(args) != len(value):
                    raise UndecodableEventError(f"{where}: expected {len(args)} items, got {len(value)}")
                return tuple(
                    self.decode(item, arg, f"{where}[{i}]")
                    for i, (item, arg) in enumerate(zip(value, args, strict=True))
                )
            item_type = args[0] if args else object
            dec = self.decode
            try:
                items = [dec(item, item_type, where) for item in value]
            except UndecodableEventError:  # again, naming each item's index, for the message
                items = [dec(item, item_type, f"{where}[{i}]") for i, item in enumerate(value)]
            if origin is list:
                return items
            if origin is set:
                return set(items)
            if origin in (frozenset, collections.abc.Set):
                return frozenset(items)
            return tuple(items)
        if origin in (dict, collections.abc.Mapping, collections.abc.MutableMapping):
            if not isinstance(value, dict):
                raise UndecodableEventError(f"{where}: expected an object, got {type(value).__name__}")
            key_type, value_type = args if args else (object, object)
            dec, key_of = self.decode, self._key
            try:
                return {key_of(k, key_type, where): dec(item, value_type, where) for k, item in value.items()}
            except UndecodableEventError:  # again, naming each item's key, for the message
                return {
                    key_of(k, key_type, where): dec(item, value_type, f"{where}[{k!r}]")
                    for k, item in value.items()
                }
        raise UndecodableEventError(f"{where}: cannot decode a {origin!r}")

    def _key(self, key: str, key_type: Any, where: str) -> object:
        key_type = _unwrap(key_type)
        if key_type is str or key_type is Any or key_type is object:
            return key
        try:
            encoded = json.loads(key, parse_float=_no_float, parse_constant=_no_float)
        except UndecodableEventError:
            raise
        except ValueError:
            encoded = key  # a str member of a key union, or a StrEnum's value
        try:
            return self.decode(encoded, key_type, f"{where} key {key!r}")
        except UndecodableEventError:
            if encoded is key:
                raise
            return self.decode(key, key_type, f"{where} key {key!r}")

    def _by_shape(self, value: object, where: str) -> object:
        kind = type(value)
        if kind is str or kind is int or kind is bool or value is None:
            return value
        if kind is dict:
            mapping = cast(dict[str, object], value)  # JSON object keys are always str
            tag = mapping.get("type")
            cls = self._registry.get(tag) if isinstance(tag, str) else None
            if cls is not None:
                return self._construct(mapping, cls, where)
            shape = self._by_shape
            return {key: shape(item, where) for key, item in mapping.items()}
        if kind is list:
            shape = self._by_shape
            return [shape(item, where) for item in cast(list[object], value)]
        raise UndecodableEventError(f"{where}: {kind.__name__} is not a JSON value")


_UNWRAPPED: dict[Any, Any] = {}


def _unwrap(tp: Any) -> Any:
    try:
        return _UNWRAPPED[tp]
    except KeyError:
        unwrapped = _UNWRAPPED[tp] = _unwrap_uncached(tp)
        return unwrapped
    except TypeError:  # an unhashable annotation
        return _unwrap_uncached(tp)


def _unwrap_uncached(tp: Any) -> Any:
    while True:
        if typing.get_origin(tp) is typing.Annotated:
            tp = typing.get_args(tp)[0]
        elif hasattr(tp, "__supertype__"):  # a NewType
            tp = tp.__supertype__
        elif isinstance(tp, typing.TypeVar):
            tp = tp.__bound__ if tp.__bound__ is not None else object
        else:
            return tp
