"""What a command of the key-value store is: its kind and its description
(``commands.py`` holds the table of them)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from ranet.kv.keyspace import Keyspace
from ranet.kv.reply import Reply


class Kind(Enum):
    WRITE = "write"
    READ = "read"
    CONNECTION = "connection"
    BLOCKING = "blocking"


WRITE, READ, CONNECTION, BLOCKING = Kind.WRITE, Kind.READ, Kind.CONNECTION, Kind.BLOCKING

Handler = Callable[[Keyspace, list[bytes]], Reply]


@dataclass(slots=True, frozen=True)
class CommandSpec:
    """One command, described as Redis's ``COMMAND INFO`` describes it."""

    name: str  # lowercase, as Redis names commands in replies and errors
    arity: int
    kind: Kind
    handler: Handler | None  # None for CONNECTION commands: the server answers them
    flags: tuple[str, ...]  # e.g. ("write", "denyoom", "fast")
    first_key: int
    last_key: int
    step: int
    categories: tuple[str, ...]  # ACL categories, e.g. ("@write", "@string", "@fast")
    may_block: bool = False  # a read or write that waits when given BLOCK (XREAD, XREADGROUP)
    # a container of keyed subcommands (OBJECT, XINFO): each, upper case, and its arity
    subcommands: tuple[tuple[bytes, int], ...] = ()
