"""Durable state of one node: the log, the hard state and snapshots.

``Storage`` is the interface; ``MemoryStorage`` keeps everything in memory
(tests and the simulator) while modelling exactly what a crash loses.
"""

from ranet.storage.base import PersistentState, Storage
from ranet.storage.memory import MemoryStorage

__all__ = ["MemoryStorage", "PersistentState", "Storage"]
