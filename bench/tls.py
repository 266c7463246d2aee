"""What TLS on both ports costs: redis-benchmark SET against three local nodes.

    .venv/bin/python bench/tls.py [ROUNDS]

Each round starts a fresh 3-node cluster (fsync on) without TLS and one with
``--tls-cert/--tls-key/--tls-ca`` (mutual TLS between peers, TLS for
clients; certificates from a throw-away CA made by trustme, a test
dependency), in alternating order, and runs ``redis-benchmark -t set -c 50
-n 100000`` against the leader (with ``--tls --cacert`` for the TLS one).
Prints each run's SET/s, then the medians and their ratio.
"""

from __future__ import annotations

import asyncio
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import trustme

from ranet.node.supervisor import LocalCluster

BENCHMARK = ["redis-benchmark", "-t", "set", "-c", "50", "-n", "100000", "-q"]


def certificates(folder: Path) -> list[str]:
    """The ``ranet node`` TLS options for a certificate naming 127.0.0.1."""
    folder.mkdir(parents=True)
    authority = trustme.CA()
    issued = authority.issue_cert("127.0.0.1")
    cert, key, ca = folder / "node.pem", folder / "node.key", folder / "ca.pem"
    issued.cert_chain_pems[0].write_to_path(str(cert))
    issued.private_key_pem.write_to_path(str(key))
    authority.cert_pem.write_to_path(str(ca))
    return ["--tls-cert", str(cert), "--tls-key", str(key), "--tls-ca", str(ca)]


async def sets_per_second(folder: Path, tls: bool) -> float:
    options = certificates(folder / "tls") if tls else []
    cluster = LocalCluster(3, folder / "data", node_args=["--quiet", *options])
    await cluster.start()
    try:
        await cluster.wait_for(lambda: cluster.leader() is not None, 20)
        leader = cluster.leader()
        assert leader is not None
        command = [*BENCHMARK, "-p", str(cluster.client_ports[leader])]
        if tls:
            command += ["--tls", "--cacert", options[-1]]
        done = await asyncio.to_thread(
            subprocess.run, command, capture_output=True, text=True, timeout=300
        )
        found = re.findall(r"SET: ([\d.]+) requests per second", done.stdout)
        if not found:
            raise RuntimeError(f"redis-benchmark said: {done.stdout}{done.stderr}")
        return float(found[-1])
    finally:
        await cluster.stop(timeout=5)


async def main(rounds: int) -> None:
    results: dict[bool, list[float]] = {False: [], True: []}
    with tempfile.TemporaryDirectory() as folder:
        for number in range(rounds):
            for tls in (False, True) if number % 2 == 0 else (True, False):
                rate = await sets_per_second(Path(folder) / f"{number}-{tls}", tls)
                results[tls].append(rate)
                print(f"{'TLS' if tls else 'plain'}: {rate:,.0f} SET/s", flush=True)
    plain, tls = (statistics.median(results[k]) for k in (False, True))
    print(f"medians: plain {plain:,.0f}, TLS {tls:,.0f} SET/s, ratio {tls / plain:.2f}")


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 6))
