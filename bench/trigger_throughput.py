"""Trigger throughput: `POST /deployments/trigger` on the real gateway (its console script, against
Postgres and NATS) against a bare aiohttp handler served the same way, with the same client.

Two gateway cases: `new` — every trigger lands on a free (project, env), so each one creates a deployment
(a transaction, an outbox row, a publish); `existing` — every trigger names the env of a deployment still
running, so each one answers `existing` after a few reads (the one-running-deployment-per-env rule).

`python -m bench.trigger_throughput [--new 3000] [--existing 3000] [--concurrency 32]`
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import time
from typing import Any

import aiohttp
import asyncpg
import orjson

from bench.fake_app import metrics_app
from bench.load import Call, LoadResult, post_all
from bench.procs import console_script, cpu_seconds, spawn, stop, tree_cpu_seconds, wait_ready
from bench.report import emit, fmt, print_table, ratio, summary
from bench.stack import Stack, running_stack
from seqpulse.common.db.pool import create_pool
from seqpulse.common.devstack import free_port
from seqpulse.common.runtime.loop import run as run_on_loop
from seqpulse.gateway.admin import create_token, create_user

ENVS = ("prod", "staging", "dev")  # a pro project may have three


async def make_projects(
    base: str, token: str, endpoint: str, count: int, concurrency: int
) -> list[tuple[str, str]]:
    """`count` pro projects through the gateway's API, each endpoint tested (hence active): (id, api key)."""
    auth = {"Authorization": f"Bearer {token}"}
    slots = asyncio.Semaphore(concurrency)

    async def one(http: aiohttp.ClientSession, n: int) -> tuple[str, str]:
        async with slots:
            body = {"name": f"bench-{n}", "plan": "pro", "envs": list(ENVS), "metrics_endpoint": endpoint}
            async with http.post(f"{base}/projects", json=body, headers=auth) as response:
                created = await response.json()
                if response.status != 201:
                    raise RuntimeError(f"POST /projects answered {response.status}: {created}")
            async with http.post(f"{base}/projects/{created['id']}/endpoint/test", headers=auth) as response:
                if response.status != 200:
                    raise RuntimeError(f"endpoint test answered {response.status}: {await response.text()}")
            return str(created["id"]), str(created["api_key"])

    async with aiohttp.ClientSession() as http:
        return list(await asyncio.gather(*(one(http, n) for n in range(count))))


def trigger_call(api_key: str, env: str, key: str) -> Call:
    body = orjson.dumps({"env": env, "idempotency_key": key, "branch": "main"})
    return Call({"X-API-Key": api_key, "Content-Type": "application/json"}, body)


async def _outbox_drain_seconds(dsn: str, limit: float = 30.0) -> tuple[int, float]:
    """Rows left in the gateway's outbox right after the run, and how long until they were published."""
    conn = await asyncpg.connect(dsn)
    try:
        started = time.monotonic()
        backlog = int(await conn.fetchval("SELECT count(*) FROM gateway_outbox"))
        while True:
            left = await conn.fetchval("SELECT count(*) FROM gateway_outbox")
            if not left or time.monotonic() - started > limit:
                return backlog, time.monotonic() - started
            await asyncio.sleep(0.05)
    finally:
        await conn.close()


async def run(args: argparse.Namespace) -> dict[str, Any]:
    async with running_stack() as stack, metrics_app() as app:
        await stack.apply_bus()
        dsn = await stack.database("gateway")
        return await _measure(args, stack, dsn, app.url)


async def _measure(args: argparse.Namespace, stack: Stack, dsn: str, endpoint: str) -> dict[str, Any]:
    gw_port, bare_port = free_port(), free_port()
    gateway = spawn(
        [console_script("seqpulse-gateway")],
        env={
            "DATABASE_URL": dsn,
            "NATS_URL": stack.nats_url,
            "SEQPULSE_BUS_PREFIX": stack.prefix,
            "SEQPULSE_GATEWAY_PORT": str(gw_port),
            # The CI limit (100/min per key, as in the original) would turn this into a 429 benchmark.
            "SEQPULSE_CI_RATE_LIMIT_PER_MINUTE": "1000000000",
        },
        log=stack.root / "gateway.log",
    )
    bare = spawn(
        [console_script("python"), "-m", "bench.bare_trigger", "--port", str(bare_port)],
        env={},
        log=stack.root / "bare.log",
    )
    try:
        gw, bare_url = f"http://127.0.0.1:{gw_port}", f"http://127.0.0.1:{bare_port}"
        await wait_ready(f"{gw}/readyz", gateway)
        await wait_ready(f"{bare_url}/readyz", bare)
        pool = await create_pool(dsn, min_size=1, max_size=2)
        try:
            await create_user(pool, email="bench@example.com", name="Bench", password=None)
            token = (
                await create_token(pool, email="bench@example.com", name="bench", scopes=["write"])
            ).token
        finally:
            await pool.close()
        setup_started = time.monotonic()
        projects = await make_projects(gw, token, endpoint, 1 + math.ceil(args.new / len(ENVS)), 8)
        setup_seconds = time.monotonic() - setup_started
        (_, busy_key), fresh = projects[0], projects[1:]

        new_calls = [
            trigger_call(key, env, f"new-{n}-{env}") for n, (_, key) in enumerate(fresh) for env in ENVS
        ][: args.new]
        existing_calls = [trigger_call(busy_key, "prod", f"again-{n}") for n in range(args.existing)]
        bare_calls = new_calls + existing_calls[: max(0, args.existing - len(new_calls))]
        warmup = [trigger_call(busy_key, "prod", f"warm-{n}") for n in range(args.warmup)]

        trigger = "/deployments/trigger"
        await post_all(f"{bare_url}{trigger}", warmup, concurrency=args.concurrency)
        await post_all(f"{gw}{trigger}", warmup, concurrency=args.concurrency)  # the first one creates
        assert stack.pg.proc is not None
        pg_pid = stack.pg.proc.pid
        results: dict[str, tuple[LoadResult, dict[str, float]]] = {}
        bare_rounds: list[tuple[LoadResult, dict[str, float]]] = []
        # Bare rounds before, between and after the gateway's, so the baseline sees the same machine.
        bare_run = ("bare", bare_url, bare.pid, bare_calls)
        runs = [bare_run, ("existing", gw, gateway.pid, existing_calls), bare_run]
        runs += [("new", gw, gateway.pid, new_calls), bare_run]
        for name, url, pid, calls in runs:
            before = (cpu_seconds(pid), tree_cpu_seconds(pg_pid), cpu_seconds(os.getpid()))
            outcome = await post_all(f"{url}{trigger}", calls, concurrency=args.concurrency)
            after = (cpu_seconds(pid), tree_cpu_seconds(pg_pid), cpu_seconds(os.getpid()))
            n = max(1, len(outcome.latencies))
            cpu = {
                part: (a - b) * 1000 / n
                for part, a, b in zip(("server", "postgres", "client"), after, before, strict=True)
            }
            if name == "bare":
                bare_rounds.append((outcome, cpu))
            else:
                results[name] = (outcome, cpu)
        # A bare round is over in about a second, so one round is noisy: the median round is the baseline.
        bare_rounds.sort(key=lambda pair: pair[0].per_second)
        results = {"bare": bare_rounds[len(bare_rounds) // 2], **results}
        bare_rates = [r.per_second for r, _ in bare_rounds]
        backlog, drain = await _outbox_drain_seconds(dsn)
    finally:
        stop(gateway)
        stop(bare)
    return _figures(args, results, bare_rates, setup_seconds, len(projects), backlog, drain)


def _figures(
    args: argparse.Namespace,
    results: dict[str, tuple[LoadResult, dict[str, float]]],
    bare_rates: list[float],
    setup_seconds: float,
    projects: int,
    backlog: int,
    drain: float,
) -> dict[str, Any]:
    bare, bare_cpu = results["bare"]
    labels = {
        "bare": f"bare aiohttp handler (median of {len(bare_rates)} rounds)",
        "existing": "gateway, `existing` (env already running)",
        "new": "gateway, `created` (free project/env each time)",
    }
    rows, figures = [], {}
    for name, (r, cpu) in results.items():
        lat = summary(r.latencies)
        figures[name] = {
            "requests": len(r.latencies),
            "seconds": r.seconds,
            "per_s": r.per_second,
            "latency_s": lat,
            "ratio_per_s_over_bare": ratio(r.per_second, bare.per_second),
            "cpu_ms_per_request": cpu,
            "server_cpu_ratio_over_bare": ratio(cpu["server"], bare_cpu["server"]),
            "outcomes": dict(r.outcomes),
        }
        rows.append(
            [
                labels[name],
                str(len(r.latencies)),
                fmt(r.per_second, "", 0),
                fmt(ratio(r.per_second, bare.per_second), "", 3),
                fmt(lat["p50"] * 1000, " ms", 2),
                fmt(lat["p99"] * 1000, " ms", 2),
                "/".join(fmt(cpu[part], "", 2) for part in ("server", "postgres", "client")),
                fmt(ratio(cpu["server"], bare_cpu["server"]), "x", 1),
                ", ".join(f"{k}: {v}" for k, v in sorted(r.outcomes.items())),
            ]
        )
    print_table(
        f"POST /deployments/trigger, {args.concurrency} in flight, one aiohttp client",
        [
            "server",
            "requests",
            "req/s",
            "vs bare",
            "p50",
            "p99",
            "CPU ms/req srv/pg/client",
            "srv CPU vs bare",
            "answers",
        ],
        rows,
    )
    print(f"\n  bare rounds: {', '.join(fmt(rate, ' req/s', 0) for rate in bare_rates)}")
    print(
        f"  setup: {projects} projects created and endpoint-tested through the API in {setup_seconds:.1f} s"
    )
    print(f"  gateway outbox after the `created` run: {backlog} rows, empty {drain:.2f} s later")
    return {
        "concurrency": args.concurrency,
        **figures,
        "bare_rounds_per_s": bare_rates,
        "outbox_backlog_after_new": backlog,
        "outbox_drain_s": drain,
        "projects": projects,
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.trigger_throughput", description=__doc__)
    parser.add_argument("--new", type=int, default=3000, help="triggers that each create a deployment")
    parser.add_argument("--existing", type=int, default=3000, help="triggers answered `existing`")
    parser.add_argument("--concurrency", type=int, default=32, help="requests in flight")
    parser.add_argument("--warmup", type=int, default=200, help="requests sent to each server first")
    args = parser.parse_args()
    emit("trigger_throughput", run_on_loop(run(args)))


if __name__ == "__main__":
    main()
