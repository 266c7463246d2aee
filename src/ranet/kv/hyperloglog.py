"""HyperLogLog: PFADD, PFCOUNT and PFMERGE, byte for byte as Redis 7.0 has
them (its hyperloglog.c), so that an HLL moves between Redis and ranet with
GET and SET and both count alike.

An HLL is a string: a 16-byte header - ``HYLL``, the encoding (0 dense, 1
sparse), three zero bytes, and a cached cardinality (8 bytes, little-endian;
its top bit set means "stale") - then the registers. 16,384 registers of 6
bits (P = 14, Q = 50): an element's 64-bit MurmurHash64A (seed
``0xadc83b19``) picks a register with its low 14 bits, and the register
keeps the longest run of zeros, plus one, seen in the other 50 (Flajolet et
al., "HyperLogLog", 2007). The count comes from the registers' histogram by
Ertl's improved estimator ("New cardinality estimation algorithms for
HyperLogLog sketches", 2017), as Redis computes it, in the same double
arithmetic.

Dense: the registers packed 6 bits each, least significant bits first,
12,288 bytes. Sparse: run-length opcodes (hll_sparse.py), for new HLLs
until a register passes 32 or the string 3,000 bytes.

One departure: PFCOUNT is a read here (served on one node, never through
the log), so it does not write the count it computes into the header, where
Redis does; a count computed is kept in memory beside the value instead.
GET of an HLL counted with PFCOUNT therefore shows a stale cache where
Redis shows the count - any later PF command reads both alike. A cache
marked fresh in a value (an HLL copied from Redis) is answered as Redis
answers it.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Callable
from functools import lru_cache

from ranet.kv import hll_sparse
from ranet.kv.arguments import string_at
from ranet.kv.hll_sparse import HEADER, REGISTERS, SparseHLL, opcode_at
from ranet.kv.keyspace import Keyspace
from ranet.kv.notifications import STRING
from ranet.kv.reply import OK, ErrorReply, Reply

_P = 14  # REGISTERS is 2^P
_Q = 64 - _P
_DENSE_SIZE = HEADER + REGISTERS * 6 // 8
_DENSE, _SPARSE = 0, 1
_STALE = 0x80  # in the cache's last byte

NOT_AN_HLL = ErrorReply("WRONGTYPE Key is not a valid HyperLogLog string value.")
CORRUPTED = ErrorReply("INVALIDOBJ Corrupted HLL object detected")

# --- hashing ------------------------------------------------------------------

_M = 0xC6A4A7935BD1E995
_U64 = (1 << 64) - 1
_SEED = 0xADC83B19


def murmur64a(data: bytes, seed: int = _SEED) -> int:
    """Austin Appleby's MurmurHash64A, as Redis's copy computes it on a
    little-endian machine."""
    h = (seed ^ (len(data) * _M)) & _U64
    whole = len(data) & ~7
    for (k,) in struct.iter_unpack("<Q", data[:whole]):
        k = (k * _M) & _U64
        k ^= k >> 47
        h ^= (k * _M) & _U64
        h = (h * _M) & _U64
    if whole < len(data):
        h ^= int.from_bytes(data[whole:], "little")
        h = (h * _M) & _U64
    h ^= h >> 47
    h = (h * _M) & _U64
    return h ^ (h >> 47)


def register_of(element: bytes) -> tuple[int, int]:
    """The register ``element`` falls in, and the value it offers: the
    position of the lowest set bit of the hash's other 50 bits (1-51)."""
    hashed = murmur64a(element)
    rest = (hashed >> _P) | (1 << _Q)
    return hashed & (REGISTERS - 1), (rest & -rest).bit_length()


# --- the value ----------------------------------------------------------------


_EMPTY = b"HYLL\x01" + bytes(10) + bytes((_STALE,)) + b"\x7f\xff"
"""An HLL as PFADD and PFMERGE make one (Redis's createHLLObject: sparse,
one XZERO of every register), its cache marked stale as both leave it."""


def hll_at(keyspace: Keyspace, key: bytes) -> bytes | ErrorReply | None:
    """The HLL at ``key`` (``None`` for no key), or the error Redis answers:
    WRONGTYPE for another type, its HyperLogLog WRONGTYPE for a string that
    is not an HLL."""
    value = string_at(keyspace, key)
    if value is None or isinstance(value, ErrorReply):
        return value
    if (
        len(value) < HEADER
        or value[:4] != b"HYLL"
        or value[4] > _SPARSE
        or (value[4] == _DENSE and len(value) != _DENSE_SIZE)
    ):
        return NOT_AN_HLL
    return value


def _dense_get(data: bytes | bytearray, index: int) -> int:
    byte, shift = HEADER + index * 6 // 8, index * 6 & 7
    high = data[byte + 1] if byte + 1 < len(data) else 0
    return ((data[byte] >> shift) | (high << (8 - shift))) & 63


def _dense_set(data: bytearray, index: int, count: int) -> int:
    """Raise dense register ``index`` to ``count``: 1 if it changed."""
    if count <= _dense_get(data, index):
        return 0
    byte, shift = HEADER + index * 6 // 8, index * 6 & 7
    data[byte] = (data[byte] & ~(63 << shift) & 0xFF) | (count << shift) & 0xFF
    if byte + 1 < len(data):
        data[byte + 1] = (data[byte + 1] & ~(63 >> (8 - shift)) & 0xFF) | count >> (8 - shift)
    return 1


def _sparse_registers(data: bytes | bytearray) -> bytearray | None:
    """The registers of a sparse HLL, in order; ``None`` if its runs do not
    cover exactly the 16,384 registers (Redis's hllMerge check)."""
    registers = bytearray(REGISTERS)
    index, at = 0, HEADER
    while at < len(data):
        size, run, value = opcode_at(data, at)
        if value:
            if index + run > REGISTERS:
                return None
            registers[index : index + run] = bytes((value,)) * run
        index += run
        at += size
    return registers if index == REGISTERS else None


# The dense registers, 4 per 3 bytes b0 b1 b2 (least significant bits first):
# r0 = b0 & 63, r1 = b0 >> 6 | (b1 & 15) << 2, r2 = b1 >> 4 | (b2 & 3) << 4,
# r3 = b2 >> 2 - computed for all at once with bytes.translate, and the two
# halves of r1 and r2 joined with one OR of big integers (no carries).
def _table(function: Callable[[int], int]) -> bytes:
    return bytes(function(byte) & 0xFF for byte in range(256))


_LOW6, _HIGH2 = _table(lambda b: b & 63), _table(lambda b: b >> 6)
_LOW4_UP2, _HIGH4 = _table(lambda b: (b & 15) << 2), _table(lambda b: b >> 4)
_LOW2_UP4, _HIGH6 = _table(lambda b: (b & 3) << 4), _table(lambda b: b >> 2)
_UP6 = _table(lambda b: (b & 3) << 6)
_UP4, _UP2 = _table(lambda b: (b & 15) << 4), _table(lambda b: b << 2)


def _or(first: bytes, second: bytes) -> bytes:
    """Bytewise OR of two strings of one length."""
    number = int.from_bytes(first, "little") | int.from_bytes(second, "little")
    return number.to_bytes(len(first), "little")


def _dense_registers(data: bytes | bytearray) -> bytearray:
    packed = bytes(data[HEADER:_DENSE_SIZE])
    b0, b1, b2 = packed[0::3], packed[1::3], packed[2::3]
    registers = bytearray(REGISTERS)
    registers[0::4] = b0.translate(_LOW6)
    registers[1::4] = _or(b0.translate(_HIGH2), b1.translate(_LOW4_UP2))
    registers[2::4] = _or(b1.translate(_HIGH4), b2.translate(_LOW2_UP4))
    registers[3::4] = b2.translate(_HIGH6)
    return registers


def _packed(registers: bytes | bytearray) -> bytes:
    """Dense registers packed, from one byte per register."""
    r0, r1 = bytes(registers[0::4]), bytes(registers[1::4])
    r2, r3 = bytes(registers[2::4]), bytes(registers[3::4])
    packed = bytearray(REGISTERS * 6 // 8)
    packed[0::3] = _or(r0, r1.translate(_UP6))
    packed[1::3] = _or(r1.translate(_HIGH6), r2.translate(_UP4))
    packed[2::3] = _or(r2.translate(_HIGH4), r3.translate(_UP2))
    return bytes(packed)


def _registers(data: bytes | bytearray) -> bytearray | None:
    """The registers of an HLL, one byte each, in order (``None``: a sparse
    HLL whose runs are corrupt)."""
    return _dense_registers(data) if data[4] == _DENSE else _sparse_registers(data)


def _to_dense(data: bytearray) -> bool:
    """Turn a sparse HLL dense in place, header kept (cache included);
    False, and ``data`` unchanged, if its runs are corrupt."""
    registers = _sparse_registers(data)
    if registers is None:
        return False
    data[HEADER:] = _packed(registers)
    data[4] = _DENSE
    return True


# --- counting -------------------------------------------------------------------

_ALPHA_INF = 0.721347520444481703680  # 1 / (2 ln 2)


def _sigma(x: float) -> float:
    if x == 1.0:
        return float("inf")
    y, z = 1.0, x
    while True:
        x *= x
        previous = z
        z += x * y
        y += y
        if z == previous:
            return z


def _tau(x: float) -> float:
    if x in (0.0, 1.0):
        return 0.0
    y, z = 1.0, 1 - x
    while True:
        x = math.sqrt(x)  # C's sqrt, as Redis: x ** 0.5 may round otherwise
        previous = z
        y *= 0.5
        z -= (1 - x) ** 2 * y
        if z == previous:
            return z / 3


def estimate(histogram: list[int]) -> int:
    """The cardinality a register histogram (``histogram[v]``: how many
    registers hold ``v``) gives, by Ertl's improved estimator, in Redis's
    double arithmetic, rounded half away from zero."""
    m = float(REGISTERS)
    z = m * _tau((m - histogram[_Q + 1]) / m)
    for value in range(_Q, 0, -1):
        z += histogram[value]
        z *= 0.5
    z += m * _sigma(histogram[0] / m)
    result = _ALPHA_INF * m * m / z
    whole = int(result)
    return whole + 1 if result - whole >= 0.5 else whole


def _histogram(registers: bytes | bytearray) -> list[int]:
    return [registers.count(value) for value in range(64)]


@lru_cache(maxsize=1024)
def _count(value: bytes) -> int | None:
    """The cardinality of the HLL ``value`` (``None``: corrupt). Values are
    immutable: a count is kept for the last 1,024 counted, where Redis
    writes it into the value's header."""
    registers = _registers(value)
    return None if registers is None else estimate(_histogram(registers))


# --- the commands ---------------------------------------------------------------


def _raised(
    value: bytes, registers: list[tuple[int, int]], strict: bool = True
) -> tuple[bytes, SparseHLL | None, bool] | None:
    """``value`` with each register raised in turn (index, count) as Redis
    raises them - sparse until Redis would turn it dense - the sparse
    opcodes if it still is, and whether a register changed; ``None`` if the
    HLL is corrupt (``strict``, as PFADD; PFMERGE, as Redis's, skips a
    register its corrupt runs do not reach). The header is left as it was."""
    if not registers:
        return value, None, False
    dense = bytearray(value) if value[4] == _DENSE else None
    sparse = None if dense is not None else hll_sparse.take(value)
    changed = False
    for index, count in registers:
        if sparse is not None:
            result = sparse.raise_register(index, count)
            if result is not None:
                if result < 0 and strict:
                    return None
                changed = changed or result > 0
                continue
            dense = bytearray(sparse.encode())  # Redis's promotion to dense
            sparse = None
            if not _to_dense(dense):
                return None
        changed = _dense_set(dense, index, count) > 0 or changed  # type: ignore[arg-type]
    if sparse is not None:
        return sparse.encode(), sparse, changed
    return bytes(dense), None, changed  # type: ignore[arg-type]


def _store(keyspace: Keyspace, key: bytes, value: bytes, sparse: SparseHLL | None) -> None:
    """Store an HLL that changed, its cached count marked stale (and keep
    its sparse opcodes for the next change). Keeps the key's deadline, as
    Redis's change in place does."""
    if not value[HEADER - 1] & _STALE:
        value = b"".join(
            (value[: HEADER - 1], bytes((value[HEADER - 1] | _STALE,)), value[HEADER:])
        )
    if sparse is not None:
        sparse.header = value[:HEADER]
        hll_sparse.keep(value, sparse)
    keyspace.replace(key, value)


def pfadd(keyspace: Keyspace, argv: list[bytes]) -> Reply:
    """PFADD key [element ...]: 1 if a register changed or the key is new,
    else 0."""
    key = argv[1]
    value = hll_at(keyspace, key)
    if isinstance(value, ErrorReply):
        return value
    raised = _raised(value or _EMPTY, [register_of(element) for element in argv[2:]])
    if raised is None:
        return CORRUPTED
    new, sparse, changed = raised
    if not (changed or value is None):
        if sparse is not None:
            hll_sparse.keep(new, sparse)
        return 0
    _store(keyspace, key, new, sparse)
    keyspace.notify(STRING, b"pfadd", key)
    return 1


def _union(keyspace: Keyspace, keys: list[bytes]) -> tuple[bytearray, bool] | ErrorReply:
    """The registers of the union of the HLLs at ``keys`` (a missing key is
    empty), and whether one of them is dense - or the first error."""
    union = bytearray(REGISTERS)
    dense = False
    for key in keys:
        value = hll_at(keyspace, key)
        if value is None:
            continue
        if isinstance(value, ErrorReply):
            return value
        registers = _registers(value)
        if registers is None:
            return CORRUPTED
        dense = dense or value[4] == _DENSE
        union = bytearray(map(max, union, registers))
    return union, dense


def pfcount(keyspace: Keyspace, argv: list[bytes]) -> Reply:
    """PFCOUNT key [key ...]: the estimated number of distinct elements
    added to the HLL, or to the union of the HLLs."""
    if len(argv) > 2:
        union = _union(keyspace, argv[1:])
        return union if isinstance(union, ErrorReply) else estimate(_histogram(union[0]))
    value = hll_at(keyspace, argv[1])
    if value is None or isinstance(value, ErrorReply):
        return 0 if value is None else value
    if not value[HEADER - 1] & _STALE:
        return int.from_bytes(value[8:HEADER], "little")
    count = _count(value)
    return CORRUPTED if count is None else count


def pfmerge(keyspace: Keyspace, argv: list[bytes]) -> Reply:
    """PFMERGE destkey [sourcekey ...]: OK; ``destkey`` holds the union of
    itself and the sources - dense if one of them is, else sparse, its
    registers raised in order as Redis raises them."""
    key = argv[1]
    union = _union(keyspace, argv[1:])
    if isinstance(union, ErrorReply):
        return union
    registers, dense = union
    value = keyspace.get(key)
    data = bytearray(_EMPTY if value is None else value)
    if dense and data[4] == _SPARSE and not _to_dense(data):
        return CORRUPTED
    if data[4] == _DENSE:
        data[HEADER:] = _packed(registers)  # the union holds the destination's own registers
        _store(keyspace, key, bytes(data), None)
        keyspace.notify(STRING, b"pfadd", key)
        return OK
    raised = _raised(
        bytes(data), [(i, count) for i, count in enumerate(registers) if count], strict=False
    )
    assert raised is not None, "the union read the destination's runs whole"
    _store(keyspace, key, raised[0], raised[1])
    keyspace.notify(STRING, b"pfadd", key)
    return OK
