"""WAIT numreplicas timeout: how many of the other members hold this
connection's writes.

Redis's WAIT blocks until the connection's earlier writes are acknowledged
by ``numreplicas`` replicas, or ``timeout`` milliseconds pass (0: no
limit), and answers how many did. In ranet a write is answered only once a
majority holds it, so WAIT asks what is left to know: how many of the
cluster's other members - every member but the node the client talks to,
voters and learners alike - hold the connection's last write durably in
their logs.

Rule 1 - WAIT is answered after the connection's earlier commands (it is
a blocking command to the server: nothing after it runs until it answers).

Rule 2 - the node does not know the log index of that last write, so it
asks about an index at least as high: the leader's last log index when the
question reaches it, which holds every write answered before (Leader
Completeness, Raft §5.4). The leader knows which followers hold it (their
match indexes) and how far its own log is on disk; a follower forwards the
question to the leader (``Backend.replicas_holding``). The count is never
more than the members that hold the write, and may be fewer while the
entries after it travel.

Rule 3 - a connection that wrote nothing answers at once: every member
holds all of its writes, so the count of the other members.

Rule 4 - fewer than ``numreplicas`` when the timeout passes: the count
then. CLIENT UNBLOCK ends the wait as in Redis: TIMEOUT answers the count at
that moment, ERROR the UNBLOCKED error.
"""

from __future__ import annotations

import asyncio
import time
from asyncio import FIRST_COMPLETED
from collections.abc import Callable

from ranet.kv.arguments import NOT_AN_INTEGER, parse_int, parse_milliseconds
from ranet.kv.backend import Backend
from ranet.kv.blocking import UNBLOCKED, Blocked, Unblock
from ranet.kv.reply import ErrorReply, Reply


def parse(argv: list[bytes]) -> tuple[int, float | None] | ErrorReply:
    """WAIT's arguments, checked in Redis's order: how many members, and
    the timeout in seconds (None: no limit)."""
    wanted = parse_int(argv[1])
    if wanted is None:
        return NOT_AN_INTEGER
    milliseconds = parse_milliseconds(argv[2])
    if isinstance(milliseconds, ErrorReply):
        return milliseconds
    return wanted, milliseconds / 1000 if milliseconds else None


async def wait(
    backend: Backend,
    wrote: Callable[[], bool],
    wanted: int,
    timeout: float | None,
    unblock: Unblock,
    blocked: Blocked | None = None,
) -> Reply:
    """The count WAIT answers (Rules 2-4); ``wrote()`` says whether the
    connection has written, once its earlier commands are answered;
    ``blocked`` hears how long it waited (SLOWLOG leaves that out)."""
    if not wrote():
        return backend.other_members()
    waiting = asyncio.ensure_future(backend.replicas_holding(wanted, timeout))
    since = time.monotonic()
    try:
        await asyncio.wait({waiting, unblock}, return_when=FIRST_COMPLETED)
    finally:
        ended = waiting.done()
        if not ended:  # unblocked, or the client went away
            waiting.cancel()
        if blocked is not None:
            blocked(time.monotonic() - since)
    if ended:
        return waiting.result()
    if unblock.result() is UNBLOCKED:
        return UNBLOCKED
    return await backend.replicas_holding(wanted, 0.0)
