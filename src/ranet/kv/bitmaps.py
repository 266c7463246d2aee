"""The commands that read or change a string at an offset: the bit commands
SETBIT, GETBIT, BITCOUNT, BITPOS, BITOP, BITFIELD and BITFIELD_RO, and
SETRANGE, as Redis 7.0 has them.

A bitmap is a string (bytes): bit 0 is the highest bit of the first byte,
and a string reads as if followed by zero bits without end. A write that
reaches past the end grows the string with zero bytes, up to
``MAX_STRING_BYTES`` (Redis's default ``proto-max-bulk-len``, 512 MiB: a
fixed bound of the store, the same on every replica, so that every replica
refuses the same writes). The rules of commands.py hold: arity checked
before, Redis's wording for every error and Redis's order of checks,
WRONGTYPE for a key of another type.

Strings are immutable here (the store and its snapshots share them: no copy
at a snapshot's capture), so a write makes a new string - one copy, joined
from views of the old one: SETBIT, BITFIELD and SETRANGE cost time in
proportion to the string's length (about 40 us a MB), where Redis changes
it in place (docs/kv-commands.md, "Bitmaps"). Counting and searching read
the bytes in C (``int.from_bytes``, ``bit_count``; about 1 ms a MB).
"""

from __future__ import annotations

from dataclasses import dataclass

from ranet.kv.arguments import (
    INT64_MAX,
    MAX_STRING_BYTES,
    NOT_AN_INTEGER,
    STRING_TOO_LONG,
    SYNTAX_ERROR,
    parse_int,
    string_at,
)
from ranet.kv.keyspace import Keyspace
from ranet.kv.notifications import STRING
from ranet.kv.reply import ErrorReply, Reply

_BAD_OFFSET = ErrorReply("ERR bit offset is not an integer or out of range")
_BAD_BIT = ErrorReply("ERR bit is not an integer or out of range")
_BAD_TYPE = ErrorReply(
    "ERR Invalid bitfield type. Use something like i16 u8. "
    "Note that u64 is not supported but i64 is."
)


def _offset(text: bytes, width: int = 0) -> int | ErrorReply:
    """A bit offset: a non-negative integer within ``MAX_STRING_BYTES``; with
    a field ``width`` (BITFIELD), ``#n`` is the n-th field of that width."""
    fields = width and text[:1] == b"#"
    offset = parse_int(text[1:] if fields else text)
    if offset is None:
        return _BAD_OFFSET
    if fields:
        offset *= width
    if offset < 0 or offset >> 3 >= MAX_STRING_BYTES:
        return _BAD_OFFSET
    return offset


def _spliced(value: bytes | None, offset: int, patch: bytes) -> bytes:
    """``value`` (empty for none) with ``patch`` written at byte ``offset``,
    zero bytes filling any gap. One copy of ``value`` (joined from views):
    a tenth of the time of a round trip through a bytearray."""
    value = value or b""
    gap = offset - len(value)
    if gap >= 0:
        return b"".join((value, bytes(gap), patch))
    view = memoryview(value)
    return b"".join((view[:offset], patch, view[offset + len(patch) :]))


def setbit(keyspace: Keyspace, argv: list[bytes]) -> Reply:
    """SETBIT key offset 0|1: the bit's value before. Makes the key if
    missing, even to clear a bit, as Redis does."""
    key = argv[1]
    offset = _offset(argv[2])
    if isinstance(offset, ErrorReply):
        return offset
    bit = parse_int(argv[3])
    if bit is None or bit & ~1:
        return _BAD_BIT
    value = string_at(keyspace, key)
    if isinstance(value, ErrorReply):
        return value
    byte, mask = offset >> 3, 0x80 >> (offset & 7)
    beyond = value is None or byte >= len(value)
    old = 0 if beyond else value[byte]  # type: ignore[index]
    new = old | mask if bit else old & ~mask
    if beyond or new != old:
        keyspace.replace(key, _spliced(value, byte, bytes((new,))))  # keeps the deadline
        keyspace.notify(STRING, b"setbit", key)
    return 1 if old & mask else 0


def getbit(keyspace: Keyspace, argv: list[bytes]) -> Reply:
    """GETBIT key offset: 0 past the end or for no key."""
    offset = _offset(argv[2])
    if isinstance(offset, ErrorReply):
        return offset
    value = string_at(keyspace, argv[1])
    if value is None or isinstance(value, ErrorReply):
        return 0 if value is None else value
    byte = offset >> 3
    return 1 if byte < len(value) and value[byte] & (0x80 >> (offset & 7)) else 0


def setrange(keyspace: Keyspace, argv: list[bytes]) -> Reply:
    """SETRANGE key offset value: the string's length after writing
    ``value`` at byte ``offset`` (zero bytes fill any gap). An empty
    ``value`` changes nothing and makes no key."""
    key, patch = argv[1], argv[3]
    offset = parse_int(argv[2])
    if offset is None:
        return NOT_AN_INTEGER
    if offset < 0:
        return ErrorReply("ERR offset is out of range")
    value = string_at(keyspace, key)
    if isinstance(value, ErrorReply):
        return value
    if not patch:
        return len(value or b"")
    end = offset + len(patch)
    if end > MAX_STRING_BYTES:
        return STRING_TOO_LONG
    value = _spliced(value, offset, patch)
    keyspace.replace(key, value)  # keeps the deadline
    keyspace.notify(STRING, b"setrange", key)
    return len(value)


# --- ranges: BITCOUNT and BITPOS ---------------------------------------------

_UNITS = {b"BYTE": False, b"BIT": True}


def _bits_between(value: bytes, start: int, end: int) -> tuple[int, int]:
    """The bits ``start`` to ``end`` (inclusive, bit offsets) of ``value`` as
    one integer, the first bit highest - zeros past the end of ``value`` -
    and how many there are."""
    first, last = start >> 3, end >> 3
    chunk = value[first : last + 1]
    number = int.from_bytes(chunk, "big") << 8 * (last + 1 - first - len(chunk))
    width = end - start + 1
    return (number >> (7 - (end & 7))) & ((1 << width) - 1), width


def _bit_span(start: int, end: int, length: int, in_bits: bool) -> tuple[int, int] | None:
    """The bit offsets, inclusive, that ``start`` and ``end`` (bytes, or bits
    if ``in_bits``; negative from the end) select of a string of ``length``
    bytes, clamped to it as Redis clamps them; ``None`` if none."""
    total = length * 8 if in_bits else length
    start = max(start + total if start < 0 else start, 0)
    end = min(max(end + total if end < 0 else end, 0), total - 1)
    if start > end:
        return None
    return (start, end) if in_bits else (start * 8, end * 8 + 7)


def _unit(word: bytes) -> bool | ErrorReply:
    in_bits = _UNITS.get(word.upper())
    return SYNTAX_ERROR if in_bits is None else in_bits


def bitcount(keyspace: Keyspace, argv: list[bytes]) -> Reply:
    """BITCOUNT key [start end [BYTE | BIT]]: how many bits are set. Redis
    7.0 looks the key up before it reads the range: no key answers 0
    whatever the range says."""
    value = string_at(keyspace, argv[1])
    if value is None or isinstance(value, ErrorReply):
        return 0 if value is None else value
    if len(argv) == 2:
        return int.from_bytes(value, "big").bit_count()
    if len(argv) > 5 or len(argv) == 3:
        return SYNTAX_ERROR
    start, end = parse_int(argv[2]), parse_int(argv[3])
    if start is None or end is None:
        return NOT_AN_INTEGER
    if start < 0 and end < 0 and start > end:
        return 0
    in_bits = _unit(argv[4]) if len(argv) == 5 else False
    if isinstance(in_bits, ErrorReply):
        return in_bits
    span = _bit_span(start, end, len(value), in_bits)
    return 0 if span is None else _bits_between(value, *span)[0].bit_count()


def bitpos(keyspace: Keyspace, argv: list[bytes]) -> Reply:
    """BITPOS key 0|1 [start [end [BYTE | BIT]]]: the offset of the first bit
    of that value in the range, or -1. Looking for a 0 with no end given,
    the zeros past the string count: a string of ones answers its length in
    bits."""
    bit = parse_int(argv[2])
    if bit is None:
        return NOT_AN_INTEGER
    if bit not in (0, 1):
        return ErrorReply("ERR The bit argument must be 1 or 0.")
    value = string_at(keyspace, argv[1])
    if value is None or isinstance(value, ErrorReply):
        return (-1 if bit else 0) if value is None else value
    if len(argv) > 6:
        return SYNTAX_ERROR
    start, end, in_bits = 0, -1, False
    if len(argv) > 3:
        parsed = parse_int(argv[3])
        if parsed is None:
            return NOT_AN_INTEGER
        start = parsed
    if len(argv) == 6:
        unit = _unit(argv[5])
        if isinstance(unit, ErrorReply):
            return unit
        in_bits = unit
    if len(argv) > 4:
        parsed = parse_int(argv[4])
        if parsed is None:
            return NOT_AN_INTEGER
        end = parsed
    span = _bit_span(start, end, len(value), in_bits)
    if span is None:
        return -1
    bits, width = _bits_between(value, *span)
    if not bit:
        bits ^= (1 << width) - 1
    if bits:
        return span[0] + width - bits.bit_length()
    return span[1] + 1 if not bit and len(argv) < 5 else -1


# --- BITOP -------------------------------------------------------------------


def bitop(keyspace: Keyspace, argv: list[bytes]) -> Reply:
    """BITOP AND | OR | XOR | NOT destkey key [key ...]: the length of the
    result, stored at ``destkey`` (a missing key reads as an empty string,
    shorter ones as zero-padded; an empty result deletes ``destkey``)."""
    operation = argv[1].upper()
    if operation not in (b"AND", b"OR", b"XOR", b"NOT"):
        return SYNTAX_ERROR
    if operation == b"NOT" and len(argv) != 4:
        return ErrorReply("ERR BITOP NOT must be called with a single source key.")
    sources = []
    for key in argv[3:]:
        value = string_at(keyspace, key)
        if isinstance(value, ErrorReply):
            return value
        sources.append(value or b"")
    length = max(len(value) for value in sources)
    if not length:
        keyspace.delete_announced(argv[2])
        return 0
    numbers = [int.from_bytes(value.ljust(length, b"\0"), "big") for value in sources]
    result = numbers[0]
    for number in numbers[1:]:
        if operation == b"AND":
            result &= number
        elif operation == b"OR":
            result |= number
        else:
            result ^= number
    if operation == b"NOT":
        result ^= (1 << (8 * length)) - 1
    keyspace.put(argv[2], result.to_bytes(length, "big"))
    keyspace.notify(STRING, b"set", argv[2])
    return length


# --- BITFIELD ----------------------------------------------------------------

_OVERFLOWS = (b"WRAP", b"SAT", b"FAIL")
_WORDS_AFTER = {b"GET": 2, b"SET": 3, b"INCRBY": 3}  # type, offset[, value]
_INT64_SPAN = 1 << 64


@dataclass(slots=True)
class _Field:
    """One BITFIELD operation: GET, SET or INCRBY (``operation``) of a field
    ``width`` bits wide at bit ``offset``, signed or not, with its operand
    and the OVERFLOW in force when it was given."""

    operation: bytes
    signed: bool
    width: int
    offset: int
    operand: int
    overflow: bytes

    @property
    def last_bit(self) -> int:
        return self.offset + self.width - 1

    def read(self, data: bytes) -> int:
        """The field's value in ``data`` (zero bits past its end)."""
        number, _ = _bits_between(data, self.offset, self.last_bit)
        if self.signed and number >> (self.width - 1):
            number -= 1 << self.width
        return number

    def write(self, data: bytes, number: int) -> bytes:
        """``data`` with ``number`` (in range) in the field; ``data`` covers it."""
        first, last = self.offset >> 3, self.last_bit >> 3
        shift = 7 - (self.last_bit & 7)
        mask = ((1 << self.width) - 1) << shift
        window = int.from_bytes(data[first : last + 1], "big") & ~mask
        window |= (number << shift) & mask
        return _spliced(data, first, window.to_bytes(last - first + 1, "big"))

    def bounded(self, number: int) -> int | None:
        """``number`` as the field holds it under the OVERFLOW in force:
        itself if it fits; else wrapped (two's complement), saturated at a
        limit, or ``None`` for FAIL - as Redis's ``check*BitfieldOverflow``
        decide, quirk included: a signed SET of a value within ``high`` of
        -2^63 (``SET i8 0 -9223372036854775808``) overflows upwards, Redis
        computing ``high - value`` in 64 bits, where it wraps."""
        if self.signed:
            low, high = -(1 << (self.width - 1)), (1 << (self.width - 1)) - 1
        else:
            low, high = 0, (1 << self.width) - 1
        upwards = number > high or (
            self.signed
            and self.width < 64
            and self.operation == b"SET"
            and high - number > INT64_MAX
        )
        if number >= low and not upwards:
            return number
        if self.overflow == b"FAIL":
            return None
        if self.overflow == b"SAT":
            return high if upwards else low
        number &= (1 << self.width) - 1
        return number - (1 << self.width) if number > high else number

    def apply(self, data: bytes) -> tuple[int | None, bytes]:
        """SET or INCRBY on ``data``: the reply - the old value for SET, the
        new one for INCRBY, ``None`` on an overflow under FAIL - and the data
        after it (the same object if the field holds the same value)."""
        old = self.read(data)
        if self.operation == b"SET":
            # Redis reads an unsigned field's new value as a uint64: -1 is 2^64 - 1.
            new = self.operand % _INT64_SPAN if not self.signed else self.operand
        else:
            new = old + self.operand
        stored = self.bounded(new)
        if stored is None:
            return None, data
        reply = old if self.operation == b"SET" else stored
        return reply, data if stored == old else self.write(data, stored)


def _field_type(text: bytes) -> tuple[bool, int] | ErrorReply:
    """``i1``..``i64`` or ``u1``..``u63``: (signed, width)."""
    signed = text[:1] == b"i"
    width = parse_int(text[1:]) if text[:1] in (b"i", b"u") else None
    if width is None or not 1 <= width <= (64 if signed else 63):
        return _BAD_TYPE
    return signed, width


def _parse_fields(argv: list[bytes]) -> list[_Field] | ErrorReply:
    """BITFIELD's operations, checked in Redis's order: each operation's
    words, its type, its offset, its operand."""
    fields: list[_Field] = []
    overflow = b"WRAP"
    i = 2
    while i < len(argv):
        operation, left = argv[i].upper(), len(argv) - i - 1
        if operation == b"OVERFLOW" and left >= 1:
            overflow = argv[i + 1].upper()
            if overflow not in _OVERFLOWS:
                return ErrorReply("ERR Invalid OVERFLOW type specified")
            i += 2
            continue
        takes = _WORDS_AFTER.get(operation)
        if takes is None or left < takes:
            return SYNTAX_ERROR
        kind = _field_type(argv[i + 1])
        if isinstance(kind, ErrorReply):
            return kind
        signed, width = kind
        offset = _offset(argv[i + 2], width)
        if isinstance(offset, ErrorReply):
            return offset
        operand = 0
        if takes == 3:
            parsed = parse_int(argv[i + 3])
            if parsed is None:
                return NOT_AN_INTEGER
            operand = parsed
        fields.append(_Field(operation, signed, width, offset, operand, overflow))
        i += 1 + takes
    return fields


def bitfield(keyspace: Keyspace, argv: list[bytes], read_only: bool = False) -> Reply:
    """BITFIELD key [GET type offset] [SET type offset value] [INCRBY type
    offset increment] [OVERFLOW WRAP | SAT | FAIL] ... (and BITFIELD_RO key
    GET ...): one reply per GET, SET and INCRBY, in order. A write makes the
    key, or grows the string to its farthest field, before any operation
    runs - even if every one then fails under OVERFLOW FAIL, as in Redis."""
    key = argv[1]
    fields = _parse_fields(argv)
    if isinstance(fields, ErrorReply):
        return fields
    writes = [field for field in fields if field.operation != b"GET"]
    if writes and read_only:  # refused before the key's type is looked at, as in Redis
        return ErrorReply("ERR BITFIELD_RO only supports the GET subcommand")
    value = string_at(keyspace, key)
    if isinstance(value, ErrorReply):
        return value
    if not writes:
        return [field.read(value or b"") for field in fields]
    data: bytes = value or b""
    needed = (max(field.last_bit for field in writes) >> 3) + 1
    if len(data) < needed:
        data += bytes(needed - len(data))
    replies: list[Reply] = []
    written = False  # a SET or INCRBY that changed its field (Redis 7.0's event rule)
    for field in fields:
        if field.operation == b"GET":
            replies.append(field.read(data))
        else:
            before = data
            reply, data = field.apply(data)
            replies.append(reply)
            written = written or data != before
    if data is not value:
        keyspace.replace(key, data)  # keeps the deadline
    if written:
        keyspace.notify(STRING, b"setbit", key)
    return replies
