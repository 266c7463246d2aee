"""redis-py clients for the workloads that count what they sent."""

from __future__ import annotations

import redis.asyncio
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff


def never_resending(
    addresses: list[tuple[str, int]], node: int, *, timeout: float, connect_timeout: float
) -> redis.asyncio.Redis:
    """A client of ``node`` (counted round the cluster) that never resends a
    command: redis-py resends one whose connection failed, and a push or a
    message applied before the failure would then go out twice. What failed
    is recorded as unknown instead."""
    host, port = addresses[node % len(addresses)]
    return redis.asyncio.Redis(
        host=host,
        port=port,
        socket_timeout=timeout,
        socket_connect_timeout=connect_timeout,
        retry=Retry(NoBackoff(), 0),
    )
