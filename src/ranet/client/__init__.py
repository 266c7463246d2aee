"""Clients of a ranet cluster: failover across nodes and exactly-once writes.

``AsyncClient`` (asyncio) and ``Client`` (blocking) talk to any node over the
Redis protocol, move to another node when one fails, and send every write in
a session (thesis §6.3) so that retries apply it once. See docs/client.md.
"""

from ranet.client.async_client import AsyncClient
from ranet.client.retry import RetryPolicy
from ranet.client.sync_client import Client

__all__ = ["AsyncClient", "Client", "RetryPolicy"]
