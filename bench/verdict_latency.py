"""Verdict latency: `WindowClosed` published → `VerdictCreated` received, through the analyzer, its
database and its outbox; against the pure policy on the same inputs (so the ratio is the I/O overhead).

`python -m bench.verdict_latency [--deployments 300] [--burst 300] [--window 15]`
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import orjson
from nats.aio.msg import Msg

from bench.report import emit, fmt, print_table, ratio, summary
from bench.seed import seed_deployments, seed_project
from bench.stack import Stack, log_services_to, running_stack
from bench.windows import SEQUENCE_SECONDS, Window, analysis_input, make_windows, store_windows
from seqpulse.analyzer.app import AnalyzerService
from seqpulse.analyzer.config import AnalyzerSettings
from seqpulse.analyzer.model import AnalysisInput
from seqpulse.analyzer.policies.original_v2 import OriginalV2Policy
from seqpulse.common.bus import Bus
from seqpulse.common.messages import VerdictCreated, WindowClosed
from seqpulse.common.runtime.loop import run as run_on_loop

TARGET_VERDICT_P95_S = 0.050
TARGET_PURE_30_S = 0.005


def pure_timings(inputs: list[AnalysisInput], rounds: int) -> list[float]:
    """Seconds per `OriginalV2Policy().analyze` call, after one warm-up round."""
    policy = OriginalV2Policy()
    for data in inputs:
        policy.analyze(data)
    timings = []
    # Like timeit: no garbage collection while timing, so a collection pause is not billed to one call.
    gc.collect()
    gc.disable()
    try:
        for _ in range(rounds):
            for data in inputs:
                started = time.perf_counter()
                policy.analyze(data)
                timings.append(time.perf_counter() - started)
    finally:
        gc.enable()
    return timings


class Verdicts:
    """Arrival times of `VerdictCreated` on the bus (core NATS subscription), by deployment."""

    def __init__(self) -> None:
        self.arrived: dict[uuid.UUID, float] = {}
        self.waiters: dict[uuid.UUID, asyncio.Future[float]] = {}
        self.awaited: set[uuid.UUID] = set()
        self.all_in = asyncio.Event()

    async def on_message(self, msg: Msg) -> None:
        at = time.perf_counter()
        deployment_id = uuid.UUID(orjson.loads(msg.data)["deployment_id"])
        self.arrived.setdefault(deployment_id, at)
        waiter = self.waiters.pop(deployment_id, None)
        if waiter is not None and not waiter.done():
            waiter.set_result(at)
        self.awaited.discard(deployment_id)
        if not self.awaited:
            self.all_in.set()

    def expect(self, deployment_id: uuid.UUID) -> asyncio.Future[float]:
        """A future resolved with the arrival time of this deployment's verdict."""
        future: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self.waiters[deployment_id] = future
        return future

    def expect_all(self, deployment_ids: list[uuid.UUID]) -> asyncio.Event:
        """An event set once a verdict arrived for every one of these deployments."""
        self.awaited = set(deployment_ids) - set(self.arrived)
        self.all_in = asyncio.Event()
        if not self.awaited:
            self.all_in.set()
        return self.all_in


def closed(w: Window, project_id: uuid.UUID, closed_at: datetime) -> WindowClosed:
    n = len(w.post)
    return WindowClosed(
        deployment_id=w.deployment_id,
        project_id=project_id,
        reason="complete",
        expected_post=n,
        collected_post=n,
        collected_pre=len(w.pre),
        closed_at=closed_at,
    )


async def run(args: argparse.Namespace) -> dict[str, Any]:
    async with running_stack() as stack:
        log_services_to(stack.root / "services.log")
        await stack.apply_bus()
        dsn = await stack.database("verdicts")
        return await _measure(args, stack, dsn)


async def _measure(args: argparse.Namespace, stack: Stack, dsn: str) -> dict[str, Any]:
    total = args.warmup + args.deployments + args.burst
    finished_at = datetime.now(UTC) - timedelta(seconds=SEQUENCE_SECONDS * (args.window + 1))
    closed_at = datetime.now(UTC)
    conn = await asyncpg.connect(dsn)
    try:
        async with conn.transaction():
            project_id = await seed_project(conn, "http://127.0.0.1:9/seqpulse-metrics")
            ids = await seed_deployments(
                conn,
                project_id,
                total,
                endpoint="http://127.0.0.1:9/seqpulse-metrics",
                window=args.window,
                sequence_seconds=SEQUENCE_SECONDS,
                finished_at=finished_at,
            )
            windows = make_windows(ids, args.window, finished_at)
            await store_windows(conn, project_id, windows, finished_at)
    finally:
        await conn.close()
    warmup = windows[: args.warmup]
    timed = windows[args.warmup : args.warmup + args.deployments]
    burst = windows[args.warmup + args.deployments :]

    verdicts = Verdicts()
    bus = await Bus.connect(stack.nats_url, stack.prefix, name="bench")
    # Pinned to the policy the baseline times, whatever the default becomes.
    settings = AnalyzerSettings(
        database_url=dsn,
        nats_url=stack.nats_url,
        bus_prefix=stack.prefix,
        analyzer_default_policy=OriginalV2Policy.name,
    )
    analyzer = AnalyzerService(settings)
    try:
        await bus.nc.subscribe(VerdictCreated.subject(stack.prefix), cb=verdicts.on_message)
        await analyzer.start()
        latencies: list[float] = []
        for n, w in enumerate(warmup + timed):
            waiter = verdicts.expect(w.deployment_id)
            started = time.perf_counter()
            await bus.publish(closed(w, project_id, closed_at))
            arrived = await asyncio.wait_for(waiter, timeout=10)
            if n >= len(warmup):
                latencies.append(arrived - started)
        # Burst: every window at once; latency now includes queueing behind the others.
        sent: dict[uuid.UUID, float] = {}
        all_in = verdicts.expect_all([w.deployment_id for w in burst])
        burst_started = time.perf_counter()
        for w in burst:
            sent[w.deployment_id] = time.perf_counter()
            await bus.publish(closed(w, project_id, closed_at))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(all_in.wait(), timeout=60)
        got = [verdicts.arrived[d] - t for d, t in sent.items() if d in verdicts.arrived]
        burst_seconds = max((verdicts.arrived[d] for d in sent if d in verdicts.arrived), default=0.0)
        burst_seconds = burst_seconds - burst_started if got else float("nan")
    finally:
        await analyzer.stop()
        await bus.close()

    pure_same = pure_timings([analysis_input(w, args.window, closed_at) for w in timed], args.rounds)
    ids30 = [uuid.uuid4() for _ in range(args.deployments)]
    finished30 = closed_at - timedelta(seconds=SEQUENCE_SECONDS * 31)
    pure30 = pure_timings(
        [analysis_input(w, 30, closed_at) for w in make_windows(ids30, 30, finished30)], args.rounds
    )
    return _figures(args, latencies, got, burst_seconds, pure_same, pure30)


def _figures(
    args: argparse.Namespace,
    latencies: list[float],
    burst: list[float],
    burst_seconds: float,
    pure_same: list[float],
    pure30: list[float],
) -> dict[str, Any]:
    s_lat, s_burst, s_pure, s_pure30 = summary(latencies), summary(burst), summary(pure_same), summary(pure30)
    keys = ("p50", "p95", "p99", "max")
    ms = 1000.0
    rows = [
        [f"window_closed → verdict_created, one at a time ({len(latencies)})"]
        + [fmt(s_lat[k] * ms, " ms") for k in keys],
        [f"same, burst of {args.burst} at once ({len(burst)} arrived)"]
        + [fmt(s_burst[k] * ms, " ms") for k in keys],
        [f"pure OriginalV2Policy.analyze, same inputs ({args.window} seq)"]
        + [fmt(s_pure[k] * ms, " ms") for k in keys],
        ["pure OriginalV2Policy.analyze, 30-sequence window"] + [fmt(s_pure30[k] * ms, " ms") for k in keys],
        ["ratio one-at-a-time / pure (I/O overhead)"]
        + [fmt(ratio(s_lat[k], s_pure[k]), "x", 1) for k in keys],
    ]
    print_table("Verdict latency", ["path", "p50", "p95", "p99", "max"], rows)
    verdict_met = len(latencies) == args.deployments and s_lat["p95"] <= TARGET_VERDICT_P95_S
    pure_met = s_pure30["p99"] <= TARGET_PURE_30_S
    throughput = (
        len(burst) / burst_seconds if burst_seconds and burst_seconds == burst_seconds else float("nan")
    )
    print(f"\n  burst throughput: {fmt(throughput, ' verdicts/s', 1)}")
    print(f"  target: verdict p95 <= 50 ms -> {'met' if verdict_met else 'MISSED'}")
    print(
        f"  target: pure analysis of a 30-sequence window <= 5 ms (p99) -> {'met' if pure_met else 'MISSED'}"
    )
    return {
        "deployments": args.deployments,
        "window": args.window,
        "verdict_s": s_lat,
        "burst": {"size": args.burst, "arrived": len(burst), "seconds": burst_seconds, "per_s": throughput}
        | {"latency_s": s_burst},
        "pure_same_inputs_s": s_pure,
        "pure_30_sequences_s": s_pure30,
        "ratio_verdict_over_pure": {k: ratio(s_lat[k], s_pure[k]) for k in keys},
        "target_verdict_p95_s": TARGET_VERDICT_P95_S,
        "target_verdict_met": verdict_met,
        "target_pure_30_s": TARGET_PURE_30_S,
        "target_pure_30_met": pure_met,
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.verdict_latency", description=__doc__)
    parser.add_argument("--deployments", type=int, default=300, help="windows analysed one at a time")
    parser.add_argument("--burst", type=int, default=300, help="windows published at once afterwards")
    parser.add_argument("--window", type=int, default=15, help="post sequences per deployment")
    parser.add_argument("--warmup", type=int, default=10, help="windows analysed first and not counted")
    parser.add_argument("--rounds", type=int, default=5, help="repetitions of the pure analysis")
    args = parser.parse_args()
    emit("verdict_latency", run_on_loop(run(args)))


if __name__ == "__main__":
    main()
