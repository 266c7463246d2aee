"""ACL users, as Redis 7 keeps them: who may log in, and what each may do.

A user is a name, on or off, its passwords (SHA-256 hashes only: a
password is hashed before it is proposed, so no log entry or snapshot
holds one in clear), and selectors (acl_selector.py) that say which
commands it may run, which keys it may touch and which Pub/Sub channels it
may use: its root selector, set by its own rules, and any number more, each
a rule in parentheses - ``(~cache:* +get)``. ``ACL SETUSER name rule ...``
applies rules left to right (Redis's ``ACLSetUser``): all or none - a rule
in error leaves the user as it was.

The users are replicated state (``Keyspace.users``): ``ACL SETUSER`` and
``DELUSER`` go through the log, so every node holds the same users and a
user created on one node logs in on any. Command rules are described as
Redis 7.2 describes them: ``+@all`` or ``-@all`` and then the rules given,
in order, a repeated rule moved to the end (Redis 7.0 recomputes a shorter
list from its own command table).

Not built: first-argument rules (``+select|0``), refused with an error
that says so.
"""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field

from ranet.errors import RespProtocolError
from ranet.kv.acl_selector import (
    BAD_HASH,
    NO_SUCH_PASSWORD,
    SYNTAX,
    RuleError,
    Selector,
)
from ranet.kv.reply import ErrorReply, Reply
from ranet.kv.split_args import split_inline

DEFAULT = b"default"
_HEX = frozenset(b"0123456789abcdef")
_FLAG_RULES = {
    b"on": ("enabled", True),
    b"off": ("enabled", False),
    b"skip-sanitize-payload": ("sanitize", False),
    b"sanitize-payload": ("sanitize", True),
}


def password_hash(password: bytes) -> str:
    """How a password is kept: its SHA-256, in lowercase hex (as Redis)."""
    return hashlib.sha256(password).hexdigest()


@dataclass(slots=True)
class User:
    """One user (a new one is off, with no password, key, channel or command)."""

    name: bytes
    enabled: bool = False
    nopass: bool = False
    sanitize: bool | None = None  # RESTORE's payload check: a flag only shown
    passwords: list[str] = field(default_factory=list)
    root: Selector = field(default_factory=Selector)
    selectors: list[Selector] = field(default_factory=list)

    @classmethod
    def default(cls) -> User:
        """Redis's ``default`` user: on, no password, everything allowed."""
        return cls(DEFAULT, enabled=True, nopass=True, root=Selector.everything())

    @property
    def unrestricted(self) -> bool:
        """Whether no check can refuse it anything (the common case, fast)."""
        return self.root.unrestricted

    def with_rules(self, rules: list[bytes]) -> User:
        """A copy of this user with ``rules`` applied; raises ``RuleError``
        (naming the rule at fault) and leaves this user as it was."""
        user = copy.deepcopy(self)
        for rule in merge_selectors(rules):
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
            for step in (b"resetpass", b"resetkeys", b"resetchannels", b"off", b"sanitize-payload"):
                self.apply(step)
            self.selectors = []
            self.root.apply(b"-@all", b"-@all")
        elif lowered == b"clearselectors":
            self.selectors = []
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
        elif rule[:1] == b"(" and rule[-1:] == b")":
            self.selectors.append(_selector_of(rule[1:-1]))
        else:
            self.root.apply(rule, lowered)

    # -- how Redis shows a user -----------------------------------------------

    def flags(self) -> list[bytes]:
        shown = [b"on" if self.enabled else b"off"]
        if self.nopass:
            shown.append(b"nopass")
        if self.sanitize is not None:
            shown.append(b"sanitize-payload" if self.sanitize else b"skip-sanitize-payload")
        return shown

    def describe(self) -> bytes:
        """The user as one ACL LIST line (without ``user NAME``)."""
        words = [
            *self.flags(),
            *(b"#" + digest.encode() for digest in self.passwords),
            self.root.describe(),
            *(b"(" + selector.describe() + b")" for selector in self.selectors),
        ]
        return b" ".join(words)

    def getuser(self) -> Reply:
        """ACL GETUSER's reply (Redis 7.0's fields)."""
        return [
            b"flags",
            self.flags(),
            b"passwords",
            [digest.encode() for digest in self.passwords],
            *self.root.fields(),
            b"selectors",
            [selector.fields() for selector in self.selectors],
        ]

    # -- what it may do ---------------------------------------------------------

    def authenticates(self, password: bytes) -> bool:
        return self.enabled and (self.nopass or password_hash(password) in self.passwords)

    def may_use_channel(self, channel: bytes, literal: bool) -> bool:
        """Whether a selector allows the channel (acl_selector.py)."""
        return any(
            selector.may_use_channel(channel, literal) for selector in (self.root, *self.selectors)
        )


def merge_selectors(rules: list[bytes]) -> list[bytes]:
    """Rules with each selector as one, however it was split into arguments
    (Redis's ``ACLMergeSelectorArguments``: ``(~x`` ``+get)`` is ``(~x +get)``)."""
    merged: list[bytes] = []
    opened: bytes | None = None
    for rule in rules:
        if opened is None and rule[:1] == b"(" and rule[-1:] != b")":
            opened = rule
        elif opened is not None:
            opened += b" " + rule
            if rule[-1:] == b")":
                merged.append(opened)
                opened = None
        else:
            merged.append(rule)
    if opened is not None:
        start = opened.split(b" ", 1)[0].decode("utf-8", "replace")
        raise UnmatchedParenthesis(
            f"ERR Unmatched parenthesis in acl selector starting at '{start}'."
        )
    return merged


class UnmatchedParenthesis(RuleError):
    """A selector opened and never closed: Redis's own error, not a rule's."""


def _selector_of(rules: bytes) -> Selector:
    """A selector made by the rules within parentheses (quoted as redis-cli's
    words are); only key, channel and command rules are allowed there.
    Unbalanced quotes are a syntax error (Redis 7.0 makes an empty selector)."""
    try:
        words = split_inline(rules)
    except RespProtocolError:
        raise RuleError(SYNTAX) from None
    selector = Selector()
    for word in words:
        selector.apply(word, word.lower())
    return selector


def checked_hash(digest: bytes) -> str:
    if len(digest) != 64 or not set(digest) <= _HEX:
        raise RuleError(BAD_HASH)
    return digest.decode()


def rule_error(error: RuleError) -> ErrorReply:
    """ACL SETUSER's reply to a rule it could not apply."""
    if isinstance(error, UnmatchedParenthesis):
        return ErrorReply(error.reason)
    text = error.rule.decode("utf-8", "replace")
    return ErrorReply(f"ERR Error in ACL SETUSER modifier '{text}': {error.reason}")


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
