"""ranet.kv: a replicated key-value store that speaks the Redis protocol.

``store`` is the deterministic state machine (commands, client sessions,
snapshots); ``resp`` parses and encodes the Redis protocol; ``server`` serves
clients on a node's client port; ``backend`` connects the server to a node.
"""
