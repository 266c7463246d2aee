"""Which arguments of a command are keys, and what the command does with
each: what client-side caching (tracking.py) remembers and what ACL key
rules (acl_check.py) are checked against.

Redis 7's key specifications say it (key_spec_table.py): where the keys
begin (an index, or after a keyword), and how they follow (a range, or a
count). A key is read if its spec says ``access`` and written if it says
``insert``, ``update`` or ``delete``; ACL's ``%R~`` and ``%W~`` patterns ask
just that (Redis's ``ACLSelectorCheckKey``). SET, BITFIELD, SORT and
MIGRATE are read as Redis's key functions read them (``setGetKeys``,
``bitfieldGetKeys``, ``sortGetKeys``, ``migrateGetKeys``): what they do
with a key, or which keys they name, depends on their arguments. A
container's keys are its subcommand's, as Redis looks the subcommand up
first: OBJECT ENCODING's, XINFO STREAM's (``object|encoding``,
``xinfo|stream`` in the table).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ranet.kv.arguments import parse_int
from ranet.kv.command_spec import CommandSpec
from ranet.kv.key_spec_table import TABLE

_WRITES = frozenset({"insert", "update", "delete"})


@dataclass(frozen=True, slots=True)
class Key:
    position: int  # in the command's arguments
    read: bool  # the command reads its value
    write: bool  # the command inserts, updates or deletes it
    flags: tuple[str, ...]  # its key spec's flags, as Redis names them (COMMAND GETKEYSANDFLAGS)


@dataclass(frozen=True, slots=True)
class _Spec:
    """One key specification: where its keys begin, and how they follow."""

    flags: tuple[str, ...]
    read: bool
    write: bool
    keyword: bytes | None  # the keys follow this word; None: they begin at ``begin``
    begin: int  # an index; with a keyword, where the search starts (< 0: from the end)
    count_at: int | None  # counted keys: the count's place after the beginning
    first: int  # counted keys: the first key's place after the beginning
    last: int  # a range's last key, after the beginning (< 0: from the end)
    step: int
    limit: int  # a range to the end: only its first 1/limit (XREAD's STREAMS)

    def keys(self, argv: list[bytes]) -> list[Key] | None:
        """The keys of ``argv`` it finds; None if its count is not one
        (Redis's getkeys functions: at least one key, all of them there)."""
        first = self._beginning(argv)
        if first is None:
            return []
        if self.count_at is not None:
            at = first + self.count_at
            count = parse_int(argv[at]) if at < len(argv) else None
            first += self.first
            if count is None or count < 1 or first + (count - 1) * self.step >= len(argv):
                return None
            last = first + count - 1
        elif self.last >= 0:
            last = first + self.last
        elif self.limit:
            last = first + (len(argv) - first) // self.limit + self.last
        else:
            last = len(argv) + self.last
        end = min(last + 1, len(argv))
        return [Key(i, self.read, self.write, self.flags) for i in range(first, end, self.step)]

    def _beginning(self, argv: list[bytes]) -> int | None:
        if self.keyword is None:
            return self.begin
        start = self.begin
        where = range(start, len(argv)) if start >= 0 else range(len(argv) + start, 0, -1)
        for i in where:
            if argv[i].upper() == self.keyword:
                return i + 1
        return None


def _parse(text: str) -> dict[str, tuple[_Spec, ...]]:
    table: dict[str, tuple[_Spec, ...]] = {}
    for line in text.strip().splitlines():
        name, _, specs = line.partition(" ")
        parsed = [_parse_spec(spec.split()) for spec in specs.split(" | ")]
        table[name] = tuple(spec for spec in parsed if spec is not None)
    return table


def _parse_spec(words: list[str]) -> _Spec | None:
    """``FLAGS BEGIN FIND`` (key_spec_table.py); None for a spec of no keys
    (SPUBLISH's channel) or one Redis cannot follow (SORT's: sort_keys)."""
    flags, begin, find = words
    names = tuple(flags.split(","))
    flag_set = {flag.lower() for flag in names}
    if "not_key" in flag_set or "?" in (begin, find):
        return None
    keyword, start = begin[1:].rsplit(":", 1) if begin[0] == "k" else ("", begin[1:])
    a, b, c = (int(number) for number in find[1:].split(","))
    head = (names, "access" in flag_set, bool(flag_set & _WRITES), keyword.encode() or None)
    if find[0] == "n":  # keynumidx, firstkey, keystep
        return _Spec(*head, int(start), a, b, 0, c, 0)
    return _Spec(*head, int(start), None, 0, a, b, c)


_SPECS = _parse(TABLE)
CONTAINERS = frozenset(name.partition("|")[0] for name in _SPECS if "|" in name)
"""The commands whose keys are their subcommands' (OBJECT, MEMORY, XINFO, XGROUP)."""


_UPDATED = ("RW", "access", "update")
_WRITTEN = (Key(1, False, True, ("OW", "update")),)
_READ_AND_WRITTEN = (Key(1, True, True, _UPDATED),)
_READ = ("RO", "access")


def _set_keys(argv: list[bytes]) -> Sequence[Key]:
    """SET reads its key only when given GET."""
    gets = any(arg.upper() == b"GET" for arg in argv[3:])
    return _READ_AND_WRITTEN if gets else _WRITTEN


def _bitfield_keys(argv: list[bytes]) -> list[Key]:
    """BITFIELD writes its key unless it only GETs (an option it cannot
    read counts as a write, as in Redis)."""
    i, writes = 2, False
    while i < len(argv):
        option, left = argv[i].upper(), len(argv) - i - 1
        if option == b"GET" and left >= 2:
            i += 3
        elif option == b"OVERFLOW" and left >= 1:
            i += 2
        else:
            writes = True
            break
    return [Key(1, True, writes, _UPDATED if writes else _READ)]


def _sort_keys(argv: list[bytes]) -> list[Key]:
    """SORT reads its key and writes the last STORE's; BY and GET patterns
    name keys only the sort finds (acl_check.sort_refusal)."""
    keys = [Key(1, True, False, _READ)]
    store = None
    skip = {b"LIMIT": 2, b"GET": 1, b"BY": 1}
    i = 2
    while i < len(argv):
        option = argv[i].upper()
        if option in skip:
            i += skip[option]
        elif option == b"STORE" and i + 1 < len(argv):
            store = Key(i + 1, False, True, ("OW", "update"))
        i += 1
    return keys if store is None else [*keys, store]


def _migrate_keys(argv: list[bytes]) -> list[Key]:
    """MIGRATE moves its key, or with KEYS (its key then empty) the keys
    after it; AUTH's and AUTH2's arguments are skipped (``migrateGetKeys``)."""
    first, skip = 3, {b"AUTH": 1, b"AUTH2": 2}
    i = 6
    while i < len(argv):
        option = argv[i].upper()
        if option == b"KEYS":
            if argv[3]:
                return []
            first = i + 1
            break
        i += skip.get(option, 0) + 1
    last = len(argv) if first > 3 else 4
    return [Key(i, True, True, ("RW", "access", "delete")) for i in range(first, last)]


_BY_FUNCTION: dict[str, Callable[[list[bytes]], Sequence[Key]]] = {
    "set": _set_keys,
    "bitfield": _bitfield_keys,
    "sort": _sort_keys,
    "sort_ro": lambda argv: [Key(1, True, False, _READ)],
    "migrate": _migrate_keys,
}


_FIXED = frozenset(
    name
    for name, specs in _SPECS.items()
    if name not in _BY_FUNCTION and all(s.keyword is None and s.count_at is None for s in specs)
)  # commands whose keys depend on nothing but the number of arguments
_MEMO_ARGUMENTS = 8  # the fixed keys of calls this short are remembered
_memo: dict[tuple[str, int], Sequence[Key]] = {}


def located_keys(spec: CommandSpec, argv: list[bytes]) -> Sequence[Key]:
    """The keys ``argv`` (a call of ``spec``, its arity checked) names, each
    with what the command does with it. Checked on every command of a
    restricted ACL user: a short call of a command whose keys sit at fixed
    places (GET, SET without options, HSET ...) is looked up, not worked out."""
    name = spec.name
    if name in _FIXED and len(argv) <= _MEMO_ARGUMENTS:
        found = _memo.get((name, len(argv)))
        if found is None:
            found = _memo[name, len(argv)] = tuple(_from_specs(name, argv))
        return found
    by_function = _BY_FUNCTION.get(name)
    if by_function is not None:
        return by_function(argv)
    return _from_specs(name, argv)


def _from_specs(name: str, argv: list[bytes]) -> list[Key]:
    """The keys every spec finds; none if a count is wrong (the command
    answers its own error, as in Redis, where no key is then checked)."""
    keys: list[Key] = []
    for key_spec in _SPECS.get(_full_name(name, argv), ()):
        found = key_spec.keys(argv)
        if found is None:
            return []
        keys += found
    return keys


def keys_of(spec: CommandSpec, argv: list[bytes]) -> list[bytes]:
    """The keys ``argv`` names."""
    return [argv[key.position] for key in located_keys(spec, argv)]


def has_keys(spec: CommandSpec, argv: list[bytes]) -> bool:
    """Whether the command ``argv`` calls - a container's subcommand - names
    keys at all (SPUBLISH's are channels)."""
    return bool(_SPECS.get(_full_name(spec.name, argv))) or spec.name in _BY_FUNCTION


def _full_name(name: str, argv: list[bytes]) -> str:
    """``object|encoding`` for a container's call, else the command's name."""
    if name in CONTAINERS and len(argv) > 1:
        return f"{name}|{argv[1].lower().decode('latin-1')}"
    return name
