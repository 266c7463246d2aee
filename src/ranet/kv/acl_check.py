"""Whether a user may run a command: Redis 7's ``ACLCheckAllPerm``.

Three questions, in Redis's order: may the user run the command (or, for a
container such as CONFIG, its subcommand); may it touch every key the
command names (key_positions.py); may it use every channel a Pub/Sub
command names. The answer is ``None`` (allowed) or a ``Denial`` that says
what was refused, worded for a client (``NOPERM ...``), for ``ACL DRYRUN``
or for a script's ``redis.call``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ranet.kv.acl import User
from ranet.kv.acl_catalog import CATEGORIES_OF, SUBCOMMANDS
from ranet.kv.acl_selector import Selector
from ranet.kv.command_spec import CommandSpec
from ranet.kv.key_positions import Key, located_keys
from ranet.kv.reply import ErrorReply

# never refused: Redis's no-auth commands, and RANET.EXEC - an envelope
# whose command is checked instead (server.py), so that a user allowed SET
# may SET through ranet's client, which sends its writes in sessions
_NOT_CHECKED = frozenset({"auth", "hello", "ranet.exec"})
_PUBLISH = frozenset({"publish", "spublish"})
_SUBSCRIBE = frozenset({"subscribe", "ssubscribe"})
_SORT = frozenset({"sort", "sort_ro"})
_CHANNEL_COMMANDS = _PUBLISH | _SUBSCRIBE | {"psubscribe"}
_RANKS = {"command": 1, "key": 2, "channel": 4}  # Redis's ACL_DENIED_* codes


@dataclass(frozen=True, slots=True)
class Denial:
    """What was refused: ``command`` (its full name), ``key`` or ``channel``."""

    reason: str
    name: str  # the command's full name, or the key or channel refused

    def error(self) -> ErrorReply:
        """The reply to a client (Redis's NOPERM errors)."""
        if self.reason == "command":
            return ErrorReply(
                f"NOPERM this user has no permissions to run the '{self.name}' command"
            )
        plural = "keys" if self.reason == "key" else "channels"
        return ErrorReply(
            f"NOPERM this user has no permissions to access one of the {plural} used as arguments"
        )

    def dry_run(self) -> bytes:
        """ACL DRYRUN's answer."""
        if self.reason == "command":
            return f"This user has no permissions to run the '{self.name}' command".encode()
        return f"This user has no permissions to access the '{self.name}' {self.reason}".encode()

    def changed_since_queued(self) -> str:
        """Why EXEC refuses a command queued before the user's rules changed."""
        if self.reason == "command":
            return "no permission to execute the command or subcommand"
        if self.reason == "key":
            return "no permission to touch the specified keys"
        return "no permission to access one of the channels used as arguments"

    def in_script(self) -> str:
        """A script's ``redis.call`` refused (Redis 7.0's words)."""
        if self.reason == "command":
            return "The user executing the script can't run this command or subcommand"
        if self.reason == "key":
            return (
                "The user executing the script can't access at least one of the keys "
                "mentioned in the command arguments"
            )
        return "The user executing the script can't publish to the channel mentioned in the command"


def full_name(spec: CommandSpec, argv: list[bytes]) -> str:
    """``config|get`` for a container's known subcommand, else the command's name."""
    name = spec.name
    if name in SUBCOMMANDS and len(argv) > 1:
        sub = f"{name}|{argv[1].lower().decode('latin-1')}"
        if sub in CATEGORIES_OF:
            return sub
    return name


def denial(user: User, spec: CommandSpec, argv: list[bytes]) -> Denial | None:
    """Why ``user`` may not run ``argv`` (a call of ``spec``), or None. One
    selector must allow all of it (Redis 7's ``ACLCheckAllUserCommandPerm``);
    when none does, the refusal told is the one that got furthest - a
    channel over a key over the command, a later argument over an earlier.
    Run for every command of a restricted user: the user's own rules
    allowing it is the first, quick answer."""
    name = spec.name
    if name in _NOT_CHECKED:
        return None
    command = full_name(spec, argv)
    root = user.root
    keys = None if root.all_keys else located_keys(spec, argv)
    if command in root.allowed and _refusal_in(root, name, argv, keys or ()) is None:
        return None
    furthest = (_RANKS["command"], 0, Denial("command", command))
    for selector in (root, *user.selectors):
        if not selector.may_run(command):
            continue  # refused the command: never further than the start
        if keys is None and not selector.all_keys:
            keys = located_keys(spec, argv)
        refused = _refusal_in(selector, name, argv, keys or ())
        if refused is None:
            return None
        if refused[:2] > furthest[:2]:
            furthest = refused
    return furthest[2]


def _refusal_in(
    selector: Selector, name: str, argv: list[bytes], keys: Sequence[Key]
) -> tuple[int, int, Denial] | None:
    """A key or channel that a selector allowing the command refuses, with
    its rank and place; None if it allows them all."""
    if not selector.all_keys:
        for key in keys:
            if not selector.may_touch(argv[key.position], key.read, key.write):
                text = argv[key.position].decode("utf-8", "replace")
                return _RANKS["key"], key.position, Denial("key", text)
    if not selector.all_channels and name in _CHANNEL_COMMANDS:
        for position, channel, literal in _channels(name, argv):
            if not selector.may_use_channel(channel, literal):
                text = channel.decode("utf-8", "replace")
                return _RANKS["channel"], position, Denial("channel", text)
    return None


def _channels(name: str, argv: list[bytes]) -> list[tuple[int, bytes, bool]]:
    """The channels a Pub/Sub command names: place, channel, and whether it
    is a pattern, allowed only as written (PSUBSCRIBE)."""
    if name in _PUBLISH:
        return [(1, argv[1], False)]
    if name in _SUBSCRIBE or name == "psubscribe":
        return [(i, argv[i], name == "psubscribe") for i in range(1, len(argv))]
    return []


def refusal(
    user: User, spec: CommandSpec, argv: list[bytes], *, in_script: bool = False
) -> ErrorReply | None:
    """The error for running ``argv`` as ``user`` - a client's, or a
    script's ``redis.call``'s - or None."""
    denied = denial(user, spec, argv)
    if denied is not None:
        return ErrorReply(f"ERR {denied.in_script()}") if in_script else denied.error()
    return sort_refusal(user, spec, argv)


def sort_refusal(user: User, spec: CommandSpec, argv: list[bytes]) -> ErrorReply | None:
    """SORT's BY and GET read keys named by patterns: a user without every
    key may not use them (Redis 7.0's rule; BY without ``*`` sorts nothing
    and is allowed)."""
    if spec.name not in _SORT or user.root.all_keys:
        return None
    for i in range(2, len(argv) - 1):
        option = argv[i].upper()
        if option == b"BY" and b"*" in argv[i + 1]:
            return ErrorReply("ERR BY option of SORT denied due to insufficient ACL permissions.")
        if option == b"GET":
            return ErrorReply("ERR GET option of SORT denied due to insufficient ACL permissions.")
    return None
