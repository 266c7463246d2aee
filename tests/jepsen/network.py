"""A cluster of real node processes whose peer links all pass through proxies.

Every directed link i->j gets a ``LinkProxy``; node i is started with a peer
map naming that proxy as node j's address (``LocalCluster(link_ports=...)``),
its own entry staying its real address, which it binds. So the test can cut
any link, one way or both, while the nodes run unmodified production code.
Clients are not proxied: they reach every node directly, as in Jepsen, where
partitions separate servers from servers.

Invariant: ``cut_links`` is exactly the set of links whose proxy is cut.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from pathlib import Path

from ranet.node.supervisor import LocalCluster, free_ports
from tests.jepsen.proxy import LinkProxy

Link = tuple[int, int]


class ProxiedCluster:
    """A ``LocalCluster`` plus one proxy per directed peer link; see the module docstring."""

    def __init__(self, cluster: LocalCluster, proxies: dict[Link, LinkProxy]) -> None:
        self.cluster = cluster
        self.proxies = proxies
        self.cut_links: set[Link] = set()

    def cut(self, links: Iterable[Link], *, blackhole: bool) -> None:
        for link in links:
            self.proxies[link].cut(blackhole=blackhole)
            self.cut_links.add(link)

    def partition(self, *groups: Iterable[int], blackhole: bool) -> None:
        """Cut every link between nodes of different groups, both ways.

        Nodes in no group keep all their links (e.g. the bridge of Jepsen's
        "bridge" partition, which hears both sides).
        """
        sets = [set(group) for group in groups]
        self.cut(
            ((i, j) for one, other in itertools.permutations(sets, 2) for i in one for j in other),
            blackhole=blackhole,
        )

    def heal(self) -> None:
        for link in self.cut_links:
            self.proxies[link].heal()
        self.cut_links.clear()


@asynccontextmanager
async def proxied_cluster(
    size: int, data_dir: Path, *, node_args: Iterable[str] = ("--quiet",)
) -> AsyncIterator[ProxiedCluster]:
    """Start ``size`` nodes behind proxies; stop every process and proxy at the end."""
    proxies = {(i, j): LinkProxy() for i in range(size) for j in range(size) if i != j}
    cluster: LocalCluster | None = None
    try:
        for proxy in proxies.values():
            await proxy.start()  # bound before the nodes' ports are chosen: no collision
        ports = free_ports(2 * size)
        for (_, j), proxy in proxies.items():
            proxy.target = ("127.0.0.1", ports[j])
        cluster = LocalCluster(
            size,
            data_dir,
            ports=ports[:size],
            client_ports=ports[size:],
            node_args=list(node_args),
            link_ports={link: proxy.port for link, proxy in proxies.items()},
        )
        await cluster.start()
        yield ProxiedCluster(cluster, proxies)
    finally:
        if cluster is not None:
            await cluster.stop(timeout=5)
        for proxy in proxies.values():
            await proxy.stop()
