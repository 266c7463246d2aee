"""How a node is configured: who it is, who its peers are, where its data
lives, and how ticks map to wall time.

Two timing profiles. ``default``: a 50 ms tick, heartbeats every tick and an
election timeout of 10-20 ticks (0.5-1 s), so a leader's failure is noticed
and replaced in well under two seconds. ``slow``: the seed's observable
timing, a heartbeat every second and elections after 5-8 s, slow enough to
watch every step by eye.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import msgpack

from ranet.core import CoreConfig
from ranet.errors import ConfigurationError
from ranet.tls import TlsFiles

Address = tuple[str, int]

DEFAULT_CLUSTER_SIZE = 5
DEFAULT_BASE_PORT = 15000  # node N of the seed's cluster listens on 15000 + N
DEFAULT_CLIENT_PORT = 6379  # and serves the Redis protocol on 6379 + N
DEFAULT_SNAPSHOT_ENTRIES = 10_000  # applied entries between snapshots
DEFAULT_SNAPSHOT_BYTES = 64 << 20  # or this much applied command data, whichever first


@dataclass(slots=True, frozen=True)
class TimingProfile:
    tick_seconds: float
    core: CoreConfig


PROFILES = {
    "default": TimingProfile(0.05, CoreConfig(election_ticks=10, heartbeat_ticks=1)),
    "slow": TimingProfile(
        1.0, CoreConfig(election_ticks=5, election_jitter_ticks=3, heartbeat_ticks=1)
    ),
}


@dataclass(slots=True)
class NodeConfig:
    """Everything a ``Node`` needs to start.

    ``peers`` maps every initial voting member, this node included, to the
    address its peers dial. ``listen`` is the address to bind, when it differs
    from the advertised one (e.g. ``0.0.0.0`` behind a public address).
    With ``join`` the node starts outside the configuration, waiting for the
    cluster to add it (``Node.change_membership``); ``peers`` then lists the
    cluster it joins. A snapshot is taken every ``snapshot_entries`` applied
    entries, or sooner once the entries applied since the last one hold
    ``snapshot_bytes`` of commands (batched entries can be large; 0: no byte
    limit), and the log before it discarded (``snapshot_entries`` 0: never
    snapshot); snapshots travel in chunks of
    ``snapshot_chunk_bytes``, and one received may not exceed
    ``max_snapshot_bytes``. With ``peer_secret``, peers must prove they share
    it before the node hears them (transport/handshake.py). With ``tls``, peer
    links are mutual TLS under the cluster's CA (ranet/tls.py).
    """

    node_id: int
    peers: dict[int, Address]
    data_dir: Path
    listen: Address | None = None
    cluster_id: str = "ranet"
    tick_seconds: float = PROFILES["default"].tick_seconds
    core: CoreConfig = field(default_factory=lambda: PROFILES["default"].core)
    fsync: bool = True
    proposal_timeout: float = 5.0
    join: bool = False
    snapshot_entries: int = DEFAULT_SNAPSHOT_ENTRIES
    snapshot_bytes: int = DEFAULT_SNAPSHOT_BYTES
    snapshot_chunk_bytes: int = 1 << 20
    max_snapshot_bytes: int = 1 << 30
    peer_secret: bytes | None = None
    tls: TlsFiles | None = None

    def __post_init__(self) -> None:
        if self.node_id not in self.peers:
            raise ConfigurationError(
                f"node {self.node_id} is not among the peers {sorted(self.peers)}; "
                "--peers must list every voting member, this node included"
            )
        if self.tick_seconds <= 0:
            raise ConfigurationError("the tick interval must be positive")
        if self.proposal_timeout <= 0:
            raise ConfigurationError("the proposal timeout must be positive")
        if self.snapshot_entries < 0:
            raise ConfigurationError("snapshot_entries must be 0 (never) or positive")
        if self.snapshot_bytes < 0:
            raise ConfigurationError("snapshot_bytes must be 0 (no byte limit) or positive")
        if not 0 < self.snapshot_chunk_bytes <= 16 << 20:
            raise ConfigurationError("snapshot_chunk_bytes must be between 1 byte and 16 MiB")
        if self.peer_secret is not None and not self.peer_secret:
            raise ConfigurationError("the peer secret must not be empty")

    @property
    def bind_address(self) -> Address:
        return self.listen or self.peers[self.node_id]

    def with_profile(self, name: str) -> NodeConfig:
        """This configuration with the timing of profile ``name``."""
        try:
            profile = PROFILES[name]
        except KeyError:
            raise ConfigurationError(
                f"unknown timing profile {name!r}; choose from {', '.join(PROFILES)}"
            ) from None
        self.tick_seconds = profile.tick_seconds
        self.core = profile.core
        return self


def default_peers(size: int = DEFAULT_CLUSTER_SIZE, host: str = "127.0.0.1") -> dict[int, Address]:
    """The seed's cluster: node N on 127.0.0.1:15000+N."""
    return {node_id: (host, DEFAULT_BASE_PORT + node_id) for node_id in range(size)}


def parse_address(text: str) -> Address:
    """``HOST:PORT`` (``[v6]:PORT`` for IPv6) to a tuple, with a clear error."""
    host, sep, port = text.strip().rpartition(":")
    host = host.strip("[]")
    if not sep or not host:
        raise ConfigurationError(f"expected HOST:PORT, got {text!r}")
    try:
        number = int(port)
    except ValueError:
        raise ConfigurationError(f"port must be a number in {text!r}") from None
    if not 0 <= number <= 65535:
        raise ConfigurationError(f"port {number} is out of range in {text!r}")
    return host, number


def encode_addresses(addresses: dict[int, Address]) -> bytes:
    """Members' addresses as a configuration's context (see core/membership.py)."""
    return msgpack.packb({node_id: f"{host}:{port}" for node_id, (host, port) in addresses.items()})


def decode_addresses(context: bytes) -> dict[int, Address]:
    if not context:
        return {}
    return {
        int(node_id): parse_address(text)
        for node_id, text in msgpack.unpackb(context, strict_map_key=False).items()
    }


def parse_peers(text: str) -> dict[int, Address]:
    """``ID=HOST:PORT,ID=HOST:PORT,...`` to a mapping, with clear errors."""
    peers: dict[int, Address] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        node, sep, address = item.partition("=")
        if not sep:
            raise ConfigurationError(f"expected ID=HOST:PORT, got {item!r}")
        try:
            node_id = int(node)
        except ValueError:
            raise ConfigurationError(f"node id must be an integer in {item!r}") from None
        if node_id in peers:
            raise ConfigurationError(f"node {node_id} is listed twice in --peers")
        peers[node_id] = parse_address(address)
    if not peers:
        raise ConfigurationError("--peers lists no node")
    return peers
