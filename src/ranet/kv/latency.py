"""LATENCY: this node's latency monitor, Redis 7.0's ``latency-monitor-threshold``
events and the LATENCY command that reads them.

While ``latency-monitor-threshold`` is above 0 (milliseconds; 0, the
default, turns the monitor off), every command of this node's clients that
took at least that long adds a sample to its event: ``fast-command`` for a
command Redis flags ``fast`` (GET, SET, ...), ``command`` for the others.
A command's time is the slow log's (slowlog.py: from the moment the node
starts it to its reply, a write's replication included); the slow log
calls ``command_took`` for every command past this threshold too, so the
server still compares each command's time once.

Rule 1 - an event keeps a sample a second, the largest of that second, and
its 160 newest seconds; and its all-time largest (Redis's
``latencyAddSample``). LATENCY LATEST gives each event's newest sample and
all-time largest, HISTORY an event's samples, oldest first, RESET forgets
events (all, or those named) and answers how many it forgot. These replies
are Redis's, as are the errors.

Rule 2 - DOCTOR and GRAPH are for people, not tools: ranet words its own
report (each event's spikes, average, mean deviation, period and worst;
then what to look at) and draws its own graph (the samples as bars, the
newest last). HISTOGRAM (Redis 7.0's per-command latency tracking, which
times every command into a histogram) is not built: it answers an error
that says so.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from ranet.kv.arguments import subcommand_error
from ranet.kv.commands import lookup
from ranet.kv.reply import ErrorReply, Reply

HISTORY_LENGTH = 160  # seconds of samples an event keeps (Redis's LATENCY_TS_LEN)
_GRAPH_ROWS = 4
_ARITIES = {
    b"DOCTOR": 2,
    b"GRAPH": 3,
    b"HISTORY": 3,
    b"LATEST": 2,
    b"RESET": -2,
    b"HISTOGRAM": -2,
    b"HELP": 2,
}
_HELP = [
    b"LATENCY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    b"DOCTOR",
    b"    Return a human readable latency analysis report.",
    b"GRAPH <event>",
    b"    Return an ASCII latency graph for the <event> class.",
    b"HISTORY <event>",
    b"    Return time-latency samples for the <event> class.",
    b"LATEST",
    b"    Return the latest latency samples for all events.",
    b"RESET [<event> ...]",
    b"    Reset latency data of one or more <event> classes.",
    b"    (default: reset all data for all event classes)",
    b"HELP",
    b"    Prints this help.",
]
_NO_HISTOGRAM = ErrorReply(
    "ERR LATENCY HISTOGRAM is not supported by ranet (not built): it does not time every "
    "command into per-command histograms; use SLOWLOG and the latency monitor"
)


@dataclass(slots=True)
class _Event:
    """One event's samples, ``(unix second, milliseconds)``, oldest first."""

    samples: deque[tuple[int, int]] = field(default_factory=lambda: deque(maxlen=HISTORY_LENGTH))
    worst: int = 0


class LatencyMonitor:
    """One node's latency events and ``latency-monitor-threshold``."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.threshold_ms = 0
        self.threshold = math.inf  # seconds; infinite while the monitor is off
        self._events: dict[str, _Event] = {}
        self._clock = clock

    def set_threshold(self, milliseconds: int) -> None:
        """``latency-monitor-threshold``: sample what takes at least this long (0: off)."""
        self.threshold_ms = milliseconds
        self.threshold = milliseconds / 1000 if milliseconds > 0 else math.inf

    def command_took(self, argv: list[bytes], seconds: float) -> None:
        """A client's command took ``seconds``, at least ``threshold``."""
        milliseconds = int(seconds * 1000)
        if self.threshold_ms and milliseconds >= self.threshold_ms:
            spec = lookup(argv[0])
            fast = spec is not None and "fast" in spec.flags
            self.add("fast-command" if fast else "command", milliseconds)

    def add(self, event: str, milliseconds: int) -> None:
        """A sample of ``event`` (Rule 1)."""
        series = self._events.get(event)
        if series is None:
            series = self._events[event] = _Event()
        series.worst = max(series.worst, milliseconds)
        now = int(self._clock())
        samples = series.samples
        if samples and samples[-1][0] == now:
            if milliseconds > samples[-1][1]:
                samples[-1] = (now, milliseconds)
            return
        samples.append((now, milliseconds))

    def command(self, argv: list[bytes], slower_than: int) -> Reply:
        """LATENCY LATEST | HISTORY event | RESET [event ...] | DOCTOR |
        GRAPH event | HELP (``slower_than``: the slow log's setting, which
        the report weighs)."""
        error = subcommand_error(argv, _ARITIES)
        if error is not None:
            return error
        subcommand = argv[1].upper()
        if subcommand == b"LATEST":
            return [
                [name.encode(), *series.samples[-1], series.worst]
                for name, series in self._events.items()
            ]
        if subcommand == b"HISTORY":
            series = self._events.get(argv[2].decode("latin-1"))
            return [] if series is None else [list(sample) for sample in series.samples]
        if subcommand == b"RESET":
            return self._reset([name.decode("latin-1") for name in argv[2:]])
        if subcommand == b"GRAPH":
            name = argv[2].decode("latin-1")
            series = self._events.get(name)
            if series is None:
                return ErrorReply(f"ERR No samples available for event '{name}'")
            return self._graph(name, series).encode()
        if subcommand == b"DOCTOR":
            return self._report(slower_than).encode()
        if subcommand == b"HISTOGRAM":
            return _NO_HISTOGRAM
        return list(_HELP)

    def _reset(self, names: list[str]) -> int:
        """Forget the events named (any case), or all of them: how many."""
        wanted = {name.lower() for name in names}
        gone = [name for name in self._events if not names or name.lower() in wanted]
        for name in gone:
            del self._events[name]
        return len(gone)

    def _graph(self, name: str, series: _Event) -> str:
        """The samples as columns of ``#`` up to each one's height, the
        newest last, and how long ago the first and the last were taken."""
        latencies = [latency for _, latency in series.samples]
        low, high = min(latencies), max(latencies)
        now = int(self._clock())
        lines = [
            f"{name} - high {high} ms, low {low} ms (all time high {series.worst} ms)",
            "-" * 80,
        ]
        columns = list(series.samples)[-80:]
        for row in range(_GRAPH_ROWS, 0, -1):
            level = low + (high - low) * (row - 1) / _GRAPH_ROWS
            marks = "".join("#" if latency > level or row == 1 else " " for _, latency in columns)
            lines.append(marks.rstrip())
        oldest, newest = now - columns[0][0], now - columns[-1][0]
        lines.append(f"from {_ago(oldest)} ago (left) to {_ago(newest)} ago (right)")
        return "\n".join(lines) + "\n"

    def _report(self, slower_than: int) -> str:
        """LATENCY DOCTOR's report, in ranet's words (Rule 2)."""
        if not self._events:
            if not self.threshold_ms:
                return (
                    "The latency monitor is off on this node: turn it on with CONFIG SET "
                    "latency-monitor-threshold <milliseconds>.\n"
                )
            return "No command on this node has been slower than the latency monitor's threshold.\n"
        now = int(self._clock())
        lines = ["Latency spikes on this node (the slowest sample of each second):", ""]
        for number, (name, series) in enumerate(self._events.items(), 1):
            latencies = [latency for _, latency in series.samples]
            average = sum(latencies) // len(latencies)
            deviation = sum(abs(average - latency) for latency in latencies) // len(latencies)
            period = max(now - series.samples[0][0], 1) / len(latencies)
            lines.append(
                f"{number}. {name}: {len(latencies)} latency spikes (average {average}ms, "
                f"mean deviation {deviation}ms, period {period:.2f} sec). "
                f"Worst all time event {series.worst}ms."
            )
        lines += ["", "What to look at:"]
        if slower_than < 0:
            lines.append(
                "- The slow log is off: CONFIG SET slowlog-log-slower-than "
                f"{self.threshold_ms * 1000} logs the commands behind these spikes."
            )
        elif slower_than > self.threshold_ms * 1000:
            lines.append(
                "- The slow log keeps only commands slower than these spikes: CONFIG SET "
                f"slowlog-log-slower-than {self.threshold_ms * 1000} logs them too."
            )
        lines += [
            "- SLOWLOG GET shows which commands were slow. On a replicated node a write's "
            "time includes its replication and a majority's fsyncs: slow disks or a lagging "
            "peer show here (INFO raft).",
            "- Large values (big hashes, sets, sorted sets, lists) take long to delete, "
            "copy or sort; splitting them keeps every command short.",
        ]
        if "fast-command" in self._events:
            lines.append(
                "- Fast commands were slow: the node did not get the CPU it needed - "
                "other processes on the machine, or the node's own load."
            )
        return "\n".join(lines) + "\n"


def _ago(seconds: int) -> str:
    """A time span as Redis labels a graph's samples: 42s, 3m, 5h, 2d."""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"
