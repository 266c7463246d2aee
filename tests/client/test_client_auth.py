"""The client's password: every connection starts with AUTH; a refused
password fails at once with ``AuthenticationError`` instead of being retried
until the deadline, on the blocking client as on the asyncio one."""

from __future__ import annotations

import asyncio
import time

import pytest

from ranet.client import AsyncClient, Client, RetryPolicy
from ranet.errors import AuthenticationError, CommandError
from tests.kv.fake_backend import LOOPBACK, served

PASSWORD = "correct horse"
SLOW_RETRIES = RetryPolicy(deadline=30.0)


def test_the_password_opens_every_connection_and_a_wrong_one_fails_at_once() -> None:
    with served(password=PASSWORD.encode()) as server:
        endpoint = f"{LOOPBACK}:{server.port}"

        async def scenario() -> None:
            async with AsyncClient([endpoint], password=PASSWORD) as client:
                assert await client.set("k", "v") is True
                assert await client.get("k") == b"v"
            started = time.monotonic()
            async with AsyncClient([endpoint], password="wrong", retry=SLOW_RETRIES) as client:
                with pytest.raises(AuthenticationError, match="WRONGPASS"):
                    await client.get("k")
            assert time.monotonic() - started < 5  # not retried until the 30 s deadline
            async with AsyncClient([endpoint], retry=SLOW_RETRIES) as client:
                with pytest.raises(CommandError, match="NOAUTH"):
                    await client.get("k")

        asyncio.run(scenario())
        with Client([endpoint], password=PASSWORD.encode()) as blocking:
            assert blocking.get("k") == b"v"
