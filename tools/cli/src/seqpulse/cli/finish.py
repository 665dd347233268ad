"""`seqpulse finish DEPLOYMENT`: say the deploy ended (success or failed); SeqPulse then starts watching."""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

import aiohttp

from seqpulse.cli.client import ApiError, Client
from seqpulse.cli.config import (
    METRICS_ENDPOINT_VAR,
    UsageError,
    api_key,
    base_url,
    deployment_id,
    resolve_metrics_endpoint,
)
from seqpulse.cli.gate import EXIT_OK, EXIT_USAGE
from seqpulse.cli.options import add_base_url, add_call_options, environ, execute, fail

RESULTS = ("success", "failed")


def register(subparsers: Any) -> None:
    """Add `finish` to the `seqpulse` parser."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "finish",
        help="say a deployment ended (success or failed)",
        description="Tell SeqPulse the deploy ended; the post-deploy sequences start now.",
    )
    parser.add_argument("deployment", metavar="DEPLOYMENT", help="the id `seqpulse trigger` printed")
    parser.add_argument("--result", choices=RESULTS, default="success", help="default: success")
    parser.add_argument(
        "--metrics-endpoint", metavar="URL", help=f"optional (default: ${METRICS_ENDPOINT_VAR})"
    )
    add_base_url(parser)
    add_call_options(parser)
    parser.set_defaults(handler=run)


async def conclude(
    client: Client, deployment: str, result: str, metrics_endpoint: str | None, deadline: float
) -> dict[str, Any]:
    """`POST /deployments/finish`. `not_found` (another project's key, a wrong id) is an error;
    `ignored` is not: a retried or repeated finish, or a deployment that expired meanwhile."""
    answer = await client.finish(deployment, result, metrics_endpoint, deadline)
    status = answer.get("status")
    if status == "not_found":
        raise ApiError(
            0,
            f"deployment {deployment} not found in the project of SEQPULSE_API_KEY ({answer.get('message')})",
        )
    if status == "ignored":
        print(f"seqpulse: finish ignored: {answer.get('message')}", file=sys.stderr)
    return answer


def run(args: argparse.Namespace) -> int:
    env = environ()
    try:
        base = base_url(env, args.base_url)
        key = api_key(env)
        target = deployment_id(args.deployment)
    except UsageError as exc:
        return fail("finish", str(exc), EXIT_USAGE)
    endpoint = resolve_metrics_endpoint(env, args.metrics_endpoint)

    async def call(http: aiohttp.ClientSession) -> int:
        client = Client(http, base, api_key=key)
        answer = await conclude(client, target, args.result, endpoint, time.monotonic() + args.timeout)
        print(json.dumps(answer) if args.json else f"{answer.get('status')}: {answer.get('message')}")
        return EXIT_OK

    return execute("finish", call)
