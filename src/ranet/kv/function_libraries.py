"""The libraries of Lua functions FUNCTION LOAD keeps (``functions.py``).

Replicated state like the keys: changed only by applied writes (FUNCTION
LOAD, DELETE, FLUSH, RESTORE), carried in snapshots as the libraries'
code, from which every node rebuilds the rest. A library's name is
case-sensitive; a function's is found by FCALL whatever its case, as in
Redis 7.0, so no two libraries may have functions whose names differ only
by case.
"""

from __future__ import annotations

from typing import NamedTuple


class Function(NamedTuple):
    """A function a library registers."""

    name: bytes
    flags: tuple[bytes, ...]  # the known flags given, in Redis's order
    description: bytes | None

    @property
    def read_only(self) -> bool:
        """Flagged ``no-writes``: it may run as FCALL_RO, and never writes."""
        return b"no-writes" in self.flags


class Library(NamedTuple):
    name: bytes
    code: bytes  # as loaded, the ``#!lua name=...`` line included
    functions: tuple[Function, ...]


class FunctionLibraries:
    """The loaded libraries by name, and their functions by lower-case name."""

    __slots__ = ("_functions", "libraries")

    def __init__(self) -> None:
        self.libraries: dict[bytes, Library] = {}
        self._functions: dict[bytes, tuple[Library, Function]] = {}

    def find(self, name: bytes) -> tuple[Library, Function] | None:
        """The function FCALL ``name`` calls, and its library."""
        return self._functions.get(name.lower())

    def join(self, libraries: list[Library], *, replace: bool, quoted: bool) -> str | None:
        """Add ``libraries`` (each library with a name already loaded
        replacing the old one if ``replace``), or change nothing and answer
        why not: a name already loaded (``quoted`` in the message, as
        FUNCTION LOAD words it), or a function another library has."""
        for library in libraries:
            if library.name in self.libraries and not replace:
                name = library.name.decode("utf-8", "replace")
                return (
                    f"Library '{name}' already exists"
                    if quoted
                    else (f"Library {name} already exists")
                )
        replaced = {library.name for library in libraries}
        taken = {key for key, (owner, _) in self._functions.items() if owner.name not in replaced}
        for library in libraries:
            for function in library.functions:
                key = function.name.lower()
                if key in taken:
                    return f"Function {function.name.decode('utf-8', 'replace')} already exists"
                taken.add(key)
        for library in libraries:
            self.delete(library.name)
            self.libraries[library.name] = library
            for function in library.functions:
                self._functions.setdefault(function.name.lower(), (library, function))
        return None

    def delete(self, name: bytes) -> bool:
        """Remove the library ``name``; whether there was one."""
        library = self.libraries.pop(name, None)
        if library is None:
            return False
        for function in library.functions:
            if self._functions.get(function.name.lower(), (None,))[0] is library:
                del self._functions[function.name.lower()]
        return True

    def flush(self) -> None:
        self.libraries.clear()
        self._functions.clear()

    def function_count(self) -> int:
        return sum(len(library.functions) for library in self.libraries.values())
