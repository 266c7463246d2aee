"""``ranet member`` and ``ranet leader``: administer a running cluster.

Both find the leader by asking each endpoint's ``INFO raft`` and send it the
admin command over the Redis protocol: ``RAFT.MEMBER`` (single-server
membership changes, thesis §4.1) or ``RAFT.TRANSFER`` (leadership transfer,
thesis §3.10). A change returns once it has committed.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable

import hiredis

from ranet.client.tool_options import ToolConnection, add_connection_options, connection_from
from ranet.errors import AuthenticationError, ConfigurationError

DEFAULT_ENDPOINTS = ",".join(f"127.0.0.1:{6379 + n}" for n in range(5))
TIMEOUT = 10.0


def add_parsers(subparsers: argparse._SubParsersAction) -> None:
    member = subparsers.add_parser(
        "member",
        help="list, add, promote or remove cluster members",
        description=(
            "Change membership one server at a time (thesis 4.1): 'add' joins a node "
            "as a non-voting learner (start it with 'ranet node ID --join'), 'promote' "
            "makes a caught-up learner a voter, 'remove' takes a member out (the leader "
            "too: it steps down once the change commits)."
        ),
    )
    actions = member.add_subparsers(dest="action", metavar="ACTION", required=True)
    _endpoints(actions.add_parser("list", help="the members, their addresses and roles"))
    add = _endpoints(actions.add_parser("add", help="add a node as a learner"))
    add.add_argument("node_id", type=int, metavar="ID")
    add.add_argument("address", metavar="HOST:PORT", help="the node's peer address")
    for name, text in (("promote", "make a learner a voter"), ("remove", "remove a member")):
        action = _endpoints(actions.add_parser(name, help=text))
        action.add_argument("node_id", type=int, metavar="ID")
    member.set_defaults(handler=run_member)

    leader = subparsers.add_parser(
        "leader", help="leadership transfer", description="Administer the cluster's leader."
    )
    leader_actions = leader.add_subparsers(dest="action", metavar="ACTION", required=True)
    transfer = _endpoints(
        leader_actions.add_parser(
            "transfer", help="hand leadership to node ID, or to the most up-to-date follower"
        )
    )
    transfer.add_argument("node_id", type=int, nargs="?", metavar="ID")
    leader.set_defaults(handler=run_leader)


def _endpoints(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser.add_argument(
        "--endpoints",
        default=DEFAULT_ENDPOINTS,
        metavar="HOST:PORT,...",
        help="the nodes' client (Redis protocol) addresses (default: 127.0.0.1:6379-6383)",
    )
    add_connection_options(parser)
    return parser


def run_member(args: argparse.Namespace) -> int:
    argv = [b"RAFT.MEMBER", args.action.upper().encode()]
    if args.action != "list":
        argv.append(str(args.node_id).encode())
    if args.action == "add":
        argv.append(args.address.encode())
    return _run(args, argv, _show_members if args.action == "list" else _show_done)


def run_leader(args: argparse.Namespace) -> int:
    argv = [b"RAFT.TRANSFER"]
    if args.node_id is not None:
        argv.append(str(args.node_id).encode())
    return _run(args, argv, lambda reply: f"node {reply} is now the leader")


def _show_members(reply: object) -> str:
    assert isinstance(reply, list)
    return "\n".join(f"node {n}  {address.decode()}  {role.decode()}" for n, address, role in reply)


def _show_done(reply: object) -> str:
    return "done (committed)"


def _run(args: argparse.Namespace, argv: list[bytes], show: Callable[[object], str]) -> int:
    try:
        reach = connection_from(args)
        reply = asyncio.run(_send_to_leader(args.endpoints.split(","), argv, reach))
    except (LookupError, ConfigurationError, AuthenticationError) as error:
        print(f"ranet: {error}", file=sys.stderr)
        return 1
    if isinstance(reply, hiredis.ReplyError):
        print(f"ranet: {reply}", file=sys.stderr)
        return 1
    print(show(reply))
    return 0


async def _send_to_leader(endpoints: list[str], argv: list[bytes], reach: ToolConnection) -> object:
    reachable = 0
    for endpoint in endpoints:
        try:
            connection = await reach.open(endpoint, TIMEOUT)
        except (OSError, TimeoutError):
            continue
        reachable += 1
        try:
            info = await connection.receive(connection.send([b"INFO", b"raft"]), timeout=TIMEOUT)
            if isinstance(info, bytes) and b"role:leader" in info:
                return await connection.receive(connection.send(argv), timeout=TIMEOUT * 3)
        except (ConnectionError, TimeoutError):
            continue
        finally:
            connection.close()
    if not reachable:
        raise LookupError(f"no node answers at {', '.join(endpoints)}")
    raise LookupError("no leader among the reachable nodes (an election may be under way)")
