"""The bank workload: transfers between accounts with WATCH / MULTI / EXEC.

Jepsen's classic test of transactions. ``ACCOUNTS`` accounts start with
``START`` each. Transfer clients (redis-py, each on one node, moving to
another when it fails) read two balances under WATCH and, if the first
covers the amount, write both new balances in one MULTI ... EXEC; a
transaction whose watched keys changed is aborted by the cluster and simply
dropped. Between the read and the EXEC a client waits a little, so that
transfers race and WATCH has to do its work. Reader clients read every
balance in one MGET; with ``backups`` set, one more client takes backups
(RAFT.BACKUP, as ``ranet backup save`` does) from node after node and
reads the balances in each.

What must hold, whatever the faults: every read that succeeds, and every
backup, sees the same total and no negative balance (a transfer is applied whole or not at
all, and never on balances it did not read), and after the faults every
node reads the same balances with that total. A transfer whose outcome is
unknown (a timeout, a dropped connection) changes nothing in this: applied
or not, it moves money without creating any.

With ``watch=False`` the clients skip WATCH: the negative control, in which
racing transfers overwrite each other and the total drifts. With
``script=True`` a transfer is one Lua script (``TRANSFER``, by EVAL), which
reads and writes both balances atomically on every replica; with
``function=True`` the same script as a function (``LIBRARY``, loaded once
by FUNCTION LOAD, called by FCALL): the library must outlive leaders,
restarts and snapshots on every node.
"""

from __future__ import annotations

import asyncio
import itertools
import random
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import redis
import redis.asyncio

from ranet.kv.store import KVStore
from ranet.node.backup import read_backup
from ranet.storage.snapshots import save_snapshot_file

ACCOUNTS = [f"account:{i}" for i in range(5)]
START = 100
TOTAL = START * len(ACCOUNTS)
TIMEOUT = 3.0  # seconds a client waits for one reply
RACE = 0.005  # seconds between reading the balances and EXEC: transfers overlap
BACKUP_EVERY = 0.3  # seconds between two backups
TRANSFER = """
local have = tonumber(redis.call('get', KEYS[1]))
local amount = tonumber(ARGV[1])
if have < amount then return 0 end
redis.call('decrby', KEYS[1], amount)
redis.call('incrby', KEYS[2], amount)
return 1
"""
LIBRARY = (
    f"#!lua name=bank\nredis.register_function('transfer', function(KEYS, ARGV)\n{TRANSFER}\nend)"
)


@dataclass
class Bank:
    """The clients' shared record: outcomes counted, invariant breaches listed."""

    addresses: list[tuple[str, int]]
    rng: random.Random
    watch: bool = True
    script: bool = False  # transfer with one EVAL instead of WATCH / MULTI / EXEC
    function: bool = False  # transfer with one FCALL of LIBRARY's function
    backups: Path | None = None  # where backups are written, if taken
    outcomes: Counter[str] = field(default_factory=Counter)
    breaches: list[str] = field(default_factory=list)

    async def open(self) -> None:
        """Every account at ``START``, in one write (retried until a leader takes it)."""
        async with self._client(0) as client:
            for _ in range(100):
                try:
                    if self.function:
                        await client.function_load(LIBRARY, replace=True)
                    await client.mset(dict.fromkeys(ACCOUNTS, START))
                    return
                except (redis.RedisError, OSError):
                    await asyncio.sleep(0.2)
        raise AssertionError("no node accepted the opening balances")

    async def run(self, stop: asyncio.Event, transferers: int = 6, readers: int = 2) -> None:
        clients = [self._transfers(i, stop) for i in range(transferers)]
        clients += [self._reads(transferers + i, stop) for i in range(readers)]
        if self.backups is not None:
            clients.append(self._backups(self.backups, stop))
        await asyncio.gather(*clients)

    async def balances(self, node: int) -> list[int] | None:
        """The balances as ``node`` reads them now, or None if it cannot."""
        async with self._client(node) as client:
            try:
                return [int(v) for v in await client.mget(ACCOUNTS)]
            except (redis.RedisError, OSError):
                return None

    def _client(self, node: int) -> redis.asyncio.Redis:
        host, port = self.addresses[node % len(self.addresses)]
        return redis.asyncio.Redis(
            host=host, port=port, socket_timeout=TIMEOUT, socket_connect_timeout=TIMEOUT
        )

    async def _transfers(self, number: int, stop: asyncio.Event) -> None:
        node = number
        while not stop.is_set():
            async with self._client(node) as client:
                while not stop.is_set():
                    outcome = await self._transfer(client)
                    self.outcomes[outcome] += 1
                    if outcome in ("unknown", "refused"):
                        node += 1  # try another node
                        await asyncio.sleep(0.05)
                        break

    async def _transfer(self, client: redis.asyncio.Redis) -> str:
        source, target = self.rng.sample(ACCOUNTS, 2)
        amount = self.rng.randint(1, 30)
        try:
            if self.script or self.function:
                if self.function:
                    moved = await client.fcall("transfer", 2, source, target, amount)
                else:
                    moved = await client.eval(TRANSFER, 2, source, target, amount)
                return "ok" if moved == 1 else "too poor"
            async with client.pipeline() as pipe:
                if self.watch:
                    await pipe.watch(source, target)
                    have, other = await pipe.mget(source, target)
                else:
                    have, other = await client.mget(source, target)
                if int(have) < amount:
                    return "too poor"
                await asyncio.sleep(RACE)
                pipe.multi()
                pipe.set(source, int(have) - amount)
                pipe.set(target, int(other) + amount)
                await pipe.execute()
                return "ok"
        except redis.WatchError:
            return "aborted"
        except (redis.TimeoutError, redis.ConnectionError, OSError):
            return "unknown"
        except redis.ResponseError as error:  # TRYAGAIN, TIMEOUT, SHUTDOWN from a node
            return "unknown" if str(error).startswith("TIMEOUT") else "refused"

    async def _reads(self, number: int, stop: asyncio.Event) -> None:
        node = number
        while not stop.is_set():
            balances = await self.balances(node)
            if balances is None:
                self.outcomes["read failed"] += 1
                node += 1
                await asyncio.sleep(0.05)
                continue
            self.outcomes["read"] += 1
            self.check(balances, f"a read through node {node % len(self.addresses)}")
            await asyncio.sleep(0.01)

    async def _backups(self, folder: Path, stop: asyncio.Event) -> None:
        """Backups through node after node: each must hold a whole state."""
        for number in itertools.count():
            if stop.is_set():
                return
            node = number % len(self.addresses)
            async with self._client(node) as client:
                try:
                    contents = await client.execute_command("RAFT.BACKUP")
                except (redis.RedisError, OSError):
                    self.outcomes["backup failed"] += 1
                    contents = None
            if contents is not None:
                path = folder / f"bank-{number}.backup"
                save_snapshot_file(str(path), [contents])  # as `ranet backup save` does
                store = KVStore()
                store.restore(read_backup(path)[1])
                path.unlink()
                self.outcomes["backup"] += 1
                balances = [int(store.read([b"GET", key.encode()])) for key in ACCOUNTS]
                self.check(balances, f"a backup through node {node}")
            await asyncio.sleep(BACKUP_EVERY)

    def check(self, balances: list[int], where: str) -> None:
        if sum(balances) != TOTAL or min(balances) < 0:
            self.breaches.append(f"{where}: balances {balances}, total {sum(balances)}")
