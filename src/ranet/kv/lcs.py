"""LCS key1 key2 [LEN] [IDX] [MINMATCHLEN n] [WITHMATCHLEN]: the longest
common subsequence of two strings, as Redis 7.0 answers it.

Redis fills the dynamic-programming table of LCS lengths - one 32-bit cell
per pair of prefixes - and walks it back from the end, taking a byte where
the two strings match, else stepping back in the first string if that
cell is strictly larger, in the second otherwise. A Python loop over every cell would take
seconds where Redis takes milliseconds, so the table is held as bit rows
(Hyyrö's bit-parallel LCS): row ``i`` is an integer whose bit ``j`` is 0
exactly where ``LCS(i, j + 1) = LCS(i, j) + 1``, and one row follows from
the last by a few big-integer operations. A cell is then its column
less the ones below it in its row; the walk back reads the cells it
needs, so the string, the ranges and the length are Redis's to the byte.
The rows run along the shorter string (the cell's value does not depend
on which), so a long string against a short one costs little.

Redis refuses a table of more than ``proto-max-bulk-len`` (512 MB) of
cells; so does ranet, with Redis's error.
"""

from __future__ import annotations

from ranet.kv.arguments import NOT_AN_INTEGER, SYNTAX_ERROR, parse_int
from ranet.kv.keyspace import Keyspace
from ranet.kv.reply import ErrorReply, Reply

MAX_TABLE_BYTES = 512 << 20  # Redis's proto-max-bulk-len, for 4-byte cells
_NOT_STRINGS = ErrorReply("ERR The specified keys must contain string values")


class LcsTable:
    """``length(i, j)``: the LCS length of ``a[:i]`` and ``b[:j]``."""

    def __init__(self, a: bytes, b: bytes) -> None:
        self.transposed = len(a) < len(b)  # rows along the longer string: fewer rows
        rows_of, bits_of = (a, b) if not self.transposed else (b, a)
        masks: dict[int, int] = {}
        for position, byte in enumerate(bits_of):
            masks[byte] = masks.get(byte, 0) | 1 << position
        full = (1 << len(bits_of)) - 1
        row = full
        self.rows = [row]
        for byte in rows_of:
            matched = row & masks.get(byte, 0)
            row = ((row + matched) | (row - matched)) & full
            self.rows.append(row)

    def length(self, i: int, j: int) -> int:
        if self.transposed:
            i, j = j, i
        return j - (self.rows[i] & ((1 << j) - 1)).bit_count()


def lcs(keyspace: Keyspace, argv: list[bytes]) -> Reply:
    values = [keyspace.get(key) for key in argv[1:3]]
    if any(value is not None and not isinstance(value, bytes) for value in values):
        return _NOT_STRINGS
    a, b = (value or b"" for value in values)
    assert isinstance(a, bytes) and isinstance(b, bytes)
    want_length = want_ranges = with_lengths = False
    minimum = 0
    i = 3
    while i < len(argv):
        option = argv[i].upper()
        if option == b"IDX":
            want_ranges = True
        elif option == b"LEN":
            want_length = True
        elif option == b"WITHMATCHLEN":
            with_lengths = True
        elif option == b"MINMATCHLEN" and i + 1 < len(argv):
            i += 1
            number = parse_int(argv[i])
            if number is None:
                return NOT_AN_INTEGER
            minimum = max(number, 0)
        else:
            return SYNTAX_ERROR
        i += 1
    if want_ranges and want_length:
        return ErrorReply("ERR If you want both the length and indexes, please just use IDX.")
    if (len(a) + 1) * (len(b) + 1) * 4 > MAX_TABLE_BYTES:
        return ErrorReply(
            "ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len"
        )
    table = LcsTable(a, b)
    total = table.length(len(a), len(b))
    if want_length:
        return total
    common, ranges = _walk_back(table, a, b, total, minimum, with_lengths)
    if want_ranges:
        return {b"matches": ranges, b"len": total}
    return common


def _walk_back(
    table: LcsTable, a: bytes, b: bytes, total: int, minimum: int, with_lengths: bool
) -> tuple[bytes, list[Reply]]:
    """Redis's walk from the table's end: the common subsequence, and the
    matching ranges (last first), ``[[a start, a end], [b start, b end]]``
    with their length if ``with_lengths``, those shorter than ``minimum``
    left out."""
    common = bytearray(total)
    ranges: list[Reply] = []
    unset = len(a)  # no range open
    a_start, a_end, b_start, b_end = unset, 0, 0, 0
    i, j, k = len(a), len(b), total
    while i > 0 and j > 0:
        emit = False
        if a[i - 1] == b[j - 1]:
            common[k - 1] = a[i - 1]
            if a_start == unset:
                a_start = a_end = i - 1
                b_start = b_end = j - 1
            elif a_start == i and b_start == j:  # the range grows backwards
                a_start, b_start = a_start - 1, b_start - 1
            else:
                emit = True
            if a_start == 0 or b_start == 0:
                emit = True
            k, i, j = k - 1, i - 1, j - 1
        else:
            if table.length(i - 1, j) > table.length(i, j - 1):
                i -= 1
            else:
                j -= 1
            emit = a_start != unset
        if emit:
            matched = a_end - a_start + 1
            if minimum == 0 or matched >= minimum:
                found: list[Reply] = [[a_start, a_end], [b_start, b_end]]
                ranges.append([*found, matched] if with_lengths else found)
            a_start = unset
    return bytes(common), ranges
