"""INFO's counters and sections: what a Redis dashboard reads (redis_exporter,
Datadog, Grafana's Redis data source) - Server, Clients, Memory, Stats,
Replication, CPU, Keyspace - under Redis's field names, each holding what
is true of this node; the Raft section is ranet's own (server.py).

Only true values are given. Memory is the process's: ``used_memory`` is
its resident set (Redis's counts its allocator's bytes; Python's allocator
has no cheap total), ``maxmemory`` 0 and ``noeviction`` (ranet never
evicts). Counters are this node's since it started: connections accepted,
commands received (every command of every connection, whatever it was),
bytes read from clients, keys this node expired as it applied entries
(every node expires the same keys). ``instantaneous_ops_per_sec`` is the
commands received over the last 1.6 s, as Redis samples them (16 samples,
100 ms apart). Not given, rather than invented: keyspace hits and misses,
per-command statistics, bytes written to clients.
"""

from __future__ import annotations

import os
import platform
import resource
import secrets
import sys
import time
from collections import deque
from collections.abc import Callable
from typing import Any

SAMPLE_SECONDS = 0.1  # between two samples of the command count
SAMPLES = 16
DEFAULT_SECTIONS = frozenset(
    {b"server", b"clients", b"memory", b"stats", b"replication", b"cpu", b"keyspace"}
)


class ServerStats:
    """The RESP server's counters: updated as connections come and data
    arrives (a call per read from a socket, not per command)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self.started = clock()
        self.run_id = secrets.token_hex(20)
        self.connections_received = 0
        self.commands_processed = 0
        self.net_input_bytes = 0
        self._samples: deque[tuple[float, int]] = deque(maxlen=SAMPLES)

    def received(self, size: int, commands: int) -> None:
        self.net_input_bytes += size
        self.commands_processed += commands
        now = self._clock()
        if not self._samples or now - self._samples[-1][0] >= SAMPLE_SECONDS:
            self._samples.append((now, self.commands_processed))

    def ops_per_second(self) -> int:
        """Commands received per second, over the samples of the last 1.6 s."""
        now = self._clock()
        recent = [sample for sample in self._samples if now - sample[0] <= SAMPLES * SAMPLE_SECONDS]
        if not recent or now - recent[0][0] < SAMPLE_SECONDS / 2:
            return 0
        since, count = recent[0]
        return round((self.commands_processed - count) / (now - since))

    def server(self, fields: dict[str, Any]) -> dict[str, Any]:
        """The Server section: ``fields`` (the server's own) and the process's."""
        uptime = int(self._clock() - self.started)
        return {
            **fields,
            "os": f"{platform.system()} {platform.release()} {platform.machine()}",
            "arch_bits": 64 if sys.maxsize > 2**32 else 32,
            "python_version": platform.python_version(),
            "process_id": os.getpid(),
            "run_id": self.run_id,
            "server_time_usec": time.time_ns() // 1000,
            "uptime_in_seconds": uptime,
            "uptime_in_days": uptime // 86_400,
            "executable": sys.executable,
        }

    def stats(self, expired_keys: int, channels: int, patterns: int) -> dict[str, Any]:
        return {
            "total_connections_received": self.connections_received,
            "total_commands_processed": self.commands_processed,
            "instantaneous_ops_per_sec": self.ops_per_second(),
            "total_net_input_bytes": self.net_input_bytes,
            "rejected_connections": 0,
            "expired_keys": expired_keys,
            "evicted_keys": 0,
            "pubsub_channels": channels,
            "pubsub_patterns": patterns,
        }


def memory() -> dict[str, Any]:
    """The Memory section: the process's resident memory, now and at its peak."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    peak = usage.ru_maxrss * 1024  # Linux reports kilobytes
    resident = _resident_bytes() or peak
    return {
        "used_memory": resident,
        "used_memory_human": _human(resident),
        "used_memory_rss": resident,
        "used_memory_rss_human": _human(resident),
        "used_memory_peak": peak,
        "used_memory_peak_human": _human(peak),
        "maxmemory": 0,
        "maxmemory_human": "0B",
        "maxmemory_policy": "noeviction",
        "mem_allocator": "pymalloc",
    }


def cpu() -> dict[str, Any]:
    """The CPU section: seconds of CPU this process (and its children) used."""
    own, children = (
        resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
    )
    return {
        "used_cpu_sys": f"{own.ru_stime:.6f}",
        "used_cpu_user": f"{own.ru_utime:.6f}",
        "used_cpu_sys_children": f"{children.ru_stime:.6f}",
        "used_cpu_user_children": f"{children.ru_utime:.6f}",
    }


def replication() -> dict[str, Any]:
    """The Replication section: every node takes writes (a follower forwards
    them), so each is a master to Redis clients, with no Redis replicas;
    the Raft section tells who leads."""
    return {"role": "master", "connected_slaves": 0}


def keyspace(keys: int, expires: int) -> dict[str, Any]:
    return {"db0": f"keys={keys},expires={expires},avg_ttl=0"} if keys else {}


def _resident_bytes() -> int | None:
    try:
        with open("/proc/self/statm", "rb") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


def _human(size: int) -> str:
    """Bytes as Redis's bytesToHuman writes them (1.50M)."""
    value, index = float(size), 0
    while value >= 1024 and index < len(_UNITS) - 1:
        value, index = value / 1024, index + 1
    return f"{size}B" if index == 0 else f"{value:.2f}{_UNITS[index]}"


_UNITS = "BKMGT"
