"""Key-space notifications: Redis's ``notify-keyspace-events``.

Every replica applies every write, so each node emits the events of the
entries it applies to its own subscribers - the same events, in the log's
order, on every node (``Keyspace.notify``: a message on
``__keyspace@0__:KEY`` naming the event, and one on ``__keyevent@0__:EVENT``
naming the key, through the node's pub/sub). Which events a node emits is
that node's setting, as in Redis: ``CONFIG SET notify-keyspace-events``
on a node, or ``ranet node --notify-keyspace-events``; it is not state, and
a node started without it emits nothing.

The classes are Redis's: K and E (the two channels), g (generic: DEL,
EXPIRE, RENAME, ...), $ (strings), l, s, h, z (lists, sets, hashes, sorted
sets), t (streams), x (expired), e (evicted: ranet evicts nothing), d
(module types: none here), n (a new key), A (g$lshzxetd). Not m: Redis
emits a key-miss event on every read that misses, which ranet does not
(CONFIG SET refuses it, saying so).
"""

from __future__ import annotations

KEYSPACE = 1 << 0
KEYEVENT = 1 << 1
GENERIC = 1 << 2
STRING = 1 << 3
LIST = 1 << 4
SET = 1 << 5
HASH = 1 << 6
ZSET = 1 << 7
EXPIRED = 1 << 8
EVICTED = 1 << 9
STREAM = 1 << 10
KEY_MISS = 1 << 11
MODULE = 1 << 13
NEW = 1 << 14
CHANNELS = KEYSPACE | KEYEVENT
ALL = GENERIC | STRING | LIST | SET | HASH | ZSET | EXPIRED | EVICTED | STREAM | MODULE

_CLASSES = {
    "g": GENERIC,
    "$": STRING,
    "l": LIST,
    "s": SET,
    "h": HASH,
    "z": ZSET,
    "x": EXPIRED,
    "e": EVICTED,
    "t": STREAM,
    "d": MODULE,
    "K": KEYSPACE,
    "E": KEYEVENT,
    "m": KEY_MISS,
    "n": NEW,
}


class UnknownClass(ValueError):
    """A ``notify-keyspace-events`` value with a class Redis does not know,
    or one ranet does not emit; the message says which."""


def parse(text: str) -> int:
    """The flags of a ``notify-keyspace-events`` value (``"KEA"``)."""
    flags = 0
    for letter in text:
        if letter == "A":
            flags |= ALL
        elif letter in _CLASSES:
            flags |= _CLASSES[letter]
        else:
            raise UnknownClass("Invalid event class character. Use 'Ag$lshzxeKEtmdn'.")
    if flags & KEY_MISS:
        raise UnknownClass("ranet does not emit key-miss events (class 'm')")
    return flags


def text_of(flags: int) -> str:
    """The value CONFIG GET shows for ``flags``, in Redis's order (``AKE``)."""
    classes = "A" if flags & ALL == ALL else "".join(c for c in "g$lshzxetd" if flags & _CLASSES[c])
    return classes + "".join(c for c in "KEmn" if flags & _CLASSES[c])
