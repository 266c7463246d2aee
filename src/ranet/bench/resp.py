"""Redis protocol (RESP) bits the benchmark needs: encoding commands, and a
one-off request for INFO and PING.

The load generator sends commands it encoded once, up front (``encode``);
replies are parsed by hiredis. ``request`` opens a connection, sends one
command and returns its one reply: enough to find the leader (``INFO raft``)
or see that a server is up, and never on the measured path.
"""

from __future__ import annotations

import asyncio

import hiredis


def encode(*parts: bytes | str) -> bytes:
    """One command as a RESP array of bulk strings."""
    chunks = [b"*%d\r\n" % len(parts)]
    for part in parts:
        data = part.encode() if isinstance(part, str) else part
        chunks.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(chunks)


class RespError(Exception):
    """The server answered a request with an error reply."""


async def request(host: str, port: int, *parts: bytes | str, timeout: float = 2.0) -> object:
    """Send one command, return its reply (an error reply raises ``RespError``)."""
    async with asyncio.timeout(timeout):
        reader, writer = await asyncio.open_connection(host, port)
        try:
            writer.write(encode(*parts))
            parser = hiredis.Reader()
            while True:
                reply = parser.gets()
                if reply is not False:
                    break
                data = await reader.read(65536)
                if not data:
                    raise ConnectionError(f"{host}:{port} closed the connection")
                parser.feed(data)
        finally:
            writer.close()
    if isinstance(reply, hiredis.ReplyError):
        raise RespError(str(reply))
    return reply


def parse_info(text: bytes | str) -> dict[str, str]:
    """``field:value`` lines of an INFO reply (section headers and blanks skipped)."""
    if isinstance(text, bytes):
        text = text.decode(errors="replace")
    fields: dict[str, str] = {}
    for line in text.splitlines():
        if line and not line.startswith("#") and ":" in line:
            name, _, value = line.partition(":")
            fields[name.strip()] = value.strip()
    return fields
