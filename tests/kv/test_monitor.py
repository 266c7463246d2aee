"""MONITOR (kv/monitor.py) beyond the comparison with redis-server:
redis-py's monitor API reads the lines, RESET ends monitoring, a monitor
that goes away is forgotten, and with nobody monitoring the lone-command
fast path is taken again."""

from __future__ import annotations

import redis

from tests.kv.test_notifications_against_redis import Raw

from .fake_backend import WAIT, served


def test_redis_pys_monitor_reads_the_lines() -> None:
    with served() as server, redis.Redis(port=server.port, socket_timeout=WAIT) as client:
        with client.monitor() as monitor:
            client.set("k", "v w")
            for _ in range(10):  # after the handshake of the client's new connection
                command = monitor.next_command()
                if command["command"].startswith("SET"):
                    break
        assert command["command"] == "SET k v w"
        assert command["db"] == 0 and command["client_type"] == "tcp"
        assert command["client_address"] == "127.0.0.1" and command["time"] > 0


def test_reset_ends_monitoring_and_a_closed_monitor_is_forgotten() -> None:
    with served() as server:
        address = ("127.0.0.1", server.port)
        with Raw(address) as monitor, Raw(address) as client:
            assert monitor.call("MONITOR") == b"OK"
            assert server.call(lambda: len(server.server.monitors)) == 1
            assert client.call("SET", "k", "v") == b"OK"
            assert b'"SET" "k" "v"' in monitor.read()
            assert monitor.call("RESET") == b"RESET"
            assert server.call(lambda: len(server.server.monitors)) == 0
            assert monitor.call("GET", "k") == b"v"  # a connection like any other again
            assert monitor.call("MONITOR") == b"OK"
        with Raw(address) as client:
            assert client.call("PING") == b"PONG"  # nobody reads: the closed one is gone
            assert server.call(lambda: len(server.server.monitors)) == 0
