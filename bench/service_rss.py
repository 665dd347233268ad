"""Idle memory: resident set size of the gateway, collector and analyzer processes (their console scripts,
ready and idle) against a bare Python process serving one aiohttp route, started the same way.

`python -m bench.service_rss [--idle 5]`
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
from typing import Any

from bench.procs import console_script, rss_mib, spawn, stop, wait_ready
from bench.report import emit, fmt, print_table, ratio
from bench.stack import running_stack
from seqpulse.common.devstack import free_port
from seqpulse.common.runtime.loop import run as run_on_loop

# The baseline: the interpreter, asyncio and aiohttp, one route, nothing of ours.
BARE = (
    "import asyncio, aiohttp, sys\n"
    "from aiohttp import web\n"
    "async def ready(_request): return web.json_response({'status': 'ready'})\n"
    "app = web.Application()\n"
    "app.router.add_get('/readyz', ready)\n"
    "web.run_app(app, host='127.0.0.1', port=int(sys.argv[1]), print=None, access_log=None)\n"
)


async def run(args: argparse.Namespace) -> dict[str, Any]:
    async with running_stack() as stack:
        await stack.apply_bus()
        dsn = await stack.database("rss")
        common = {"DATABASE_URL": dsn, "NATS_URL": stack.nats_url, "SEQPULSE_BUS_PREFIX": stack.prefix}
        ports = {name: free_port() for name in ("bare", "gateway", "collector", "analyzer")}
        plan: dict[str, tuple[list[str], dict[str, str]]] = {
            "bare": ([console_script("python"), "-c", BARE, str(ports["bare"])], {}),
            "gateway": (
                [console_script("seqpulse-gateway")],
                {**common, "SEQPULSE_GATEWAY_PORT": str(ports["gateway"])},
            ),
            "collector": (
                [console_script("seqpulse-collector")],
                {**common, "SEQPULSE_HEALTH_PORT": str(ports["collector"])},
            ),
            "analyzer": (
                [console_script("seqpulse-analyzer")],
                {**common, "SEQPULSE_HEALTH_PORT": str(ports["analyzer"])},
            ),
        }
        procs: dict[str, subprocess.Popen[bytes]] = {}
        try:
            for name, (argv, env) in plan.items():
                procs[name] = spawn(argv, env=env, log=stack.root / f"{name}.log")
            # Waited for together, so each figure is the time from spawn to its first 200.
            waits = [
                wait_ready(f"http://127.0.0.1:{ports[name]}/readyz", proc) for name, proc in procs.items()
            ]
            ready = dict(zip(procs, await asyncio.gather(*waits), strict=True))
            await asyncio.sleep(args.idle)  # idle on purpose: what a quiet replica holds
            rss = {name: rss_mib(proc.pid) for name, proc in procs.items()}
        finally:
            for proc in reversed(procs.values()):
                stop(proc)
    return _figures(args, rss, ready)


def _figures(args: argparse.Namespace, rss: dict[str, float], ready: dict[str, float]) -> dict[str, Any]:
    bare = rss["bare"]
    services = [name for name in rss if name != "bare"]
    rows = [
        [name, fmt(rss[name], " MiB", 1), fmt(ratio(rss[name], bare), "x", 2), fmt(ready[name], " s", 2)]
        for name in rss
    ]
    total = sum(rss[name] for name in services)
    rows.append(["three services together", fmt(total, " MiB", 1), fmt(ratio(total, bare), "x", 2), ""])
    print_table(
        f"Idle RSS (VmRSS after {args.idle:g} s ready and idle)",
        ["process", "RSS", "vs bare", "ready after"],
        rows,
    )
    return {
        "idle_s": args.idle,
        "rss_mib": rss,
        "ratio_over_bare": {name: ratio(rss[name], bare) for name in services},
        "services_total_mib": total,
        "ready_after_s": ready,
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.service_rss", description=__doc__)
    parser.add_argument("--idle", type=float, default=5.0, help="seconds to stay idle once ready")
    args = parser.parse_args()
    emit("service_rss", run_on_loop(run(args)))


if __name__ == "__main__":
    main()
