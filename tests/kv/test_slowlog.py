"""SLOWLOG (kv/slowlog.py) beyond the comparison with redis-server: what a
command's time is on a node - a write's replication, a lone command's or a
pipeline's or a transaction's call, not a blocking command's wait - timed
against the threshold with a backend whose writes take a known time; the
two settings (CONFIG SET's checks, all or nothing, -1 turns the log off,
a shorter log trimmed as it grows); the entry's shape; and where ranet
departs from Redis: a script's calls, a pipeline's order, CLIENT UNBLOCK."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import pytest

from ranet.kv.reply import ErrorReply
from ranet.kv.slowlog import SlowLog
from tests.kv.test_notifications_against_redis import Raw

from .fake_backend import FakeBackend, Served, served
from .test_server_lone import wait_until

DELAY = 0.2  # seconds every write takes on the backend
DELAY_US = int(DELAY * 1e6)
DEFAULTS = [b"slowlog-log-slower-than", b"10000", b"slowlog-max-len", b"128"]  # CONFIG GET's


@pytest.fixture
def node() -> Iterator[Served]:
    """A server whose writes each take ``DELAY`` (reads are quick)."""
    with served(FakeBackend(write_delay=DELAY)) as server:
        yield server


def connect(server: Served) -> Raw:
    return Raw(("127.0.0.1", server.port))


def log_slower_than(client: Raw, microseconds: int) -> None:
    assert client.call("CONFIG", "SET", "slowlog-log-slower-than", str(microseconds)) == b"OK"
    assert client.call("SLOWLOG", "RESET") == b"OK"


def commands_logged(client: Raw) -> list[list[bytes]]:
    """The arguments of every entry, oldest first (SLOWLOG GET -1 is newest first)."""
    return [entry[3] for entry in reversed(client.call("SLOWLOG", "GET", "-1"))]


def test_a_write_slower_than_the_threshold_is_logged_with_its_replication(node: Served) -> None:
    with connect(node) as client:
        log_slower_than(client, DELAY_US // 2)
        assert client.call("SET", "k", "v") == b"OK"  # lone: from the call to the reply
        assert client.call("GET", "k") == b"v"  # quick
        assert client.call("PING") == b"PONG"
        [entry] = client.call("SLOWLOG", "GET")
        assert entry[3] == [b"SET", b"k", b"v"] and entry[2] >= DELAY_US


def test_a_write_faster_than_the_threshold_is_not(node: Served) -> None:
    with connect(node) as client:
        log_slower_than(client, 100 * DELAY_US)
        assert client.call("SET", "k", "v") == b"OK"
        assert client.call("SLOWLOG", "LEN") == 0


def test_a_pipeline_run_and_a_transaction_take_their_calls_time(node: Served) -> None:
    with connect(node) as client:
        log_slower_than(client, DELAY_US // 2)
        client.send_at_once([["SET", "a", "1"], ["INCR", "a"], ["GET", "a"], ["PING"]])
        assert [client.read() for _ in range(4)] == [b"OK", 2, b"2", b"PONG"]  # one write call
        for command in (["MULTI"], ["INCR", "a"], ["GET", "a"], ["EXEC"]):
            client.call(*command)
        entries = client.call("SLOWLOG", "GET", "-1")
        assert [entry[3] for entry in reversed(entries)] == [
            [b"SET", b"a", b"1"],
            [b"INCR", b"a"],
            [b"INCR", b"a"],  # EXEC's commands, each with the transaction's time
            [b"GET", b"a"],
        ]
        assert all(entry[2] >= DELAY_US for entry in entries)


def test_a_command_that_timed_out_is_logged_with_the_time_waited() -> None:
    with served(FakeBackend(hang=True), command_timeout=0.2) as server, connect(server) as client:
        log_slower_than(client, 100_000)
        assert client.call("GET", "k").args[0].startswith("TIMEOUT")
        [entry] = client.call("SLOWLOG", "GET")
        assert entry[3] == [b"GET", b"k"] and entry[2] >= 200_000


def test_the_time_a_blocking_command_waits_is_not_its_own() -> None:
    with served() as server, connect(server) as waiter, connect(server) as other:
        log_slower_than(other, 0)
        waiter.send("BLPOP", "jobs", "0")
        wait_until_blocked(server)
        assert other.call("BLPOP", "nothing", "0.3") is None  # 0.3 s pass: a timeout, not logged
        assert other.call("LPUSH", "jobs", "j1") == 1
        assert waiter.read() == [b"jobs", b"j1"]
        entries = other.call("SLOWLOG", "GET", "-1")
        assert [entry[3] for entry in reversed(entries)][-2:] == [
            [b"LPUSH", b"jobs", b"j1"],
            [b"BLPOP", b"jobs", b"0"],
        ]
        assert entries[0][2] < 300_000  # blocked for longer than that


def test_a_blocking_command_ended_by_client_unblock_is_not_logged() -> None:
    with served() as server, connect(server) as waiter, connect(server) as other:
        waiter_id = waiter.call("CLIENT", "ID")
        log_slower_than(other, 0)
        for reason, reply in (("TIMEOUT", None), ("ERROR", "UNBLOCKED")):
            waiter.send("BLPOP", "jobs", "0")
            wait_until_blocked(server)
            assert other.call("CLIENT", "UNBLOCK", str(waiter_id), reason) == 1
            got = waiter.read()
            assert got is None if reply is None else str(got).startswith(reply)
        assert [b"BLPOP", b"jobs", b"0"] not in commands_logged(other)  # Redis: an empty entry


def test_a_negative_threshold_turns_the_log_off(node: Served) -> None:
    with connect(node) as client:
        log_slower_than(client, -1)  # (the RESET is not logged either)
        assert client.call("SET", "k", "v") == b"OK"
        assert client.call("SLOWLOG", "LEN") == 0
        assert client.call("CONFIG", "GET", "slowlog-log-slower-than") == [
            b"slowlog-log-slower-than",
            b"-1",
        ]


def test_the_log_keeps_the_newest_entries_and_trims_only_as_it_grows(node: Served) -> None:
    with connect(node) as client:
        log_slower_than(client, 0)
        for i in range(5):
            client.call("ECHO", str(i))
        assert client.call("CONFIG", "SET", "slowlog-max-len", "3") == b"OK"  # trims, logged
        assert commands_logged(client) == [
            [b"ECHO", b"3"],
            [b"ECHO", b"4"],
            [b"CONFIG", b"SET", b"slowlog-max-len", b"3"],
        ]  # (and now this SLOWLOG GET, the oldest dropped)
        assert client.call("CONFIG", "SET", "slowlog-log-slower-than", "-1") == b"OK"
        assert client.call("CONFIG", "SET", "slowlog-max-len", "1") == b"OK"
        assert client.call("SLOWLOG", "LEN") == 3  # as Redis: not trimmed yet
        assert client.call("CONFIG", "SET", "slowlog-log-slower-than", "0") == b"OK"
        assert commands_logged(client) == [[b"CONFIG", b"SET", b"slowlog-log-slower-than", b"0"]]
        assert client.call("CONFIG", "SET", "slowlog-max-len", "0") == b"OK"
        assert client.call("SLOWLOG", "LEN") == 0


@pytest.mark.parametrize(
    ("setting", "value", "why"),
    [
        ("slowlog-log-slower-than", "x", "argument couldn't be parsed into an integer"),
        ("slowlog-log-slower-than", "-2", "argument must be between -1 and 2**63-1 inclusive"),
        ("slowlog-log-slower-than", "1e3", "argument couldn't be parsed into an integer"),
        ("slowlog-max-len", "-1", "argument must be between 0 and 2**63-1 inclusive"),
        ("slowlog-max-len", "9223372036854775808", "argument couldn't be parsed into an integer"),
        ("SLOWLOG-MAX-LEN", "", "argument couldn't be parsed into an integer"),
    ],
)
def test_config_set_refuses_what_redis_refuses_and_then_changes_nothing(
    node: Served, setting: str, value: str, why: str
) -> None:
    with connect(node) as client:
        error = client.call("CONFIG", "SET", "notify-keyspace-events", "KEA", setting, value)
        why = why.replace("2**63-1", str(2**63 - 1))
        assert str(error) == (
            f"ERR CONFIG SET failed (possibly related to argument '{setting.lower()}') - {why}"
        )
        assert client.call("CONFIG", "GET", "notify-keyspace-events") == [
            b"notify-keyspace-events",
            b"",
        ]
        assert client.call("CONFIG", "GET", "slowlog-*") == DEFAULTS


def test_config_set_changes_both_settings_at_once(node: Served) -> None:
    with connect(node) as client:
        assert client.call("CONFIG", "GET", "slowlog-*") == DEFAULTS
        changed = ["slowlog-max-len", "7", "SLOWLOG-LOG-SLOWER-THAN", "0"]
        assert client.call("CONFIG", "SET", *changed) == b"OK"
        assert client.call("CONFIG", "GET", "slowlog-*") == [
            b"slowlog-log-slower-than",
            b"0",
            b"slowlog-max-len",
            b"7",
        ]
        assert node.call(lambda: node.server.slowlog.threshold) == 0


def test_an_entry_names_the_client_and_when(node: Served) -> None:
    with connect(node) as client:
        address = re.search(rb"addr=(\S+)", client.call("CLIENT", "INFO")).group(1)  # type: ignore[union-attr]
        assert client.call("CLIENT", "SETNAME", "worker-1") == b"OK"
        log_slower_than(client, 0)
        before = int(time.time())
        client.call("CONFIG", "SET", "requirepass", "secret")  # unknown here, still redacted
        entry_id, at, microseconds, arguments, peer, name = client.call("SLOWLOG", "GET", "1")[0]
        assert before <= at <= time.time() and microseconds >= 0
        assert arguments == [b"CONFIG", b"SET", b"requirepass", b"(redacted)"]
        assert (peer, name) == (address, b"worker-1")
        assert client.call("SLOWLOG", "GET", "1")[0][0] == entry_id + 1


def test_a_script_is_logged_without_the_calls_it_makes(node: Served) -> None:
    with connect(node) as client:
        log_slower_than(client, 0)
        script = "redis.call('set', KEYS[1], 'v') return redis.call('get', KEYS[1])"
        assert client.call("EVAL", script, "1", "k") == b"v"
        assert commands_logged(client)[1:] == [[b"EVAL", script.encode(), b"1", b"k"]]


def test_in_a_pipeline_what_the_node_answers_itself_finishes_first(node: Served) -> None:
    """Entries are in the order commands finish: PING, answered at once,
    before the write sent before it, which waits for the log."""
    with connect(node) as client:
        log_slower_than(client, 0)
        client.send_at_once([["SET", "k", "v"], ["PING"]])
        assert [client.read(), client.read()] == [b"OK", b"PONG"]
        assert commands_logged(client)[1:] == [[b"PING"], [b"SET", b"k", b"v"]]


def test_ids_keep_counting_after_a_reset_and_get_counts() -> None:
    log = SlowLog(clock=lambda: 1_700_000_000.5)
    log.set_slower_than(0)  # the server calls add for commands past the threshold
    for i in range(12):
        log.add([b"ECHO", b"%d" % i], b"%d" % i, 0.0015, "127.0.0.1:5000", b"")
    assert log.command([b"SLOWLOG", b"LEN"]) == 12
    newest = log.command([b"SLOWLOG", b"GET"])
    assert [entry[0] for entry in newest] == list(range(11, 1, -1))  # ten by default
    assert newest[0] == [11, 1_700_000_000, 1500, [b"ECHO", b"11"], b"127.0.0.1:5000", b""]
    assert len(log.command([b"SLOWLOG", b"GET", b"-1"])) == 12
    assert log.command([b"SLOWLOG", b"GET", b"0"]) == []
    log.command([b"SLOWLOG", b"RESET"])
    log.add([b"PING"], b"PONG", 0.0, "127.0.0.1:5000", b"")
    assert log.command([b"SLOWLOG", b"GET"])[0][0] == 12


def test_a_command_refused_by_its_subcommand_table_is_not_logged() -> None:
    log = SlowLog()
    unknown = ErrorReply("ERR unknown subcommand 'FOO'. Try XINFO HELP.")
    arity = ErrorReply("ERR wrong number of arguments for 'xinfo|stream' command")
    for reply in (unknown, arity):
        log.add([b"XINFO", b"FOO"], reply, 1.0, "127.0.0.1:5000", b"")
    own_check = ErrorReply("ERR wrong number of arguments for 'ping' command")
    log.add([b"PING", b"a", b"b"], own_check, 1.0, "127.0.0.1:5000", b"")
    assert [entry[3] for entry in log.command([b"SLOWLOG", b"GET"])] == [[b"PING", b"a", b"b"]]


def wait_until_blocked(server: Served) -> None:
    clients = server.server.clients
    wait_until(server, "a client blocked", lambda: any(c.blocked for c in clients()))


def test_a_command_refused_when_exec_checks_the_acl_again_is_not_logged(node: Served) -> None:
    """Redis 7.0 checks a transaction's commands again at EXEC; one refused
    then never ran, and Redis logs it not."""
    admin, user = connect(node), connect(node)
    try:
        log_slower_than(admin, 0)
        admin.call("ACL", "SETUSER", "app", "on", "nopass", "~*", "+@all")
        user.call("AUTH", "app", "any")
        user.call("MULTI")
        user.call("SET", "k", "v")
        user.call("GET", "k")
        admin.call("ACL", "SETUSER", "app", "-set")
        replies = user.call("EXEC")
        assert str(replies[0]).startswith("NOPERM") and replies[1] is None
        logged = commands_logged(admin)
        assert [b"GET", b"k"] in logged and [b"SET", b"k", b"v"] not in logged
    finally:
        admin.close()
        user.close()
