"""`seqpulse trigger`: announce a deployment before deploying; prints its id (or JSON with --json)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

import aiohttp

from seqpulse.cli.client import ApiError, Client
from seqpulse.cli.config import TriggerBody, UsageError, api_key, base_url, trigger_body
from seqpulse.cli.gate import EXIT_OK, EXIT_USAGE, deployment_url
from seqpulse.cli.options import (
    add_base_url,
    add_call_options,
    add_trigger_options,
    environ,
    execute,
    fail,
)


def register(subparsers: Any) -> None:
    """Add `trigger` to the `seqpulse` parser."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "trigger",
        help="announce a deployment (before deploying)",
        description="Announce a deployment to SeqPulse, which samples the baseline now. Prints its id.",
    )
    add_base_url(parser)
    add_trigger_options(parser)
    add_call_options(parser)
    parser.set_defaults(handler=run)


async def announce(client: Client, body: TriggerBody, deadline: float) -> dict[str, Any]:
    """`POST /deployments/trigger`; says on stderr when SeqPulse answers with an existing deployment."""
    answer = await client.trigger(body.to_json(), deadline)
    deployment_id = answer.get("deployment_id")
    if not isinstance(deployment_id, str):
        raise ApiError(0, f"the trigger answer has no deployment_id: {answer}")
    if answer.get("status") == "existing":
        # Either this run's key was seen before (a retry), or another deployment of the env is still
        # running: the server hands that one out, so say so where a person will look.
        print(
            f"seqpulse: SeqPulse reuses deployment {deployment_id}: {answer.get('message')}", file=sys.stderr
        )
    elif answer.get("message"):
        print(f"seqpulse: {answer['message']}", file=sys.stderr)
    return answer


def run(args: argparse.Namespace) -> int:
    env = environ()
    try:
        base = base_url(env, args.base_url)
        key = api_key(env)
        body = trigger_body(
            env,
            env=args.env,
            branch=args.branch,
            idempotency_key=args.idempotency_key,
            metrics_endpoint=args.metrics_endpoint,
        )
    except UsageError as exc:
        return fail("trigger", str(exc), EXIT_USAGE)

    async def call(http: aiohttp.ClientSession) -> int:
        answer = await announce(Client(http, base, api_key=key), body, time.monotonic() + args.timeout)
        deployment_id = answer["deployment_id"]
        if args.json:
            result = {
                **answer,
                "env": body.env,
                "idempotency_key": body.idempotency_key,
                "branch": body.branch,
                "url": deployment_url(base, deployment_id),
            }
            print(json.dumps(result))
        else:
            print(deployment_id)
        return EXIT_OK

    return execute("trigger", call)
