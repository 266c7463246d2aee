"""ranet.node: the asyncio runtime that turns a core into a server.

``Node`` owns one core, one storage, one transport and the timers, and runs
the core's Ready loop (see ``runtime.py``). Embed it with your own
``StateMachine``.
"""

from ranet.node.config import NodeConfig, default_peers, parse_peers
from ranet.node.events import Applied, NodeEvent, RoleChanged
from ranet.node.runtime import Node
from ranet.node.state_machine import AppendLog, StateMachine

__all__ = [
    "AppendLog",
    "Applied",
    "Node",
    "NodeConfig",
    "NodeEvent",
    "RoleChanged",
    "StateMachine",
    "default_peers",
    "parse_peers",
]
