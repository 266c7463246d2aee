"""Jepsen's bank test against five real nodes: transfers with WATCH / MULTI /
EXEC under kills, pauses and partitions must never create or destroy money
(tests/jepsen/bank.py says what is checked), in reads and in backups taken
meanwhile. The nodes snapshot every 200
entries, so restarted nodes rebuild the WATCH versions from snapshots as well
as from their logs. Short runs by default; ``--soak`` runs each scenario for
RANET_JEPSEN_SECONDS (default 300)."""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest

from ranet.node.loop import run as run_event_loop
from tests.client.helpers import serving
from tests.jepsen.bank import Bank
from tests.jepsen.nemesis import under_faults
from tests.jepsen.network import proxied_cluster
from tests.jepsen.test_jepsen import CI_SECONDS, SCENARIOS, seed

NODE_ARGS = ("--quiet", "--snapshot-entries", "200")


async def bank_run(
    data_dir: Path,
    faults: tuple[str, ...],
    seconds: float,
    rng: random.Random,
    *,
    watch: bool,
    script: bool = False,
    function: bool = False,
) -> Bank:
    """Open the accounts, transfer under ``faults`` for ``seconds``, heal, and
    read every node's balances into the bank's checks."""
    async with proxied_cluster(5, data_dir, node_args=NODE_ARGS) as network:
        cluster = network.cluster
        await serving(cluster)
        addresses = [("127.0.0.1", cluster.client_ports[n]) for n in cluster.nodes]
        bank = Bank(addresses, rng, watch=watch, script=script, function=function, backups=data_dir)
        await bank.open()
        bank.outcomes.update(await under_faults(network, bank.run, faults, seconds, rng))
        await serving(cluster)
        for node in cluster.nodes:
            balances = await bank.balances(node)
            assert balances is not None, f"node {node} did not answer the final read"
            bank.check(balances, f"the final read through node {node}")
        return bank


def verify(bank: Bank) -> None:
    print(dict(bank.outcomes))
    assert bank.outcomes["ok"] > 0 and bank.outcomes["read"] > 0, bank.outcomes
    assert not bank.breaches, "\n".join([str(dict(bank.outcomes)), *bank.breaches[:20]])


def test_transfers_keep_the_total_under_faults(tmp_path: Path) -> None:
    rng = random.Random(seed())
    bank = run_event_loop(bank_run(tmp_path, SCENARIOS["mixed"], CI_SECONDS, rng, watch=True))
    verify(bank)
    assert bank.outcomes["aborted"] > 0  # transfers did race, and WATCH stopped some
    assert bank.outcomes["backup"] > 0


def test_script_transfers_keep_the_total_under_faults(tmp_path: Path) -> None:
    """The same transfers as Lua scripts (EVAL): each reads and writes both
    balances inside one log entry, on every replica."""
    rng = random.Random(seed())
    bank = run_event_loop(
        bank_run(tmp_path, SCENARIOS["mixed"], CI_SECONDS, rng, watch=False, script=True)
    )
    verify(bank)
    assert bank.outcomes["too poor"] > 0  # the script's own check ran, and refused


def test_function_transfers_keep_the_total_under_faults(tmp_path: Path) -> None:
    """The same transfers as a function (FCALL of a library loaded once):
    the library is replicated state, in every node's log and snapshots
    (one every 200 entries here), through the faults."""
    rng = random.Random(seed())
    bank = run_event_loop(
        bank_run(tmp_path, SCENARIOS["mixed"], CI_SECONDS, rng, watch=False, function=True)
    )
    verify(bank)
    assert bank.outcomes["too poor"] > 0


def test_without_watch_racing_transfers_break_the_total(tmp_path: Path) -> None:
    """The negative control: the same clients without WATCH overwrite each
    other's balances, and the checks must see it."""
    bank = run_event_loop(bank_run(tmp_path, (), 5.0, random.Random(seed()), watch=False))
    assert bank.breaches, f"no breach seen without WATCH: {dict(bank.outcomes)}"


@pytest.mark.soak
@pytest.mark.parametrize("way", ["watch", "script", "function"])
@pytest.mark.parametrize("name", list(SCENARIOS))
def test_soak_transfers_keep_the_total_under_faults(name: str, way: str, tmp_path: Path) -> None:
    seconds = float(os.environ.get("RANET_JEPSEN_SECONDS", "300"))
    rng = random.Random(seed())
    run = bank_run(
        tmp_path,
        SCENARIOS[name],
        seconds,
        rng,
        watch=way == "watch",
        script=way == "script",
        function=way == "function",
    )
    verify(run_event_loop(run))
