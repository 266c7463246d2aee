"""The node's console: the seed's REPL helpers as plain commands.

``append TEXT`` is the seed's ``(client-append-entry "TEXT")``, but works on
any node (a follower forwards to the leader); ``status`` is the seed's
``(raftdebug)`` in readable form. Commands are parsed and answered here, as
text, so the console can be driven by a terminal, a pipe or a test alike.
"""

from __future__ import annotations

import json

from ranet.errors import NotLeader, RanetError
from ranet.kv.node_backend import note
from ranet.node.runtime import Node

HELP = """commands:
  append TEXT   replicate TEXT through the log (forwarded to the leader)
  status        this node's Raft state
  help          this text
  quit          stop this node"""


class QuitConsole(Exception):
    """The user asked to stop the node."""


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
