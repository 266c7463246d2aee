"""Peer transports on real loopback sockets: delivery, order, coalescing, reconnects, bounds."""

from __future__ import annotations

import asyncio
import dataclasses
import errno
import logging
import socket
from collections.abc import Callable

import pytest

from ranet.core.messages import AppendEntries, Heartbeat
from ranet.core.types import Entry
from ranet.errors import ListenError
from ranet.transport.codec import default_codec
from ranet.transport.peers import PeerTransport

from .helpers import (
    CLUSTER,
    CODEC,
    LOOPBACK,
    Runner,
    count_socket_writes,
    eventually,
    exchange,
    make_node,
    mesh,
    outsider_gets_nothing_through,
    wait_connected,
)


def terms_from(inbox: list[object], sender: int) -> list[int]:
    return [m.term for m in inbox if isinstance(m, Heartbeat) and m.src == sender]


def unused_port() -> int:
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        return probe.getsockname()[1]


def append_entries(src: int, dst: int, index: int, data: bytes) -> AppendEntries:
    return AppendEntries(src, dst, 1, index, 1, (Entry(1, data),), index)


def test_two_transports_exchange_both_ways_in_order(
    run: Runner,
) -> None:
    async def scenario() -> None:
        async with mesh(2) as (a, b):
            for term in range(500):
                a.transport.send(Heartbeat(1, 2, term, 0))
                b.transport.send(Heartbeat(2, 1, term, 0))
            big = AppendEntries(1, 2, 1, 0, 0, (Entry(1, b"x" * (1 << 20)), Entry(1, b"")), 0)
            a.transport.send(big)
            await eventually(lambda: len(a.inbox) == 500 and len(b.inbox) == 501)
            assert terms_from(b.inbox, 1) == list(range(500))
            assert terms_from(a.inbox, 2) == list(range(500))
            assert b.inbox[-1] == big

    run(scenario())


def test_three_transports_every_pair_in_order(
    run: Runner,
) -> None:
    async def scenario() -> None:
        async with mesh(3) as nodes:
            for term in range(200):
                for sender in nodes:
                    for receiver in nodes:
                        if sender is not receiver:
                            sender.transport.send(
                                Heartbeat(sender.node_id, receiver.node_id, term, 0)
                            )
            await eventually(lambda: all(len(node.inbox) == 400 for node in nodes))
            for receiver in nodes:
                for sender in nodes:
                    if sender is not receiver:
                        assert terms_from(receiver.inbox, sender.node_id) == list(range(200))

    run(scenario())


def test_sends_in_one_loop_iteration_leave_in_one_socket_write(
    run: Runner,
) -> None:
    async def scenario() -> None:
        async with mesh(2) as (a, b):
            await wait_connected(a, b)
            writes = count_socket_writes(a, 2)
            before = a.transport.peer_stats(2)
            for term in range(100):
                a.transport.send(Heartbeat(1, 2, term, 0))
            await eventually(lambda: len(b.inbox) == 100)
            assert len(writes) == 1
            after = a.transport.peer_stats(2)
            assert (after.writes - before.writes, after.sent_messages - before.sent_messages) == (
                1,
                100,
            )
            for term in range(100, 103):  # one send per iteration: one write each
                a.transport.send(Heartbeat(1, 2, term, 0))
                await asyncio.sleep(0)
            await eventually(lambda: len(b.inbox) == 103)
            assert len(writes) == 4

    run(scenario())


def test_flush_writes_what_is_queued_without_waiting_for_the_loop(run: Runner) -> None:
    async def scenario() -> None:
        async with mesh(2) as (a, b):
            await wait_connected(a, b)
            writes = count_socket_writes(a, 2)
            for term in range(10):
                a.transport.send(Heartbeat(1, 2, term, 0))
            a.transport.flush()
            assert len(writes) == 1  # before the loop ran the scheduled flush
            a.transport.send(Heartbeat(1, 2, 10, 0))  # queued after: the next write
            await eventually(lambda: len(b.inbox) == 11)
            assert len(writes) == 2
            assert terms_from(b.inbox, 1) == list(range(11))

    run(scenario())


def test_reconnects_to_a_restarted_peer_and_delivers_what_was_queued(
    run: Runner,
) -> None:
    async def scenario() -> None:
        async with mesh(2) as (a, b):
            await exchange(a, b, term=1)
            port = b.address[1]
            await b.transport.stop()
            await eventually(lambda: not a.transport.peer_stats(2).connected)
            a.transport.send(Heartbeat(1, 2, 2, 0))  # queued while the peer is down
            await asyncio.sleep(0.15)  # a few back-off rounds against a closed port
            b2 = make_node(2, port=port)
            b2.transport.update_peers({1: a.address})
            await b2.transport.start()
            try:
                await eventually(lambda: Heartbeat(1, 2, 2, 0) in b2.inbox)
                await exchange(b2, a, term=3)
                assert a.transport.peer_stats(2).connections == 2
            finally:
                await b2.transport.stop()

    run(scenario())


def test_a_peer_that_keeps_closing_is_retried_with_back_off(
    run: Runner,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="ranet.transport")
    attempts = 0

    def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal attempts
        attempts += 1
        writer.close()

    async def scenario() -> None:
        server = await asyncio.start_server(hang_up, LOOPBACK, 0)
        node = make_node(1, backoff=(0.01, 0.08))
        node.transport.update_peers({2: server.sockets[0].getsockname()[:2]})
        await node.transport.start()
        try:
            await asyncio.sleep(0.6)
        finally:
            await node.transport.stop()
            server.close()
            await server.wait_closed()

    run(scenario())
    # Without back-off this would be hundreds; with 10 ms doubling to 80 ms, about a dozen.
    assert 4 <= attempts <= 30
    reports = [r for r in caplog.records if "retrying with back-off" in r.getMessage()]
    assert [r.levelno for r in reports].count(logging.INFO) == 1


def test_a_peer_that_dials_us_is_dialed_at_once_not_after_the_back_off(
    run: Runner, caplog: pytest.LogCaptureFixture
) -> None:
    """Node 1 starts first and fails to reach node 2, so its next try is 1.5-3
    s away; node 2 starts and dials node 1 at once. Its accepted handshake
    ends node 1's wait: 1's message reaches 2 well within the back-off (it
    took the whole back-off before)."""
    caplog.set_level(logging.INFO, logger="ranet.transport")

    async def scenario() -> None:
        port = unused_port()
        a = make_node(1, backoff=(3.0, 10.0))
        a.transport.update_peers({2: (LOOPBACK, port)})
        await a.transport.start()
        b = make_node(2, port=port)
        try:
            await eventually(lambda: "cannot reach it" in caplog.text)  # 1 is backing off
            b.transport.update_peers({1: a.address})
            await b.transport.start()
            loop = asyncio.get_running_loop()
            started = loop.time()
            a.transport.send(Heartbeat(1, 2, 7, 0))
            await eventually(lambda: terms_from(b.inbox, 1) == [7], timeout=5.0)
            assert loop.time() - started < 1.0
        finally:
            await a.transport.stop()
            await b.transport.stop()

    run(scenario())


def test_a_down_peer_costs_bounded_memory_and_gets_the_oldest_messages_later(
    run: Runner,
) -> None:
    async def scenario() -> None:
        port = unused_port()
        a = make_node(1, max_queue_bytes=64 << 10)
        a.transport.update_peers({2: (LOOPBACK, port)})
        await a.transport.start()
        try:
            for index in range(5000):
                a.transport.send(append_entries(1, 2, index, bytes(1000)))
            stats = a.transport.peer_stats(2)
            message_size = 4 + len(CODEC.encode(append_entries(1, 2, 0, bytes(1000))))
            assert stats.queued_bytes < (64 << 10) + message_size
            assert stats.queued_messages + stats.dropped_messages == 5000
            b = make_node(2, port=port)
            b.transport.update_peers({1: a.address})
            await b.transport.start()
            try:
                await eventually(lambda: len(b.inbox) == stats.queued_messages)
                assert [m.prev_log_index for m in b.inbox] == list(range(len(b.inbox)))
            finally:
                await b.transport.stop()
        finally:
            await a.transport.stop()

    run(scenario())


def test_a_peer_that_stops_reading_costs_bounded_memory(
    run: Runner,
) -> None:
    accepted: list[asyncio.StreamWriter] = []

    def never_read(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(writer)  # keep it open, never read

    async def scenario() -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        listener.bind((LOOPBACK, 0))
        server = await asyncio.start_server(never_read, sock=listener)
        a = make_node(1, max_queue_bytes=256 << 10)
        a.transport.update_peers({2: listener.getsockname()[:2]})
        await a.transport.start()
        try:
            await eventually(lambda: a.transport.peer_stats(2).connected)
            chunk = bytes(64 << 10)
            index = 0
            while a.transport.peer_stats(2).dropped_messages == 0:
                a.transport.send(append_entries(1, 2, index, chunk))
                index += 1
                await asyncio.sleep(0)
                assert index < 20_000, "the queue never filled"
            for _ in range(100):
                a.transport.send(append_entries(1, 2, index, chunk))
            stats = a.transport.peer_stats(2)
            assert stats.connected
            assert stats.queued_bytes < (256 << 10) + len(chunk) + 100
            assert stats.dropped_messages >= 100
        finally:
            await a.transport.stop()
            for writer in accepted:
                writer.close()
            server.close()
            await server.wait_closed()

    run(scenario())


def test_unknown_destinations_and_sends_after_stop_are_dropped_quietly(
    run: Runner,
) -> None:
    async def scenario() -> None:
        async with mesh(2) as (a, b):
            a.transport.send(Heartbeat(1, 7, 1, 0))
            a.transport.send(Heartbeat(1, 1, 1, 0))  # itself: not a peer
            with pytest.raises(KeyError):
                a.transport.peer_stats(1)
            await exchange(a, b, term=2)
            await a.transport.stop()
            await a.transport.stop()  # idempotent
            a.transport.send(Heartbeat(1, 2, 3, 0))

    run(scenario())


def test_listening_on_a_busy_port_names_the_address(
    run: Runner,
) -> None:
    async def scenario() -> None:
        async with mesh(1) as (a,):
            port = a.address[1]
            b = make_node(2, port=port)
            with pytest.raises(
                ListenError, match=f"node 2 cannot listen on 127.0.0.1:{port}"
            ) as info:
                await b.transport.start()
            assert isinstance(info.value, OSError)
            assert info.value.errno == errno.EADDRINUSE
            await b.transport.stop()

    run(scenario())


def test_removed_peers_are_cut_off_and_readded_peers_reconnect(
    run: Runner,
    transport_warnings: Callable[[], list[str]],
) -> None:
    async def scenario() -> None:
        async with mesh(2) as (a, b):
            await exchange(b, a, term=1)
            a.transport.update_peers({})
            with pytest.raises(KeyError):
                a.transport.peer_stats(2)
            await eventually(lambda: any("node 2 is not a peer" in w for w in transport_warnings()))
            a.transport.update_peers({2: b.address})
            await exchange(b, a, term=2)
            await exchange(a, b, term=3)

    run(scenario())


def test_a_failing_on_message_is_logged_and_delivery_goes_on(
    run: Runner,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.ERROR, logger="ranet.transport")

    async def scenario() -> None:
        async with mesh(2) as (a, b):
            delivered: list[object] = []

            def fussy(message: object) -> None:
                delivered.append(message)
                if len(delivered) == 1:
                    raise RuntimeError("handler bug")

            b.transport.on_message = fussy
            a.transport.send(Heartbeat(1, 2, 1, 0))
            a.transport.send(Heartbeat(1, 2, 2, 0))
            await eventually(lambda: len(delivered) == 2)

    run(scenario())
    assert any("on_message failed" in r.getMessage() for r in caplog.records)


def test_message_types_without_src_and_dst_are_refused() -> None:
    @dataclasses.dataclass(frozen=True)
    class Note:
        text: str

    with pytest.raises(TypeError, match="Note needs src and dst"):
        PeerTransport(1, CLUSTER, (LOOPBACK, 0), {}, default_codec((Note,)), print)


def test_a_peer_that_moved_is_redialed_at_its_new_address(
    run: Runner,
) -> None:
    async def scenario() -> None:
        async with mesh(2) as (a, b):
            await exchange(a, b, term=1)
            await b.transport.stop()
            moved = make_node(2)
            await moved.transport.start()
            try:
                moved.transport.update_peers({1: a.address})
                a.transport.update_peers({2: moved.address})
                await exchange(a, moved, term=2)
                await exchange(moved, a, term=3)
            finally:
                await moved.transport.stop()

    run(scenario())


def test_a_message_above_max_frame_is_dropped_with_a_warning(
    run: Runner,
    transport_warnings: Callable[[], list[str]],
) -> None:
    async def scenario() -> None:
        async with mesh(2, max_frame=1000) as (a, b):
            a.transport.send(append_entries(1, 2, 0, bytes(2000)))
            await exchange(a, b, term=1)
            assert a.transport.peer_stats(2).dropped_messages == 1
            assert b.inbox == [Heartbeat(1, 2, 1, 0)]

    run(scenario())
    assert any("exceed max_frame (1000)" in line for line in transport_warnings())


def test_stop_ends_a_dial_whose_connection_completes_as_it_is_cancelled() -> None:
    """Regression: ``asyncio.wait_for`` (Python 3.11) swallowed a cancel that met a
    just-finished connect, so the dial loop outlived ``stop()`` and ``stop()`` hung."""

    async def scenario() -> None:
        server = await asyncio.start_server(lambda r, w: None, LOOPBACK, 0)
        loop = asyncio.get_running_loop()
        connect = loop.create_connection
        gated = asyncio.Event()
        gate = loop.create_future()

        async def connect_then_wait_at_the_gate(*args: object, **kwargs: object) -> object:
            made = await connect(*args, **kwargs)
            gated.set()
            await gate
            return made

        loop.create_connection = connect_then_wait_at_the_gate  # type: ignore[method-assign]
        node = make_node(1)
        node.transport.update_peers({2: server.sockets[0].getsockname()[:2]})
        await node.transport.start()
        await asyncio.wait_for(gated.wait(), 5)
        gate.set_result(None)  # the connect finishes in the same step as the cancel below
        try:
            await asyncio.wait_for(node.transport.stop(), 3)
        finally:
            server.close()

    with asyncio.Runner(loop_factory=asyncio.new_event_loop) as runner:
        runner.run(asyncio.wait_for(scenario(), 10))  # TimeoutError if stop() hangs


def test_peers_sharing_a_secret_talk_and_one_without_it_is_not_heard(
    run: Runner, caplog: pytest.LogCaptureFixture
) -> None:
    """With a peer secret, a node delivers only what peers that prove it send."""

    async def scenario() -> None:
        async with mesh(2, secret=b"shared") as (a, b):
            await exchange(a, b, 1)
            await exchange(b, a, 1)
        await outsider_gets_nothing_through(
            make_node(1, secret=b"guessed"),
            make_node(2, secret=b"shared"),
            lambda: "node 1 did not prove the peer secret" in caplog.text,
        )

    with caplog.at_level(logging.WARNING, logger="ranet.transport"):
        run(scenario())
