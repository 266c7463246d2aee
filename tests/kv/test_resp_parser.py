"""The request parser: whatever the chunking, the same commands; bad bytes, Redis's error.

Limits are checked on headers: a client announcing more than it may send is
refused when the announcement arrives, before anything is buffered.
"""

from __future__ import annotations

import random

import pytest

from ranet.errors import ConfigurationError, RespProtocolError
from ranet.kv.resp import RequestLimits, RequestParser
from ranet.kv.split_args import split_inline


def array(*args: bytes) -> bytes:
    """The canonical RESP array of bulk strings, as client libraries send commands."""
    return b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%b\r\n" % (len(a), a) for a in args)


def feed_all(data: bytes, cuts: list[int], limits: RequestLimits | None = None) -> list:
    """Feed ``data`` cut at ``cuts`` to one parser; all the commands it returned."""
    parser = RequestParser(limits) if limits else RequestParser()
    commands = []
    for start, end in zip([0, *cuts], [*cuts, len(data)], strict=True):
        commands += parser.feed(data[start:end])
    return commands


PIPELINE = [
    [b"SET", b"key", b"value"],
    [b"GET", b"key"],
    [b"SET", b"crlf", b"a\r\nb\r\n"],  # an argument holding CRLF: the slow path
    [b"SET", b"empty", b""],
    [b"SET", b"big", bytes(range(256)) * 20],  # longer than the fast path takes
    [b"MGET", *[b"k%d" % i for i in range(40)]],
]
PIPELINE_BYTES = (
    b"".join(array(*argv) for argv in PIPELINE[:3])
    + b"\r\n"  # an empty line between commands is ignored
    + b'set "quoted key" \'it\\\'s\' "\\x41\\n"\r\n'  # an inline command
    + b"".join(array(*argv) for argv in PIPELINE[3:])
)
PIPELINE_PARSED = [*PIPELINE[:3], [b"set", b"quoted key", b"it's", b"A\n"], *PIPELINE[3:]]


def test_a_pipeline_in_one_chunk() -> None:
    assert feed_all(PIPELINE_BYTES, []) == PIPELINE_PARSED


def test_a_pipeline_split_at_every_point() -> None:
    for cut in range(1, len(PIPELINE_BYTES)):
        assert feed_all(PIPELINE_BYTES, [cut]) == PIPELINE_PARSED, f"cut at {cut}"


def test_a_pipeline_fed_byte_by_byte() -> None:
    assert feed_all(PIPELINE_BYTES, list(range(1, len(PIPELINE_BYTES)))) == PIPELINE_PARSED


def test_a_chunk_of_whole_small_commands_never_reaches_the_slow_path(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """What every unpipelined client sends (docs/performance.md, optimization 20)."""
    parser = RequestParser()

    def refuse(*args: object, **kwargs: object) -> int:
        raise AssertionError("the slow path was entered")

    monkeypatch.setattr(RequestParser, "_parse_slow", refuse)
    assert parser.feed(array(b"SET", b"a", b"1")) == [[b"SET", b"a", b"1"]]
    assert parser.feed(array(b"GET", b"a") * 2) == [[b"GET", b"a"]] * 2


@pytest.mark.parametrize("seed", range(20))
def test_random_commands_in_random_chunks(seed: int) -> None:
    """Fast and slow paths, any mix of arguments and chunk sizes: the same commands."""
    rng = random.Random(seed)
    alphabet = b"ab\r\n*$ \x00"  # protocol bytes inside arguments, CRLF most of all
    commands = [
        [
            bytes(rng.choices(alphabet, k=rng.choice([0, 1, 5, 300, 5000])))
            for _ in range(rng.randint(1, 20))
        ]
        for _ in range(40)
    ]
    data = b"".join(array(*argv) for argv in commands)
    cuts = sorted(rng.sample(range(1, len(data)), rng.randint(1, 40)))
    assert feed_all(data, cuts) == commands


def test_a_command_resumes_where_its_chunk_ended() -> None:
    parser = RequestParser()
    assert parser.feed(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$10\r\n01234") == []
    assert parser.feed(b"56789\r\n*1\r\n$4\r\nPI") == [[b"SET", b"k", b"0123456789"]]
    assert parser.feed(b"NG\r\n") == [[b"PING"]]


def test_empty_lines_and_empty_arrays_are_ignored() -> None:
    assert feed_all(b"\r\n\n\r\n*0\r\n*-1\r\n   \r\nPING\r\n", []) == [[b"PING"]]


# --- inline commands -----------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "args"),
    [
        (b"PING", [b"PING"]),
        (b"  set   a   b  ", [b"set", b"a", b"b"]),
        (b"set a\tb", [b"set", b"a", b"b"]),
        (b'set "a b" c', [b"set", b"a b", b"c"]),
        (
            b'set k "\\x00\\xff\\n\\r\\t\\b\\a\\"\\\\\\q"',
            [b"set", b"k", b'\x00\xff\n\r\t\b\x07"\\q'],
        ),
        (b'set k "\\xZZ"', [b"set", b"k", b"xZZ"]),  # not hex: the escape is just the letter
        (b"set k 'a \\' \\n b'", [b"set", b"k", b"a ' \\n b"]),  # only \' in single quotes
        (b'set k ""', [b"set", b"k", b""]),
        (b'set k"x y"', [b"set", b"kx y"]),  # a quote may open mid-word
        (b"get a\x00ignored", [b"get", b"a"]),  # a NUL ends the line, as in Redis
        (b"", []),
    ],
)
def test_inline_words_and_quotes(line: bytes, args: list[bytes]) -> None:
    assert split_inline(line) == args


@pytest.mark.parametrize("line", [b'set "a b', b"set 'a b", b'set "a"b', b"set 'a'b", b'set "a\\'])
def test_inline_unbalanced_quotes(line: bytes) -> None:
    with pytest.raises(RespProtocolError, match=r"^Protocol error: unbalanced quotes in request$"):
        split_inline(line)


def test_inline_lines_end_with_lf_or_crlf() -> None:
    assert feed_all(b"PING\nECHO hi\r\n", []) == [[b"PING"], [b"ECHO", b"hi"]]


# --- protocol errors ----------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"*x\r\n", "invalid multibulk length"),
        (b"*01\r\n", "invalid multibulk length"),  # Redis's numbers: no leading zero...
        (b"*+1\r\n", "invalid multibulk length"),  # ...no sign but "-"...
        (b"* 1\r\n", "invalid multibulk length"),  # ...no spaces
        (b"*1048577\r\n", "invalid multibulk length"),
        (b"*99999999999999999999999\r\n", "invalid multibulk length"),
        (b"*" + b"1" * 40, "invalid multibulk length"),  # no CRLF where a header must end
        (b"*1\r\n$x\r\n", "invalid bulk length"),
        (b"*1\r\n$-1\r\n", "invalid bulk length"),
        (b"*1\r\n$16777217\r\n", "invalid bulk length"),
        (b"*1\r\n$" + b"9" * 40, "invalid bulk length"),
        (b"*2\r\n:1\r\n", "expected '$', got ':'"),
        (b"*1\r\n*1\r\n$1\r\na\r\n", "expected '$', got '*'"),
        (b"*1\r\n\x01", "expected '$', got '\\x01'"),
        (b"*1\r\n$3\r\nabcde\r\n", "bulk string not followed by CRLF"),
        (b"x" * (64 * 1024 + 1), "too big inline request"),
        (b"x" * (64 * 1024 + 1) + b"\r\n", "too big inline request"),
        (b'SET "a 1\r\n', "unbalanced quotes in request"),
    ],
)
def test_protocol_errors(data: bytes, message: str) -> None:
    with pytest.raises(RespProtocolError) as caught:
        RequestParser().feed(data)
    assert str(caught.value) == f"Protocol error: {message}"


def test_an_error_carries_the_commands_before_it() -> None:
    parser = RequestParser()
    with pytest.raises(RespProtocolError) as caught:
        parser.feed(b"PING\r\n" + array(b"GET", b"a") + b"*1\r\n:5\r\n" + array(b"GET", b"b"))
    assert caught.value.commands == [[b"PING"], [b"GET", b"a"]]


def test_the_error_of_a_command_cut_by_a_chunk_carries_the_commands_before_it() -> None:
    parser = RequestParser()
    assert parser.feed(b"*2\r\n$3\r\nGET\r\n") == []
    with pytest.raises(RespProtocolError) as caught:
        parser.feed(b"$1\r\na\r\nPING\r\n*1\r\n$-5\r\n")
    assert caught.value.commands == [[b"GET", b"a"], [b"PING"]]


# --- limits, enforced on the header --------------------------------------------


def test_an_enormous_bulk_is_refused_on_its_header() -> None:
    parser = RequestParser()
    assert parser.feed(b"*2\r\n$3\r\nSET\r\n$1073") == []  # the header is not complete yet
    with pytest.raises(RespProtocolError, match="invalid bulk length"):
        parser.feed(b"741824\r\n")  # 1 GiB announced; not one byte of it sent


def test_an_enormous_argument_count_is_refused_on_its_header() -> None:
    with pytest.raises(RespProtocolError, match="invalid multibulk length"):
        RequestParser().feed(b"*2000000000\r\n")


@pytest.mark.parametrize(
    ("limits", "accepted", "refused", "message"),
    [
        (RequestLimits(max_bulk_len=10), array(b"a" * 10), b"*1\r\n$11\r\n", "invalid bulk length"),
        (RequestLimits(max_args=3), array(b"a", b"b", b"c"), b"*4\r\n", "invalid multibulk length"),
        (
            RequestLimits(max_command_len=10),
            array(b"a" * 4, b"b" * 6),
            b"*2\r\n$4\r\naaaa\r\n$7\r\n",
            "command too large",
        ),
        (
            RequestLimits(max_inline_len=10),
            b"get abcd\r\n",
            b"get abcde\r",
            "too big inline request",
        ),
    ],
)
def test_configured_limits(
    limits: RequestLimits, accepted: bytes, refused: bytes, message: str
) -> None:
    assert len(RequestParser(limits).feed(accepted)) == 1
    with pytest.raises(RespProtocolError, match=message):
        RequestParser(limits).feed(refused)


def test_an_unterminated_line_is_refused_once_past_the_limit() -> None:
    parser = RequestParser(RequestLimits(max_inline_len=1000))
    for _ in range(9):
        assert parser.feed(b"x" * 111) == []  # 999 bytes: the newline may still come
    with pytest.raises(RespProtocolError, match="too big inline request"):
        parser.feed(b"x")


def test_a_header_is_refused_once_it_cannot_end() -> None:
    parser = RequestParser()
    for _ in range(31):
        assert parser.feed(b"1" if _ else b"*") == []
    with pytest.raises(RespProtocolError, match="invalid multibulk length"):
        parser.feed(b"1")


def test_limits_must_be_positive() -> None:
    with pytest.raises(ConfigurationError, match="max_args"):
        RequestLimits(max_args=0)
