"""``ranet sim``: watch a simulated cluster elect, replicate and survive faults.

With one seed it prints a readable timeline (role changes, commits, faults),
the seed's "watch it happen" experience without terminals. With ``--seeds N``
it runs N campaigns quietly and reports violations, if any.
"""

from __future__ import annotations

import argparse
import sys
import time

from ranet.sim.invariants import SafetyViolation
from ranet.sim.nemesis import FAULTS, LivenessFailure, run_campaign


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "sim",
        help="run a simulated cluster under faults and print what happens",
        description=(
            "Run N Raft cores in one process on a virtual clock over a faulty network, "
            "checking Raft's safety properties after every event. A failing seed replays "
            "exactly."
        ),
    )
    parser.add_argument("--nodes", type=_positive, default=5, help="cluster size (default 5)")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    parser.add_argument(
        "--seeds",
        type=_positive,
        default=None,
        metavar="N",
        help="run N campaigns (seeds SEED..SEED+N-1) quietly and summarize",
    )
    parser.add_argument(
        "--faults",
        type=_faults,
        default=list(FAULTS),
        help=f"comma-separated faults to inject, from {','.join(FAULTS)} "
        "(default: all; 'none' for a fault-free run)",
    )
    parser.add_argument(
        "--steps", type=_positive, default=200, help="ticks of faults before healing (default 200)"
    )
    parser.set_defaults(handler=run)


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def _faults(text: str) -> list[str]:
    if text.strip() == "none":
        return []
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = sorted(set(names) - set(FAULTS))
    if unknown:
        raise argparse.ArgumentTypeError(
            f"unknown fault(s) {', '.join(unknown)}; choose from {', '.join(FAULTS)} or 'none'"
        )
    return names


def run(args: argparse.Namespace) -> int:
    if args.seeds is None:
        return _run_one(args)
    return _run_many(args)


def _run_one(args: argparse.Namespace) -> int:
    print(
        f"simulating {args.nodes} nodes, seed {args.seed}, "
        f"faults: {', '.join(args.faults) or 'none'}, {args.steps} ticks, then heal"
    )
    try:
        result = run_campaign(
            args.seed, nodes=args.nodes, faults=args.faults, steps=args.steps, on_event=print
        )
    except (SafetyViolation, LivenessFailure) as failure:
        print(f"FAILED: {failure}", file=sys.stderr)
        return 1
    print(
        f"OK: {result.committed} commands committed of {result.proposals} proposed, "
        f"{result.terms} terms, recovered {result.recovery_ticks} ticks after healing, "
        f"{result.messages} messages; no safety violation"
    )
    return 0


def _run_many(args: argparse.Namespace) -> int:
    started = time.monotonic()
    failures = 0
    for seed in range(args.seed, args.seed + args.seeds):
        try:
            run_campaign(seed, nodes=args.nodes, faults=args.faults, steps=args.steps)
        except (SafetyViolation, LivenessFailure) as failure:
            failures += 1
            print(f"seed {seed} FAILED: {failure}", file=sys.stderr)
    elapsed = time.monotonic() - started
    print(f"{args.seeds} seeds, {failures} failed, {elapsed:.1f} s")
    return 1 if failures else 0
