"""ACL users, as Redis 7 keeps them: what a user may do, set by rules.

A user is a name, on or off, its passwords (SHA-256 hashes only: a
password is hashed before it is proposed, so no log entry or snapshot
holds one in clear), the commands it may run, the keys it may touch and
the Pub/Sub channels it may use. ``ACL SETUSER name rule ...`` applies rules
left to right (Redis's ``ACLSetUser``): all or none - a rule in error leaves
the user as it was.

The users are replicated state (``Keyspace.users``): ``ACL SETUSER`` and
``DELUSER`` go through the log, so every node holds the same users and a
user created on one node logs in on any. Command rules are described as
Redis 7.2 describes them: ``+@all`` or ``-@all`` and then the rules given,
in order, a repeated rule moved to the end (Redis 7.0 recomputes a shorter
list from its own command table).

Not built: selectors (``(...)``, ``clearselectors``) and first-argument
rules (``+select|0``) are refused with an error that says so.
"""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field

from ranet.kv.acl_catalog import CATEGORIES, CATEGORIES_OF, SUBCOMMANDS
from ranet.kv.glob import match as glob_match
from ranet.kv.reply import ErrorReply, Reply

DEFAULT = b"default"
_ALL_COMMANDS = frozenset(CATEGORIES_OF)
_HEX = frozenset(b"0123456789abcdef")
_FLAG_RULES = {
    b"on": ("enabled", True),
    b"off": ("enabled", False),
    b"skip-sanitize-payload": ("sanitize", False),
    b"sanitize-payload": ("sanitize", True),
}


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


def password_hash(password: bytes) -> str:
    """How a password is kept: its SHA-256, in lowercase hex (as Redis)."""
    return hashlib.sha256(password).hexdigest()


@dataclass(slots=True)
class KeyPattern:
    """``~pattern`` (read and write), ``%R~pattern``, ``%W~pattern``."""

    pattern: bytes
    read: bool
    write: bool

    def describe(self) -> bytes:
        if self.read and self.write:
            return b"~" + self.pattern
        return (b"%R~" if self.read else b"%W~") + self.pattern


@dataclass(slots=True)
class User:
    """One user (a new one is off, with no password, key, channel or command)."""

    name: bytes
    enabled: bool = False
    nopass: bool = False
    sanitize: bool | None = None  # RESTORE's payload check: a flag only shown
    passwords: list[str] = field(default_factory=list)
    all_keys: bool = False
    keys: list[KeyPattern] = field(default_factory=list)
    all_channels: bool = False
    channels: list[bytes] = field(default_factory=list)
    all_future: bool = False  # set by +@all, cleared by -@all only (Redis's reserved bit)
    allowed: set[str] = field(default_factory=set)  # full names: get, config|get
    rules: list[str] = field(default_factory=list)  # after +@all / -@all, in order

    @classmethod
    def default(cls) -> User:
        """Redis's ``default`` user: on, no password, everything allowed."""
        user = cls(DEFAULT, enabled=True, nopass=True, all_keys=True, all_channels=True)
        user.allow_everything()
        return user

    @property
    def unrestricted(self) -> bool:
        """Whether no check can refuse it anything (the common case, fast)."""
        return self.all_keys and self.all_channels and len(self.allowed) == len(_ALL_COMMANDS)

    def with_rules(self, rules: list[bytes]) -> User:
        """A copy of this user with ``rules`` applied; raises ``RuleError``
        (naming the rule at fault) and leaves this user as it was."""
        user = copy.deepcopy(self)
        for rule in rules:
            try:
                user.apply(rule)
            except RuleError as error:
                raise RuleError(error.reason, rule) from None
        return user

    def apply(self, rule: bytes) -> None:
        """Apply one rule (Redis's ``ACLSetUser``)."""
        lowered = rule.lower()
        if not rule:
            return
        if lowered in _FLAG_RULES:
            attribute, value = _FLAG_RULES[lowered]
            setattr(self, attribute, value)
        elif lowered == b"nopass":
            self.nopass, self.passwords = True, []
        elif lowered == b"resetpass":
            self.nopass, self.passwords = False, []
        elif lowered == b"reset":
            self.apply_all([b"resetpass", b"resetkeys", b"resetchannels", b"off", b"-@all"])
        elif rule[:1] in (b">", b"#"):
            digest = password_hash(rule[1:]) if rule[:1] == b">" else checked_hash(rule[1:])
            if digest not in self.passwords:
                self.passwords.append(digest)
            self.nopass = False
        elif rule[:1] in (b"<", b"!"):
            digest = password_hash(rule[1:]) if rule[:1] == b"<" else checked_hash(rule[1:])
            if digest not in self.passwords:
                raise RuleError(NO_SUCH_PASSWORD)
            self.passwords.remove(digest)
        elif rule[:1] == b"(" or lowered == b"clearselectors":
            raise RuleError(NOT_BUILT.format("selectors"))
        else:
            self._apply_selector_rule(rule, lowered)

    def apply_all(self, rules: list[bytes]) -> None:
        for rule in rules:
            self.apply(rule)

    def _apply_selector_rule(self, rule: bytes, lowered: bytes) -> None:
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
        if "|" in name:
            container, _, sub = name.rpartition("|")
            if container not in CATEGORIES_OF:
                raise RuleError(UNKNOWN)
            if "|" in container:
                raise RuleError(SUBCOMMAND_FIRST_ARG)
            if not sub or not allow:
                raise RuleError(SYNTAX if allow else UNKNOWN)
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

    # -- how Redis shows a user -----------------------------------------------

    def flags(self) -> list[bytes]:
        shown = [b"on" if self.enabled else b"off"]
        if self.nopass:
            shown.append(b"nopass")
        if self.sanitize is not None:
            shown.append(b"sanitize-payload" if self.sanitize else b"skip-sanitize-payload")
        return shown

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
        """The user as one ACL LIST line (without ``user NAME``)."""
        channels = self.channel_rules()
        if not self.all_channels:
            channels.insert(0, b"resetchannels")
        words = [
            *self.flags(),
            *(b"#" + digest.encode() for digest in self.passwords),
            *self.key_rules(),
            *channels,
            self.command_rules(),
        ]
        return b" ".join(words)

    def getuser(self) -> Reply:
        """ACL GETUSER's reply (Redis 7.0's fields)."""
        return [
            b"flags",
            self.flags(),
            b"passwords",
            [digest.encode() for digest in self.passwords],
            b"commands",
            self.command_rules(),
            b"keys",
            b" ".join(self.key_rules()),
            b"channels",
            b" ".join(self.channel_rules()),
            b"selectors",
            [],
        ]

    # -- what it may do ---------------------------------------------------------

    def authenticates(self, password: bytes) -> bool:
        return self.enabled and (self.nopass or password_hash(password) in self.passwords)

    def may_run(self, full_name: str) -> bool:
        return full_name in self.allowed

    def may_touch(self, key: bytes, read: bool, write: bool) -> bool:
        """Whether a pattern allows what a command does with ``key``: read
        it, write it, both - or neither (EXISTS: any pattern that matches),
        as Redis 7's ``ACLSelectorCheckKey``."""
        if self.all_keys:
            return True
        return any(
            (pattern.read or not read)
            and (pattern.write or not write)
            and glob_match(pattern.pattern, key)
            for pattern in self.keys
        )

    def may_use_channel(self, channel: bytes, literal: bool) -> bool:
        """A channel (glob-matched) or, for PSUBSCRIBE, a pattern (the same
        pattern must be allowed, as in Redis)."""
        if self.all_channels:
            return True
        if literal:
            return channel in self.channels
        return any(glob_match(pattern, channel) for pattern in self.channels)


def checked_hash(digest: bytes) -> str:
    if len(digest) != 64 or not set(digest) <= _HEX:
        raise RuleError(BAD_HASH)
    return digest.decode()


def _no_spaces(pattern: bytes) -> None:
    if b" " in pattern or b"\0" in pattern:
        raise RuleError(SYNTAX)


def rule_error(rule: bytes, reason: str) -> ErrorReply:
    text = rule.decode("utf-8", "replace")
    return ErrorReply(f"ERR Error in ACL SETUSER modifier '{text}': {reason}")


def valid_name(name: bytes) -> bool:
    return b" " not in name and b"\0" not in name


class Users:
    """The users, by name: replicated state (snapshots keep them; format 8)."""

    def __init__(self, users: dict[bytes, User] | None = None) -> None:
        self.users: dict[bytes, User] = users if users is not None else {DEFAULT: User.default()}

    def __iter__(self) -> Iterator[User]:
        return iter(self.users[name] for name in sorted(self.users))

    def get(self, name: bytes) -> User | None:
        return self.users.get(name)

    def set(self, user: User) -> None:
        self.users[user.name] = user

    def delete(self, names: list[bytes]) -> int:
        gone = [name for name in dict.fromkeys(names) if self.users.pop(name, None) is not None]
        return len(gone)

    def snapshot(self) -> list[bytes]:
        """Each user as the rules that make it again (``ACL LIST`` lines)."""
        return [user.name + b" " + user.describe() for user in self]

    @classmethod
    def restored(cls, lines: list[bytes]) -> Users:
        """Users from ``snapshot``'s lines; raises ``RuleError`` or ``ValueError``."""
        users: dict[bytes, User] = {}
        for line in lines:
            name, *rules = line.split(b" ")
            users[name] = User(name).with_rules(rules)
        if DEFAULT not in users:
            raise ValueError("no default user")
        return cls(users)
