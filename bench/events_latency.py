"""Event intake latency: single-event `POST /events` at a constant rate (open loop) on the real gateway
(its console script, against Postgres and NATS, GeoIP on), against a bare aiohttp handler that does the
same JSON parse, served the same way, loaded the same way, in the same run.

Open loop: request i is sent at t0 + i / rate whether or not earlier ones have been answered, and its
latency runs from that scheduled time, so a stall shows in the figures instead of slowing the load.

`python -m bench.events_latency [--rate 1000] [--seconds 10] [--warmup 2]`
(`python -m bench.events_latency --serve-bare --port N` is the baseline server.)
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import orjson
from aiohttp import web

from bench.procs import REPO, console_script, cpu_seconds, spawn, stop, wait_ready
from bench.report import emit, fmt, print_table, ratio, summary
from bench.stack import Stack, running_stack
from seqpulse.common.db.pool import create_pool
from seqpulse.common.devstack import free_port
from seqpulse.common.runtime.loop import new_event_loop
from seqpulse.common.runtime.loop import run as run_on_loop
from seqpulse.gateway.admin import create_token, create_user

GEOIP_DB = REPO / "data" / "geoip" / "GeoLite2-Country-Test.mmdb"
CONNECTIONS = 256  # more than the rate x latency in flight, so the pool is not what queues requests


# --- the baseline server ------------------------------------------------------------------------------


async def bare_events(request: web.Request) -> web.Response:
    data = orjson.loads(await request.read())
    if not isinstance(data, dict) or "event_id" not in data or "event_name" not in data:
        return web.json_response({"detail": "event_id and event_name are required"}, status=422)
    return web.json_response({"accepted": 1, "rejected": []}, status=202)


async def readyz(_request: web.Request) -> web.Response:
    return web.json_response({"status": "ready"})


def serve_bare(port: int) -> None:
    app = web.Application()
    app.router.add_post("/events", bare_events)
    app.router.add_get("/readyz", readyz)
    # On the services' event loop, as the gateway it is compared with.
    web.run_app(
        app,
        host="127.0.0.1",
        port=port,
        access_log=None,
        print=None,
        shutdown_timeout=2,
        loop=new_event_loop(),
    )


# --- the load -------------------------------------------------------------------------------------------


@dataclass
class Round:
    latencies: list[float] = field(default_factory=list)
    send_lags: list[float] = field(default_factory=list)  # actual send - scheduled send
    outcomes: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0
    cpu_ms_per_request: float = 0.0

    @property
    def per_second(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0


def event_body(n: int) -> bytes:
    return orjson.dumps(
        {
            "event_id": str(uuid.uuid4()),
            "event_name": "custom.bench_click",
            "user_id": f"user-{n % 1000}",
            "properties": {"page": "/app/deployments", "n": n},
        }
    )


async def open_loop(
    url: str, headers: dict[str, str], rate: float, seconds: float, body: Callable[[int], bytes]
) -> Round:
    """POST `rate x seconds` requests, request i at t0 + i / rate, each timed from its scheduled start."""
    result = Round()
    # perf_counter, not the loop's clock: uvloop's loop clock ticks in whole milliseconds and stands still
    # within an iteration of the loop, which rounded every latency to a millisecond.
    clock = time.perf_counter
    bodies = [body(n) for n in range(int(rate * seconds))]  # built before the clock starts

    async def one(http: aiohttp.ClientSession, data: bytes, scheduled: float) -> None:
        result.send_lags.append(clock() - scheduled)
        try:
            async with http.post(url, data=data, headers=headers) as response:
                await response.read()
                outcome = str(response.status)
        except (aiohttp.ClientError, TimeoutError) as exc:
            outcome = f"error: {type(exc).__name__}"
        result.latencies.append(clock() - scheduled)
        result.outcomes[outcome] += 1

    connector = aiohttp.TCPConnector(limit=CONNECTIONS)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=30)) as http:
        tasks = []
        start = clock() + 0.05
        for n, data in enumerate(bodies):
            scheduled = start + n / rate
            delay = scheduled - clock()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(http, data, scheduled)))
        await asyncio.gather(*tasks)
        result.seconds = clock() - start
    return result


# --- the run ------------------------------------------------------------------------------------------


async def api_key(base: str, pool_dsn: str) -> str:
    pool = await create_pool(pool_dsn, min_size=1, max_size=2)
    try:
        await create_user(pool, email="bench@example.com", name="Bench", password=None)
        token = (await create_token(pool, email="bench@example.com", name="bench", scopes=["write"])).token
    finally:
        await pool.close()
    body = {"name": "bench", "plan": "pro", "metrics_endpoint": "http://127.0.0.1:9/seqpulse-metrics"}
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{base}/projects", json=body, headers={"Authorization": f"Bearer {token}"}) as response,
    ):
        created = await response.json()
        if response.status != 201:
            raise RuntimeError(f"POST /projects answered {response.status}: {created}")
        return str(created["api_key"])


async def run(args: argparse.Namespace) -> dict[str, Any]:
    async with running_stack() as stack:
        await stack.apply_bus()
        dsn = await stack.database("gateway")
        return await _measure(args, stack, dsn)


async def _measure(args: argparse.Namespace, stack: Stack, dsn: str) -> dict[str, Any]:
    gw_port, bare_port = free_port(), free_port()
    gateway = spawn(
        [console_script("seqpulse-gateway")],
        env={
            "DATABASE_URL": dsn,
            "NATS_URL": stack.nats_url,
            "SEQPULSE_BUS_PREFIX": stack.prefix,
            "SEQPULSE_GATEWAY_PORT": str(gw_port),
            "SEQPULSE_GEOIP_DB": str(GEOIP_DB),
        },
        log=stack.root / "gateway.log",
    )
    bare = spawn(
        [console_script("python"), "-m", "bench.events_latency", "--serve-bare", "--port", str(bare_port)],
        env={},
        log=stack.root / "bare.log",
    )
    try:
        gw, bare_url = f"http://127.0.0.1:{gw_port}", f"http://127.0.0.1:{bare_port}"
        await wait_ready(f"{gw}/readyz", gateway)
        await wait_ready(f"{bare_url}/readyz", bare)
        headers = {"X-API-Key": await api_key(gw, dsn), "Content-Type": "application/json"}
        targets = {"bare": (bare_url, bare.pid), "gateway": (gw, gateway.pid)}
        warm: dict[str, Round] = {}
        for name, (url, _) in targets.items():  # connections, code paths and caches warm, at the same rate
            warm[name] = await open_loop(f"{url}/events", headers, args.rate, args.warmup, event_body)
        rounds: dict[str, list[Round]] = {"bare": [], "gateway": []}
        # Bare before and after the gateway, so the baseline sees the same machine.
        for name in ("bare", "gateway", "bare"):
            url, pid = targets[name]
            cpu_before = cpu_seconds(pid)
            outcome = await open_loop(f"{url}/events", headers, args.rate, args.seconds, event_body)
            outcome.cpu_ms_per_request = (
                (cpu_seconds(pid) - cpu_before) * 1000 / max(1, len(outcome.latencies))
            )
            rounds[name].append(outcome)
        published = await stack.events_on_stream()
    finally:
        stop(gateway)
        stop(bare)
    return _figures(args, rounds, published, warm["gateway"].outcomes.get("202", 0))


def _figures(
    args: argparse.Namespace, rounds: dict[str, list[Round]], published: int, warm_accepted: int
) -> dict[str, Any]:
    bare_latencies = [x for r in rounds["bare"] for x in r.latencies]
    bare = summary(bare_latencies)
    gateway_round = rounds["gateway"][0]
    gw = summary(gateway_round.latencies)
    rows, figures = [], {}
    labelled = [
        ("bare, before", rounds["bare"][0]),
        ("gateway", gateway_round),
        ("bare, after", rounds["bare"][1]),
    ]
    for label, r in labelled:
        lat, lag = summary(r.latencies), summary(r.send_lags)
        figures[label.replace(", ", "_")] = {
            "requests": len(r.latencies),
            "per_s": r.per_second,
            "latency_s": lat,
            "send_lag_p99_s": lag["p99"],
            "server_cpu_ms_per_request": r.cpu_ms_per_request,
            "outcomes": dict(r.outcomes),
        }
        rows.append(
            [
                label,
                str(len(r.latencies)),
                fmt(r.per_second, "", 0),
                fmt(lat["p50"] * 1000, " ms", 2),
                fmt(lat["p99"] * 1000, " ms", 2),
                fmt(lat["max"] * 1000, " ms", 1),
                fmt(lag["p99"] * 1000, " ms", 2),
                fmt(r.cpu_ms_per_request, "", 3),
                ", ".join(f"{k}: {v}" for k, v in sorted(r.outcomes.items())),
            ]
        )
    print_table(
        f"POST /events, one event per request, open loop at {args.rate:.0f} req/s for {args.seconds:.0f} s",
        ["server", "requests", "req/s", "p50", "p99", "max", "send lag p99", "srv CPU ms/req", "answers"],
        rows,
    )
    p50_ratio, p99_ratio = ratio(gw["p50"], bare["p50"]), ratio(gw["p99"], bare["p99"])
    accepted = gateway_round.outcomes.get("202", 0)
    ratios = f"p50 {fmt(p50_ratio, 'x', 2)}, p99 {fmt(p99_ratio, 'x', 2)}"
    print(f"\n  gateway / bare (both bare rounds pooled): {ratios}")
    # Every 202 (warm-up included) and the gateway's own `project_created` of the set-up.
    expected = warm_accepted + accepted + 1
    print(f"  events on the EVENTS stream: {published} (expected {expected})")
    return {
        "rate": args.rate,
        "seconds": args.seconds,
        **figures,
        "bare_pooled_latency_s": bare,
        "ratio_p50_over_bare": p50_ratio,
        "ratio_p99_over_bare": p99_ratio,
        "gateway_accepted": accepted,
        "stream_messages": published,
        "stream_matches_202s": published == expected,
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.events_latency", description=__doc__)
    parser.add_argument("--rate", type=float, default=1000.0, help="requests per second, constant")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each measured round")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds of load sent to each server first")
    parser.add_argument("--serve-bare", action="store_true", help="run the baseline server and nothing else")
    parser.add_argument("--port", type=int, default=0, help="the baseline server's port (with --serve-bare)")
    args = parser.parse_args()
    if args.serve_bare:
        serve_bare(args.port)
        return
    emit("events_latency", run_on_loop(run(args)))


if __name__ == "__main__":
    main()
