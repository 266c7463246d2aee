"""The client's rules (ranet.client.async_client), against scripted fake nodes:
what it sends, where it goes after each kind of failure, when it gives up."""

from __future__ import annotations

import asyncio
import random
import time

import pytest

from ranet.client import AsyncClient, RetryPolicy
from ranet.client.connection import Connection, encode_command
from ranet.errors import CommandError, Unavailable
from tests.client.fake_nodes import HANG_UP, SILENT, closed_ports, fake_nodes

FAST = RetryPolicy(deadline=2.0, initial_backoff=0.001, max_backoff=0.01)


def exec_request(client_id: int, sequence: int, *argv: bytes) -> list[bytes]:
    return [b"RANET.EXEC", b"%d" % client_id, b"%d" % sequence, *argv]


def test_encode_command_is_a_resp_array_of_bulk_strings() -> None:
    assert encode_command([b"SET", b"k", b""]) == b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n"


def test_backoff_grows_exponentially_with_jitter_up_to_its_cap() -> None:
    policy = RetryPolicy(initial_backoff=0.1, max_backoff=1.0, multiplier=2.0)
    rng = random.Random(1)
    for failures, nominal in [(1, 0.1), (2, 0.2), (3, 0.4), (4, 0.8), (5, 1.0), (500, 1.0)]:
        pauses = [policy.backoff(failures, rng) for _ in range(200)]
        assert all(nominal / 2 <= pause <= nominal for pause in pauses)
        assert max(pauses) - min(pauses) > nominal / 4  # jittered, not fixed


def test_writes_go_in_a_session_and_reads_do_not() -> None:
    async def scenario() -> None:
        async with (
            fake_nodes([b"+OK\r\n", b"$1\r\nv\r\n", b":1\r\n"]) as [node],
            AsyncClient([node.address], client_id=7) as client,
        ):
            assert await client.set("k", "v") is True
            assert await client.get("k") == b"v"
            assert await client.cas("k", "v", "w") is True
        assert node.requests == [
            exec_request(7, 1, b"SET", b"k", b"v"),
            [b"GET", b"k"],
            exec_request(7, 2, b"CAS", b"k", b"v", b"w"),
        ]

    asyncio.run(scenario())


@pytest.mark.parametrize(
    "failure",
    [
        b"-TIMEOUT the command's outcome is unknown: no reply within 5 s\r\n",
        b"-TRYAGAIN no leader is known yet; retry shortly\r\n",
        b"-SHUTDOWN this node is shutting down; retry on another node\r\n",
        HANG_UP,
    ],
    ids=["TIMEOUT", "TRYAGAIN", "SHUTDOWN", "connection-lost"],
)
def test_a_failed_write_is_retried_on_the_next_node_with_the_same_sequence(failure: bytes) -> None:
    async def scenario() -> None:
        async with fake_nodes([failure], [b":1\r\n", b":2\r\n"]) as [first, second]:
            endpoints = [first.address, second.address]
            async with AsyncClient(endpoints, client_id=7, retry=FAST) as client:
                assert await client.incr("n") == 1
                assert await client.incr("n") == 2  # stays on the node that served it
        assert first.requests == [exec_request(7, 1, b"INCRBY", b"n", b"1")]
        assert second.requests == [
            exec_request(7, 1, b"INCRBY", b"n", b"1"),
            exec_request(7, 2, b"INCRBY", b"n", b"1"),
        ]

    asyncio.run(scenario())


def test_a_silent_node_costs_one_timeout_then_the_client_moves_on() -> None:
    async def scenario() -> None:
        async with fake_nodes([SILENT], [b"$1\r\nv\r\n"]) as [paused, alive]:
            endpoints = [paused.address, alive.address]
            async with AsyncClient(endpoints, timeout=0.2, retry=FAST) as client:
                started = time.monotonic()
                assert await client.get("k") == b"v"
                assert 0.2 <= time.monotonic() - started < 1.0

    asyncio.run(scenario())


def test_other_error_replies_raise_command_error_without_retrying() -> None:
    text = b"ERR value is not an integer or out of range"

    async def scenario() -> None:
        async with (
            fake_nodes([b"-" + text + b"\r\n"], []) as [first, second],
            AsyncClient([first.address, second.address], retry=FAST) as client,
        ):
            with pytest.raises(CommandError) as raised:
                await client.incr("k")
        assert str(raised.value) == text.decode()
        assert raised.value.code == "ERR"
        assert second.requests == []

    asyncio.run(scenario())


def test_without_a_session_a_write_that_left_is_not_retried() -> None:
    async def scenario() -> None:
        async with fake_nodes([HANG_UP], [b":1\r\n"]) as [first, second]:
            endpoints = [first.address, second.address]
            async with AsyncClient(endpoints, session=False, retry=FAST) as client:
                with pytest.raises(Unavailable) as raised:
                    await client.incr("n")
                assert raised.value.maybe_applied
                assert await client.get("n") == 1  # the client moved on to the next node
        assert first.requests == [[b"INCRBY", b"n", b"1"]]
        assert second.requests == [[b"GET", b"n"]]

    asyncio.run(scenario())


def test_no_reachable_node_raises_unavailable_within_the_deadline() -> None:
    async def scenario() -> None:
        policy = RetryPolicy(deadline=0.5, initial_backoff=0.01, max_backoff=0.05)
        async with AsyncClient(closed_ports(3), retry=policy) as client:
            started = time.monotonic()
            with pytest.raises(Unavailable) as raised:
                await client.set("k", "v")
            assert 0.4 <= time.monotonic() - started < 1.5
        assert not raised.value.maybe_applied  # no request ever left the client
        assert "cannot connect" in raised.value.last_error

    asyncio.run(scenario())


def test_a_write_that_reached_a_node_and_ran_out_of_time_may_have_been_applied() -> None:
    tryagain = b"-TRYAGAIN no leader is known yet; retry shortly\r\n"

    async def scenario() -> None:
        policy = RetryPolicy(deadline=0.3, initial_backoff=0.01, max_backoff=0.05)
        async with (
            fake_nodes([tryagain] * 1000) as [node],
            AsyncClient([node.address], retry=policy) as client,
        ):
            with pytest.raises(Unavailable) as raised:
                await client.incr("n")
        assert raised.value.maybe_applied
        assert "TRYAGAIN" in raised.value.last_error
        assert len({tuple(request) for request in node.requests}) == 1  # one write, one seq

    asyncio.run(scenario())


def test_concurrent_reads_are_pipelined_on_one_connection_and_writes_serialized() -> None:
    async def scenario() -> None:
        async with (
            fake_nodes([b":1\r\n"] * 40, delay=0.01) as [node],
            AsyncClient([node.address]) as client,
        ):
            await asyncio.gather(*(client.get("k") for _ in range(20)))
            assert node.max_unanswered > 1
            node.max_unanswered = 0
            await asyncio.gather(*(client.incr("k") for _ in range(20)))
            assert node.max_unanswered == 1
        assert node.connections == 1
        sequences = [int(request[2]) for request in node.requests[20:]]
        assert sorted(sequences) == list(range(1, 21))

    asyncio.run(scenario())


def test_a_reply_that_came_too_late_is_dropped_and_the_connection_stays_in_step() -> None:
    async def scenario() -> None:
        async with fake_nodes([b"$1\r\na\r\n", b"$1\r\nb\r\n"], delay=0.1) as [node]:
            connection = await Connection.open(node.address, timeout=1.0)
            try:
                with pytest.raises(TimeoutError):
                    await connection.receive(connection.send([b"GET", b"a"]), timeout=0.01)
                assert await connection.receive(connection.send([b"GET", b"b"]), timeout=2) == b"b"
            finally:
                connection.close()
                await connection.wait_closed()

    asyncio.run(scenario())


OK, QUEUED = b"+OK\r\n", b"+QUEUED\r\n"


def test_a_transaction_is_sent_whole_and_answers_execs_list() -> None:
    async def scenario() -> None:
        script = [OK, QUEUED, QUEUED, b"*2\r\n+OK\r\n:2\r\n"]
        async with (
            fake_nodes(script) as [node],
            AsyncClient([node.address], client_id=7) as client,
        ):
            assert await client.transaction(("SET", "k", 1), ("INCR", "k")) == [b"OK", 2]
        # no session: RANET.EXEC cannot be queued, and MULTI ... EXEC is one entry anyway
        assert node.requests == [[b"MULTI"], [b"SET", b"k", b"1"], [b"INCR", b"k"], [b"EXEC"]]

    asyncio.run(scenario())


def test_a_command_refused_while_queuing_raises_its_own_error() -> None:
    async def scenario() -> None:
        unknown = b"-ERR unknown command 'NOPE', with args beginning with: \r\n"
        aborted = b"-EXECABORT Transaction discarded because of previous errors.\r\n"
        async with (
            fake_nodes([OK, QUEUED, unknown, aborted]) as [node],
            AsyncClient([node.address], retry=FAST) as client,
        ):
            with pytest.raises(CommandError, match=r"^ERR unknown command 'NOPE'"):
                await client.transaction(("SET", "k", "v"), ("NOPE",))
        assert len(node.requests) == 4  # not retried

    asyncio.run(scenario())


def test_a_transaction_that_writes_is_not_retried_once_sent_one_that_reads_is() -> None:
    async def scenario() -> None:
        async with fake_nodes([HANG_UP], [OK, QUEUED, b"*1\r\n$1\r\nv\r\n"]) as [first, second]:
            endpoints = [first.address, second.address]
            async with AsyncClient(endpoints, retry=FAST) as client:
                with pytest.raises(Unavailable) as raised:
                    await client.transaction(("SET", "k", "v"))
                assert raised.value.maybe_applied
                assert await client.transaction(("GET", "k")) == [b"v"]  # moved on, served
        assert second.requests == [[b"MULTI"], [b"GET", b"k"], [b"EXEC"]]

    asyncio.run(scenario())


@pytest.mark.parametrize(
    "name", ["MULTI", "exec", "DISCARD", "WATCH", "UNWATCH", "SUBSCRIBE", "punsubscribe"]
)
def test_execute_refuses_commands_that_keep_state_on_the_shared_connection(name: str) -> None:
    async def scenario() -> None:
        async with fake_nodes([]) as [node], AsyncClient([node.address]) as client:
            with pytest.raises(ValueError, match="use transaction"):
                await client.execute(name, *(["k"] if name in ("WATCH", "SUBSCRIBE") else []))
        assert node.requests == []

    asyncio.run(scenario())


@pytest.mark.parametrize("command", [["BLPOP", "q", "0"], ["bzpopmin", "z", "1"]])
def test_execute_refuses_blocking_pops_which_would_hold_the_shared_connection(
    command: list[str],
) -> None:
    async def scenario() -> None:
        async with fake_nodes([]) as [node], AsyncClient([node.address]) as client:
            with pytest.raises(ValueError, match="for blocking commands"):
                await client.execute(*command)
        assert node.requests == []

    asyncio.run(scenario())


def test_a_transaction_with_a_blocking_pop_is_a_write_not_retried_once_sent() -> None:
    """Inside MULTI a blocking pop takes at once: it changes state, so the
    transaction is never sent twice (it could take two elements)."""

    async def scenario() -> None:
        async with (
            fake_nodes([HANG_UP]) as [node],
            AsyncClient([node.address], retry=FAST) as client,
        ):
            with pytest.raises(Unavailable) as raised:
                await client.transaction(("BLPOP", "q", "0"))
            assert raised.value.maybe_applied
        assert node.requests == [[b"MULTI"], [b"BLPOP", b"q", b"0"], [b"EXEC"]]

    asyncio.run(scenario())
