"""The link proxy alone, in front of an echo server: forwards, cuts, blackholes, heals."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from tests.jepsen.proxy import LinkProxy


async def _echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while data := await reader.read(1024):
        writer.write(data)
    writer.close()


@asynccontextmanager
async def proxied_echo() -> AsyncIterator[LinkProxy]:
    server = await asyncio.start_server(_echo, "127.0.0.1", 0)
    proxy = LinkProxy(server.sockets[0].getsockname()[:2])
    await proxy.start()
    try:
        yield proxy
    finally:
        await proxy.stop()
        server.close()


async def dial(proxy: LinkProxy) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection("127.0.0.1", proxy.port)


async def echoes(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
    """Whether a line sent comes back within a short while (False: closed or silent)."""
    try:
        writer.write(b"ping\n")
        return await asyncio.wait_for(reader.readline(), 0.3) == b"ping\n"
    except (OSError, TimeoutError):
        return False


async def closed(reader: asyncio.StreamReader) -> bool:
    """Whether the proxy closes (or resets) the connection within a second."""
    try:
        return await asyncio.wait_for(reader.read(), 1) == b""
    except ConnectionError:
        return True


def test_a_healthy_proxy_is_transparent() -> None:
    async def scenario() -> None:
        async with proxied_echo() as proxy:
            assert await echoes(*await dial(proxy))

    asyncio.run(scenario())


def test_cut_closes_connections_and_refuses_new_ones_until_healed() -> None:
    async def scenario() -> None:
        async with proxied_echo() as proxy:
            reader, writer = await dial(proxy)
            assert await echoes(reader, writer)
            proxy.cut()
            assert await closed(reader)
            assert not await echoes(*await dial(proxy))
            proxy.heal()
            assert await echoes(*await dial(proxy))

    asyncio.run(scenario())


def test_blackhole_drops_bytes_silently_and_healing_restarts_the_stream() -> None:
    async def scenario() -> None:
        async with proxied_echo() as proxy:
            reader, writer = await dial(proxy)
            proxy.cut(blackhole=True)
            assert not await echoes(reader, writer)  # open, but nothing comes back
            assert not writer.is_closing()
            late_reader, late_writer = await dial(proxy)  # accepted, never forwarded
            assert not await echoes(late_reader, late_writer)
            proxy.heal()
            assert await closed(reader)  # bytes went missing: the stream starts over
            assert await closed(late_reader)
            assert await echoes(*await dial(proxy))

    asyncio.run(scenario())


def test_a_lost_reply_aborts_its_connection_after_the_request_went_through() -> None:
    async def scenario() -> None:
        async with proxied_echo() as proxy:
            reader, writer = await dial(proxy)
            proxy.lose_next_reply()
            writer.write(b"ping\n")
            assert await closed(reader)
            assert proxy.replies_lost == 1
            assert await echoes(*await dial(proxy))

    asyncio.run(scenario())
