"""`seqpulse run --env E -- COMMAND…`: trigger, deploy with COMMAND, finish, wait; exits with the gate.

A failed COMMAND never exits 0: the gate's status if it is not 0, else the command's own. SeqPulse
unreachable before the deploy means nothing is deployed (exit 3), unless --fail-open, which deploys
anyway. On SIGINT / SIGTERM the deployment is finished as failed, so that it does not hold its
environment until it expires, and `run` exits 128+N.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from dataclasses import dataclass
from typing import Any

import aiohttp

from seqpulse.cli.client import ApiError, Client, DeadlinePassed, Unreachable
from seqpulse.cli.config import (
    TriggerBody,
    UsageError,
    api_key,
    base_url,
    read_token,
    resolve_metrics_endpoint,
    trigger_body,
)
from seqpulse.cli.deployment import Deployment
from seqpulse.cli.finish import conclude
from seqpulse.cli.gate import EXIT_USAGE, Outcome, not_reached, run_exit_code
from seqpulse.cli.options import (
    DEFAULT_CALL_SECONDS,
    add_base_url,
    add_gate_options,
    add_trigger_options,
    environ,
    execute,
    fail,
)
from seqpulse.cli.process import Interrupts, run_command
from seqpulse.cli.trigger import announce
from seqpulse.cli.wait import ProgressLine, WaitOptions, emit, watch

BASELINE_WAIT_SECONDS = 30.0  # the baseline probe runs at trigger time; this only bounds a slow one
BASELINE_POLL_SECONDS = 0.25
DEPLOYMENT_ID_VAR = "SEQPULSE_DEPLOYMENT_ID"  # given to COMMAND


def register(subparsers: Any) -> None:
    """Add `run` to the `seqpulse` parser."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "run",
        help="trigger, run the deploy command, finish, wait for the verdict",
        usage="seqpulse run --env E [options] -- COMMAND [ARG ...]",
        description="Gate a deploy: trigger, run COMMAND, finish with its result, wait for the verdict.",
        epilog=(
            "exit status: as `seqpulse wait`, but a failed COMMAND never exits 0. COMMAND sees"
            f" ${DEPLOYMENT_ID_VAR}. With --json, COMMAND's stdout goes to stderr so that stdout holds"
            " only the JSON object."
        ),
    )
    add_trigger_options(parser)
    add_gate_options(parser)
    add_base_url(parser)
    parser.add_argument("command", nargs=argparse.REMAINDER, metavar="-- COMMAND", help="the deploy command")
    parser.set_defaults(handler=run)


@dataclass(frozen=True, slots=True)
class RunPlan:
    base: str
    api_key: str
    token: str
    trigger: TriggerBody
    metrics_endpoint: str | None
    command: list[str]
    options: WaitOptions
    as_json: bool


def run(args: argparse.Namespace) -> int:
    env = environ()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    try:
        if not command:
            raise UsageError("a deploy command is required: seqpulse run --env E -- COMMAND [ARG ...]")
        # Every setting is checked before anything is announced or deployed.
        plan = RunPlan(
            base=base_url(env, args.base_url),
            api_key=api_key(env),
            token=read_token(env),
            trigger=trigger_body(
                env,
                env=args.env,
                branch=args.branch,
                idempotency_key=args.idempotency_key,
                metrics_endpoint=args.metrics_endpoint,
            ),
            metrics_endpoint=resolve_metrics_endpoint(env, args.metrics_endpoint),
            command=command,
            options=WaitOptions.from_args(args),
            as_json=args.json,
        )
    except UsageError as exc:
        return fail("run", str(exc), EXIT_USAGE)

    async def call(http: aiohttp.ClientSession) -> int:
        interrupts = Interrupts.install()
        try:
            return await Gate(
                Client(http, plan.base, api_key=plan.api_key, token=plan.token), plan, interrupts
            ).run()
        finally:
            interrupts.uninstall()

    return execute("run", call)


class Gate:
    """One `seqpulse run`; `unfinished` is the deployment that must be finished if this run stops early."""

    def __init__(self, client: Client, plan: RunPlan, interrupts: Interrupts) -> None:
        self.client = client
        self.plan = plan
        self.interrupts = interrupts
        self.unfinished: str | None = None

    async def run(self) -> int:
        try:
            return await self._run()
        except asyncio.CancelledError:
            if self.interrupts.received is None:
                raise  # not a signal of ours: let whoever cancelled see it
            self.interrupts.clear_cancel()
            if self.unfinished is not None:
                await self._finish("failed", time.monotonic() + 10.0, quietly=True)
            print(f"seqpulse run: interrupted (signal {self.interrupts.received})", file=sys.stderr)
            return self.interrupts.exit_code()

    async def _run(self) -> int:
        plan = self.plan
        try:
            await self.client.check_token(self._call_deadline())
            answer = await announce(self.client, plan.trigger, self._call_deadline())
        except ApiError as exc:
            return self._report(Outcome("api_error", EXIT_USAGE, f"SeqPulse refused the request: {exc}"))
        except Unreachable as exc:
            outcome = not_reached(
                "unreachable", f"before the deploy: {exc}", fail_open=plan.options.fail_open
            )
            if not outcome.failed_open:
                return self._report(outcome, note="nothing was deployed")
            print("seqpulse: --fail-open: SeqPulse unreachable, deploying without it", file=sys.stderr)
            code = await run_command(plan.command, os.environ, self.interrupts, to_stderr=plan.as_json)
            return self._report(outcome, command_code=code)
        target = self.unfinished = answer["deployment_id"]
        print(f"seqpulse: deployment {target} triggered (env {plan.trigger.env})", file=sys.stderr)
        await self._baseline(target)
        child_env = {**os.environ, DEPLOYMENT_ID_VAR: target}
        code = await run_command(plan.command, child_env, self.interrupts, to_stderr=plan.as_json)
        try:
            await self._finish("success" if code == 0 else "failed", self._call_deadline())
        except ApiError as exc:
            return self._report(Outcome("api_error", EXIT_USAGE, f"finish refused: {exc}"), target, code)
        except Unreachable as exc:
            outcome = not_reached("unreachable", f"finish: {exc}", fail_open=plan.options.fail_open)
            return self._report(outcome, target, code)
        if self.interrupts.received is not None:
            print(
                f"seqpulse run: deploy interrupted; deployment {target} finished as failed", file=sys.stderr
            )
            return self.interrupts.exit_code()
        outcome, deployment = await watch(self.client, target, plan.options, ProgressLine(sys.stderr))
        return self._report(outcome, target, code, deployment)

    def _call_deadline(self) -> float:
        """Trigger and finish retry for a minute at most, and never longer than --timeout."""
        return time.monotonic() + min(DEFAULT_CALL_SECONDS, self.plan.options.timeout)

    async def _finish(self, result: str, deadline: float, *, quietly: bool = False) -> None:
        target = self.unfinished
        assert target is not None
        if self.interrupts.received is not None:
            result = "failed"  # an interrupted deploy is not a successful one, whatever COMMAND said
        try:
            await conclude(self.client, target, result, self.plan.metrics_endpoint, deadline)
        except (ApiError, Unreachable) as exc:
            if not quietly:
                raise
            print(f"seqpulse run: could not finish deployment {target}: {exc}", file=sys.stderr)
        self.unfinished = None

    async def _baseline(self, target: str) -> None:
        """Deploy once the baseline is sampled: a fast deploy must not be measured as its own baseline.
        Best effort: after BASELINE_WAIT_SECONDS, or if the read fails, the deploy goes ahead."""
        deadline = time.monotonic() + BASELINE_WAIT_SECONDS
        announced = False
        while True:
            try:
                deployment = await self.client.deployment(target, deadline)
            except DeadlinePassed:
                print(
                    f"seqpulse: no baseline sample after {BASELINE_WAIT_SECONDS:g} s; deploying",
                    file=sys.stderr,
                )
                return
            except (ApiError, Unreachable) as exc:
                print(f"seqpulse: baseline not confirmed ({exc}); deploying", file=sys.stderr)
                return
            if deployment.window.collected_pre >= 1 or deployment.state != "running":
                return
            if not announced:
                print("seqpulse: waiting for the baseline sample", file=sys.stderr)
                announced = True
            await asyncio.sleep(max(0.0, min(BASELINE_POLL_SECONDS, deadline - time.monotonic())))

    def _report(
        self,
        outcome: Outcome,
        target: str | None = None,
        command_code: int | None = None,
        deployment: Deployment | None = None,
        *,
        note: str | None = None,
    ) -> int:
        """Print the report; the exit status: the gate's, but never 0 after a failed COMMAND."""
        final = outcome.exit_code if command_code is None else run_exit_code(command_code, outcome.exit_code)
        notes: tuple[str, ...] = (f"  {note}",) if note else ()
        if command_code:
            notes = (*notes, f"  the deploy command failed (exit {command_code}): this run exits {final}")
        emit(
            outcome,
            deployment,
            target,
            self.plan.base,
            as_json=self.plan.as_json,
            stdout=sys.stdout,
            exit_code=final,
            extra={"command_exit_code": command_code},
            notes=notes,
        )
        return final
