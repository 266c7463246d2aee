"""The command table: lookup, arity, the unknown-command error, COMMAND."""

from __future__ import annotations

import pytest

from ranet.kv.commands import (
    COMMANDS,
    CommandSpec,
    Kind,
    arity_error,
    command_info,
    command_reply,
    is_write,
    lookup,
    parse_int,
    resolve,
    unknown_command,
)
from ranet.kv.reply import ErrorReply, Status
from ranet.kv.store import KVStore
from tests.kv.store_fixtures import argv_of, call


def test_lookup_ignores_case() -> None:
    for spelling in (b"GET", b"get", b"GeT"):
        spec = lookup(spelling)
        assert spec is not None and spec.name == "get" and spec.kind is Kind.READ
    assert lookup(b"GETX") is None


def test_every_data_command_has_a_handler_and_no_connection_command_does() -> None:
    for spec in COMMANDS:
        assert (spec.handler is None) == (spec.kind is Kind.CONNECTION), spec.name
        assert spec.name == spec.name.lower()
    assert len({spec.name for spec in COMMANDS}) == len(COMMANDS)


def test_kinds() -> None:
    kinds = {spec.name: spec.kind for spec in COMMANDS}
    writes = {"set", "del", "incr", "mset", "getdel", "flushdb", "flushall", "cas", "expire"}
    reads = {"get", "mget", "exists", "strlen", "dbsize", "keys", "ttl"}
    assert all(kinds[name] is Kind.WRITE for name in writes)
    assert all(kinds[name] is Kind.READ for name in reads)
    assert kinds["ping"] is Kind.CONNECTION
    assert is_write([b"set", b"k", b"v"]) and not is_write([b"GET", b"k"])
    assert not is_write([b"PING"]) and not is_write([b"NOSUCH"])


def minimal_argv(spec: CommandSpec, extra: int) -> list[bytes]:
    count = abs(spec.arity) + extra
    return [spec.name.encode()] + [b"1"] * (count - 1)


@pytest.mark.parametrize("spec", COMMANDS, ids=lambda spec: spec.name)
def test_arity_is_checked_as_redis_checks_it(spec: CommandSpec) -> None:
    error = ErrorReply(f"ERR wrong number of arguments for '{spec.name}' command")
    assert resolve(minimal_argv(spec, 0)) is spec
    if abs(spec.arity) > 1:
        assert resolve(minimal_argv(spec, -1)) == error
    assert resolve(minimal_argv(spec, 1)) == (spec if spec.arity < 0 else error)


def test_the_arity_error_names_the_command_in_lowercase() -> None:
    expected = ErrorReply("ERR wrong number of arguments for 'get' command")
    assert arity_error(b"GET") == expected
    assert arity_error("get") == expected
    assert call(KVStore(), "GET") == expected
    assert call(KVStore(), "SeT", "k") == ErrorReply(
        "ERR wrong number of arguments for 'set' command"
    )


def test_unknown_command_is_worded_as_redis_7_words_it() -> None:
    assert unknown_command(argv_of(("FOO", "a", "b"))) == ErrorReply(
        "ERR unknown command 'FOO', with args beginning with: 'a' 'b' "
    )
    assert unknown_command([b"foo"]) == ErrorReply(
        "ERR unknown command 'foo', with args beginning with: "
    )
    assert resolve([b"FOO", b"a"]) == unknown_command([b"FOO", b"a"])


def test_unknown_command_quotes_at_most_128_bytes_of_arguments() -> None:
    reply = unknown_command([b"x" * 200, b"a" * 100, b"b" * 100, b"c"])
    assert reply == ErrorReply(
        f"ERR unknown command '{'x' * 128}', with args beginning with: "
        f"'{'a' * 100}' '{'b' * 25}' "  # 128 - len("'a...a' ") = 25
    )


def test_unknown_command_turns_line_breaks_into_spaces() -> None:
    assert unknown_command([b"a\r\nb", b"c\nd"]) == ErrorReply(
        "ERR unknown command 'a  b', with args beginning with: 'c d' "
    )


@pytest.mark.parametrize(
    "text, value",
    [
        (b"0", 0),
        (b"-1", -1),
        (b"42", 42),
        (b"9223372036854775807", 2**63 - 1),
        (b"-9223372036854775808", -(2**63)),
    ],
)
def test_parse_int_reads_what_redis_reads(text: bytes, value: int) -> None:
    assert parse_int(text) == value


@pytest.mark.parametrize(
    "text",
    [
        *(b"", b"-", b"+1", b" 1", b"1 ", b"01", b"-0", b"-01", b"1_000", b"\xd9\xa1", b"1.0"),
        *(b"9223372036854775808", b"-9223372036854775809", b"1" * 21, b"0" * 30),
    ],
)
def test_parse_int_refuses_what_redis_refuses(text: bytes) -> None:
    assert parse_int(text) is None


def test_command_info_has_redis_7s_shape() -> None:
    spec = lookup(b"MSET")
    assert spec is not None
    name, arity, flags, first, last, step, categories, tips, key_specs, subs = command_info(spec)
    assert (name, arity, first, last, step) == (b"mset", -3, 1, -1, 2)
    assert Status("write") in flags and Status("@write") in categories
    assert tips == key_specs == subs == []


@pytest.mark.parametrize(
    ("name", "categories", "may_block"),
    [
        (b"XREAD", ("@read", "@stream", "@slow", "@blocking"), True),
        (b"XREADGROUP", ("@write", "@stream", "@slow", "@blocking"), True),
        (b"BLPOP", ("@write", "@list", "@slow", "@blocking"), False),
        (b"XRANGE", ("@read", "@stream", "@slow"), False),
    ],
)
def test_commands_that_wait_are_marked_as_redis_marks_them(
    name: bytes, categories: tuple[str, ...], may_block: bool
) -> None:
    """The ``blocking`` flag makes the @blocking category (as in Redis 7.0's
    COMMAND INFO) and, on a read or write, ``may_block``: the server waits
    for it when it is given BLOCK."""
    spec = lookup(name)
    assert spec is not None
    assert spec.categories == categories
    assert spec.may_block is may_block


def test_command_reply() -> None:
    everything = command_reply([b"COMMAND"])
    assert isinstance(everything, list) and len(everything) == len(COMMANDS)
    assert command_reply([b"command", b"count"]) == len(COMMANDS)
    assert command_reply([b"COMMAND", b"LIST"]) == [spec.name.encode() for spec in COMMANDS]
    info = command_reply([b"COMMAND", b"INFO", b"get", b"nosuch"])
    assert isinstance(info, list) and info[0][:2] == [b"get", 2] and info[1] is None
    assert command_reply([b"COMMAND", b"INFO"]) == everything
    assert command_reply([b"COMMAND", b"DOCS", b"get"]) == []
    assert command_reply([b"COMMAND", b"COUNT", b"x"]) == ErrorReply(
        "ERR wrong number of arguments for 'command|count' command"
    )
    assert command_reply([b"COMMAND", b"LIST", b"FILTERBY"]) == ErrorReply("ERR syntax error")
    assert command_reply([b"COMMAND", b"nope"]) == ErrorReply(
        "ERR unknown subcommand 'nope'. Try COMMAND HELP."
    )
