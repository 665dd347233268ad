"""`seqpulse`: entry point dispatching to the subcommands."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import Any

from seqpulse.cli import analyze

# One module per subcommand, each with `register(subparsers)` that adds its parser and sets
# `handler(args) -> exit status`. New subcommands (trigger, finish, wait, run) are added here.
SUBCOMMANDS: tuple[Callable[[Any], None], ...] = (analyze.register,)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="seqpulse", description="SeqPulse command line")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for register in SUBCOMMANDS:
        register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handler: Callable[[argparse.Namespace], int] = args.handler
    return handler(args)


if __name__ == "__main__":
    sys.exit(main())
