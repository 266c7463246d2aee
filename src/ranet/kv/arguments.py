"""What the command handlers share: Redis's integer parsing, SCAN-style
options, the common error replies, a container command's subcommand errors,
and the handlers several types share: HLEN, SCARD, LLEN, ZCARD and XLEN
(``length``); HDEL, SREM and ZREM (``remove_parts``)."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
from typing import TypeVar

from ranet.kv import notifications
from ranet.kv.command_spec import CommandSpec
from ranet.kv.glob import compile_pattern, match_tokens
from ranet.kv.keyspace import Keyspace
from ranet.kv.reply import ErrorReply, Reply

T = TypeVar("T")

REDIS_VERSION = "7.0.0"  # the Redis whose commands these are: INFO, HELLO, redis.REDIS_VERSION
INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
_MAX_INT_TEXT = 20  # bytes in "-9223372036854775808"; longer text is never an integer

SYNTAX_ERROR = ErrorReply("ERR syntax error")
NOT_AN_INTEGER = ErrorReply("ERR value is not an integer or out of range")
OVERFLOW = ErrorReply("ERR increment or decrement would overflow")
WRONG_TYPE = ErrorReply("WRONGTYPE Operation against a key holding the wrong kind of value")
INVALID_CURSOR = ErrorReply("ERR invalid cursor")
NOT_POSITIVE = ErrorReply("ERR value is out of range, must be positive")
OUT_OF_LONG_RANGE = ErrorReply(
    f"ERR value is out of range, value must between {-INT64_MAX} and {INT64_MAX}"
)
MAX_STRING_BYTES = 512 << 20
"""The longest string APPEND, SETRANGE, SETBIT and BITFIELD may make: Redis's
default ``proto-max-bulk-len``. A constant of the store, not a setting, so
that every replica refuses the same writes."""
STRING_TOO_LONG = ErrorReply("ERR string exceeds maximum allowed size (proto-max-bulk-len)")
NOT_A_FLOAT = ErrorReply("ERR value is not a valid float")
NAN_OR_INFINITY = ErrorReply("ERR increment would produce NaN or Infinity")
_UINT64_MAX = 2**64 - 1
MAX_REPEATS = 1 << 24
"""The most members SRANDMEMBER / ZRANDMEMBER with a negative count answer:
Redis streams any count; ranet builds the reply in memory, on the node's loop."""


def parse_int(text: bytes) -> int | None:
    """The signed 64-bit integer ``text`` spells exactly, or ``None``.

    Mirrors Redis's ``string2ll``: an optional ``-`` then digits, no leading
    zero (except ``0`` itself), no ``+``, no spaces, within 64 bits.
    """
    if not 0 < len(text) <= _MAX_INT_TEXT:
        return None
    digits = text[1:] if text[0] == 45 else text  # 45 is "-"
    if not digits.isdigit() or (digits[0] == 48 and text != b"0"):  # 48 is "0"
        return None
    value = int(text)
    return value if INT64_MIN <= value <= INT64_MAX else None


DECIMAL_TEXT = re.compile(rb"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE]([+-]?\d+))?")
"""A number as ``strtod`` reads it, in decimal (group 1: the exponent)."""
INFINITY_TEXT = re.compile(rb"[+-]?inf(?:inity)?", re.I)
_MAX_TIMEOUT_S = INT64_MAX / 1000


def parse_double(text: bytes) -> float | None:
    """The double ``text`` spells (decimal, exponent, ``inf``), or ``None``
    for anything else: NaN, and, as Redis's ``strtod`` check, a number too
    large for a double or too small to be told from zero."""
    if not (DECIMAL_TEXT.fullmatch(text) or INFINITY_TEXT.fullmatch(text)):
        return None
    value = float(text)
    if math.isinf(value) and b"n" not in text.lower():  # 1e400: not "inf"
        return None
    if value == 0 and text.lower().partition(b"e")[0].translate(None, b"+-.0"):
        return None  # 1e-400: digits other than 0, read as 0
    return value


def parse_timeout(text: bytes) -> float | ErrorReply:
    """A blocking command's timeout in seconds (0: none), as Redis checks it."""
    seconds = parse_double(text)
    if seconds is None:
        return ErrorReply("ERR timeout is not a float or out of range")
    if seconds > _MAX_TIMEOUT_S:
        return ErrorReply("ERR timeout is out of range")
    if seconds < 0:
        return ErrorReply("ERR timeout is negative")
    return seconds


def parse_milliseconds(text: bytes) -> int | ErrorReply:
    """A timeout in milliseconds (WAIT, CLIENT PAUSE), as Redis 7.0's
    ``getTimeoutFromObjectOrReply`` checks it: an integer, not negative."""
    milliseconds = parse_int(text)
    if milliseconds is None:
        return ErrorReply("ERR timeout is not an integer or out of range")
    if milliseconds < 0:
        return ErrorReply("ERR timeout is negative")
    return milliseconds


def text_of(arg: bytes) -> str:
    return arg.decode("utf-8", "replace")


def subcommand_error(argv: list[bytes], arities: dict[bytes, int]) -> ErrorReply | None:
    """A container command's (XGROUP, XINFO) error for an unknown subcommand,
    or for one with the wrong number of arguments (its arity in ``arities``,
    by upper-case name), worded as Redis words them; else ``None``."""
    command = text_of(argv[0]).upper()
    subcommand = argv[1].upper()
    arity = arities.get(subcommand)
    if arity is None:
        return ErrorReply(f"ERR unknown subcommand '{text_of(argv[1][:128])}'. Try {command} HELP.")
    if len(argv) != arity if arity > 0 else len(argv) < -arity:
        return arity_error(f"{command.lower()}|{text_of(subcommand).lower()}")
    return None


def answered_before_running(
    argv: list[bytes], arities: dict[bytes, int], help_lines: list[bytes]
) -> Reply | None:
    """What Redis answers a container command (OBJECT, XINFO, ...) before
    running a subcommand: ``subcommand_error``'s error, or HELP's lines;
    None to run it."""
    refused = subcommand_error(argv, arities)
    if refused is not None:
        return refused
    return list(help_lines) if argv[1].upper() == b"HELP" else None


def subcommand_refusal(spec: CommandSpec, argv: list[bytes]) -> ErrorReply | None:
    """``subcommand_error`` for a container that lists its subcommands
    (OBJECT, XINFO): what Redis refuses before running anything, as it
    looks the subcommand up with the command - so that it dooms a
    transaction, and a script's call is refused as Redis refuses it."""
    return subcommand_error(argv, dict(spec.subcommands)) if spec.subcommands else None


def subcommand_syntax_error(argv: list[bytes]) -> ErrorReply:
    """Redis's reply to a subcommand's options it cannot read."""
    return ErrorReply(
        f"ERR unknown subcommand or wrong number of arguments for '{text_of(argv[1])}'. "
        f"Try {text_of(argv[0]).upper()} HELP."
    )


def time_reply(microseconds: int) -> Reply:
    """TIME's reply for a unix time in microseconds: seconds and microseconds."""
    seconds, rest = divmod(microseconds, 1_000_000)
    return [b"%d" % seconds, b"%d" % rest]


def arity_error(name: bytes | str) -> ErrorReply:
    """Redis's reply to a known command called with the wrong number of arguments."""
    if isinstance(name, bytes):
        name = text_of(name)
    return ErrorReply(f"ERR wrong number of arguments for '{name.lower()}' command")


def non_negative(text: bytes, error: ErrorReply) -> int | ErrorReply:
    """An integer argument that must not be negative: Redis's integer error
    for text that is no integer, ``error`` for a negative one."""
    number = parse_int(text)
    if number is None:
        return NOT_AN_INTEGER
    return error if number < 0 else number


def parse_multi_pop(
    argv: list[bytes], ends: dict[bytes, bool]
) -> tuple[list[bytes], bool, int] | ErrorReply:
    """LMPOP / ZMPOP numkeys key [key ...] END [COUNT count]: the keys, the
    flag ``ends`` gives the END word (LEFT / RIGHT, MIN / MAX, any case) and
    the count (default 1) - or the error Redis answers first."""
    numkeys = parse_int(argv[1])
    if numkeys is None or numkeys < 1:
        return ErrorReply("ERR numkeys should be greater than 0")
    end_at = 2 + numkeys
    if end_at >= len(argv):
        return SYNTAX_ERROR
    end = ends.get(argv[end_at].upper())
    if end is None:
        return SYNTAX_ERROR
    count, options = 1, argv[end_at + 1 :]
    if options:
        if len(options) != 2 or options[0].upper() != b"COUNT":
            return SYNTAX_ERROR
        parsed = parse_int(options[1])
        if parsed is None or parsed < 1:
            return ErrorReply("ERR count should be greater than 0")
        count = parsed
    return argv[2:end_at], end, count


def check_repeats(count: int) -> ErrorReply | None:
    """An error if a negative random-member ``count`` asks for more than ``MAX_REPEATS``."""
    if -count > MAX_REPEATS:
        return ErrorReply(
            f"ERR value is out of range, a negative count may ask for at most {MAX_REPEATS} members"
        )
    return None


def parse_cursor(text: bytes) -> int | None:
    """A SCAN cursor: an unsigned 64-bit number, or ``None``."""
    cursor = int(text) if text.isdigit() else -1
    return cursor if 0 <= cursor <= _UINT64_MAX else None


def scan_options(
    argv: list[bytes], start: int, names: tuple[bytes, ...], flags: tuple[bytes, ...] = ()
) -> dict[bytes, bytes] | ErrorReply:
    """The options of a SCAN-like command from ``argv[start:]``: ``NAME
    value`` pairs among ``names`` and bare ``flags`` (mapped to ``b""``),
    checked in order as Redis checks them - COUNT a positive integer."""
    options: dict[bytes, bytes] = {}
    i = start
    while i < len(argv):
        option = argv[i].upper()
        if option in flags:
            options[option], i = b"", i + 1
            continue
        if i + 1 == len(argv) or option not in names:
            return SYNTAX_ERROR
        value = argv[i + 1]
        if option == b"COUNT":
            number = parse_int(value)
            if number is None:
                return NOT_AN_INTEGER
            if number < 1:
                return SYNTAX_ERROR
        options[option], i = value, i + 2
    return options


def parse_key_scan(
    argv: list[bytes], flags: tuple[bytes, ...] = ()
) -> dict[bytes, bytes] | ErrorReply:
    """HSCAN / SSCAN / ZSCAN key cursor [MATCH pattern] [COUNT n] [flags]: the
    options, or the error Redis answers first (the cursor, then the options)."""
    if parse_cursor(argv[2]) is None:
        return INVALID_CURSOR
    return scan_options(argv, 3, (b"COUNT", b"MATCH"), flags)


def matching(
    options: dict[bytes, bytes], items: Iterable[T], name: Callable[[T], bytes]
) -> list[T]:
    """The ``items`` whose ``name`` matches the MATCH pattern of ``options``
    (every item without one)."""
    pattern = options.get(b"MATCH", b"*")
    if pattern == b"*":
        return list(items)
    tokens = compile_pattern(pattern)
    return [item for item in items if match_tokens(tokens, name(item))]


def of_type(keyspace: Keyspace, key: bytes, kind: type[T]) -> T | ErrorReply | None:
    """The value at ``key`` if it is a ``kind`` (bytes, ``Hash``, ``Set``),
    ``None`` if there is none, or Redis's WRONGTYPE error."""
    value = keyspace.get(key)
    return value if value is None or isinstance(value, kind) else WRONG_TYPE


def string_at(keyspace: Keyspace, key: bytes) -> bytes | ErrorReply | None:
    """The string at ``key``, ``None`` if there is none, or WRONGTYPE."""
    return of_type(keyspace, key, bytes)


def first_present(
    keyspace: Keyspace, keys: Iterable[bytes], kind: type[T]
) -> tuple[bytes, T] | ErrorReply | None:
    """The first of ``keys`` that holds a value, with its value, if that is a
    ``kind`` (WRONGTYPE if not); ``None`` if none does. What LMPOP, BLPOP,
    ZMPOP and BZPOPMIN take from."""
    for key in keys:
        value = of_type(keyspace, key, kind)
        if value is not None:
            return value if isinstance(value, ErrorReply) else (key, value)
    return None


def length(keyspace: Keyspace, argv: list[bytes], kind: type[T]) -> Reply:
    """HLEN / SCARD / LLEN / ZCARD / XLEN key on a ``kind``: how many parts
    it holds, 0 for no key."""
    parts = of_type(keyspace, argv[1], kind)
    if parts is None or isinstance(parts, ErrorReply):
        return 0 if parts is None else parts
    return len(parts)  # type: ignore[arg-type]


def remove_parts(keyspace: Keyspace, argv: list[bytes], kind: type[T]) -> Reply:
    """HDEL / SREM / ZREM key part [part ...] on a ``kind`` (``Hash``, ``Set``,
    ``SortedSet``): how many parts were there; the key goes with the last."""
    key = argv[1]
    parts = of_type(keyspace, key, kind)
    if parts is None or isinstance(parts, ErrorReply):
        return 0 if parts is None else parts
    present = [part for part in dict.fromkeys(argv[2:]) if part in parts]  # type: ignore[operator]
    keyspace.remove_parts(key, present)
    if present:
        keyspace.notify_taken(*_REMOVED_EVENTS[kind.__name__], key)
    return len(present)


_REMOVED_EVENTS = {
    "Hash": (notifications.HASH, b"hdel"),
    "Set": (notifications.SET, b"srem"),
    "SortedSet": (notifications.ZSET, b"zrem"),
}
