"""Blocking pops: BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP, BZPOPMIN,
BZPOPMAX and BZMPOP - a client waits until there is something to take.

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
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

from ranet.kv.backend import Backend
from ranet.kv.reply import Reply


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


async def wait_and_take(
    backend: Backend, argv: list[bytes], keys: list[bytes], timeout: float
) -> Reply:
    """The reply of the blocking command ``argv`` once it took something
    from ``keys``, or null once ``timeout`` seconds passed (0: wait on)."""
    loop = asyncio.get_running_loop()
    deadline = None if timeout == 0 else loop.time() + timeout
    while True:
        seen = await backend.versions(keys, stale=True)
        (present,) = await backend.read([[b"EXISTS", *keys]], stale=True)
        if present:
            reply = await backend.write(argv, None)
            if reply is not None:
                return reply
            # Taken by another client first; this replica may not have applied
            # that yet, so wait for the change rather than try again at once.
        remaining = None if deadline is None else deadline - loop.time()
        if remaining is not None and remaining <= 0:
            return None
        try:
            await asyncio.wait_for(backend.changed(keys, seen), remaining)
        except TimeoutError:
            return None
