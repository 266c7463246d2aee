"""A blocking client: ``AsyncClient`` on a private event loop in a background thread.

Every method hands its coroutine to that loop and blocks until it is done,
so ``Client`` has the rules of ``AsyncClient`` (failover, sessions, bounded
calls) and may be shared by threads: their calls are pipelined on the one
connection, and their writes serialized by the one session.
"""

from __future__ import annotations

import asyncio
import ssl
import threading
from collections.abc import Coroutine, Mapping, Sequence
from types import TracebackType
from typing import Any, TypeVar

from ranet.client.async_client import Arg, AsyncClient
from ranet.client.retry import RetryPolicy

T = TypeVar("T")


class Client:
    """The blocking twin of ``AsyncClient``; the arguments are the same."""

    def __init__(
        self,
        endpoints: Sequence[str],
        *,
        timeout: float = 5.0,
        connect_timeout: float = 1.0,
        retry: RetryPolicy | None = None,
        session: bool = True,
        client_id: int | None = None,
        password: bytes | str | None = None,
        ssl_context: ssl.SSLContext | None = None,
        username: bytes | str | None = None,
    ) -> None:
        self._client = AsyncClient(
            endpoints,
            timeout=timeout,
            connect_timeout=connect_timeout,
            retry=retry,
            session=session,
            client_id=client_id,
            password=password,
            ssl_context=ssl_context,
            username=username,
        )
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="ranet-client", daemon=True
        )
        self._thread.start()

    @property
    def client_id(self) -> int:
        return self._client.client_id

    def get(self, key: Arg) -> bytes | None:
        return self._run(self._client.get(key))

    def set(
        self, key: Arg, value: Arg, *, px: int | None = None, nx: bool = False, xx: bool = False
    ) -> bool:
        return self._run(self._client.set(key, value, px=px, nx=nx, xx=xx))

    def delete(self, *keys: Arg) -> int:
        return self._run(self._client.delete(*keys))

    def incr(self, key: Arg, amount: int = 1) -> int:
        return self._run(self._client.incr(key, amount))

    def cas(self, key: Arg, expected: Arg, new: Arg) -> bool:
        return self._run(self._client.cas(key, expected, new))

    def mget(self, *keys: Arg) -> list[bytes | None]:
        return self._run(self._client.mget(*keys))

    def mset(self, mapping: Mapping[Arg, Arg]) -> None:
        self._run(self._client.mset(mapping))

    def execute(self, *argv: Arg) -> object:
        return self._run(self._client.execute(*argv))

    def transaction(self, *commands: Sequence[Arg]) -> list[object]:
        return self._run(self._client.transaction(*commands))

    def close(self) -> None:
        """Close the connection and stop the loop's thread. Idempotent."""
        if self._loop.is_closed():
            return
        self._run(self._client.close())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def _run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        if self._loop.is_closed():
            coroutine.close()
            raise RuntimeError("the client is closed")
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result()
