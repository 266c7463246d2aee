"""A cluster with a peer secret (transport/handshake.py): nodes that share it
elect and replicate; a node with another secret is never heard, so it neither
learns of the leader nor receives an entry."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from ranet.errors import ConfigurationError
from ranet.node import AppendLog, Node, NodeConfig
from tests.node.test_node_api import FAST, local_peers, run, running, wait_until


def test_only_nodes_that_share_the_secret_form_the_cluster(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    peers = local_peers(3)
    secrets = {0: b"shared", 1: b"shared", 2: b"guessed"}
    nodes = [
        Node(
            NodeConfig(n, peers, tmp_path / f"node-{n}", tick_seconds=0.02, core=FAST,
                       peer_secret=secrets[n]),
            AppendLog(),
        )
        for n in peers
    ]  # fmt: skip

    async def scenario() -> None:
        async with running(nodes):
            leader = nodes[await nodes[0].wait_for_leader(10)]
            assert leader.config.node_id in (0, 1)
            for n in range(3):
                assert await leader.propose(b"entry %d" % n) == n + 1
            await wait_until(lambda: "node 2 did not prove the peer secret" in caplog.text)
            await wait_until(lambda: f"node {leader.config.node_id} did not prove" in caplog.text)
            outsider = nodes[2]
            assert outsider.state_machine.items == [] and outsider.leader_id is None

    with caplog.at_level(logging.WARNING, logger="ranet.transport"):
        run(scenario())


def test_an_empty_secret_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="must not be empty"):
        NodeConfig(0, local_peers(1), tmp_path, peer_secret=b"")
