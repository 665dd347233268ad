"""What the CI gate commands share: their common flags, and running one command to an exit status."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Awaitable, Callable, Mapping
from typing import TextIO

import aiohttp

from seqpulse.cli.client import ApiError, Unreachable
from seqpulse.cli.config import UsageError
from seqpulse.cli.gate import EXIT_UNREACHABLE, EXIT_USAGE

DEFAULT_WAIT_SECONDS = 3600.0  # longer than the longest window (30 sequences of 60 s) and its analysis
DEFAULT_CALL_SECONDS = 60.0  # retries of one trigger or finish call
DEFAULT_INTERVAL_SECONDS = 5.0
Command = Callable[[aiohttp.ClientSession], Awaitable[int]]


def seconds(text: str) -> float:
    """An argparse type: a duration in seconds, > 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a number of seconds > 0, got {text!r}")
    return value


def add_base_url(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--base-url", metavar="URL", help="the SeqPulse gateway (default: $SEQPULSE_BASE_URL)"
    )


def add_call_options(parser: argparse.ArgumentParser) -> None:
    """`--timeout` and `--json` of the one-call commands (trigger, finish)."""
    parser.add_argument(
        "--timeout",
        type=seconds,
        default=DEFAULT_CALL_SECONDS,
        metavar="S",
        help=f"retry for at most S seconds, then exit 3 (default: {DEFAULT_CALL_SECONDS:.0f})",
    )
    parser.add_argument("--json", action="store_true", help="print the answer as one JSON object")


def add_trigger_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--env", help="the environment deployed to (default: $SEQPULSE_ENV)")
    parser.add_argument("--branch", help="default: from the CI (GITHUB_REF_NAME, CI_COMMIT_REF_NAME, …)")
    parser.add_argument(
        "--idempotency-key",
        metavar="KEY",
        help="same key, same deployment (default: from the CI run and the environment)",
    )
    parser.add_argument(
        "--metrics-endpoint",
        metavar="URL",
        help="must equal the project's active endpoint (default: $SEQPULSE_METRICS_ENDPOINT; optional)",
    )


def add_gate_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--timeout",
        type=seconds,
        default=DEFAULT_WAIT_SECONDS,
        metavar="S",
        help=f"give up waiting for the verdict after S seconds: exit 3 (default: {DEFAULT_WAIT_SECONDS:.0f})",
    )
    parser.add_argument(
        "--interval",
        type=seconds,
        default=DEFAULT_INTERVAL_SECONDS,
        metavar="S",
        help=f"seconds between two reads of the deployment (default: {DEFAULT_INTERVAL_SECONDS:.0f})",
    )
    parser.add_argument("--allow-warning", action="store_true", help="a warning exits 0 instead of 10")
    parser.add_argument(
        "--fail-open",
        action="store_true",
        help="exit 0 instead of 3 when SeqPulse is unreachable or gives no verdict in time",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout")


def fail(command: str, message: str, status: int, stream: TextIO | None = None) -> int:
    print(f"seqpulse {command}: {message}", file=stream or sys.stderr)
    return status


def execute(command: str, body: Command) -> int:
    """Run `body` with one HTTP session; the one place configuration, API and network errors become
    exit statuses (2, 2 and 3). Commands that must report an outcome themselves catch them first."""

    async def main() -> int:
        async with aiohttp.ClientSession() as http:
            return await body(http)

    try:
        return asyncio.run(main())
    except UsageError as exc:
        return fail(command, str(exc), EXIT_USAGE)
    except ApiError as exc:
        return fail(command, f"SeqPulse refused the request: {exc}", EXIT_USAGE)
    except Unreachable as exc:
        return fail(command, f"SeqPulse unreachable: {exc}", EXIT_UNREACHABLE)


def environ() -> Mapping[str, str]:
    return os.environ
