"""MONITOR: every command a node's clients send, as one line each, to the
connections that asked for them - Redis's format, to the byte:

    +1732700000.123456 [0 127.0.0.1:50210] "set" "k" "v"

A line is written when the node takes the command (a command queued in
MULTI when EXEC takes it, just before the EXEC line), whatever its outcome;
one refused before it runs - unknown, of the wrong arity, not
authenticated, refused by ACL - makes none. As in Redis, administrative
commands (those of ACL's ``@admin`` category: CONFIG, ACL SETUSER, CLIENT
LIST ...) are not shown, and AUTH's arguments (and HELLO's after AUTH) are
``(redacted)`` (redaction.py).

Departures: a node shows its own clients' commands - writes other nodes
take reach it through the log, with no client to name - and the calls a
script makes are not shown (Redis shows them as ``[0 lua]``): scripts run
in the log, on every node.
"""

from __future__ import annotations

from ranet.kv.acl_catalog import CATEGORIES_OF
from ranet.kv.acl_check import full_name
from ranet.kv.command_spec import CommandSpec
from ranet.kv.redaction import redacted
from ranet.kv.reply import Status
from ranet.kv.split_args import quote


def shown(spec: CommandSpec, argv: list[bytes]) -> bool:
    """Whether MONITOR shows the command: not if it is administrative."""
    return "admin" not in CATEGORIES_OF.get(full_name(spec, argv), ())


def line(now: float, peer: str, argv: list[bytes]) -> Status:
    """The command as a MONITOR line, its secrets redacted."""
    words = " ".join(map(quote, redacted(argv)))
    return Status(f"{now:.6f} [0 {peer}] {words}")
