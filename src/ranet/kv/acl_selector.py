"""An ACL selector: the commands, keys and channels a set of rules allows
(Redis 7's ``aclSelector``). A user's own rules are its root selector; a
rule in parentheses adds another (acl.py), and a command is allowed when
one selector allows all of it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from ranet.kv.acl_catalog import CATEGORIES, CATEGORIES_OF, SUBCOMMANDS
from ranet.kv.glob import match as glob_match
from ranet.kv.glob import matcher
from ranet.kv.reply import Reply

_ALL_COMMANDS = frozenset(CATEGORIES_OF)


class RuleError(Exception):
    """A rule ACL SETUSER cannot apply: Redis's reason, and the rule."""

    def __init__(self, reason: str, rule: bytes = b"") -> None:
        super().__init__(reason)
        self.reason, self.rule = reason, rule


UNKNOWN = "Unknown command or category name in ACL"
SYNTAX = "Syntax error"
NO_SUCH_PASSWORD = "The password you are trying to remove from the user does not exist"
BAD_HASH = (
    "The password hash must be exactly 64 characters and contain only lowercase "
    "hexadecimal characters"
)
KEYS_AFTER_ALL = (
    "Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid and does "
    "not have any effect. Try 'resetkeys' to start with an empty list of patterns"
)
CHANNELS_AFTER_ALL = (
    "Adding a pattern after the * pattern (or the 'allchannels' flag) is not valid and "
    "does not have any effect. Try 'resetchannels' to start with an empty list of channels"
)
SUBCOMMAND_FIRST_ARG = "Allowing first-arg of a subcommand is not supported"
NOT_BUILT = "ranet does not support {} (not built)"


@dataclass(slots=True)
class KeyPattern:
    """``~pattern`` (read and write), ``%R~pattern``, ``%W~pattern``."""

    pattern: bytes
    read: bool
    write: bool
    matches: Callable[[bytes], bool] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.matches = matcher(self.pattern)  # compiled once: checked on every command

    def describe(self) -> bytes:
        if self.read and self.write:
            return b"~" + self.pattern
        return (b"%R~" if self.read else b"%W~") + self.pattern


@dataclass(slots=True)
class Selector:
    """A new one allows nothing (``resetchannels`` too: Redis's
    ``acl-pubsub-default``)."""

    all_keys: bool = False
    keys: list[KeyPattern] = field(default_factory=list)
    all_channels: bool = False
    channels: list[bytes] = field(default_factory=list)
    all_future: bool = False  # set by +@all, cleared by -@all only (Redis's reserved bit)
    allowed: set[str] = field(default_factory=set)  # full names: get, config|get
    rules: list[str] = field(default_factory=list)  # after +@all / -@all, in order

    @classmethod
    def everything(cls) -> Selector:
        selector = cls(all_keys=True, all_channels=True)
        selector.allow_everything()
        return selector

    @property
    def unrestricted(self) -> bool:
        return self.all_keys and self.all_channels and len(self.allowed) == len(_ALL_COMMANDS)

    def apply(self, rule: bytes, lowered: bytes) -> None:
        """Keys, channels and commands (Redis's ``ACLSetSelector``)."""
        if lowered in (b"allkeys", b"~*"):
            self.all_keys, self.keys = True, []
        elif lowered == b"resetkeys":
            self.all_keys, self.keys = False, []
        elif lowered in (b"allchannels", b"&*"):
            self.all_channels, self.channels = True, []
        elif lowered == b"resetchannels":
            self.all_channels, self.channels = False, []
        elif lowered in (b"allcommands", b"+@all"):
            self.allow_everything()
        elif lowered in (b"nocommands", b"-@all"):
            self.all_future, self.allowed, self.rules = False, set(), []
        elif rule[:1] in (b"~", b"%"):
            self._add_key_pattern(rule)
        elif rule[:1] == b"&":
            if self.all_channels:
                raise RuleError(CHANNELS_AFTER_ALL)
            _no_spaces(rule[1:])
            if rule[1:] not in self.channels:
                self.channels.append(rule[1:])
        elif rule[:2] in (b"+@", b"-@"):
            self._change_category(lowered.decode("latin-1"))
        elif rule[:1] in (b"+", b"-"):
            self._change_command(lowered.decode("latin-1"))
        else:
            raise RuleError(SYNTAX)

    def allow_everything(self) -> None:
        self.all_future, self.allowed, self.rules = True, set(_ALL_COMMANDS), []

    def _add_key_pattern(self, rule: bytes) -> None:
        if self.all_keys:
            raise RuleError(KEYS_AFTER_ALL)
        read = write = rule[:1] == b"~"
        offset = 1
        if rule[:1] == b"%":
            for offset in range(1, len(rule) + 1):
                letter = rule[offset : offset + 1].upper()
                if letter == b"R" and not read:
                    read = True
                elif letter == b"W" and not write:
                    write = True
                elif letter == b"~" and (read or write):
                    offset += 1
                    break
                else:
                    raise RuleError(SYNTAX)
        pattern = rule[offset:]
        _no_spaces(pattern)
        for existing in self.keys:
            if existing.pattern == pattern:
                existing.read, existing.write = existing.read or read, existing.write or write
                return
        self.keys.append(KeyPattern(pattern, read, write))

    def _change_category(self, rule: str) -> None:
        allow, category = rule[0] == "+", rule[2:]
        if category not in CATEGORIES:
            raise RuleError(UNKNOWN)
        self._update_rules(rule[1:], allow)
        for name, categories in CATEGORIES_OF.items():
            if category in categories:
                self._change(name, allow)

    def _change_command(self, rule: str) -> None:
        allow, name = rule[0] == "+", rule[1:]
        if "|" in name and allow:  # -config|set names a subcommand or nothing
            container, _, sub = name.rpartition("|")
            if container not in CATEGORIES_OF:
                raise RuleError(UNKNOWN)
            if "|" in container:
                raise RuleError(SUBCOMMAND_FIRST_ARG)
            if not sub:
                raise RuleError(SYNTAX)
            if container not in SUBCOMMANDS:
                raise RuleError(NOT_BUILT.format("first-argument rules"))
        if name not in CATEGORIES_OF:
            raise RuleError(UNKNOWN)
        self._change(name, allow)
        self._update_rules(name, allow)

    def _change(self, name: str, allow: bool) -> None:
        """Allow or deny a command, and with a container all its subcommands."""
        names = (name, *SUBCOMMANDS.get(name, ()))
        if allow:
            self.allowed.update(names)
        else:
            self.allowed.difference_update(names)

    def _update_rules(self, rule: str, allow: bool) -> None:
        """Redis's ``ACLUpdateCommandRules``: drop the same rule (and, for a
        whole command, its subcommands' rules), then append it."""
        self.rules = [
            kept for kept in self.rules if kept[1:] != rule and not kept[1:].startswith(rule + "|")
        ]
        self.rules.append(("+" if allow else "-") + rule)

    # -- how Redis shows it ------------------------------------------------------

    def command_rules(self) -> bytes:
        start = "+@all" if self.all_future else "-@all"
        return " ".join([start, *self.rules]).encode("latin-1")

    def key_rules(self) -> list[bytes]:
        return [b"~*"] if self.all_keys else [pattern.describe() for pattern in self.keys]

    def channel_rules(self) -> list[bytes]:
        if self.all_channels:
            return [b"&*"]
        return [b"&" + channel for channel in self.channels]

    def describe(self) -> bytes:
        """Redis's ``ACLDescribeSelector``: keys, channels, commands."""
        channels = self.channel_rules()
        if not self.all_channels:
            channels.insert(0, b"resetchannels")
        return b" ".join([*self.key_rules(), *channels, self.command_rules()])

    def fields(self) -> list[Reply]:
        """ACL GETUSER's ``commands``, ``keys`` and ``channels``."""
        return [
            b"commands",
            self.command_rules(),
            b"keys",
            b" ".join(self.key_rules()),
            b"channels",
            b" ".join(self.channel_rules()),
        ]

    # -- what it allows ------------------------------------------------------------

    def may_run(self, full_name: str) -> bool:
        return full_name in self.allowed

    def may_touch(self, key: bytes, read: bool, write: bool) -> bool:
        """Whether a pattern allows what a command does with ``key``: read
        it, write it, both - or neither (EXISTS: any pattern that matches),
        as Redis 7's ``ACLSelectorCheckKey``."""
        if self.all_keys:
            return True
        for pattern in self.keys:  # a loop, not any(): this runs for every key of every command
            if (pattern.read or not read) and (pattern.write or not write) and pattern.matches(key):
                return True
        return False

    def may_use_channel(self, channel: bytes, literal: bool) -> bool:
        """A channel (glob-matched) or, for PSUBSCRIBE, a pattern (the same
        pattern must be allowed, as in Redis)."""
        if self.all_channels:
            return True
        if literal:
            return channel in self.channels
        return any(glob_match(pattern, channel) for pattern in self.channels)


def _no_spaces(pattern: bytes) -> None:
    if b" " in pattern or b"\0" in pattern:
        raise RuleError(SYNTAX)
