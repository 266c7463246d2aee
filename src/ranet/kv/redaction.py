"""The secrets a command carries, hidden where a node shows the command back
(MONITOR, SLOWLOG): ``(redacted)`` in place of each, as Redis 7.0's
``redactClientCommandArgument`` leaves them.

Redis redacts an argument while the command reads it, so only what it
read before an error is hidden: AUTH's password (and user name), unless
the command has more than three words; HELLO's ``AUTH`` user and password,
unless the protocol version before them is bad or an option before them
is; ACL SETUSER's user and rules; CONFIG SET's values of ``requirepass``,
``masterauth`` and ``masteruser`` (hidden although ranet does not have
them: a client may still send them, meant for Redis).
"""

from __future__ import annotations

from ranet.kv.arguments import parse_int

REDACTED = b"(redacted)"
_SENSITIVE_SETTINGS = frozenset({b"requirepass", b"masterauth", b"masteruser"})


def redacted(argv: list[bytes]) -> list[bytes]:
    """``argv`` as MONITOR and SLOWLOG show it: its secrets ``(redacted)``."""
    name = argv[0].lower()
    if name == b"auth":
        return [argv[0], *(REDACTED for _ in argv[1:])] if len(argv) <= 3 else argv
    if name == b"hello":
        return _hello(argv)
    if name == b"acl" and len(argv) > 2 and argv[1].lower() == b"setuser":
        return [*argv[:2], *(REDACTED for _ in argv[2:])]
    if name == b"config" and len(argv) >= 4 and len(argv) % 2 == 0 and argv[1].lower() == b"set":
        return [
            REDACTED if i % 2 and argv[i - 1].lower() in _SENSITIVE_SETTINGS else word
            for i, word in enumerate(argv)
        ]
    return argv


def _hello(argv: list[bytes]) -> list[bytes]:
    """HELLO protover [AUTH user password] [SETNAME name]: read as Redis
    reads it, redacting as it goes, up to the first thing it refuses."""
    if len(argv) < 2 or parse_int(argv[1]) not in (2, 3):
        return argv
    words = list(argv)
    i = 2
    while i < len(words):
        option, left = words[i].upper(), len(words) - i - 1
        if option == b"AUTH" and left >= 2:
            words[i + 1] = words[i + 2] = REDACTED
            i += 3
        elif option == b"SETNAME" and left >= 1:
            i += 2
        else:
            break
    return words
