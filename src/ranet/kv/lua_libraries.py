"""The libraries Redis gives scripts besides Lua's own: ``cjson``, ``cmsgpack``
and ``bit``, written in Python for the Lua state of ``lua_engine.py``.

Each function answers its results or raises ``LibraryError``, which Lua
sees as an error raised at the script's line (``lua_prelude.py``). They
are given to Lua as Python callables - C functions to Lua - so that an
error keeps the line of the script's call even when the call is the
script's last word (``return cjson.encode(x)``, a tail call, which erases
the caller's frame for a Lua function). Output follows Redis's bundled libraries (lua-cjson 2.1,
lua-cmsgpack 0.4, LuaBitOp 1.0) for what scripts commonly do - encodings,
number formats, escapes, array detection - and departs in error wording for
malformed input (docs/kv-commands.md, "Scripting"). ``struct`` is in
``lua_struct.py``.
"""

from __future__ import annotations

import json
import math
import struct
from collections.abc import Callable
from itertools import islice
from typing import Any

import msgpack
from lupa import lua51

MAX_RESULTS = 7_000  # values one call may return: Lua 5.1's stack holds 8,000 (LUAI_MAXCSTACK)
_MAX_DEPTH = 1000  # lua-cjson's default nesting limit, kept for cmsgpack too
_SPARSE_RATIO, _SPARSE_SAFE = 2, 10  # lua-cjson's encode_sparse_array defaults


class ScriptCallError(Exception):
    """An error reply raised into Lua (redis.call's, a spent budget's): Lua
    sees an error value whose text is the reply's message."""


class LibraryError(Exception):
    """A library call that fails, as a Lua error raised by Lua itself: its
    text, marked by a leading ``\x01`` for the prelude, gets the script's
    position (``user_script:LINE: ``) and, uncaught, the code ``ERR``."""

    def __str__(self) -> str:
        return "\x01" + super().__str__()


def number_text(number: float) -> str:
    """A Lua number as Lua 5.1 writes it (``%.14g``)."""
    return f"{number:.14g}"


# --- cjson --------------------------------------------------------------------

_JSON_ESCAPES = {
    **{code: b"\\u%04x" % code for code in range(0x20)},
    0x08: b"\\b",
    0x09: b"\\t",
    0x0A: b"\\n",
    0x0C: b"\\f",
    0x0D: b"\\r",
    0x22: b'\\"',
    0x5C: b"\\\\",
    0x2F: b"\\/",
    0x7F: b"\\u007f",
}
_JSON_TRANSLATION = {code: escape.decode() for code, escape in _JSON_ESCAPES.items()}


def _json_string(text: bytes) -> bytes:
    return b'"' + text.decode("latin-1").translate(_JSON_TRANSLATION).encode("latin-1") + b'"'


def _json_number(number: float) -> bytes:
    if math.isnan(number) or math.isinf(number):
        raise LibraryError("Cannot serialise number: must not be NaN or Inf")
    return number_text(number).encode()


def _array_length(table: Any) -> int:
    """lua-cjson's lua_array_length: the array's length if every key is a
    positive integer (and the array not too sparse), else -1."""
    largest = items = 0
    for key in table:  # a Lua table iterates its keys
        if key.__class__ not in (int, float) or key < 1 or key != math.floor(key):
            return -1
        largest, items = max(largest, int(key)), items + 1
    if largest > items * _SPARSE_RATIO and largest > _SPARSE_SAFE:
        raise LibraryError("Cannot serialise table: excessively sparse array")
    return largest


def lua_type_name(value: Any) -> str:
    """What Lua's ``type`` answers for a value from Lua, as lupa hands it over."""
    if value is None:
        return "nil"
    if value is True or value is False:
        return "boolean"
    if value.__class__ in (int, float):
        return "number"
    if value.__class__ is bytes:
        return "string"
    return lua51.lua_type(value) or "userdata"


def _encode_json(value: Any, depth: int) -> bytes:
    kind = lua51.lua_type(value)
    if value is None or kind == "userdata":
        return b"null"
    if value is True or value is False:
        return b"true" if value else b"false"
    if value.__class__ in (int, float):
        return _json_number(value)
    if value.__class__ is bytes:
        return _json_string(value)
    if kind != "table":
        raise LibraryError(f"Cannot serialise {kind}: type not supported")
    if depth > _MAX_DEPTH:
        raise LibraryError(f"Cannot serialise, excessive nesting ({depth})")
    length = _array_length(value)
    if length > 0:
        return (
            b"[" + b",".join(_encode_json(value[i], depth + 1) for i in range(1, length + 1)) + b"]"
        )
    members = []
    for key, item in value.items():
        if key.__class__ is bytes:
            name = key
        elif key.__class__ in (int, float):
            name = number_text(key).encode()
        else:
            raise LibraryError(
                f"Cannot serialise {lua_type_name(key)}: table key must be a number or string"
            )
        members.append(_json_string(name) + b":" + _encode_json(item, depth + 1))
    return b"{" + b",".join(members) + b"}"


def _cjson_encode(value: Any = None, *extra: Any) -> bytes:
    if extra:
        raise LibraryError("bad argument #1 to 'encode' (expected 1 argument)")
    return _encode_json(value, 1)


def _cjson_decode(runtime: Any, null: Any) -> Callable[..., Any]:
    def lua_value(value: Any, depth: int) -> Any:
        if depth > _MAX_DEPTH:
            raise LibraryError(f"Found too many nested data structures ({depth})")
        if value is None:
            return null
        if isinstance(value, str):
            return value.encode("utf-8", "surrogateescape")
        if isinstance(value, bool | float):
            return value
        if isinstance(value, int):
            return float(value) if abs(value) > 2**53 else value
        if isinstance(value, list):
            return runtime.table_from([lua_value(item, depth + 1) for item in value])
        return runtime.table_from(
            {
                key.encode("utf-8", "surrogateescape"): lua_value(item, depth + 1)
                for key, item in value.items()
            }
        )

    def decode(text: Any = None) -> Any:
        if text.__class__ in (int, float):
            text = number_text(text).encode()
        if text.__class__ is not bytes:
            raise LibraryError("bad argument #1 to 'decode' (string expected)")
        try:
            parsed = json.loads(text.decode("utf-8", "surrogateescape"))
        except json.JSONDecodeError as error:
            raise LibraryError(
                f"Expected value but found invalid token at character {error.pos + 1}"
            ) from None
        except RecursionError:
            raise LibraryError("Found too many nested data structures") from None
        return lua_value(parsed, 1)

    return decode


# --- cmsgpack -----------------------------------------------------------------


def _raw_header(size: int) -> bytes:
    """lua-cmsgpack's string header: fixstr, str8, str16 or str32."""
    if size < 32:
        return bytes([0xA0 | size])
    if size < 256:
        return bytes([0xD9, size])
    return b"\xda" + struct.pack(">H", size) if size < 65536 else b"\xdb" + struct.pack(">I", size)


def _pack(value: Any, out: list[bytes], depth: int) -> None:
    kind = lua51.lua_type(value)
    if value.__class__ is float:
        if value == math.floor(value) and abs(value) < 2**63 and not math.isinf(value):
            out.append(msgpack.packb(int(value)))
        elif math.isnan(value) or struct.unpack(">f", struct.pack(">f", value))[0] == value:
            out.append(b"\xca" + struct.pack(">f", value))
        else:
            out.append(b"\xcb" + struct.pack(">d", value))
    elif value.__class__ is bytes:
        out += (_raw_header(len(value)), value)
    elif value is None or value is True or value is False or value.__class__ is int:
        out.append(msgpack.packb(value))
    elif kind == "table" and depth < 16:  # lua-cmsgpack's LUACMSGPACK_MAX_NESTING
        keys = list(value.keys())
        if keys == list(range(1, len(keys) + 1)):
            out.append(msgpack.Packer().pack_array_header(len(keys)))
            for key in keys:
                _pack(value[key], out, depth + 1)
        else:
            out.append(msgpack.Packer().pack_map_header(len(keys)))
            for key in keys:
                _pack(key, out, depth + 1)
                _pack(value[key], out, depth + 1)
    else:
        out.append(b"\xc0")  # what lua-cmsgpack writes for anything else: nil


def _cmsgpack_pack(*values: Any) -> bytes:
    if not values:
        raise LibraryError("MessagePack pack needs input.")
    out: list[bytes] = []
    for value in values:
        _pack(value, out, 0)
    return b"".join(out)


def _cmsgpack_unpack(runtime: Any) -> Callable[..., Any]:
    def lua_value(value: Any) -> Any:
        if isinstance(value, list):
            return runtime.table_from([lua_value(item) for item in value])
        if isinstance(value, dict):
            return runtime.table_from(
                {lua_value(key): lua_value(item) for key, item in value.items() if key is not None}
            )
        return value

    def unpack(data: Any = None) -> Any:
        if data.__class__ is not bytes:
            raise LibraryError("bad argument #1 to 'unpack' (string expected)")
        unpacker = msgpack.Unpacker(raw=True, strict_map_key=False, use_list=True)
        unpacker.feed(data)
        try:
            values = [lua_value(value) for value in islice(unpacker, MAX_RESULTS + 1)]
        except (ValueError, msgpack.UnpackException, TypeError):
            raise LibraryError("Bad data format in input.") from None
        if len(values) > MAX_RESULTS:  # each one a value on Lua's stack
            raise LibraryError(f"too many objects to unpack (more than {MAX_RESULTS})")
        return tuple(values)

    return unpack


# --- bit ----------------------------------------------------------------------


def _bit(number: Any) -> int:
    """LuaBitOp's conversion of a Lua number to a 32-bit signed integer
    (rounded to nearest, even on ties, then wrapped)."""
    if number.__class__ not in (int, float):
        raise LibraryError("bad argument #1 (number expected)")
    value = round(number) & 0xFFFFFFFF if not math.isinf(number) else 0
    return value - (1 << 32) if value & 0x80000000 else value


def _bitwise(operation: Callable[..., int]) -> Callable[..., int]:
    def function(*numbers: Any) -> int:
        try:
            return _bit(operation(*[_bit(number) for number in numbers]))
        except TypeError:
            raise LibraryError("bad argument (number expected, got no value)") from None

    return function


def _fold(operation: Callable[[int, int], int]) -> Callable[..., int]:
    def folded(first: int, *rest: int) -> int:
        for number in rest:
            first = operation(first, number)
        return first

    return folded


def _rotate(x: int, n: int) -> int:
    unsigned, n = x & 0xFFFFFFFF, n & 31
    return (unsigned << n | unsigned >> (32 - n)) & 0xFFFFFFFF


def _tohex(x: Any = None, digits: Any = 8) -> bytes:
    value, count = _bit(x) & 0xFFFFFFFF, _bit(digits)
    text = f"{value:08x}" if count >= 0 else f"{value:08X}"
    return text[8 - min(abs(count), 8) :].encode()


_BIT_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "tobit": _bitwise(lambda x: x),
    "bnot": _bitwise(lambda x: ~x),
    "band": _bitwise(_fold(lambda a, b: a & b)),
    "bor": _bitwise(_fold(lambda a, b: a | b)),
    "bxor": _bitwise(_fold(lambda a, b: a ^ b)),
    "lshift": _bitwise(lambda x, n: x << (n & 31)),
    "rshift": _bitwise(lambda x, n: (x & 0xFFFFFFFF) >> (n & 31)),
    "arshift": _bitwise(lambda x, n: x >> (n & 31)),
    "rol": _bitwise(_rotate),
    "ror": _bitwise(lambda x, n: _rotate(x, 32 - (n & 31))),
    "bswap": _bitwise(lambda x: int.from_bytes((x & 0xFFFFFFFF).to_bytes(4, "little"), "big")),
    "tohex": _tohex,
}


Spend = Callable[[int], None]
"""Counts a library call against the script's budget: the bytes it read or
wrote (lua_engine.py); raises once the budget is spent."""


class LuaErrorAgain(LibraryError):
    """An error a Lua function called from Python raised (gsub's replacement
    function), raised on into the script unchanged: its text, marked by a
    leading ``\x02``, is the Lua error's message as it was."""

    def __str__(self) -> str:
        return "\x02" + Exception.__str__(self)


def guarded(function: Callable[..., Any]) -> Callable[..., Any]:
    """``function``, any exception but its own errors turned into a Lua
    error: a bug here fails the script, never the node."""

    def call(*args: Any) -> Any:
        try:
            return function(*args)
        except (LibraryError, ScriptCallError):
            raise
        except lua51.LuaError as error:  # its message, without lupa's traceback
            raise LuaErrorAgain(str(error).split("\nstack traceback:", 1)[0]) from error
        except Exception as error:
            raise LibraryError(f"internal error: {error!r}") from error

    return call


def metered(function: Callable[..., Any], spend: Spend, reads: bool) -> Callable[..., Any]:
    """``function``, its call counted by the bytes it reads (its first
    argument, a string) or writes (its result)."""

    def metered(*args: Any) -> Any:
        if reads:
            spend(len(args[0]) if args and args[0].__class__ is bytes else 0)
            return function(*args)
        result = function(*args)
        spend(len(result))
        return result

    return guarded(metered)


def libraries(runtime: Any, null: Any, spend: Spend) -> Any:
    """The Lua table the prelude takes as ``libraries``: each library's
    functions, by name, counted by ``spend``; ``null`` is ``cjson.null``."""
    table_from = runtime.table_from
    cjson = {
        b"encode": metered(_cjson_encode, spend, reads=False),
        b"decode": metered(_cjson_decode(runtime, null), spend, reads=True),
        b"null": null,
    }
    cmsgpack = {
        b"pack": metered(_cmsgpack_pack, spend, reads=False),
        b"unpack": metered(_cmsgpack_unpack(runtime), spend, reads=True),
    }
    bit = {
        name.encode(): metered(function, spend, reads=True)
        for name, function in _BIT_FUNCTIONS.items()
    }
    return table_from(
        {b"cjson": table_from(cjson), b"cmsgpack": table_from(cmsgpack), b"bit": table_from(bit)}
    )
