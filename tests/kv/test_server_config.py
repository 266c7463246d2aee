"""CONFIG GET (kv/config_command.py): the node's settings under Redis's
names, as the map (RESP3) or flat array (RESP2) Redis answers; CONFIG SET
of anything but notify-keyspace-events and the slow log's settings, and the
rest, refused, saying why."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis

from .fake_backend import served


@pytest.fixture
def client() -> Iterator[redis.Redis]:
    with served() as server:
        yield redis.Redis(host="127.0.0.1", port=server.port, socket_timeout=5)


def test_config_get_answers_what_is_true_of_the_node(client: redis.Redis) -> None:
    port = client.connection_pool.connection_kwargs["port"]
    assert client.config_get("maxmemory-policy") == {"maxmemory-policy": "noeviction"}
    assert client.config_get("port") == {"port": str(port)}
    assert client.config_get("proto-max-bulk-len") == {"proto-max-bulk-len": str(16 << 20)}
    assert client.config_get("databases") == {"databases": "1"}
    assert client.config_get("no-such-setting") == {}


def test_config_get_takes_glob_patterns_in_any_case_and_several_at_once(
    client: redis.Redis,
) -> None:
    assert set(client.config_get("max*")) == {"maxmemory", "maxmemory-policy"}
    assert set(client.config_get("MAXMEMORY")) == {"maxmemory"}
    both = client.execute_command("CONFIG", "GET", "databases", "save", "data*")
    assert both == {b"databases": b"1", b"save": b""}
    assert {"bind", "port", "tls-port", "hll-sparse-max-bytes"} <= set(client.config_get("*"))


def test_config_get_is_a_map_in_resp3() -> None:
    with served() as server:
        resp3 = redis.Redis(host="127.0.0.1", port=server.port, protocol=3, socket_timeout=5)
        assert resp3.execute_command("CONFIG", "GET", "databases") == {b"databases": b"1"}


@pytest.mark.parametrize(
    ("command", "error"),
    [
        (["CONFIG"], "wrong number of arguments for 'config' command"),
        (["CONFIG", "GET"], "wrong number of arguments for 'config|get' command"),
        (["CONFIG", "FOO"], "unknown subcommand 'FOO'. Try CONFIG HELP."),
        (["CONFIG", "SET", "maxmemory", "1"], "CONFIG SET maxmemory is not supported: ranet's"),
        (["CONFIG", "REWRITE"], "CONFIG REWRITE is not supported"),
        (["CONFIG", "RESETSTAT"], "CONFIG RESETSTAT is not supported"),
    ],
)
def test_config_errors(client: redis.Redis, command: list[str], error: str) -> None:
    with pytest.raises(redis.ResponseError, match=error.replace("|", r"\|").replace(".", r"\.")):
        client.execute_command(*command)
