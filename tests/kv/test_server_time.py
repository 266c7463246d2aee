"""TIME: the node's clock as seconds and microseconds, as Redis answers it
(inside a script, the log's time instead: test_scripting.py)."""

from __future__ import annotations

import time

import pytest
import redis

from .fake_backend import served


def test_time_answers_the_node_s_clock() -> None:
    with served() as server:
        client = redis.Redis(host="127.0.0.1", port=server.port, socket_timeout=5)
        before = time.time()
        seconds, microseconds = client.execute_command("TIME")
        after = time.time()
        assert 0 <= int(microseconds) < 1_000_000
        assert before - 1e-6 <= int(seconds) + int(microseconds) / 1e6 <= after + 1e-6
        with pytest.raises(redis.ResponseError, match="wrong number of arguments for 'time'"):
            client.execute_command("TIME", "extra")
