"""Helpers shared by the client and Jepsen tests: a cluster's client addresses,
and a barrier that waits until every node serves clients."""

from __future__ import annotations

import asyncio

from ranet.client import AsyncClient, RetryPolicy
from ranet.node.supervisor import LocalCluster

READY_WAIT = 20.0  # seconds: a fresh cluster elects and every node learns the leader


def endpoints(cluster: LocalCluster) -> list[str]:
    """The nodes' client (Redis protocol) addresses, in node order."""
    return [cluster.client_address(node_id) for node_id in cluster.nodes]


async def serving(cluster: LocalCluster, nodes: list[int] | None = None) -> None:
    """Wait until each of ``nodes`` (default: all) serves a linearizable read.

    A node serves once it knows the leader; before that it answers TRYAGAIN,
    which a client pinned to that one node retries until its deadline.
    """
    retry = RetryPolicy(deadline=READY_WAIT, initial_backoff=0.02, max_backoff=0.25)
    for node_id in cluster.nodes if nodes is None else nodes:
        async with AsyncClient([cluster.client_address(node_id)], retry=retry) as client:
            await asyncio.wait_for(client.execute("EXISTS", "ready"), READY_WAIT + 5)
