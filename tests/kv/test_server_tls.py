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
from tests.tls_certs import client_files, make_tls

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


def test_tls_auth_clients_yes_requires_a_certificate_from_the_ca(tmp_path: Path) -> None:
    """``--tls-auth-clients yes``: a client without a certificate, or with
    one from another CA, gets no further than the handshake."""
    files, other = make_tls(tmp_path / "cluster"), make_tls(tmp_path / "other")
    cert, key = client_files(files)
    stranger_cert, stranger_key = client_files(other)
    with served(ssl_context=files.server_context(peers=False, auth_clients="yes")) as server:
        tls = {"ssl": True, "ssl_ca_certs": str(files.ca), "socket_timeout": WAIT, "retry": ONCE}
        with redis.Redis(
            port=server.port, ssl_certfile=str(cert), ssl_keyfile=str(key), **tls
        ) as client:
            assert client.set("k", "v") and client.get("k") == b"v"
            assert client.config_get("tls-auth-clients") == {"tls-auth-clients": "yes"}
        for shown in ({}, {"ssl_certfile": str(stranger_cert), "ssl_keyfile": str(stranger_key)}):
            with (
                redis.Redis(port=server.port, **tls, **shown) as refused,  # type: ignore[arg-type]
                pytest.raises(redis.ConnectionError),
            ):
                refused.get("k")

        async def scenario() -> None:
            endpoint = f"{LOOPBACK}:{server.port}"
            async with AsyncClient(
                [endpoint], ssl_context=client_context(files.ca, cert, key)
            ) as c:
                assert await c.get("k") == b"v"

        asyncio.run(scenario())


def test_tls_auth_clients_optional_checks_a_certificate_shown(tmp_path: Path) -> None:
    files, other = make_tls(tmp_path / "cluster"), make_tls(tmp_path / "other")
    stranger_cert, stranger_key = client_files(other)
    with served(ssl_context=files.server_context(peers=False, auth_clients="optional")) as server:
        tls = {"ssl": True, "ssl_ca_certs": str(files.ca), "socket_timeout": WAIT, "retry": ONCE}
        with redis.Redis(port=server.port, **tls) as anonymous:  # type: ignore[arg-type]
            assert anonymous.ping()
        with (
            redis.Redis(
                port=server.port,
                ssl_certfile=str(stranger_cert),
                ssl_keyfile=str(stranger_key),
                **tls,
            ) as stranger,
            pytest.raises(redis.ConnectionError),
        ):  # type: ignore[arg-type]
            stranger.ping()
