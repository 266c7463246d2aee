"""``ranet backup`` against real `ranet node` processes: save from a running
cluster (through a follower), inspect, restore into a new cluster on other
ports and serve the same keys there; then back up a stopped node's directory."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from ranet.node.supervisor import LocalCluster
from tests.kv_cluster.test_redis_clients import connect, in_thread
from tests.process.helpers import elect, local_cluster, run

KEYS = 300


def ranet(*args: str | Path) -> str:
    """Run the command line; its output, or the test fails with its error."""
    done = subprocess.run(
        [sys.executable, "-m", "ranet", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_save_inspect_restore_and_offline_backup(tmp_path: Path) -> None:
    backup_file, offline_file = tmp_path / "kv.backup", tmp_path / "offline.backup"

    async def old_cluster() -> dict[bytes, bytes]:
        async with local_cluster(3, tmp_path / "old") as cluster:
            leader = await elect(cluster)
            follower = next(n for n in cluster.nodes if n != leader)

            def write() -> dict[bytes, bytes]:
                client = connect(cluster, leader)
                with client.pipeline(transaction=False) as pipe:
                    for n in range(KEYS):
                        pipe.set(f"key:{n}", f"value {n}")
                    pipe.execute()
                client.set("last", "written just before the backup", ex=3600)
                return {k: client.get(k) for k in client.keys("*")}

            state = await in_thread(write)
            endpoint = cluster.client_address(follower)
            saved = await in_thread(
                lambda: ranet("backup", "save", backup_file, "--endpoints", endpoint)
            )
            assert f"saved {backup_file}: entry " in saved
            return state

    state = run(old_cluster())
    assert len(state) == KEYS + 1
    assert f"{KEYS + 1} keys" in ranet("backup", "inspect", backup_file)

    new = LocalCluster(3, tmp_path / "new")
    for node_id in new.nodes:
        restored = ranet("backup", "restore", backup_file, node_id,
                         "--peers", new.peers_option_for(node_id),
                         "--data-dir", tmp_path / "new" / f"node-{node_id}")  # fmt: skip
        assert "start it with: ranet node" in restored

    async def new_cluster() -> None:
        try:
            await new.start()
            leader = await elect(new)

            def check() -> None:
                for node_id in new.nodes:
                    client = connect(new, node_id)
                    assert {k: client.get(k) for k in client.keys("*")} == state
                    assert 0 < client.ttl("last") <= 3600  # deadlines come along
                connect(new, leader).set("after", "the restore")
                assert connect(new, (leader + 1) % 3).get("after") == b"the restore"

            await in_thread(check)
        finally:
            await new.stop(timeout=5)

    run(new_cluster())
    ranet("backup", "save", offline_file, "--data-dir", tmp_path / "new" / "node-0")
    assert f"{KEYS + 2} keys" in ranet("backup", "inspect", offline_file)


def test_errors_are_clear(tmp_path: Path) -> None:
    def fails(*args: str | Path) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "ranet", *map(str, args)],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert done.returncode == 1, done
        return done.stderr

    assert "no node served a backup" in fails(
        "backup", "save", tmp_path / "x", "--endpoints", "127.0.0.1:1"
    )
    (tmp_path / "junk").write_bytes(b"junk")
    assert "is no intact ranet backup" in fails("backup", "inspect", tmp_path / "junk")
    assert "not among --peers" in fails(
        "backup", "restore", tmp_path / "junk", "5", "--peers", "0=127.0.0.1:1",
        "--data-dir", tmp_path / "d",
    )  # fmt: skip


def test_a_cluster_that_lost_its_majority_comes_back_from_a_survivors_disk(
    tmp_path: Path,
) -> None:
    """Disaster recovery as docs/snapshots.md tells it: two of three nodes are
    lost for good (SIGKILL, disks gone), the survivor is killed too; its data
    directory is backed up offline and a new cluster restored from it holds
    every acknowledged write."""
    backup_file = tmp_path / "survivor.backup"

    async def lose_the_majority() -> tuple[int, dict[bytes, bytes]]:
        cluster = LocalCluster(3, tmp_path / "old", node_args=["--snapshot-entries", "50"])
        try:
            await cluster.start()
            leader = await elect(cluster)

            def write() -> dict[bytes, bytes]:
                client = connect(cluster, leader)
                for n in range(120):  # one by one: each acknowledged, some in snapshots
                    client.set(f"key:{n}", n)
                return {k: client.get(k) for k in client.keys("*")}

            acknowledged = await in_thread(write)
            survivor = (leader + 1) % 3

            def wait_until_the_survivor_has_every_entry() -> None:  # as an operator picks it
                committed = connect(cluster, leader).info("raft")["commit_index"]
                deadline = time.monotonic() + 10
                while connect(cluster, survivor).info("raft")["last_log_index"] < committed:
                    assert time.monotonic() < deadline, "the survivor does not catch up"
                    time.sleep(0.02)

            await in_thread(wait_until_the_survivor_has_every_entry)
            for node in cluster.nodes:
                await cluster.kill(node)  # SIGKILL everyone; only the survivor's disk is kept
            return survivor, acknowledged
        finally:
            await cluster.stop(timeout=5)

    survivor, acknowledged = run(lose_the_majority())
    ranet("backup", "save", backup_file, "--data-dir", tmp_path / "old" / f"node-{survivor}")
    new = LocalCluster(1, tmp_path / "new")  # start again small; grow with ranet member add
    ranet("backup", "restore", backup_file, 0, "--peers", new.peers_option_for(0),
          "--data-dir", tmp_path / "new" / "node-0")  # fmt: skip

    async def come_back() -> None:
        try:
            await new.start()
            await elect(new)

            def check() -> None:
                client = connect(new, 0)
                assert {k: client.get(k) for k in client.keys("*")} == acknowledged
                assert client.set("after", "recovery")

            await in_thread(check)
        finally:
            await new.stop(timeout=5)

    run(come_back())
