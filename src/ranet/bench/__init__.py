"""``ranet bench``: throughput and latency of a cluster under a closed-loop load.

- ``stats``: the latency histogram (log buckets, mergeable across processes);
- ``procstat``: CPU time and memory of processes, and the machine, from /proc;
- ``resp``: encoding Redis commands, and one-off requests (INFO, PING);
- ``load``: the load generator, a process of its own (``python -m ranet.bench.load``);
- ``runner``: starts the load processes, merges what they report, shows progress;
- ``cluster``: a local cluster to measure, or the leader among given endpoints;
- ``command``: the ``ranet bench`` command line.
"""
