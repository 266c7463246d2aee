"""msgpack codec for peer messages, with the schema read from the dataclasses.

Wire format: a message is one msgpack array ``[tag, field_1, ..., field_n]``.
``tag`` is the message type's position in the list the codec was built with;
the fields follow in dataclass declaration order. Nested values are arrays
too: an ``Entry`` is ``[term, data, kind]``, a nested dataclass or NamedTuple
is the array of its fields. No field list is written by hand: adding a field
to a message or a message type to the list changes the schema, and
``Codec.fingerprint`` with it, which the handshake compares so that peers
built from different schemas refuse each other instead of misreading.

Invariants:

- ``decode`` trusts nothing. The payload must be one msgpack array whose tag
  is known and whose fields have exactly the msgpack types the annotations
  allow (``int`` is not ``bool``, ``bytes`` is not ``str``); any violation is
  a ``DecodeError`` naming the field, never another exception type.
- ``decode(encode(m)) == m`` for every registered message ``m`` whose ints fit
  in 64 bits (msgpack's range; ``encode`` raises ``EncodeError`` otherwise).

Speed, because AppendEntries is the hot path: entries are NamedTuples, which
msgpack packs natively as arrays, so encoding does no per-entry Python work.
Decoding a tuple of flat records (such as entries) checks the types of each
column at C level (``allowed.issuperset(map(type, column))``) and builds the
records with ``tuple.__new__`` through ``map``: no Python frame per entry. Anything that
fails the fast check is re-examined item by item to name what is wrong.

Supported annotations: ``int``, ``bool``, ``bytes``, ``str``, ``float``,
``None``, ``IntEnum`` subclasses, unions of those with at most one composite
member, ``tuple[T, ...]``, and NamedTuples and dataclasses made of supported
fields. Anything else is refused when the codec is built, not when a message
first travels.

A codec reuses one msgpack ``Packer``: use it from one thread (the transport
uses it on its event loop only).
"""

from __future__ import annotations

import dataclasses
import hashlib
import typing
from collections.abc import Callable, Sequence
from enum import IntEnum
from itertools import repeat
from operator import attrgetter, contains
from types import UnionType
from typing import Any

import msgpack

from ranet.core.messages import Message
from ranet.errors import DecodeError, EncodeError

CORE_MESSAGE_TYPES: tuple[type, ...] = typing.get_args(Message)
"""Core message types in tag order: the order of ``ranet.core.messages.Message``.

Tags are positions, so new core messages must be appended to that union,
never inserted: tests pin the existing tags.
"""

_NONE = type(None)
_SCALARS: dict[Any, frozenset[type]] = {
    int: frozenset({int}),
    bool: frozenset({bool}),
    bytes: frozenset({bytes}),
    str: frozenset({str}),
    float: frozenset({float, int}),
    None: frozenset({_NONE}),
    _NONE: frozenset({_NONE}),
}
_ARRAY = frozenset({tuple})

Convert = Callable[[Any], Any]
"""Turns a raw decoded value of an allowed msgpack type into the field's value."""


@dataclasses.dataclass(slots=True, frozen=True)
class _Shape:
    """How one annotated value travels: the msgpack types it may arrive as, and how
    to rebuild it (``None`` when the raw value is already the field's value)."""

    label: str
    allowed: frozenset[type]
    convert: Convert | None = None
    record: _Record | None = None


def _is_namedtuple(cls: type) -> bool:
    return issubclass(cls, tuple) and hasattr(cls, "_fields")


def _type_name(value: object) -> str:
    return "array" if type(value) is tuple else type(value).__name__


def _field_getter(names: tuple[str, ...]) -> Callable[[Any], tuple[Any, ...]]:
    """A C-level getter returning the named attributes as a tuple, for any count."""
    if len(names) >= 2:
        return attrgetter(*names)
    if names:
        get = attrgetter(names[0])
        return lambda obj: (get(obj),)
    return lambda obj: ()


class _Record:
    """The decoding schema of one dataclass or NamedTuple: field names and shapes."""

    __slots__ = ("allowed", "arity", "cls", "converters", "name", "names", "shapes")

    def __init__(self, cls: type, names: tuple[str, ...], shapes: tuple[_Shape, ...]) -> None:
        self.cls = cls
        self.name = cls.__name__
        self.names = names
        self.shapes = shapes
        self.arity = len(names)
        self.allowed = tuple(shape.allowed for shape in shapes)
        self.converters = tuple(
            (index, shape.convert) for index, shape in enumerate(shapes) if shape.convert
        )

    @property
    def is_flat(self) -> bool:
        """True when every field arrives as its final value (no conversion)."""
        return not self.converters

    def build(self, values: tuple[Any, ...]) -> Any:
        """Check ``values`` (raw msgpack fields) against the schema; build the object."""
        if len(values) != self.arity:
            raise DecodeError(f"{self.name} expects {self.arity} fields, got {len(values)}")
        if not all(map(contains, self.allowed, map(type, values))):
            raise DecodeError(self._mismatch(values))
        if self.converters:
            values = self._convert(values)
        try:
            return self.cls(*values)
        except Exception as exc:  # e.g. a __post_init__ check: still a bad payload
            raise DecodeError(f"{self.name}: {exc}") from None

    def _convert(self, values: tuple[Any, ...]) -> tuple[Any, ...]:
        converted = list(values)
        for index, convert in self.converters:
            try:
                converted[index] = convert(values[index])
            except DecodeError as exc:
                raise DecodeError(f"{self.name}.{self.names[index]}: {exc}") from None
        return tuple(converted)

    def _mismatch(self, values: tuple[Any, ...]) -> str:
        """Name the first field whose type is not allowed (there is one)."""
        return next(
            f"{self.name}.{name} must be {shape.label}, got {_type_name(value)}"
            for name, shape, value in zip(self.names, self.shapes, values, strict=True)
            if type(value) not in shape.allowed
        )


def _enum_shape(enum: type[IntEnum]) -> _Shape:
    def convert(value: int) -> IntEnum:
        try:
            return enum(value)
        except ValueError:
            raise DecodeError(f"{value} is not a valid {enum.__name__}") from None

    return _Shape(enum.__name__, _SCALARS[int], convert)


def _union_shape(members: tuple[_Shape, ...], where: str) -> _Shape:
    composite = [member for member in members if member.convert]
    if len(composite) > 1:
        raise TypeError(f"codec cannot carry {where}: a union with two composite members")
    label = " | ".join(member.label for member in members)
    allowed = frozenset().union(*(member.allowed for member in members))
    if not composite:
        return _Shape(label, allowed)
    inner = composite[0]
    inner_convert = typing.cast(Convert, inner.convert)
    inner_allowed = inner.allowed

    def convert(value: Any) -> Any:
        return inner_convert(value) if type(value) in inner_allowed else value

    return _Shape(label, allowed, convert)


def _tuple_shape(item: _Shape) -> _Shape:
    """``tuple[T, ...]``: a fast whole-tuple check, then an item-by-item fallback
    that either builds the same result or names the first bad item."""

    def convert_each(items: tuple[Any, ...]) -> tuple[Any, ...]:
        result = []
        for index, value in enumerate(items):
            if type(value) not in item.allowed:
                raise DecodeError(f"item {index} must be {item.label}, got {_type_name(value)}")
            try:
                result.append(item.convert(value) if item.convert else value)
            except DecodeError as exc:
                raise DecodeError(f"item {index}: {exc}") from None
        return tuple(result)

    record = item.record
    if item.convert is None:
        allowed = item.allowed

        def convert(items: tuple[Any, ...]) -> tuple[Any, ...]:
            return items if set(map(type, items)) <= allowed else convert_each(items)

    elif record is not None and record.is_flat:
        arity, columns_allowed, cls = {record.arity}, record.allowed, record.cls
        new = tuple.__new__

        def convert(items: tuple[Any, ...]) -> tuple[Any, ...]:
            if set(map(type, items)) == _ARRAY and set(map(len, items)) == arity:
                for column, allowed in zip(zip(*items, strict=True), columns_allowed, strict=True):
                    if not allowed.issuperset(map(type, column)):
                        return convert_each(items)
                return tuple(map(new, repeat(cls), items))
            return convert_each(items)

    else:
        convert = convert_each
    return _Shape(f"tuple[{item.label}, ...]", _ARRAY, convert)


class _Schema:
    """Compiles annotations into shapes; remembers every record it met."""

    def __init__(self) -> None:
        self.records: dict[type, _Record] = {}

    def record(self, cls: type) -> _Record:
        known = self.records.get(cls)
        if known is not None:
            return known
        hints = typing.get_type_hints(cls)
        if dataclasses.is_dataclass(cls):
            fields = dataclasses.fields(cls)
            for field in fields:
                if not field.init or field.kw_only:
                    raise TypeError(
                        f"codec cannot carry {cls.__name__}.{field.name}: "
                        "fields must be positional __init__ arguments"
                    )
            names = tuple(field.name for field in fields)
        elif _is_namedtuple(cls):
            names = tuple(cls._fields)
        else:
            raise TypeError(f"codec cannot carry {cls.__name__}: not a dataclass or NamedTuple")
        shapes = tuple(self.shape(hints[name], f"{cls.__name__}.{name}") for name in names)
        record = _Record(cls, names, shapes)
        self.records[cls] = record
        return record

    def shape(self, annotation: Any, where: str) -> _Shape:
        if annotation in _SCALARS:
            return _Shape(getattr(annotation, "__name__", "None"), _SCALARS[annotation])
        origin = typing.get_origin(annotation)
        if origin in (typing.Union, UnionType):
            members = tuple(self.shape(member, where) for member in typing.get_args(annotation))
            return _union_shape(members, where)
        if origin is tuple:
            args = typing.get_args(annotation)
            if len(args) == 2 and args[1] is Ellipsis:
                return _tuple_shape(self.shape(args[0], where))
        elif isinstance(annotation, type):
            if issubclass(annotation, IntEnum):
                return _enum_shape(annotation)
            if dataclasses.is_dataclass(annotation) or _is_namedtuple(annotation):
                record = self.record(annotation)
                return _Shape(record.name, _ARRAY, record.build, record)
        raise TypeError(f"codec cannot carry {where}: unsupported type {annotation!r}")


class Codec:
    """msgpack codec for every message type it is told about, tagged by a small int.

    ``types`` are frozen slotted dataclasses; a type's tag is its position.
    """

    def __init__(self, types: Sequence[type]) -> None:
        self._types = tuple(types)
        if len(set(self._types)) != len(self._types):
            raise TypeError("codec message types must be distinct")
        schema = _Schema()
        for cls in self._types:
            if not dataclasses.is_dataclass(cls):
                raise TypeError(f"codec message types must be dataclasses, not {cls!r}")
            schema.record(cls)
        self._records = tuple(schema.records[cls] for cls in self._types)
        self._encoders = {
            record.cls: (tag, _field_getter(record.names))
            for tag, record in enumerate(self._records)
        }
        self._flatteners = {
            cls: _field_getter(record.names)
            for cls, record in schema.records.items()
            if dataclasses.is_dataclass(cls)
        }
        self._pack = msgpack.Packer(default=self._flatten).pack
        described = [
            [record.name for record in self._records],
            *(
                [record.name, *zip(record.names, (s.label for s in record.shapes), strict=True)]
                for record in schema.records.values()
            ),
        ]
        self._fingerprint = hashlib.blake2b(repr(described).encode(), digest_size=8).hexdigest()

    @property
    def types(self) -> tuple[type, ...]:
        """The registered message types, in tag order."""
        return self._types

    @property
    def fingerprint(self) -> str:
        """Short hash of the wire schema: types in tag order, their fields and field types
        (nested records included). Peers must agree on it to talk."""
        return self._fingerprint

    def _flatten(self, obj: object) -> tuple[Any, ...]:
        """msgpack's fallback for nested dataclasses: the array of their fields."""
        getter = self._flatteners.get(type(obj))
        if getter is None:
            if isinstance(obj, int):  # msgpack falls back here for ints beyond 64 bits
                raise OverflowError(f"integer {obj} does not fit in 64 bits")
            raise TypeError(f"cannot encode a value of type {type(obj).__name__}")
        return getter(obj)

    def encode(self, message: object) -> bytes:
        """The msgpack payload of ``message``; ``EncodeError`` if it cannot travel."""
        try:
            tag, fields = self._encoders[type(message)]
        except KeyError:
            raise EncodeError(
                f"{type(message).__name__} is not a message type of this codec"
            ) from None
        try:
            return self._pack((tag, *fields(message)))
        except (TypeError, ValueError, OverflowError) as exc:
            raise EncodeError(f"cannot encode {type(message).__name__}: {exc}") from None

    def decode(self, payload: bytes) -> object:
        """The message in ``payload``; ``DecodeError`` on any bad payload."""
        try:
            raw = msgpack.unpackb(payload, use_list=False)
        except Exception as exc:  # msgpack raises several types; all mean "not msgpack"
            raise DecodeError(f"invalid msgpack: {str(exc) or type(exc).__name__}") from None
        if type(raw) is not tuple or not raw:
            raise DecodeError(f"a message must be a non-empty array, got {_type_name(raw)}")
        tag = raw[0]
        if type(tag) is not int or not 0 <= tag < len(self._records):
            raise DecodeError(f"unknown message tag {tag!r}")
        return self._records[tag].build(raw[1:])


def default_codec(extra: Sequence[type] = ()) -> Codec:
    """A codec for every core message type (tags 0..), then ``extra`` node-level types."""
    return Codec((*CORE_MESSAGE_TYPES, *extra))
