"""``ranet kv COMMAND [ARG ...]``: one command against a cluster, printed as redis-cli prints it.

The command goes through ``ranet.client.AsyncClient``: the endpoints are
tried in order, a node that is down or knows no leader is skipped, and a
write is sent in a session, so the retries it may need apply it once.

Replies are printed like redis-cli's: on a terminal ``"value"``,
``(integer) 1``, ``(nil)``, numbered arrays, ``(error) ...``; to a pipe or
file the raw values one a line (``--raw`` / ``--no-raw`` choose). hiredis
does not tell a status reply from a string, so a top-level ``OK`` or
``PONG`` from a command that is not a read is printed as a status, bare.

Exit status: 0 when the command was answered, 1 when the answer is an
error reply, 2 for a usage error, 3 when no node served the command in time.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

import hiredis

from ranet.client import AsyncClient, RetryPolicy
from ranet.client.async_client import CONNECTION_STATE, is_blocking
from ranet.client.tool_options import ToolConnection, add_connection_options, connection_from
from ranet.errors import AuthenticationError, CommandError, ConfigurationError, Unavailable
from ranet.kv.commands import READ, lookup
from ranet.kv.split_args import quote
from ranet.node.config import DEFAULT_CLIENT_PORT, DEFAULT_CLUSTER_SIZE

DEFAULT_ENDPOINTS = ",".join(
    f"127.0.0.1:{DEFAULT_CLIENT_PORT + node_id}" for node_id in range(DEFAULT_CLUSTER_SIZE)
)
EXIT_ERROR_REPLY = 1
EXIT_UNAVAILABLE = 3
_STATUS_WORDS = (b"OK", b"PONG")


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "kv",
        help="run one Redis command against a ranet cluster",
        description=(
            "Send COMMAND to the cluster and print the reply as redis-cli does. Any node "
            "serves it: the endpoints are tried in order until one answers. Writes are sent "
            "in a session, so a retried write applies once. Exit status: 0 answered, 1 error "
            "reply, 2 usage error, 3 no node answered in time."
        ),
    )
    parser.add_argument(
        "--endpoints",
        metavar="HOST:PORT,...",
        default=DEFAULT_ENDPOINTS,
        help="the nodes' client addresses, tried in order (default: the default cluster, "
        f"{DEFAULT_ENDPOINTS}; `ranet cluster` serves the first three)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=5.0,
        metavar="SECONDS",
        help="how long to keep trying the nodes (default 5)",
    )
    add_connection_options(parser)
    output = parser.add_mutually_exclusive_group()
    output.add_argument(
        "--raw", dest="raw", action="store_true", default=None, help="print raw replies"
    )
    output.add_argument(
        "--no-raw", dest="raw", action="store_false", help="print replies as on a terminal"
    )
    parser.add_argument("command", metavar="COMMAND", help="e.g. SET, GET, INCR, CAS, MGET")
    parser.add_argument("args", nargs=argparse.REMAINDER, metavar="ARG", help="its arguments")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    endpoints = [item.strip() for item in args.endpoints.split(",") if item.strip()]
    if not endpoints:
        print("ranet kv: error: --endpoints lists no address", file=sys.stderr)
        return 2
    if not args.timeout > 0:
        print("ranet kv: error: --timeout must be positive", file=sys.stderr)
        return 2
    argv = [arg.encode() for arg in (args.command, *args.args)]
    if argv[0].upper() in CONNECTION_STATE:
        print(
            f"ranet kv: error: {args.command} needs the commands that follow it on the same "
            "connection, and ranet kv sends one command; use redis-cli",
            file=sys.stderr,
        )
        return 2
    if is_blocking(argv):
        print(
            f"ranet kv: error: {args.command} waits for data to arrive; use redis-cli "
            "(ranet kv sends one command, retried within --timeout)",
            file=sys.stderr,
        )
        return 2
    raw = args.raw if args.raw is not None else not sys.stdout.isatty()
    try:
        reply = asyncio.run(_execute(endpoints, argv, args.timeout, connection_from(args)))
    except (ConfigurationError, AuthenticationError) as error:
        print(f"ranet kv: error: {error}", file=sys.stderr)
        return 2
    except CommandError as error:
        reply, status = hiredis.ReplyError(str(error)), EXIT_ERROR_REPLY
    except Unavailable as error:
        print(f"ranet kv: error: {error}", file=sys.stderr)
        if error.maybe_applied:
            print("ranet kv: the write may or may not have been applied", file=sys.stderr)
        else:
            where = ", ".join(endpoints)
            print(f"ranet kv: is a cluster serving clients at {where}?", file=sys.stderr)
        return EXIT_UNAVAILABLE
    else:
        status = 0
    spec = lookup(argv[0])
    is_status = spec is None or spec.kind is not READ
    if is_status and isinstance(reply, bytes) and reply in _STATUS_WORDS:
        reply = _Status(reply)
    text = format_raw(reply) + b"\n" if raw else format_tty(reply).encode()
    sys.stdout.buffer.write(text)
    sys.stdout.flush()
    return status


async def _execute(
    endpoints: list[str], argv: list[bytes], timeout: float, reach: ToolConnection
) -> object:
    retry = RetryPolicy(deadline=timeout)
    async with AsyncClient(
        endpoints,
        timeout=timeout,
        retry=retry,
        password=reach.password,
        ssl_context=reach.ssl_context,
        username=reach.username,
    ) as client:
        return await client.execute(*argv)


class _Status(bytes):
    """A status reply (``+OK``): redis-cli prints it bare, not quoted."""


def format_tty(reply: object, prefix: str = "") -> str:
    """``reply`` as redis-cli prints it on a terminal, ending with a newline."""
    if isinstance(reply, hiredis.ReplyError):
        return f"(error) {reply}\n"
    if isinstance(reply, _Status):
        return reply.decode(errors="backslashreplace") + "\n"
    if isinstance(reply, bytes):
        return quote(reply) + "\n"
    if isinstance(reply, int):
        return f"(integer) {reply}\n"
    if reply is None:
        return "(nil)\n"
    if isinstance(reply, list):
        if not reply:
            return "(empty array)\n"
        width = len(str(len(reply)))
        inner = prefix + " " * (width + 2)  # nested lines align under the parent's value
        return "".join(
            f"{prefix if position else ''}{position + 1:>{width}}) {format_tty(item, inner)}"
            for position, item in enumerate(reply)
        )
    return f"{reply}\n"


def format_raw(reply: object) -> bytes:
    """``reply`` as redis-cli prints it to a pipe: values bare, array items one a line."""
    if isinstance(reply, hiredis.ReplyError):
        return str(reply).encode() + b"\n"
    if isinstance(reply, bytes):
        return reply
    if reply is None:
        return b""
    if isinstance(reply, list):
        return b"\n".join(format_raw(item) for item in reply)
    return str(reply).encode()
