"""The ``ranet`` command line: one subcommand per task, each with ``--help``."""

from __future__ import annotations

import argparse
import sys

from ranet import __version__
from ranet.bench import command as bench_command
from ranet.kv import admin_command, backup_command
from ranet.kv import command_line as kv_command
from ranet.node import cluster_command
from ranet.node import command as node_command
from ranet.sim import command as sim_command


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ranet", description="ranet: Raft consensus for Python.")
    parser.add_argument("--version", action="version", version=f"ranet {__version__}")
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND")
    node_command.add_parser(subparsers)
    cluster_command.add_parser(subparsers)
    admin_command.add_parsers(subparsers)
    backup_command.add_parser(subparsers)
    bench_command.add_parser(subparsers)
    kv_command.add_parser(subparsers)
    sim_command.add_parser(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        return handler(args)
    except BrokenPipeError:  # e.g. piped into `head`
        sys.stderr.close()
        return 0


if __name__ == "__main__":
    sys.exit(main())
