"""CPU time and memory of processes, and a description of the machine, from /proc.

A benchmark figure means little without the machine it came from and what
each process spent: ``CpuMeter`` samples a process's CPU seconds (user +
system) at the start and end of the measured window, and its resident and
peak memory at the end. Linux only; elsewhere every figure is None rather
than an error, so the benchmark itself still runs.
"""

from __future__ import annotations

import os
import platform
from dataclasses import dataclass
from pathlib import Path

_TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds a process has used so far, or None if it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # Fields after the command name (which may contain spaces) start at field 3;
    # utime and stime are fields 14 and 15 (proc(5)).
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS_PER_SECOND


def memory_mib(pid: int) -> tuple[float | None, float | None]:
    """Resident and peak resident memory (MiB) of a process."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None, None
    values: dict[str, float] = {}
    for line in status.splitlines():
        name, _, rest = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            values[name] = round(int(rest.split()[0]) / 1024, 1)
    return values.get("VmRSS"), values.get("VmHWM")


@dataclass(slots=True)
class CpuMeter:
    """CPU use of one process over a window: ``start()``, later ``stop()``."""

    pid: int
    started_cpu: float | None = None
    cpu_percent: float | None = None  # of one core: 200 means two cores busy
    rss_mib: float | None = None
    peak_rss_mib: float | None = None

    def start(self) -> None:
        self.started_cpu = cpu_seconds(self.pid)

    def stop(self, elapsed_s: float) -> None:
        ended_cpu = cpu_seconds(self.pid)
        if self.started_cpu is not None and ended_cpu is not None and elapsed_s > 0:
            self.cpu_percent = round((ended_cpu - self.started_cpu) / elapsed_s * 100, 1)
        self.rss_mib, self.peak_rss_mib = memory_mib(self.pid)

    def report(self) -> dict[str, float | None]:
        return {
            "cpu_percent": self.cpu_percent,
            "rss_mib": self.rss_mib,
            "peak_rss_mib": self.peak_rss_mib,
        }


def machine(data_dir: Path | None = None) -> dict[str, object]:
    """What the figures were measured on: CPUs, memory, kernel, Python, and the
    filesystem holding the data (fsync's cost depends on it)."""
    description: dict[str, object] = {
        "cpus": os.cpu_count(),
        "cpu_model": _cpu_model(),
        "memory_mib": _memory_total_mib(),
        "kernel": platform.release(),
        "python": platform.python_version(),
    }
    if data_dir is not None:
        description["data_filesystem"] = _filesystem_of(data_dir)
    return description


def _cpu_model() -> str | None:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.partition(":")[2].strip()
    except OSError:
        pass
    return platform.processor() or None


def _memory_total_mib() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) // 1024
    except OSError:
        pass
    return None


def _filesystem_of(path: Path) -> str | None:
    """``device type`` of the mount holding ``path``, from /proc/mounts."""
    try:
        mounts = [line.split() for line in Path("/proc/mounts").read_text().splitlines()]
    except OSError:
        return None
    resolved = str(path.resolve())
    best: list[str] | None = None
    for fields in mounts:
        if len(fields) < 3:
            continue
        mount_point = fields[1]
        inside = resolved == mount_point or resolved.startswith(mount_point.rstrip("/") + "/")
        if inside and (best is None or len(mount_point) > len(best[1])):
            best = fields
    return f"{best[0]} {best[2]}" if best else None
