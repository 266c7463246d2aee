"""Blocking pops: BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP, BZPOPMIN,
BZPOPMAX and BZMPOP - a client waits until there is something to take; and
XREAD and XREADGROUP with BLOCK, which wait for new stream entries.

A blocking command is a write (``Kind.BLOCKING`` in commands.py) that the
server sends through the log only once the local replica shows something to
take; applied, it is its non-blocking form (BLPOP takes like LPOP, and
answers null if there is nothing), so every replica takes the same element.
Inside MULTI it is that non-blocking form at once, as in Redis.

How a client waits (``wait_and_take``), on whichever node it is connected to:

1. read the versions of its keys on the local replica (keyspace.py), then
   whether any of the keys exists there - both local and cheap, no log, no
   ReadIndex round;
2. if one exists, send the command through the log: its reply is the answer,
   unless another client took the element first (null);
3. wait until a local apply changes one of those versions
   (``Backend.changed``), or the client's timeout ends (null), then back to 1.
   After a null take that change is the other client's take, which a
   replica behind the leader may not have applied yet: waiting for it, not
   trying again at once, keeps a lagging replica's clients from sending
   take after take that finds nothing.

Reading the versions before the keys means no change is missed: a change
after the read of the versions shows as a changed version at step 3. A
version covers a slot of keys, so a change to another key of the slot wakes
the client needlessly, and it goes back to waiting after one local read. A
replica behind its leader only delays the wake-up: the change arrives with
the entries it has still to apply.

Several clients waiting on one key are all woken by a push and all try;
one takes the element and the others, answered null, wait again (one log
entry each): Redis serves waiters first come, first served, ranet serves
whoever's entry commits first.

Streams (``wait_for_entries``), by the same steps. XREAD only reads, so it
never goes through the log: its first read is linearizable (after which the
local replica is at least that fresh) and the later ones local. Its ``$``
becomes each stream's last entry, read in that first, linearizable round
(entries after it are exactly those after the stream's last ID: no entry is
ever added below that). XREADGROUP with ``>`` is a write - a delivery
changes the group - sent through the log once the local replica shows an
entry after the group's last delivered one (XINFO GROUPS and XREVRANGE,
read locally); delivered to another consumer first, it answers null and
changes nothing, and the client waits again. A stream deleted, or a group
destroyed, wakes the client, and the write answers the error.
"""

from __future__ import annotations

import asyncio
import time
from asyncio import FIRST_COMPLETED
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial

from ranet.kv.backend import Backend
from ranet.kv.reply import NULL_ARRAY, ErrorReply, Reply
from ranet.kv.stream_ids import parse_id
from ranet.kv.streams import ReadOptions


@dataclass(slots=True, frozen=True)
class BlockingForm:
    """Where a blocking command keeps its timeout and which keys it takes from."""

    timeout_at: int  # the timeout's position in argv (negative: from the end)
    keys: Callable[[list[bytes]], list[bytes]]


def _before_timeout(argv: list[bytes]) -> list[bytes]:
    return argv[1:-1]


def _source(argv: list[bytes]) -> list[bytes]:
    return argv[1:2]


def _counted(argv: list[bytes]) -> list[bytes]:
    """BLMPOP / BZMPOP timeout numkeys key ...: the ``numkeys`` keys (checked
    by the command's own parsing before any wait)."""
    return argv[3 : 3 + int(argv[2])]


FORMS: dict[str, BlockingForm] = {
    "blpop": BlockingForm(-1, _before_timeout),
    "brpop": BlockingForm(-1, _before_timeout),
    "bzpopmin": BlockingForm(-1, _before_timeout),
    "bzpopmax": BlockingForm(-1, _before_timeout),
    "blmove": BlockingForm(5, _source),
    "brpoplpush": BlockingForm(3, _source),
    "blmpop": BlockingForm(1, _counted),
    "bzmpop": BlockingForm(1, _counted),
}


UNBLOCKED = ErrorReply("UNBLOCKED client unblocked via CLIENT UNBLOCK")
Unblock = asyncio.Future[Reply]
"""Set by CLIENT UNBLOCK, with the reply the waiting client gets: null (as
a timeout) or ``UNBLOCKED``."""
Blocked = Callable[[float], None]
"""Told, each time a client has waited for something to take, how many
seconds: SLOWLOG leaves that time out of the command's, as Redis does."""


async def wait_and_take(
    backend: Backend,
    argv: list[bytes],
    keys: list[bytes],
    timeout: float,
    unblock: Unblock | None = None,
    blocked: Blocked | None = None,
) -> Reply:
    """The reply of the blocking command ``argv`` once it took something
    from ``keys``, or null once ``timeout`` seconds passed (0: wait on) - or
    what CLIENT UNBLOCK set in ``unblock``; ``blocked`` hears how long it waited."""

    async def take() -> Reply:
        (present,) = await backend.read([[b"EXISTS", *keys]], stale=True)
        # None if taken by another client first; this replica may not have
        # applied that yet, so the caller waits for the change.
        return await backend.write(argv, None) if present else None

    return await _until(backend, keys, timeout, take, unblock, blocked)


async def _until(
    backend: Backend,
    keys: list[bytes],
    timeout: float,
    attempt: Callable[[], Awaitable[Reply]],
    unblock: Unblock | None,
    blocked: Blocked | None,
) -> Reply:
    """The first reply of ``attempt`` that is not null, trying again each
    time the local replica changes one of ``keys``; null after ``timeout``
    seconds (0: wait on). CLIENT UNBLOCK (``unblock``) ends the wait with
    its reply - never an attempt under way: a take sent through the log
    may already have taken its element, and its reply must not be lost."""
    loop = asyncio.get_running_loop()
    deadline = None if timeout == 0 else loop.time() + timeout
    while True:
        seen = await backend.versions(keys, stale=True)
        reply = await attempt()
        if reply is not None and reply is not NULL_ARRAY:
            return reply
        if unblock is not None and unblock.done():
            return unblock.result()
        remaining = None if deadline is None else deadline - loop.time()
        if remaining is not None and remaining <= 0:
            return NULL_ARRAY
        changed = asyncio.ensure_future(backend.changed(keys, seen))
        waited = {changed} if unblock is None else {changed, unblock}
        since = time.monotonic()
        try:
            done, _ = await asyncio.wait(waited, timeout=remaining, return_when=FIRST_COMPLETED)
        finally:
            if not changed.done():  # timed out, unblocked, or the client went away
                changed.cancel()
            if blocked is not None:
                blocked(time.monotonic() - since)
        if changed not in done:
            return unblock.result() if unblock is not None and unblock in done else NULL_ARRAY


async def wait_for_entries(
    backend: Backend,
    argv: list[bytes],
    options: ReadOptions,
    unblock: Unblock | None = None,
    blocked: Blocked | None = None,
) -> Reply:
    """XREAD / XREADGROUP with BLOCK (and only ``>`` for XREADGROUP): the
    reply once there are entries to give, or null after the BLOCK time - or
    what CLIENT UNBLOCK set in ``unblock``; ``blocked`` hears how long it waited."""
    keys = options.keys
    timeout = (options.block_ms or 0) / 1000
    if options.group is not None:
        deliver = partial(_deliver, backend, argv, options)
        return await _until(backend, keys, timeout, deliver, unblock, blocked)
    ids = list(options.ids)
    last = [i for i, text in enumerate(ids) if text == b"$"]
    if last:
        tops = await backend.read([_last_entry(keys[i]) for i in last], stale=False)
        for i, top in zip(last, tops, strict=True):
            if isinstance(top, ErrorReply):
                return top
            ids[i] = top[0][0] if top else b"0-0"  # type: ignore[index]
    probe = [b"XREAD", b"COUNT", b"%d" % options.count, b"STREAMS", *keys, *ids]
    stale = bool(last)  # the first read is linearizable, unless the $ round was

    async def read() -> Reply:
        nonlocal stale
        (reply,) = await backend.read([probe], stale=stale)
        stale = True
        return reply

    return await _until(backend, keys, timeout, read, unblock, blocked)


async def _deliver(backend: Backend, argv: list[bytes], options: ReadOptions) -> Reply:
    """XREADGROUP ... > through the log if the local replica shows something
    for it to deliver; else null."""
    reads = [
        command
        for key in options.keys
        for command in ([b"XINFO", b"GROUPS", key], _last_entry(key))
    ]
    replies = await backend.read(reads, stale=True)
    assert options.group is not None
    pairs = zip(replies[::2], replies[1::2], strict=True)
    if any(_may_deliver(groups, top, options.group) for groups, top in pairs):
        return await backend.write(argv, None)
    return None


def _last_entry(key: bytes) -> list[bytes]:
    return [b"XREVRANGE", key, b"+", b"-", b"COUNT", b"1"]


def _may_deliver(groups: Reply, top: Reply, name: bytes) -> bool:
    """Whether one stream, as XINFO GROUPS and its last entry show it, has an
    entry after group ``name``'s last delivered one - or the stream or the
    group is missing, and the write answers the error."""
    if not isinstance(groups, list) or not isinstance(top, list):
        return True
    delivered = next(
        (group[b"last-delivered-id"] for group in groups if group[b"name"] == name), None
    )
    if delivered is None:
        return True
    return bool(top) and parse_id(top[0][0]) > parse_id(delivered)  # type: ignore[operator]
