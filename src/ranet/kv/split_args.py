"""Redis's ``sdssplitargs`` - a line split into words, quoted as redis-cli
quotes them: an inline command (resp.py), a library's ``#!lua`` line
(functions.py), an ACL selector's rules (acl.py) - and its inverse,
``sdscatrepr``: a word quoted so (``ranet kv``'s output, MONITOR's lines)."""

from __future__ import annotations

from ranet.errors import RespProtocolError

UNBALANCED_QUOTES = "Protocol error: unbalanced quotes in request"

_WHITESPACE = frozenset(b" \t\n\v\f\r")  # C's isspace()
_TOKEN_END = frozenset(b" \t\n\r")
_DOUBLE, _SINGLE, _BACKSLASH = ord('"'), ord("'"), ord("\\")
_HEX_DIGITS = frozenset(b"0123456789abcdefABCDEF")
_ESCAPES = {ord("n"): 10, ord("r"): 13, ord("t"): 9, ord("b"): 8, ord("a"): 7}


def split_inline(line: bytes) -> list[bytes]:
    """Split an inline command into arguments, with the quoting rules of redis-cli.

    Words are separated by spaces; ``"..."`` takes the escapes ``\\n \\r \\t
    \\b \\a \\xHH`` and ``\\<any>``; ``'...'`` takes only ``\\'``. A closing
    quote must end the word. Redis reads the line as a C string, so a NUL
    byte ends it.
    """
    line = line.split(b"\0", 1)[0]
    args: list[bytes] = []
    i, n = 0, len(line)
    while True:
        while i < n and line[i] in _WHITESPACE:
            i += 1
        if i == n:
            return args
        word = bytearray()
        quote = 0
        while i < n:
            c = line[i]
            i += 1
            if not quote:
                if c in _TOKEN_END:
                    break
                if c in (_DOUBLE, _SINGLE):
                    quote = c
                else:
                    word.append(c)
            elif c == quote:
                if i < n and line[i] not in _WHITESPACE:
                    raise RespProtocolError(UNBALANCED_QUOTES)
                quote = 0
                break
            elif c == _BACKSLASH and i < n and quote == _DOUBLE:
                if line[i] == ord("x") and i + 2 < n and {line[i + 1], line[i + 2]} <= _HEX_DIGITS:
                    word.append(int(line[i + 1 : i + 3], 16))
                    i += 3
                else:
                    word.append(_ESCAPES.get(line[i], line[i]))
                    i += 1
            elif c == _BACKSLASH and i < n and line[i] == _SINGLE:  # inside '...'
                word.append(_SINGLE)
                i += 1
            else:
                word.append(c)
        if quote:
            raise RespProtocolError(UNBALANCED_QUOTES)
        args.append(bytes(word))


_QUOTED = {
    ord("\\"): "\\\\",
    ord('"'): '\\"',
    ord("\n"): "\\n",
    ord("\r"): "\\r",
    ord("\t"): "\\t",
    ord("\a"): "\\a",
    ord("\b"): "\\b",
}


def quote(value: bytes) -> str:
    """A string as redis-cli quotes it: escapes for quotes, backslashes, controls, non-ASCII."""
    return (
        '"'
        + "".join(
            _QUOTED.get(byte) or (chr(byte) if 32 <= byte < 127 else f"\\x{byte:02x}")
            for byte in value
        )
        + '"'
    )
