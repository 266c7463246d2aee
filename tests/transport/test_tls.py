"""Peer links over mutual TLS (ranet/tls.py): nodes whose certificates come
from the cluster's CA talk; a node with another CA's certificate, or without
TLS, never gets a message through."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest

from ranet.errors import ConfigurationError
from ranet.tls import TlsFiles
from tests.tls_certs import make_tls

from .helpers import Runner, exchange, make_node, mesh, outsider_gets_nothing_through


def test_nodes_with_the_clusters_certificates_talk_both_ways(run: Runner, tmp_path: Path) -> None:
    tls = make_tls(tmp_path).peer_contexts()

    async def scenario() -> None:
        async with mesh(3, tls=tls) as (a, b, c):
            await exchange(a, b, 1)
            await exchange(b, c, 1)
            await exchange(c, a, 1)

    run(scenario())


@pytest.mark.parametrize("outsider_tls", ["another CA", "no TLS"])
def test_an_outsider_gets_no_message_through(
    run: Runner, tmp_path: Path, caplog: pytest.LogCaptureFixture, outsider_tls: str
) -> None:
    cluster = make_tls(tmp_path / "cluster").peer_contexts()
    other = make_tls(tmp_path / "other").peer_contexts() if outsider_tls == "another CA" else None

    async def scenario() -> None:
        await outsider_gets_nothing_through(
            make_node(1, tls=other),
            make_node(2, tls=cluster),
            lambda: "node 1: peer 2" in caplog.text,  # its dial failed or was closed, it says
        )

    with caplog.at_level(logging.INFO, logger="ranet.transport"):
        run(scenario())


def test_unusable_files_are_named(tmp_path: Path) -> None:
    good = make_tls(tmp_path)
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a certificate")
    with pytest.raises(ConfigurationError, match=r"garbage\.pem as the CA"):
        TlsFiles(good.cert, good.key, garbage).peer_contexts()
    with pytest.raises(ConfigurationError, match=re.escape(f"certificate {garbage}")):
        TlsFiles(garbage, good.key, good.ca).server_context(peers=False)
    with pytest.raises(ConfigurationError, match=r"missing\.pem as the CA"):
        TlsFiles(good.cert, good.key, tmp_path / "missing.pem").peer_contexts()
