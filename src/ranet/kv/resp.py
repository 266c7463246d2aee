"""The Redis protocol (RESP) on the wire: requests in, replies out.

Sans-IO, like the rest of ranet's protocol code: ``RequestParser`` is fed
whatever chunks a socket delivers and returns the complete commands, each an
``argv`` (``list[bytes]``, the command name first); ``encode_reply`` turns a
reply value (``ranet.kv.reply``) into RESP2 bytes, or RESP3 bytes for a
connection that said ``HELLO 3``.

A request is either a RESP array of bulk strings (what client libraries
send: ``*2\\r\\n$3\\r\\nGET\\r\\n$1\\r\\na\\r\\n``) or an *inline command*, a line
of text split at spaces with redis-cli's quoting rules (what telnet, netcat
and people send). Anything else is a ``RespProtocolError`` worded as Redis
words it; after one, the stream is beyond repair and the caller hangs up.

Rule 1 - limits are enforced on headers, before the data they announce is
buffered: a client announcing a 10 GB bulk string, or a billion arguments,
is refused when the header arrives. A header line may not exceed 32 bytes,
an inline line ``max_inline_len``; so the parser never holds more than the
chunk being fed plus one unfinished command (at most ``max_command_len``
bytes of arguments and one line).

Rule 2 - the work is linear in the bytes received: a command cut by the end
of a chunk resumes on the next chunk where it stopped (its arguments so far
are kept), and a bulk string still arriving is only collected until it is
complete, then joined once.

Theory of operation. The parser has two paths producing identical results.
The fast path takes a run of complete, canonical commands with small
arguments (the bulk of any pipeline) and frames them with one ``split`` of
the buffer at C speed, checking every header against its canonical spelling
in one list comparison per command. Whatever it does not take - an inline
line, a large or CRLF-containing argument, a command cut by the end of the
chunk, a malformed header - the slow path parses byte-exactly, keeps the
state of an unfinished command, and raises the precise error. A chunk that
arrives with nothing left over from the one before and that the fast path
takes whole - every request of a client that does not pipeline - touches
neither the buffer nor the slow path.

We do not use hiredis' Reader for requests: it builds a list as soon as it
reads an array header (``*2000000000`` asks for 16 GB), buffers any bulk
length it is told, and accepts every reply type (integers, nested arrays).
Guarding it would mean scanning every header in Python first, which costs
what this parser costs.
"""

from __future__ import annotations

from dataclasses import dataclass

from ranet.errors import ConfigurationError, RespProtocolError
from ranet.kv.arguments import parse_int
from ranet.kv.reply import (
    NULL_ARRAY,
    OK,
    Double,
    ErrorReply,
    Keyed,
    Members,
    Push,
    Reply,
    Scored,
    Status,
    format_score,
)
from ranet.kv.split_args import split_inline

Encodable = Reply | dict  # a dict is a RESP3 map (a flat array in RESP2), e.g. HELLO's reply


@dataclass(slots=True, frozen=True)
class RequestLimits:
    """How much one client request may hold; every limit is checked on the header.

    The defaults keep a command well inside one Raft log entry, which travels
    in a peer transport frame of at most 64 MiB.
    """

    max_bulk_len: int = 16 << 20
    """Largest argument, in bytes (Redis's ``proto-max-bulk-len``, 512 MiB there)."""
    max_args: int = 1 << 20
    """Most arguments in one command, the name included."""
    max_command_len: int = 32 << 20
    """Most bytes of arguments in one command (Redis caps a client's whole query buffer)."""
    max_inline_len: int = 64 << 10
    """Longest inline command line, its line ending included (Redis's ``PROTO_INLINE_MAX_SIZE``)."""

    def __post_init__(self) -> None:
        for name in ("max_bulk_len", "max_args", "max_command_len", "max_inline_len"):
            if getattr(self, name) < 1:
                raise ConfigurationError(f"RequestLimits.{name} must be at least 1")


DEFAULT_LIMITS = RequestLimits()

_HEADER_MAX = 32  # "*" or "$", a signed 64-bit number, CRLF, with room to spare
_STAR, _DOLLAR = ord("*"), ord("$")

# The fast path's tables: canonical array headers and bulk headers, by value.
_FAST_MAX_ARGS = 1024
_FAST_MAX_BULK = 4096  # arguments shorter than this
_ARRAY_COUNTS: dict[bytes, int] = {b"*%d" % n: n for n in range(1, _FAST_MAX_ARGS + 1)}
_BULK_HEADERS: list[bytes] = [b"$%d" % n for n in range(_FAST_MAX_BULK)]

INVALID_MULTIBULK = "Protocol error: invalid multibulk length"
INVALID_BULK = "Protocol error: invalid bulk length"
TOO_BIG_INLINE = "Protocol error: too big inline request"
MISSING_CRLF = "Protocol error: bulk string not followed by CRLF"


class RequestParser:
    """Turns a client's byte stream into commands (``list[bytes]`` each), in order.

    ``feed`` raises ``RespProtocolError`` at the first byte that is not a
    request, carrying the commands completed before it; the parser must not
    be fed again after that.
    """

    __slots__ = (
        "_arg_bytes",
        "_args",
        "_buffered",
        "_bulk_len",
        "_chunks",
        "_fast_count",
        "_fast_headers",
        "_limits",
        "_line_limit",
        "_need_bytes",
        "_remaining",
    )

    def __init__(self, limits: RequestLimits = DEFAULT_LIMITS) -> None:
        self._limits = limits
        fast_bulk = min(_FAST_MAX_BULK, limits.max_bulk_len + 1)
        self._fast_headers = _BULK_HEADERS[:fast_bulk]
        # A fast command holds at most _fast_count arguments shorter than fast_bulk,
        # so it can exceed neither max_args nor max_command_len.
        self._fast_count = min(
            _FAST_MAX_ARGS, limits.max_args, limits.max_command_len // max(fast_bulk - 1, 1)
        )
        self._chunks: list[bytes] = []  # bytes received and not parsed yet
        self._buffered = 0  # their total length
        self._need_bytes = 0  # parse again only when this many bytes are buffered...
        self._line_limit = 0  # ...or, if set, when a newline arrives or this many are buffered
        self._args: list[bytes] | None = None  # arguments of an unfinished array command
        self._remaining = 0  # bulk strings it still expects
        self._bulk_len = -1  # length of the bulk string whose data is awaited, or -1
        self._arg_bytes = 0  # bytes of arguments it holds so far

    def feed(self, data: bytes) -> list[list[bytes]]:
        """Take the next bytes of the stream; return the commands they complete, in order."""
        commands: list[list[bytes]] = []
        fresh = not self._chunks and self._args is None  # nothing left from before
        if fresh:
            pos = self._parse_fast(data, 0, commands) if data.startswith(b"*") else 0
            if pos == len(data):
                return commands  # the usual chunk: whole commands, nothing to keep
            buf = data
        else:
            if data:
                self._chunks.append(data)
                self._buffered += len(data)
            if self._buffered < self._need_bytes:
                return []
            if self._line_limit and b"\n" not in data and self._buffered < self._line_limit:
                return []
            chunks = self._chunks
            buf = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        self._need_bytes = self._line_limit = 0
        try:
            if fresh:  # the fast path stopped at pos: the slow one takes the rest
                pos = self._parse_slow(buf, pos, commands, one=False)
            else:
                pos = self._parse(buf, commands)
        except RespProtocolError as error:
            error.commands = commands
            raise
        rest = buf[pos:] if pos else buf
        self._chunks = [rest] if rest else []
        self._buffered = len(rest)
        return commands

    def _parse(self, buf: bytes, commands: list[list[bytes]]) -> int:
        """Parse what ``buf`` completes; return the position of the first unparsed byte."""
        pos = 0
        if self._args is not None:  # finish the command the last chunk cut
            pos = self._parse_slow(buf, pos, commands, one=True)
            if self._args is not None:
                return pos
        if buf.startswith(b"*", pos):
            pos = self._parse_fast(buf, pos, commands)
        return self._parse_slow(buf, pos, commands, one=False)

    def _parse_fast(self, buf: bytes, pos: int, commands: list[list[bytes]]) -> int:
        """Take the run of complete canonical commands with small arguments at ``pos``.

        Splitting at CRLF makes a canonical command ``1 + 2n`` lines: its
        header, then a bulk header and an argument for each of its ``n``
        arguments. A line after the last CRLF is unfinished and never taken.
        """
        lines = (buf[pos:] if pos else buf).split(b"\r\n")
        last = len(lines) - 1
        count_of = _ARRAY_COUNTS.get
        header_of = self._fast_headers.__getitem__  # IndexError: an argument too long
        fast_count = self._fast_count
        append = commands.append
        i = 0
        try:
            while i < last:
                count = count_of(lines[i], 0)
                end = i + 1 + 2 * count
                if not 0 < count <= fast_count or end > last:
                    break
                args = lines[i + 2 : end : 2]
                if lines[i + 1 : end : 2] != list(map(header_of, map(len, args))):
                    break  # a non-canonical header, or an argument containing CRLF
                append(args)
                i = end
        except IndexError:
            pass
        if i == last and not lines[last]:
            return len(buf)  # every line taken, and the buffer ends with one
        return pos + sum(map(len, lines[:i])) + 2 * i

    def _parse_slow(self, buf: bytes, pos: int, commands: list[list[bytes]], *, one: bool) -> int:
        """Parse byte by byte from ``pos``, keeping the state of an unfinished command.

        Returns the position of the first unparsed byte; with ``one``, returns
        after the first command completed.
        """
        limits = self._limits
        end = len(buf)
        while pos < end:
            if self._args is None:
                if buf[pos] != _STAR:
                    line_end = self._inline(buf, pos, commands)
                    if line_end < 0:
                        return pos
                    pos = line_end
                    continue
                header = self._header(buf, pos, INVALID_MULTIBULK)
                if header is None:
                    return pos
                count, pos = header
                if count > limits.max_args:
                    raise RespProtocolError(INVALID_MULTIBULK)
                if count > 0:  # Redis ignores "*0" and "*-1"
                    self._args, self._remaining, self._arg_bytes = [], count, 0
                continue
            if self._bulk_len < 0:
                if buf[pos] != _DOLLAR:
                    raise RespProtocolError(f"Protocol error: expected '$', got {_show(buf[pos])}")
                header = self._header(buf, pos, INVALID_BULK)
                if header is None:
                    return pos
                size, pos = header
                if not 0 <= size <= limits.max_bulk_len:
                    raise RespProtocolError(INVALID_BULK)
                if self._arg_bytes + size > limits.max_command_len:
                    raise RespProtocolError(
                        "Protocol error: command too large "
                        f"(its arguments exceed {limits.max_command_len} bytes)"
                    )
                self._bulk_len = size
            size = self._bulk_len
            if end - pos < size + 2:
                self._need_bytes = size + 2
                return pos
            if buf[pos + size : pos + size + 2] != b"\r\n":
                raise RespProtocolError(MISSING_CRLF)
            self._args.append(buf[pos : pos + size])
            self._arg_bytes += size
            self._bulk_len = -1
            pos += size + 2
            self._remaining -= 1
            if not self._remaining:
                commands.append(self._args)
                self._args = None
                if one:
                    return pos
        return pos

    def _header(self, buf: bytes, pos: int, error: str) -> tuple[int, int] | None:
        """The number of the ``*n`` or ``$n`` line at ``pos`` and the position after it.

        ``None`` when the line is unfinished; ``error`` when it is no number.
        """
        line_end = buf.find(b"\r\n", pos, pos + _HEADER_MAX)
        if line_end < 0:
            if len(buf) - pos >= _HEADER_MAX:
                raise RespProtocolError(error)
            self._line_limit = _HEADER_MAX
            return None
        value = parse_int(buf[pos + 1 : line_end])
        if value is None:
            raise RespProtocolError(error)
        return value, line_end + 2

    def _inline(self, buf: bytes, pos: int, commands: list[list[bytes]]) -> int:
        """Parse the inline line at ``pos``; return the position after it, -1 if unfinished."""
        limit = self._limits.max_inline_len
        line_end = buf.find(b"\n", pos, pos + limit)
        if line_end < 0:
            if len(buf) - pos >= limit:
                raise RespProtocolError(TOO_BIG_INLINE)
            self._line_limit = limit
            return -1
        line = buf[pos:line_end]
        args = split_inline(line[:-1] if line.endswith(b"\r") else line)
        if args:  # an empty line is ignored, as Redis ignores it
            commands.append(args)
        return line_end + 1


def _show(byte: int) -> str:
    """A byte quoted for an error line: itself if printable, else an escape."""
    return f"'{chr(byte)}'" if 32 <= byte < 127 else f"'\\x{byte:02x}'"


def encode_reply(reply: Encodable, resp3: bool = False) -> bytes:
    """The RESP bytes of one reply: RESP2, or RESP3 after ``HELLO 3``.

    The two differ, for our replies, in the nulls (``$-1`` and ``*-1`` / ``_``), the
    map (a flat array / ``%``), the set (an array / ``~``), the score (a
    bulk string / a double) and scored members (one flat array / pairs).
    """
    kind = type(reply)
    if kind is bytes:
        return b"$%d\r\n%b\r\n" % (len(reply), reply)  # type: ignore[arg-type]
    if reply is OK:
        return b"+OK\r\n"
    if kind is int:
        return b":%d\r\n" % reply
    pieces: list[bytes] = []
    _encode_into(reply, pieces, resp3)
    return b"".join(pieces)


def _encode_into(reply: Encodable, out: list[bytes], resp3: bool) -> None:
    if isinstance(reply, bytes):
        out += (b"$%d\r\n" % len(reply), reply, b"\r\n")
    elif reply is True or reply is False:  # a script's boolean, after redis.setresp(3)
        out.append((b"#t\r\n" if reply else b"#f\r\n") if resp3 else b":%d\r\n" % reply)
    elif isinstance(reply, int):
        out.append(b":%d\r\n" % reply)
    elif reply is None:
        out.append(b"_\r\n" if resp3 else b"$-1\r\n")
    elif reply is NULL_ARRAY:
        out.append(b"_\r\n" if resp3 else b"*-1\r\n")
    elif isinstance(reply, Status):
        out.append(b"+%b\r\n" % _one_line(reply.text))
    elif isinstance(reply, ErrorReply):
        out.append(b"-%b\r\n" % _one_line(reply.message))
    elif isinstance(reply, float | Double):
        text = format_score(reply) if isinstance(reply, float) else reply.text
        out.append(b",%b\r\n" % text if resp3 else b"$%d\r\n%b\r\n" % (len(text), text))
    elif isinstance(reply, list):
        shape = type(reply)
        if shape is Keyed and resp3:  # [key, reply] pairs: a map (RESP2: an array of pairs)
            _encode_into(dict(reply), out, resp3)
            return
        if shape is Scored and not resp3:  # RESP2: member, score, member, score ...
            reply = [part for pair in reply for part in pair]
        kind = _RESP3_ARRAYS.get(shape, b"*") if resp3 else b"*"
        out.append(b"%b%d\r\n" % (kind, len(reply)))
        for item in reply:
            _encode_into(item, out, resp3)
    elif isinstance(reply, dict):
        out.append(b"%%%d\r\n" % len(reply) if resp3 else b"*%d\r\n" % (2 * len(reply)))
        for key, value in reply.items():
            _encode_into(key, out, resp3)
            _encode_into(value, out, resp3)
    else:
        raise TypeError(f"no RESP encoding for {type(reply).__name__}: {reply!r}")


_RESP3_ARRAYS = {Members: b"~", Push: b">"}


def _one_line(text: str) -> bytes:
    """A status or error text as one protocol line: CR and LF become spaces."""
    return text.replace("\r", " ").replace("\n", " ").encode()
