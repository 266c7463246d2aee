"""NodeBackend with a stand-in node: the admin commands' argument checking
and how node errors become replies (RAFT.MEMBER, RAFT.TRANSFER), and what a
stale read costs."""

from __future__ import annotations

import asyncio

import pytest

from ranet.core import ChangeKind
from ranet.errors import ConfigurationError, NotLeader, ProposalDropped
from ranet.kv import envelope
from ranet.kv.node_backend import NOTE, NodeBackend, describe_command
from ranet.kv.reply import OK, ErrorReply
from ranet.kv.store import KVStore


class StubNode:
    def __init__(self, error: Exception | None = None) -> None:
        self.error = error
        self.changes: list[tuple[ChangeKind, int, object]] = []

    def members(self) -> list[tuple[int, str, str]]:
        return [(0, "h:1", "voter"), (3, "h:4", "learner")]

    async def change_membership(self, kind: ChangeKind, node_id: int, address: object) -> None:
        if self.error is not None:
            raise self.error
        self.changes.append((kind, node_id, address))

    async def transfer_leadership(self, target: int | None) -> int:
        if self.error is not None:
            raise self.error
        return 2 if target is None else target


def member(node: StubNode, *argv: bytes) -> object:
    backend = NodeBackend(node, KVStore())  # type: ignore[arg-type]
    return asyncio.run(backend.membership(list(argv)))


def test_list_and_changes_reach_the_node() -> None:
    node = StubNode()
    assert member(node, b"list") == [[0, b"h:1", b"voter"], [3, b"h:4", b"learner"]]
    assert member(node, b"ADD", b"4", b"10.0.0.5:15000") == OK
    assert member(node, b"promote", b"4") == OK
    assert member(node, b"REMOVE", b"0") == OK
    assert node.changes == [
        (ChangeKind.ADD_LEARNER, 4, ("10.0.0.5", 15000)),
        (ChangeKind.PROMOTE, 4, None),
        (ChangeKind.REMOVE, 0, None),
    ]


@pytest.mark.parametrize(
    ("argv", "text"),
    [
        ((), "RAFT.MEMBER takes LIST, ADD id host:port"),
        ((b"JOIN", b"1"), "RAFT.MEMBER takes LIST"),
        ((b"ADD", b"4"), "wrong number of arguments for 'raft.member|add'"),
        ((b"REMOVE", b"x"), "node id must be a non-negative integer"),
        ((b"ADD", b"4", b"nowhere"), "expected HOST:PORT"),
    ],
)
def test_bad_arguments_get_clear_errors(argv: tuple[bytes, ...], text: str) -> None:
    reply = member(StubNode(), *argv)
    assert isinstance(reply, ErrorReply) and text in reply.message


@pytest.mark.parametrize(
    ("error", "prefix"),
    [
        (NotLeader(1, "h:2"), "ERR RAFT.MEMBER must be sent to the leader"),
        (ProposalDropped("a membership change is already in progress"), "TRYAGAIN"),
        (ConfigurationError("node 4 has not caught up"), "ERR node 4 has not caught up"),
    ],
)
def test_node_errors_become_replies(error: Exception, prefix: str) -> None:
    reply = member(StubNode(error), b"PROMOTE", b"4")
    assert isinstance(reply, ErrorReply) and reply.message.startswith(prefix)


def test_a_run_of_writes_is_described_command_by_command() -> None:
    run = envelope.RunEnvelope(1, [[b"SET", b"k", b"v"], [NOTE, b"hello there"]])
    assert describe_command(envelope.encode_run(run)) == "SET k v; 'hello there'"


def test_a_transaction_is_described_as_it_was_sent() -> None:
    transaction = envelope.TransactionEnvelope(
        1, [[b"GET", b"k"], [b"SET", b"k", b"two words"]], [(b"k", 7), (b"other", 0)]
    )
    assert describe_command(envelope.encode_transaction(transaction)) == (
        "WATCH k; WATCH other; MULTI; GET k; SET k 'two words'; EXEC"
    )


def test_stale_reads_do_not_look_up_the_running_loop(loop_lookups: list[None]) -> None:
    store = KVStore()
    store.apply(envelope.encode(envelope.Envelope(0, 0, 1, [b"SET", b"k", b"v"])))
    backend = NodeBackend(StubNode(), store)  # type: ignore[arg-type]

    async def reads() -> list[object]:
        return [await backend.read([[b"GET", b"k"]], stale=True) for _ in range(50)]

    assert asyncio.run(reads()) == [[b"v"]] * 50
    assert len(loop_lookups) <= 1  # the first read's, once (was one per read)
