"""ranet: Raft consensus for Python.

Layers (see docs/architecture.md): ``ranet.core`` is the pure protocol state
machine, ``ranet.storage`` makes its state durable, ``ranet.sim`` drives many
cores under a virtual clock and a faulty virtual network.
"""

__version__ = "0.1.0"
