"""`seqpulse`: entry point dispatching to the subcommands."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import Any

from seqpulse.cli import analyze, finish, run, trigger, wait

# One module per subcommand, each with `register(subparsers)` that adds its parser and sets
# `handler(args) -> exit status`.
SUBCOMMANDS: tuple[Callable[[Any], None], ...] = (
    trigger.register,
    finish.register,
    wait.register,
    run.register,
    analyze.register,
)
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as a shell reports it


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="seqpulse", description="SeqPulse command line")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for register in SUBCOMMANDS:
        register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handler: Callable[[argparse.Namespace], int] = args.handler
    try:
        return handler(args)
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
