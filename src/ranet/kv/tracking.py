"""Client-side caching: CLIENT TRACKING, CLIENT CACHING, CLIENT GETREDIR,
CLIENT TRACKINGINFO (Redis 6's server-assisted caching).

A client that turns tracking on may cache what it reads; the node tells it
when a key it read changes, and it drops its copy. Each node keeps its own
table (``TrackingTable``): the keys its tracking connections read (default
mode), or their prefixes (BCAST). Every node applies every write, so the
node a client reads from is the node that invalidates - for writes taken
by any node, as the node applies them (``Keyspace.tracker``: every change
of a key, expiry and flushes included). An invalidation is sent after the
replies already on their way to the client (server.py), so a value read
before a change never arrives after its invalidation.

Keys read are registered when the read is sent to the store, before it
runs: a change between the two invalidates a value the client has not
cached yet - harmless - rather than miss one it will. A read's keys are
those of its key specification, and for the commands that name their keys
by count (EVAL_RO, FCALL_RO, SINTERCARD, ZUNION, ZINTER, ZDIFF,
ZINTERCARD) or after STREAMS (XREAD) those; commands of no key (KEYS,
SCAN, DBSIZE, RANDOMKEY) are not tracked, as in Redis.

Not built: NOLOOP (a node applies a write without knowing which of its
connections sent it, so it cannot leave that one out; refused, saying so).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from ranet.kv.arguments import parse_int
from ranet.kv.command_spec import READ, CommandSpec
from ranet.kv.key_positions import keys_of
from ranet.kv.reply import OK, ErrorReply, Members, Push, Reply

OPTIONS = (b"BCAST", b"OPTIN", b"OPTOUT", b"NOLOOP")
MAX_KEYS = 1_000_000  # keys remembered at most (Redis's tracking-table-max-keys)
INVALIDATE_CHANNEL = b"__redis__:invalidate"


@dataclass(slots=True)
class Tracking:
    """A connection's tracking: its mode, and CLIENT CACHING's answer for
    its next command (OPTIN: yes; OPTOUT: no)."""

    redirect: int = 0  # a client id, or 0: to itself
    bcast: bool = False
    prefixes: list[bytes] = field(default_factory=list)
    optin: bool = False
    optout: bool = False
    caching: bool = False  # CLIENT CACHING YES (OPTIN) / NO (OPTOUT) for the next command
    broken_redirect: bool = False

    def tracks_next(self) -> bool:
        """Whether the keys of the command about to run are remembered."""
        if self.bcast:
            return False
        if self.optin:
            return self.caching
        if self.optout:
            return not self.caching
        return True


Deliver = Callable[[int, list[bytes] | None], None]
"""Sends an invalidation - the keys, or None: everything - to a client by id."""


class TrackingTable:
    """This node's tracked keys and prefixes, and who tracks them. Past
    ``max_keys`` keys, the oldest remembered is invalidated and forgotten,
    as Redis does past tracking-table-max-keys, so memory stays bounded."""

    def __init__(self, deliver: Deliver, max_keys: int = MAX_KEYS) -> None:
        self._deliver = deliver
        self._max_keys = max_keys
        self._keys: dict[bytes, set[int]] = {}
        self._bcast: dict[int, list[bytes]] = {}  # client -> its prefixes ([b""]: every key)
        self.clients: set[int] = set()

    def remember_read(self, client: int, spec: CommandSpec, argv: list[bytes]) -> None:
        """If ``argv`` is a read, the keys it reads (``keys_of``)."""
        if spec.kind is READ:
            self.remember(client, keys_of(spec, argv))

    def remember(self, client: int, keys: list[bytes]) -> None:
        for key in keys:
            self._keys.setdefault(key, set()).add(client)
        while len(self._keys) > self._max_keys:
            self._forget(next(iter(self._keys)))

    def enable(self, client: int, tracking: Tracking) -> None:
        self.clients.add(client)
        if tracking.bcast:
            self._bcast[client] = tracking.prefixes or [b""]

    def disable(self, client: int) -> None:
        self.clients.discard(client)
        self._bcast.pop(client, None)  # its keys go lazily: met at their next change

    def changed(self, key: bytes | None) -> None:
        """A key changed (``None``: every key, a flush): tell who tracks it."""
        if key is None:
            self._keys.clear()
            for client in list(self.clients):
                self._deliver(client, None)
            return
        self._forget(key)
        for client, prefixes in list(self._bcast.items()):
            if any(key.startswith(prefix) for prefix in prefixes):
                self._deliver(client, [key])

    def _forget(self, key: bytes) -> None:
        """Tell those who read ``key`` that their copy is no longer tracked."""
        for client in self._keys.pop(key, ()):
            if client in self.clients:
                self._deliver(client, [key])


def parse(
    argv: list[bytes], current: Tracking | None, client_exists: Callable[[int], bool]
) -> Tracking | ErrorReply | None:
    """CLIENT TRACKING ON|OFF [REDIRECT id] [PREFIX p ...] [BCAST] [OPTIN]
    [OPTOUT]: the new tracking (None: off), or Redis's error, in Redis's
    order of checks."""
    options: set[bytes] = set()
    prefixes: list[bytes] = []
    redirect = 0
    i = 3
    while i < len(argv):
        option, more = argv[i].upper(), i + 1 < len(argv)
        if option == b"REDIRECT" and more:
            i += 1
            if redirect:
                return ErrorReply("ERR A client can only redirect to a single other client")
            number = parse_int(argv[i])
            if number is None:
                return ErrorReply("ERR value is not an integer or out of range")
            if not client_exists(number):
                return ErrorReply("ERR The client ID you want redirect to does not exist")
            redirect = number
        elif option in OPTIONS:
            options.add(option)
        elif option == b"PREFIX" and more:
            i += 1
            prefixes.append(argv[i])
        else:
            return ErrorReply("ERR syntax error")
        i += 1
    switch = argv[2].upper()
    if switch == b"OFF":
        return None
    if switch != b"ON":
        return ErrorReply("ERR syntax error")
    bcast = b"BCAST" in options
    error = _incompatible(options, prefixes, current)
    if error is not None:
        return ErrorReply(f"ERR {error}")
    if b"NOLOOP" in options:
        return ErrorReply(
            "ERR NOLOOP is not supported by ranet: a node applies a write without knowing "
            "which of its connections sent it"
        )
    kept = current.prefixes if current is not None and bcast else []
    return Tracking(
        redirect=redirect,
        bcast=bcast,
        prefixes=[*kept, *(p for p in prefixes if p not in kept)],
        optin=b"OPTIN" in options,
        optout=b"OPTOUT" in options,
    )


def _incompatible(
    options: set[bytes], prefixes: list[bytes], current: Tracking | None
) -> str | None:
    bcast = b"BCAST" in options
    if prefixes and not bcast:
        return "PREFIX option requires BCAST mode to be enabled"
    if current is not None and current.bcast != bcast:
        return (
            "You can't switch BCAST mode on/off before disabling tracking for this client, "
            "and then re-enabling it with a different mode."
        )
    if bcast and options & {b"OPTIN", b"OPTOUT"}:
        return "OPTIN and OPTOUT are not compatible with BCAST"
    if {b"OPTIN", b"OPTOUT"} <= options:
        return "You can't specify both OPTIN mode and OPTOUT mode"
    if current is not None and (
        (b"OPTIN" in options and current.optout) or (b"OPTOUT" in options and current.optin)
    ):
        return (
            "You can't switch OPTIN/OPTOUT mode before disabling tracking for this client, "
            "and then re-enabling it with a different mode."
        )
    if bcast:
        existing = current.prefixes if current is not None else []
        for i, prefix in enumerate(prefixes):
            for other in [*existing, *prefixes[i + 1 :]]:
                if prefix != other and (prefix.startswith(other) or other.startswith(prefix)):
                    return _overlap(prefix, other, other in existing)
    return None


def _overlap(prefix: bytes, other: bytes, existing: bool) -> str:
    which = "an existing" if existing else "another provided"
    return (
        f"Prefix '{prefix.decode('utf-8', 'replace')}' overlaps with {which} prefix "
        f"'{other.decode('utf-8', 'replace')}'. Prefixes for a single client must not overlap."
    )


def caching(argv: list[bytes], tracking: Tracking | None) -> Reply:
    """CLIENT CACHING YES|NO: OK, the next command tracked (OPTIN) or not (OPTOUT)."""
    if tracking is None or not (tracking.optin or tracking.optout):
        return ErrorReply(
            "ERR CLIENT CACHING can be called only when the client is in tracking mode "
            "with OPTIN or OPTOUT mode enabled"
        )
    answer = argv[2].upper()
    if answer == b"YES":
        if not tracking.optin:
            return ErrorReply(
                "ERR CLIENT CACHING YES is only valid when tracking is enabled in OPTIN mode."
            )
    elif answer == b"NO":
        if not tracking.optout:
            return ErrorReply(
                "ERR CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode."
            )
    else:
        return ErrorReply("ERR syntax error")
    tracking.caching = True
    return OK


def info(tracking: Tracking | None) -> Reply:
    """CLIENT TRACKINGINFO: flags, redirect, prefixes."""
    if tracking is None:
        return {b"flags": Members([b"off"]), b"redirect": -1, b"prefixes": []}
    flags = [b"on"]
    if tracking.bcast:
        flags.append(b"bcast")
    if tracking.optin:
        flags += [b"optin", *([b"caching-yes"] if tracking.caching else [])]
    if tracking.optout:
        flags += [b"optout", *([b"caching-no"] if tracking.caching else [])]
    if tracking.broken_redirect:
        flags.append(b"broken_redirect")
    return {
        b"flags": Members(flags),
        b"redirect": tracking.redirect,
        b"prefixes": sorted(tracking.prefixes),  # Redis keeps them in a radix tree
    }


def invalidation(keys: list[bytes] | None, resp3: bool) -> Push:
    """The message of an invalidation: a push in RESP3, a pub/sub message on
    ``__redis__:invalidate`` for a RESP2 connection it is redirected to."""
    if resp3:
        return Push([b"invalidate", keys])
    return Push([b"message", INVALIDATE_CHANNEL, keys])
