"""ranet.sim: many cores, one process, a virtual clock and a faulty network.

All nondeterminism - timing, message loss, reordering, duplication, crashes,
each core's election jitter - comes from one seeded ``random.Random``, so a
failing seed replays the same run exactly (DESIGN.md, testing pyramid 2).
"""

from ranet.sim.cluster import SimNode, Simulation
from ranet.sim.invariants import SafetyViolation
from ranet.sim.network import NetworkConfig

__all__ = ["NetworkConfig", "SafetyViolation", "SimNode", "Simulation"]
