"""Durable state of one node: the log, the hard state and snapshots.

``Storage`` is the interface; ``DiskStorage`` keeps it in a data directory
(write-ahead log segments and snapshot files, see docs/storage.md);
``MemoryStorage`` keeps everything in memory (tests and the simulator)
while modelling exactly what a crash loses.
"""

from ranet.storage.base import PersistentState, Storage
from ranet.storage.disk import DiskStorage
from ranet.storage.memory import MemoryStorage

__all__ = ["DiskStorage", "MemoryStorage", "PersistentState", "Storage"]
