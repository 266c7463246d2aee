"""The Redis port over TLS: redis-py and ranet's client verify the node's
certificate against the cluster's CA; a plaintext client, or one trusting
another CA, gets nothing."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from ranet.client import AsyncClient, RetryPolicy
from ranet.errors import Unavailable
from ranet.tls import client_context
from tests.tls_certs import make_tls

from .fake_backend import LOOPBACK, WAIT, served

ONCE = Retry(NoBackoff(), 0)


def test_clients_that_trust_the_ca_are_served_over_tls(tmp_path: Path) -> None:
    files = make_tls(tmp_path / "cluster")
    other = make_tls(tmp_path / "other")
    with served(ssl_context=files.server_context(peers=False)) as server:
        with redis.Redis(port=server.port, ssl=True, ssl_ca_certs=str(files.ca),
                         socket_timeout=WAIT) as client:  # fmt: skip
            assert client.set("k", "v") and client.get("k") == b"v"
        with (
            redis.Redis(
                port=server.port, socket_timeout=WAIT, retry=Retry(NoBackoff(), 0)
            ) as plain,
            pytest.raises(redis.ConnectionError),
        ):
            plain.get("k")

        endpoint = f"{LOOPBACK}:{server.port}"
        never = RetryPolicy.never()

        async def scenario() -> None:
            async with AsyncClient([endpoint], ssl_context=client_context(files.ca)) as client:
                assert await client.get("k") == b"v"
            async with AsyncClient(
                [endpoint], ssl_context=client_context(other.ca), retry=never
            ) as client:
                with pytest.raises(Unavailable, match="CERTIFICATE_VERIFY_FAILED"):
                    await client.get("k")

        asyncio.run(scenario())
