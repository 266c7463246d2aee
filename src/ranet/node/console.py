"""The node's console: the seed's REPL helpers as plain commands.

``append TEXT`` is the seed's ``(client-append-entry "TEXT")``, but works on
any node (a follower forwards to the leader); ``status`` is the seed's
``(raftdebug)`` in readable form. Commands are parsed and answered here, as
text, so the console can be driven by a terminal, a pipe or a test alike.
"""

from __future__ import annotations

import asyncio
import json
import sys
import threading
from collections.abc import Awaitable, Callable

from ranet.errors import NotLeader, RanetError
from ranet.kv.node_backend import note
from ranet.node.runtime import Node

HELP = """commands:
  append TEXT   replicate TEXT through the log (forwarded to the leader)
  status        this node's Raft state
  help          this text
  quit          stop this node"""


class QuitConsole(Exception):
    """The user asked to stop (the node, or the cluster)."""


async def serve_console(
    execute: Callable[[str], Awaitable[str]], stop: asyncio.Event, prompt: str = ""
) -> None:
    """Read standard input line by line and answer each line with ``execute``.

    Reading blocks, so a thread reads and hands lines to the event loop. The
    prompt is shown on a terminal only. ``QuitConsole`` from ``execute``, or
    Ctrl-D at a terminal, sets ``stop``; a closed pipe only ends the console.
    """
    loop = asyncio.get_running_loop()
    lines: asyncio.Queue[str | None] = asyncio.Queue()

    def read_lines() -> None:
        for line in sys.stdin:
            loop.call_soon_threadsafe(lines.put_nowait, line)
        loop.call_soon_threadsafe(lines.put_nowait, None)

    threading.Thread(target=read_lines, name="ranet-console", daemon=True).start()
    interactive = sys.stdin.isatty()
    while True:
        if interactive and prompt:
            print(prompt, end="", flush=True)
        line = await lines.get()
        if line is None:
            if interactive:
                stop.set()
            return
        try:
            reply = await execute(line)
        except QuitConsole:
            stop.set()
            return
        if reply:
            print(reply, flush=True)


async def run_command(node: Node, line: str) -> str:
    """Execute one console line; return the text to show the user."""
    command, _, argument = line.strip().partition(" ")
    if not command:
        return ""
    if command == "append":
        return await _append(node, argument.strip())
    if command == "status":
        return json.dumps(node.status(), indent=2)
    if command == "help":
        return HELP
    if command in ("quit", "exit"):
        raise QuitConsole
    return f"unknown command {command!r}; type 'help' for the list"


async def _append(node: Node, text: str) -> str:
    if not text:
        return "usage: append TEXT"
    try:
        await node.submit(note(text.encode()))
    except NotLeader as error:
        if error.leader_hint is None:
            return "no leader is known yet (an election is under way); try again shortly"
        return f"could not reach the leader (node {error.leader_hint}); try again shortly"
    except RanetError as error:
        return f"append failed: {error}"
    return f"appended {text!r} to the replicated log"
