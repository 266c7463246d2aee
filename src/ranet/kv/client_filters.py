"""Which connections CLIENT KILL and CLIENT LIST name, as Redis 7.0 reads
their options, and CLIENT HELP's text.

``CLIENT KILL ip:port`` (the old form) names one connection by its
address; ``CLIENT KILL option value ...`` every connection that matches all
the options given - ``ID``, ``TYPE`` (normal, pubsub; ranet has no master
or replica connections), ``USER``, ``ADDR``, ``LADDR`` - except the one
asking, unless ``SKIPME no``. ``CLIENT LIST TYPE type`` or ``ID id ...``
narrows the list.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from ranet.kv.arguments import parse_int, text_of
from ranet.kv.reply import ErrorReply

TYPES = {b"normal": "normal", b"pubsub": "pubsub", b"master": "master"}
TYPES |= dict.fromkeys((b"slave", b"replica"), "replica")
SYNTAX_ERROR = ErrorReply("ERR syntax error")


class Connection(Protocol):
    """What a filter looks at in a connection (server.py's ``_Client``)."""

    id: int
    peer: str
    local: str
    user_name: bytes

    @property
    def kind(self) -> str: ...


@dataclass(slots=True)
class ClientFilter:
    ids: set[int] | None = None
    kind: str | None = None
    user: bytes | None = None
    addr: str | None = None
    laddr: str | None = None
    skip_me: bool = True

    def matches(self, connection: Connection, me: Connection) -> bool:
        return (
            (self.ids is None or connection.id in self.ids)
            and (self.kind is None or connection.kind == self.kind)
            and (self.user is None or connection.user_name == self.user)
            and (self.addr is None or connection.peer == self.addr)
            and (self.laddr is None or connection.local == self.laddr)
            and not (self.skip_me and connection is me)
        )


def parse_kill(
    argv: list[bytes], user_exists: Callable[[bytes], bool]
) -> ClientFilter | ErrorReply:
    """CLIENT KILL's options (the new form: pairs after KILL)."""
    if len(argv) % 2:
        return SYNTAX_ERROR
    found = ClientFilter()
    for option, value in zip(argv[2::2], argv[3::2], strict=True):
        option = option.upper()
        if option == b"ID":
            number = parse_int(value)
            if number is None or number <= 0:
                return ErrorReply("ERR client-id should be greater than 0")
            found.ids = {number}
        elif option == b"TYPE":
            kind = TYPES.get(value.lower())
            if kind is None:
                return ErrorReply(f"ERR Unknown client type '{text_of(value)}'")
            found.kind = kind
        elif option == b"USER":
            if not user_exists(value):
                return ErrorReply(f"ERR No such user '{text_of(value)}'")
            found.user = value
        elif option in (b"ADDR", b"LADDR"):
            setattr(found, option.lower().decode(), text_of(value))
        elif option == b"SKIPME" and value.lower() in (b"yes", b"no"):
            found.skip_me = value.lower() == b"yes"
        else:
            return SYNTAX_ERROR
    return found


def parse_list(argv: list[bytes]) -> ClientFilter | ErrorReply:
    """CLIENT LIST [TYPE type | ID id [id ...]]: who to list (SKIPME off)."""
    if len(argv) == 2:
        return ClientFilter(skip_me=False)
    option = argv[2].upper()
    if len(argv) == 4 and option == b"TYPE":
        kind = TYPES.get(argv[3].lower())
        if kind is None:
            return ErrorReply(f"ERR Unknown client type '{text_of(argv[3])}'")
        return ClientFilter(kind=kind, skip_me=False)
    if len(argv) > 3 and option == b"ID":
        ids = [parse_int(value) for value in argv[3:]]
        if any(number is None for number in ids):
            return ErrorReply("ERR Invalid client ID")
        return ClientFilter(ids=set(ids), skip_me=False)  # type: ignore[arg-type]
    return SYNTAX_ERROR


HELP = [
    b"CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    b"CACHING (YES|NO)",
    b"    Enable/disable tracking of the keys for next command in OPTIN/OPTOUT modes.",
    b"GETREDIR",
    b"    Return the client ID we are redirecting to when tracking is enabled.",
    b"GETNAME",
    b"    Return the name of the current connection.",
    b"ID",
    b"    Return the ID of the current connection.",
    b"INFO",
    b"    Return information about the current client connection.",
    b"KILL <ip:port>",
    b"    Kill connection made from <ip:port>.",
    b"KILL <option> <value> [<option> <value> [...]]",
    b"    Kill connections. Options are:",
    b"    * ADDR (<ip:port>|<unixsocket>:0)",
    b"      Kill connections made from the specified address",
    b"    * LADDR (<ip:port>|<unixsocket>:0)",
    b"      Kill connections made to specified local address",
    b"    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
    b"      Kill connections by type.",
    b"    * USER <username>",
    b"      Kill connections authenticated by <username>.",
    b"    * SKIPME (YES|NO)",
    b"      Skip killing current connection (default: yes).",
    b"LIST [options ...]",
    b"    Return information about client connections. Options:",
    b"    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
    b"      Return clients of specified type.",
    b"UNPAUSE",
    b"    Stop the current client pause, resuming traffic.",
    b"PAUSE <timeout> [WRITE|ALL]",
    b"    Suspend all, or just write, clients for <timeout> milliseconds.",
    b"REPLY (ON|OFF|SKIP)",
    b"    Control the replies sent to the current connection.",
    b"SETNAME <name>",
    b"    Assign the name <name> to the current connection.",
    b"SETINFO <LIB-NAME|LIB-VER> <value>",
    b"    Set the library's name or version, shown by CLIENT LIST.",
    b"UNBLOCK <clientid> [TIMEOUT|ERROR]",
    b"    Unblock the specified blocked client.",
    b"TRACKING (ON|OFF) [REDIRECT <id>] [BCAST] [PREFIX <prefix> [...]]",
    b"         [OPTIN] [OPTOUT]",
    b"    Control server assisted client side caching.",
    b"TRACKINGINFO",
    b"    Report tracking status for the current connection.",
    b"NO-EVICT (ON|OFF)",
    b"    Protect current client connection from eviction (ranet never evicts).",
    b"HELP",
    b"    Prints this help.",
]
