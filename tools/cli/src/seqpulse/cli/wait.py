"""`seqpulse wait DEPLOYMENT`: poll until the verdict, one progress line on stderr, then the report.

Exit status: 0 ok, 10 warning (0 with --allow-warning), 20 rollback recommended, 30 not enough data to
decide, 2 configuration (a missing variable, a refused request), 3 unreachable or --timeout reached
(0 with --fail-open).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, TextIO

import aiohttp

from seqpulse.cli.client import ApiError, Client, DeadlinePassed, Unreachable
from seqpulse.cli.config import UsageError, base_url, deployment_id, read_token
from seqpulse.cli.deployment import Deployment
from seqpulse.cli.gate import (
    EXIT_USAGE,
    Outcome,
    decided,
    deployment_url,
    json_result,
    not_reached,
    progress_text,
    report_lines,
)
from seqpulse.cli.options import add_base_url, add_gate_options, environ, execute, fail

Sleep = Callable[[float], Awaitable[None]]


def register(subparsers: Any) -> None:
    """Add `wait` to the `seqpulse` parser."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "wait",
        help="wait for a deployment's verdict; the exit status is the gate",
        description="Poll a deployment until SeqPulse has its verdict; print the verdict and its hints.",
        epilog=(
            "exit status: 0 ok, 10 warning (0 with --allow-warning), 20 rollback recommended, 30 not enough"
            " data to decide, 2 configuration or refused request, 3 unreachable or --timeout reached"
            " (0 with --fail-open)"
        ),
    )
    parser.add_argument("deployment", metavar="DEPLOYMENT", help="the id `seqpulse trigger` printed")
    add_gate_options(parser)
    add_base_url(parser)
    parser.set_defaults(handler=run)


@dataclass(frozen=True, slots=True)
class WaitOptions:
    timeout: float
    interval: float
    allow_warning: bool
    fail_open: bool

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> WaitOptions:
        return cls(args.timeout, args.interval, args.allow_warning, args.fail_open)


class ProgressLine:
    """One line on `stream`: rewritten in place on a terminal, else a new line per change of state."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.tty = stream.isatty()
        self._state: str | None = None
        self._text: str | None = None
        self._since = time.monotonic()

    def update(self, deployment: Deployment) -> None:
        state = progress_text(deployment)
        if state != self._state:
            self._state, self._since = state, time.monotonic()
            if not self.tty:
                self.stream.write(f"seqpulse: {state}\n")
                self.stream.flush()
        if self.tty:
            # Between two changes the countdown runs on the local clock.
            text = progress_text(deployment, elapsed=time.monotonic() - self._since)
            if text != self._text:
                self._text = text
                self.stream.write(f"\r\x1b[Kseqpulse: {text}")
                self.stream.flush()

    def close(self) -> None:
        if self.tty and self._text is not None:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
        self._text = None


async def watch(
    client: Client,
    target: str,
    options: WaitOptions,
    progress: ProgressLine,
    *,
    sleep: Sleep = asyncio.sleep,
) -> tuple[Outcome, Deployment | None]:
    """Read the deployment every `interval` until it has an outcome or `timeout` passes."""
    deadline = time.monotonic() + options.timeout
    last: Deployment | None = None
    try:
        while True:
            try:
                deployment = await client.deployment(target, deadline)
            except DeadlinePassed as exc:
                if last is None:
                    return not_reached("unreachable", str(exc), fail_open=options.fail_open), None
                message = f"no verdict within {options.timeout:g} s (last: {progress_text(last)})"
                return not_reached("timed_out", message, fail_open=options.fail_open), last
            except Unreachable as exc:
                return not_reached("unreachable", str(exc), fail_open=options.fail_open), last
            except ApiError as exc:
                return Outcome("api_error", EXIT_USAGE, f"SeqPulse refused the request: {exc}"), last
            last = deployment
            outcome = decided(deployment, allow_warning=options.allow_warning)
            if outcome is not None:
                return outcome, deployment
            progress.update(deployment)
            await sleep(max(0.0, min(options.interval, deadline - time.monotonic())))
    finally:
        progress.close()


def emit(
    outcome: Outcome,
    deployment: Deployment | None,
    target: str | None,
    base: str,
    *,
    as_json: bool,
    stdout: TextIO,
    exit_code: int | None = None,
    extra: Mapping[str, Any] | None = None,
    notes: tuple[str, ...] = (),
) -> None:
    """The final report on stdout: text lines, or one JSON object (with `extra` merged in).
    `exit_code` is the process's, when it is not the outcome's (`seqpulse run`)."""
    url = deployment_url(base, target) if target else None
    if as_json:
        result = {**json_result(outcome, deployment, target, url, exit_code), **(extra or {})}
        stdout.write(json.dumps(result) + "\n")
    else:
        stdout.write("\n".join([*report_lines(outcome, deployment, url, exit_code), *notes]) + "\n")
    stdout.flush()


def run(args: argparse.Namespace) -> int:
    env = environ()
    try:
        base = base_url(env, args.base_url)
        token = read_token(env)
        target = deployment_id(args.deployment)
    except UsageError as exc:
        return fail("wait", str(exc), EXIT_USAGE)

    async def call(http: aiohttp.ClientSession) -> int:
        client = Client(http, base, token=token)
        outcome, deployment = await watch(
            client, target, WaitOptions.from_args(args), ProgressLine(sys.stderr)
        )
        emit(outcome, deployment, target, base, as_json=args.json, stdout=sys.stdout)
        return outcome.exit_code

    return execute("wait", call)
