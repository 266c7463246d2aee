"""The sparse encoding of a HyperLogLog (hyperloglog.py), changed exactly as
Redis 7.0's ``hllSparseSet`` changes it, so that the bytes are Redis's.

After the 16-byte header, run-length opcodes cover the 16,384 registers in
order: ZERO ``00xxxxxx`` (1-64 zero registers), XZERO ``01xxxxxx yyyyyyyy``
(1-16,384), VAL ``1vvvvvxx`` (1-4 registers holding 1-32). Raising one
register splits the opcode that covers it - into at most ZERO/XZERO, VAL,
ZERO/XZERO, or VAL, VAL, VAL - then merges adjacent VALs of one value,
from the opcode before the change, five opcodes on.

Redis walks the bytes from the start for every register it raises; in
Python that walk cost 160 us a PFADD on a sparse HLL near its end (about
1,600 registers set). Here the opcodes are decoded once into a list, with
the first register each covers beside it: a register's opcode is found by
bisection, and a split or a merge replaces list items (the firsts of the
opcodes after it do not move: the spans replaced add up to the same).
Decoded HLLs are kept for the next command on the same value
(``take``/``keep``), so a stream of PFADDs decodes nothing.
"""

from __future__ import annotations

from bisect import bisect_right

HEADER = 16
REGISTERS = 1 << 14
MAX_BYTES = 3000  # Redis's hll-sparse-max-bytes, its default: past it, the HLL turns dense
MAX_VALUE = 32  # the largest value a VAL opcode holds
_VAL_MAX_LEN = 4
_ZERO_MAX_LEN = 64
_KEPT = 128  # decoded HLLs kept for the commands that follow


def _val(value: int, length: int) -> bytes:
    return bytes((0x80 | (value - 1) << 2 | (length - 1),))


def _zeros(length: int) -> bytes:
    """ZERO, or XZERO past 64, for a run of ``length`` zero registers."""
    if length > _ZERO_MAX_LEN:
        return bytes((((length - 1) >> 8) | 0x40, (length - 1) & 0xFF))
    return bytes((length - 1,))


def _is_val(code: bytes) -> int:
    return code[0] & 0x80


def _val_parts(code: bytes) -> tuple[int, int]:
    """A VAL opcode's value and run length."""
    return ((code[0] >> 2) & 0x1F) + 1, (code[0] & 3) + 1


def opcode_at(data: bytes | bytearray, at: int) -> tuple[int, int, int]:
    """The opcode at byte ``at``: (its size in bytes, the registers it
    covers, their value). An XZERO cut at the end reads its missing byte as
    0, as Redis reads the string's terminating zero."""
    byte = data[at]
    if byte & 0x80:
        return 1, (byte & 3) + 1, ((byte >> 2) & 0x1F) + 1
    if byte & 0x40:
        low = data[at + 1] if at + 1 < len(data) else 0
        return 2, (((byte & 0x3F) << 8) | low) + 1, 0
    return 1, (byte & 0x3F) + 1, 0


class SparseHLL:
    """A sparse HLL's opcodes: ``codes`` (each opcode's bytes), ``firsts``
    (the first register each covers), ``covered`` (registers covered in
    all) and ``size`` (the string's length, header included)."""

    __slots__ = ("codes", "covered", "firsts", "header", "size")

    def __init__(self, header: bytes, codes: list[bytes], firsts: list[int], covered: int) -> None:
        self.header = header
        self.codes = codes
        self.firsts = firsts
        self.covered = covered
        self.size = HEADER + sum(map(len, codes))

    @classmethod
    def decode(cls, value: bytes) -> SparseHLL:
        """``value``'s opcodes. An XZERO cut by the end of the string (only
        a hand-made one can be) is kept as its one byte, its run read as
        Redis reads it."""
        codes: list[bytes] = []
        firsts: list[int] = []
        at, first = HEADER, 0
        while at < len(value):
            size, span, _ = opcode_at(value, at)
            codes.append(value[at : at + size])
            firsts.append(first)
            at += size
            first += span
        return cls(value[:HEADER], codes, firsts, first)

    def encode(self) -> bytes:
        return b"".join((self.header, *self.codes))

    def raise_register(self, index: int, count: int) -> int | None:
        """Raise register ``index`` to ``count``: 1 if it changed, 0 if it
        held as much already, -1 if no opcode covers it or a cut one does
        (corrupt), ``None``
        if Redis would turn the HLL dense for it (``count`` above 32, or the
        string past 3,000 bytes); nothing changed then."""
        if count > MAX_VALUE:
            return None
        if index >= self.covered or not self.codes:
            return -1
        at = bisect_right(self.firsts, index) - 1
        code, first = self.codes[at], self.firsts[at]
        if len(code) == 1 and code[0] & 0xC0 == 0x40:
            return -1  # the cut XZERO: Redis writes past the end of the string here
        following = self.firsts[at + 1] if at + 1 < len(self.firsts) else self.covered
        last = following - 1
        if _is_val(code):
            value, _ = _val_parts(code)
            if value >= count:
                return 0
            pieces = [(first, _val(value, index - first))] if index != first else []
            pieces.append((index, _val(count, 1)))
            if index != last:
                pieces.append((index + 1, _val(value, last - index)))
        else:
            pieces = [(first, _zeros(index - first))] if index != first else []
            pieces.append((index, _val(count, 1)))
            if index != last:
                pieces.append((index + 1, _zeros(last - index)))
        growth = sum(len(piece) for _, piece in pieces) - len(code)
        if growth > 0 and self.size + growth > MAX_BYTES:
            return None
        self.firsts[at : at + 1] = [start for start, _ in pieces]
        self.codes[at : at + 1] = [piece for _, piece in pieces]
        self.size += growth
        self._merge_values(max(at - 1, 0))
        return 1

    def _merge_values(self, at: int) -> None:
        """Redis's last step: from the opcode before the change, five
        opcodes on, join two adjacent VALs of one value while the run fits
        in one."""
        codes = self.codes
        for _ in range(5):
            if at >= len(codes):
                return
            if not _is_val(codes[at]):
                at += 1
                continue
            if at + 1 < len(codes) and _is_val(codes[at + 1]):
                value, run = _val_parts(codes[at])
                next_value, next_run = _val_parts(codes[at + 1])
                if value == next_value and run + next_run <= _VAL_MAX_LEN:
                    codes[at : at + 2] = [_val(value, run + next_run)]
                    del self.firsts[at + 1]
                    self.size -= 1
                    continue
            at += 1


_kept: dict[bytes, SparseHLL] = {}


def take(value: bytes) -> SparseHLL:
    """The decoded opcodes of the sparse HLL ``value``, to change: kept from
    the command that made ``value`` if there was one, else decoded."""
    sparse = _kept.pop(value, None)
    return sparse if sparse is not None else SparseHLL.decode(value)


def keep(value: bytes, sparse: SparseHLL) -> None:
    """Keep ``sparse``, the decoded ``value``, for a later command (the
    oldest of ``_KEPT`` goes)."""
    _kept[value] = sparse
    if len(_kept) > _KEPT:
        del _kept[next(iter(_kept))]
