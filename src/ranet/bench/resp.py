"""Redis protocol (RESP) bits the benchmark needs: encoding commands, and a
one-off request for INFO and PING.

The load generator sends commands it encoded once, up front (``encode``);
replies are parsed by hiredis. ``request`` opens a connection, sends one
command and returns its one reply: enough to find the leader (``INFO raft``)
or see that a server is up, and never on the measured path. ``Access`` is
how every connection reaches servers that want a password (as the default
user or an ACL user) or TLS.
"""

from __future__ import annotations

import asyncio
import os
import ssl
from dataclasses import dataclass
from typing import Any

import hiredis

from ranet.client.tool_options import PASSWORD_ENV
from ranet.tls import client_context


@dataclass(slots=True, frozen=True)
class Access:
    """AUTH and TLS for the benchmark's connections (the tools' options).
    The password never goes on a load process's command line: it travels in
    its environment (``RANET_PASSWORD``), see ``for_load``."""

    password: bytes | None = None
    username: str | None = None
    tls_ca: str | None = None
    tls_cert: str | None = None
    tls_key: str | None = None

    def auth(self) -> bytes | None:
        """The AUTH command every connection sends first, if any."""
        if self.password is None:
            return None
        user = () if self.username is None else (self.username,)
        return encode("AUTH", *user, self.password)

    def tls(self, host: str) -> dict[str, Any]:
        """``open_connection`` / ``create_connection``'s TLS arguments."""
        if self.tls_ca is None:
            return {}
        context: ssl.SSLContext = client_context(self.tls_ca, self.tls_cert, self.tls_key)
        return {"ssl": context, "server_hostname": host}

    def public(self) -> dict[str, str | None]:
        """What a load process's command line may carry: all but the password."""
        return {
            "username": self.username,
            "tls_ca": self.tls_ca,
            "tls_cert": self.tls_cert,
            "tls_key": self.tls_key,
        }

    def environment(self) -> dict[str, str]:
        """A load process's environment: this one's, and the password."""
        environment = dict(os.environ)
        environment.pop(PASSWORD_ENV, None)
        if self.password is not None:
            environment[PASSWORD_ENV] = self.password.decode("utf-8", "surrogateescape")
        return environment

    @classmethod
    def for_load(cls, public: dict[str, str | None]) -> Access:
        """In a load process: ``public`` and the password from the environment."""
        password = os.environ.get(PASSWORD_ENV)
        secret = None if password is None else password.encode("utf-8", "surrogateescape")
        return cls(secret, **public)


async def open_connection(
    host: str, port: int, access: Access
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter, hiredis.Reader]:
    """A connection, over TLS and authenticated as ``access`` says; the
    parser past AUTH's reply. ``RespError`` if AUTH is refused."""
    reader, writer = await asyncio.open_connection(host, port, **access.tls(host))
    parser = hiredis.Reader()
    auth = access.auth()
    if auth is not None:
        writer.write(auth)
        try:
            reply = await read_reply(reader, parser, f"{host}:{port}")
        except BaseException:
            writer.close()
            raise
        if isinstance(reply, hiredis.ReplyError):
            writer.close()
            raise RespError(str(reply))
    return reader, writer, parser


async def read_reply(reader: asyncio.StreamReader, parser: hiredis.Reader, where: str) -> Any:
    while (reply := parser.gets()) is False:
        data = await reader.read(65536)
        if not data:
            raise ConnectionError(f"{where} closed the connection")
        parser.feed(data)
    return reply


def encode(*parts: bytes | str) -> bytes:
    """One command as a RESP array of bulk strings."""
    chunks = [b"*%d\r\n" % len(parts)]
    for part in parts:
        data = part.encode() if isinstance(part, str) else part
        chunks.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(chunks)


class RespError(Exception):
    """The server answered a request with an error reply."""


async def request(
    host: str, port: int, *parts: bytes | str, timeout: float = 2.0, access: Access | None = None
) -> object:
    """Send one command, return its reply (an error reply raises ``RespError``)."""
    async with asyncio.timeout(timeout):
        reader, writer, parser = await open_connection(host, port, access or Access())
        try:
            writer.write(encode(*parts))
            reply = await read_reply(reader, parser, f"{host}:{port}")
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
