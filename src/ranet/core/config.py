"""Tunables of the protocol core, counted in ticks and messages.

The core has no clock: a runtime calls ``tick()`` at a fixed interval and
maps ticks to wall time (DESIGN.md). Raft §5.6: broadcast time << election
timeout << MTBF; the defaults keep a heartbeat every tick and an election
timeout of 10-19 ticks.
"""

from __future__ import annotations

from dataclasses import dataclass

from ranet.errors import ConfigurationError


@dataclass(slots=True, frozen=True)
class CoreConfig:
    """Protocol settings shared by every role.

    - ``election_ticks``: a follower that hears nothing for a random number of
      ticks in ``[election_ticks, election_ticks + election_jitter_ticks)``
      campaigns (Raft §5.2); the jitter defaults to ``election_ticks``.
    - ``heartbeat_ticks``: how often an idle leader proves it is alive.
    - ``pre_vote``: campaign only after a pre-vote round shows a majority
      would vote (thesis §9.6), so a partitioned server cannot inflate terms.
    - ``check_quorum``: a leader that has not heard from a majority within an
      election timeout steps down, and followers that heard from a leader
      within the timeout ignore vote requests (thesis §6.2, §4.2.3).
    - ``max_inflight``: AppendEntries in flight per follower (flow control).
    - ``max_entries_per_message`` / ``max_bytes_per_message``: batching limits
      for one AppendEntries (a message always carries at least one entry).
    """

    election_ticks: int = 10
    election_jitter_ticks: int | None = None
    heartbeat_ticks: int = 1
    pre_vote: bool = True
    check_quorum: bool = True
    max_inflight: int = 256
    max_entries_per_message: int = 4096
    max_bytes_per_message: int = 1 << 20

    @property
    def election_timeout_range(self) -> tuple[int, int]:
        """The election timeout is drawn from ``range(*election_timeout_range)``."""
        jitter = self.election_jitter_ticks or self.election_ticks
        return self.election_ticks, self.election_ticks + jitter

    def __post_init__(self) -> None:
        if self.heartbeat_ticks < 1:
            raise ConfigurationError("heartbeat_ticks must be at least 1")
        if self.election_ticks <= self.heartbeat_ticks:
            raise ConfigurationError(
                f"election_ticks ({self.election_ticks}) must exceed "
                f"heartbeat_ticks ({self.heartbeat_ticks}), Raft §5.6"
            )
        if self.election_jitter_ticks is not None and self.election_jitter_ticks < 1:
            raise ConfigurationError("election_jitter_ticks must be at least 1")
        for name in ("max_inflight", "max_entries_per_message", "max_bytes_per_message"):
            if getattr(self, name) < 1:
                raise ConfigurationError(f"{name} must be at least 1")
