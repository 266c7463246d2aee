"""Helpers of the key-value store tests: log entries and commands in one line."""

from __future__ import annotations

from ranet.kv.commands import is_write
from ranet.kv.envelope import Envelope, encode
from ranet.kv.reply import Reply
from ranet.kv.store import KVStore

Arg = bytes | str | int


def argv_of(args: tuple[Arg, ...]) -> list[bytes]:
    """``("SET", "k", 1)`` -> ``[b"SET", b"k", b"1"]``."""
    return [a if isinstance(a, bytes) else str(a).encode() for a in args]


def entry(*args: Arg, client_id: int = 0, sequence: int = 0, at: int = 0) -> bytes:
    """The log entry of a write: envelope ``[client_id, sequence, at, argv]``."""
    return encode(Envelope(client_id, sequence, at, argv_of(args)))


def call(store: KVStore, *args: Arg, at: int | None = None) -> Reply:
    """Run a command as the server would: a write through ``apply``, else ``read``.

    A write is stamped ``at`` (default: the store's clock, so time stands
    still); a read is served at ``at`` if given.
    """
    argv = argv_of(args)
    if is_write(argv):
        return store.apply(entry(*argv, at=store.clock_ms if at is None else at))
    return store.read(argv, now_ms=at)


def moves_version(store: KVStore, key: bytes, *args: Arg) -> bool:
    """Whether running the command changes the WATCH version of ``key``."""
    before = store.versions([key])
    call(store, *args)
    return store.versions([key]) != before


_ADDED_BY = {  # a snapshot field, by the format that added it
    "ranet.kv/6": "scripts",
    "ranet.kv/7": "functions",
    "ranet.kv/8": "users",
}


def as_format(fields: dict[str, object], snapshot_format: str) -> dict[str, object]:
    """A snapshot's fields as an older format had them (before scripts:
    format 5; before functions: format 6; before users: format 7)."""
    for added_by, field in _ADDED_BY.items():
        if snapshot_format < added_by:
            del fields[field]
    fields["format"] = snapshot_format
    return fields
