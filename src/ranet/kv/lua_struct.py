"""Redis's ``struct`` library for scripts - ``struct.pack``, ``unpack`` and
``size`` - as Redis 7.0 bundles it (Roberto Ierusalimschy's lua_struct.c,
0.2), on an x86-64 server: little-endian by default, native alignment 8.

Formats: ``>`` ``<`` (endianness), ``!n`` (alignment, a power of two),
``x`` (a zero byte), ``b B h H l L T`` (1, 1, 2, 2, 8, 8, 8-byte integers;
lower case signed), ``i[n] I[n]`` (n-byte integers, 4 by default, at most
32), ``f d`` (float, double), ``c[n]`` (n bytes; ``c0``: a whole string,
or in ``unpack`` as many as the number before it), ``s`` (a zero-terminated
string), spaces. The C code's quirks are kept where a script could see
them - integers wider than 8 bytes carry only 64 bits (zero above when
packed, sign found at bit ``(8n - 1) mod 64`` when unpacked, as x86 shifts),
``c3`` short of bytes blames argument #3 for argument #2, ``size`` passes
over unknown letters - and the errors are worded as Lua words them.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Callable
from typing import Any

from ranet.kv.lua_libraries import (
    MAX_RESULTS,
    LibraryError,
    Spend,
    guarded,
    lua_type_name,
    metered,
    number_text,
)

MAX_INT_SIZE = 32
NATIVE_ALIGN = 8
_FIXED_SIZES = {"b": 1, "B": 1, "h": 2, "H": 2, "l": 8, "L": 8, "T": 8, "f": 4, "d": 8, "x": 1}
_INTEGERS = frozenset("bBhHlLTiI")
_MASK = (1 << 64) - 1
_ABSENT: Any = object()  # an argument not given at all ("no value"), not nil


class _Format:
    """A format string read option by option, with its endianness and alignment."""

    def __init__(self, function: str, fmt: bytes) -> None:
        self.function, self.text, self.at = function, fmt.decode("latin-1"), 0
        self.big, self.align = False, 1

    def options(self) -> Any:
        """Each option with its size (Redis's ``optsize``)."""
        while self.at < len(self.text):
            option = self.text[self.at]
            self.at += 1
            yield option, self._size(option)

    def _number(self, default: int) -> int:
        start = self.at
        while self.at < len(self.text) and self.text[self.at].isdigit():
            self.at += 1
        digits = self.text[start : self.at]
        if not digits:
            return default
        if len(digits) > 9 and int(digits) > 2**31 - 1:
            raise LibraryError("integral size overflow")
        return int(digits)

    def _size(self, option: str) -> int:
        if option in _FIXED_SIZES:
            return _FIXED_SIZES[option]
        if option == "c":
            return self._number(1)
        if option in "iI":
            size = self._number(4)
            if size > MAX_INT_SIZE:
                raise LibraryError(f"integral size {size} is larger than limit of {MAX_INT_SIZE}")
            return size
        return 0

    def padding(self, length: int, option: str, size: int) -> int:
        """Zero bytes before an item, for the alignment (``gettoalign``)."""
        if size == 0 or option == "c":
            return 0
        size = min(size, self.align)
        return (size - (length & (size - 1))) & (size - 1)

    def control(self, option: str) -> None:
        """An option that is no item: a space, endianness, alignment - or none."""
        if option == ">" or option == "<":
            self.big = option == ">"
        elif option == "!":
            align = self._number(NATIVE_ALIGN)
            if align <= 0 or align & (align - 1):
                raise LibraryError(f"alignment {align} is not a power of 2")
            self.align = align
        elif option != " ":
            raise _argument_error(1, self.function, f"invalid format option '{option}'")


def pack(fmt: Any = _ABSENT, *values: Any) -> bytes:
    form = _Format("pack", _check_string(fmt, 1, "pack"))
    out = bytearray()
    arg = 2
    for option, size in form.options():
        out += bytes(form.padding(len(out), option, size))
        if option in _INTEGERS:
            number = _check_number(_argument(values, arg), arg, "pack")
            value = int(number) & _MASK if not math.isinf(number) else 0
            data = bytes((value >> (8 * i)) & 0xFF if i < 8 else 0 for i in range(size))
            out += data[::-1] if form.big else data
            arg += 1
        elif option == "x":
            out += b"\0"
        elif option in "fd":
            number = _check_number(_argument(values, arg), arg, "pack")
            out += _packed_float(number, option, form.big)
            arg += 1
        elif option in "cs":
            text = _check_string(_argument(values, arg), arg, "pack")
            arg += 1
            size = size or len(text)
            if len(text) < size:
                raise _argument_error(arg, "pack", "string too short")  # as lua_struct.c
            out += text[:size] + (b"\0" if option == "s" else b"")
        else:
            form.control(option)
    return bytes(out)


def unpack(fmt: Any = _ABSENT, data: Any = _ABSENT, init: Any = None) -> tuple[Any, ...]:
    form = _Format("unpack", _check_string(fmt, 1, "unpack"))
    text = _check_string(data, 2, "unpack")
    start = 1 if init is None else int(_check_number(init, 3, "unpack"))
    if start == 0:  # below 0, a size_t that wrapped: too short, as lua_struct.c finds
        raise _argument_error(3, "unpack", "offset must be 1 or greater")
    position = start - 1
    results: list[Any] = []
    for option, size in form.options():
        position += form.padding(position, option, size)
        if not 0 <= position <= len(text) - size:
            raise _argument_error(2, "unpack", "data string too short")
        if option in _INTEGERS:
            results.append(_integer(text[position : position + size], option, form.big))
        elif option in "fd":
            code = (">" if form.big else "<") + option
            results.append(struct.unpack(code, text[position : position + size])[0])
        elif option == "c":
            if size == 0:
                if not results or not isinstance(results[-1], int | float):
                    raise LibraryError("format 'c0' needs a previous size")
                size = int(results.pop())
                if not 0 <= position <= len(text) - size:
                    raise _argument_error(2, "unpack", "data string too short")
            results.append(text[position : position + size])
        elif option == "s":
            end = text.find(b"\0", position)
            if end < 0:
                raise LibraryError("unfinished string in data")
            results.append(text[position:end])
            size = end - position + 1
        elif option != "x":
            form.control(option)
        position += size
        if len(results) >= MAX_RESULTS:  # each one a value on Lua's stack
            raise LibraryError("stack overflow (too many results)")
    return (*results, position + 1)


def size(fmt: Any = _ABSENT) -> int:
    form = _Format("size", _check_string(fmt, 1, "size"))
    position = 0
    for option, item_size in form.options():
        position += form.padding(position, option, item_size)
        if option == "s":
            raise _argument_error(1, "size", "option 's' has no fixed size")
        if option == "c" and item_size == 0:
            raise _argument_error(1, "size", "option 'c0' has no fixed size")
        if not (option.isascii() and option.isalnum()):  # C's isalnum
            form.control(option)
        position += item_size
    return position


def _integer(data: bytes, option: str, big: bool) -> int | float:
    """``getinteger``: the bytes as a number, wider ones through 64 bits."""
    value = 0
    for byte in data if big else reversed(data):
        value = (value << 8 | byte) & _MASK
    if option.isupper():
        return value if value < 2**53 else float(value)
    mask = (_MASK << ((len(data) * 8 - 1) % 64)) & _MASK
    if value & mask:
        value |= mask
    return value - (1 << 64) if value >> 63 else value


def _packed_float(number: float, option: str, big: bool) -> bytes:
    code = (">" if big else "<") + option
    try:
        return struct.pack(code, number)
    except OverflowError:  # C converts a double too large for a float to infinity
        return struct.pack(code, math.copysign(math.inf, number))


def _argument(values: tuple[Any, ...], arg: int) -> Any:
    """pack's argument ``arg`` (its values start at #2); a missing one is
    nil, as lua_struct.c's stack makes it."""
    return values[arg - 2] if arg - 2 < len(values) else None


def _check_number(value: Any, arg: int, function: str) -> float:
    """``luaL_checknumber``: a number, or a string Lua reads as one."""
    if value.__class__ in (int, float):
        return value  # type: ignore[no-any-return]
    if value.__class__ is bytes:
        converted = _string_number(value)
        if converted is not None:
            return converted
    got = "nil" if value is None else lua_type_name(value)
    raise _argument_error(arg, function, f"number expected, got {got}")


def _check_string(value: Any, arg: int, function: str) -> bytes:
    """``luaL_checklstring``: a string, or a number in Lua's words for it."""
    if value.__class__ is bytes:
        return value  # type: ignore[no-any-return]
    if value.__class__ in (int, float):
        return number_text(value).encode()
    got = "no value" if value is _ABSENT else "nil" if value is None else lua_type_name(value)
    raise _argument_error(arg, function, f"string expected, got {got}")


def _string_number(text: bytes) -> float | None:
    """A numeric string as Lua 5.1 reads it (decimal, or hex after 0x)."""
    stripped = text.strip()
    if b"_" in stripped:  # Python's float() takes 1_000; Lua does not
        return None
    try:
        return float(stripped)
    except ValueError:
        pass
    try:
        return float(int(stripped, 16)) if stripped.lower().startswith(b"0x") else None
    except ValueError:
        return None


def _argument_error(arg: int, function: str, message: str) -> LibraryError:
    return LibraryError(f"bad argument #{arg} to '{function}' ({message})")


def library(runtime: Any, spend: Spend) -> Any:
    """The ``struct`` table scripts get: its calls counted by ``spend`` as
    the other libraries' are - by the bytes they write, or read."""

    def unpack_spending(
        fmt: Any = _ABSENT, data: Any = _ABSENT, init: Any = None
    ) -> tuple[Any, ...]:
        spend(len(data) if data.__class__ is bytes else 0)
        return unpack(fmt, data, init)

    functions: dict[bytes, Callable[..., Any]] = {
        b"pack": metered(pack, spend, reads=False),
        b"unpack": guarded(unpack_spending),
        b"size": guarded(size),
    }
    return runtime.table_from(functions)
