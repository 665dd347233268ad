"""Job start lag: how late a due collection job starts (`started_at - scheduled_at`), the collector's
scheduler against a naive "poll every second" loop claiming the same rows, both in the same run.

`python -m bench.job_start_lag [--jobs 300] [--spread 20] [--lead 4] [--poll 1.0]`
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import asyncpg

from bench.fake_app import metrics_app
from bench.report import emit, fmt, print_table, ratio, summary
from bench.seed import seed_deployments, seed_project
from bench.stack import Stack, log_services_to, running_stack
from seqpulse.collector.app import CollectorService
from seqpulse.collector.config import CollectorSettings
from seqpulse.collector.repository import Q as COLLECTOR_QUERIES
from seqpulse.common.bus import Bus
from seqpulse.common.messages import DeploymentTriggered
from seqpulse.common.runtime.loop import run as run_on_loop

TARGET_P99_SECONDS = 0.5
# The deadline the collector gives a pre job (`schedule.pre_job` with 60 s sequences).
PRE_DEADLINE = timedelta(seconds=300)


class NaivePoller:
    """The baseline: every `interval` seconds, claim what is due (the collector's own claim query, so
    only the waking strategy differs), probe the app and mark the job done."""

    def __init__(
        self, pool: asyncpg.Pool[Any], http: aiohttp.ClientSession, url: str, interval: float
    ) -> None:
        self.pool = pool
        self.http = http
        self.url = url
        self.interval = interval
        self._slots = asyncio.Semaphore(32)  # the collector's default concurrency
        self._running: set[asyncio.Task[None]] = set()

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            async with self.pool.acquire() as conn:
                jobs = await conn.fetch(COLLECTOR_QUERIES.claim_due_jobs, 1000, 30.0)
            for job in jobs:
                task = asyncio.create_task(self._work(job["id"]))
                self._running.add(task)
                task.add_done_callback(self._running.discard)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self.interval)
        if self._running:
            await asyncio.wait(self._running, timeout=10)

    async def _work(self, job_id: int) -> None:
        async with self._slots:
            async with self.http.get(self.url, timeout=aiohttp.ClientTimeout(total=5)) as response:
                await response.json()
            async with self.pool.acquire() as conn:
                await conn.execute(
                    "UPDATE collection_jobs SET status = 'done', finished_at = clock_timestamp(),"
                    " lease_expires_at = NULL WHERE id = $1",
                    job_id,
                )


async def _count(pool: asyncpg.Pool[Any], sql: str) -> int:
    async with pool.acquire() as conn:
        return int(await conn.fetchval(sql))


async def _wait_for(pool: asyncpg.Pool[Any], sql: str, expected: int, deadline: float) -> int:
    """Poll a count until it reaches `expected` or the monotonic `deadline` passes; returns the count."""
    while True:
        found = await _count(pool, sql)
        if found >= expected or time.monotonic() > deadline:
            return found
        await asyncio.sleep(0.1)


async def _lags(pool: asyncpg.Pool[Any]) -> list[float]:
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT EXTRACT(EPOCH FROM started_at - scheduled_at)::float8 AS lag"
            " FROM collection_jobs WHERE started_at IS NOT NULL"
        )
    return [float(r["lag"]) for r in rows]


async def run(args: argparse.Namespace) -> dict[str, Any]:
    async with running_stack() as stack, metrics_app() as app:
        log_services_to(stack.root / "services.log")
        await stack.apply_bus()
        ours_dsn = await stack.database("lag_ours")
        naive_dsn = await stack.database("lag_naive")
        return await _measure(args, stack, ours_dsn, naive_dsn, app.url)


async def _measure(
    args: argparse.Namespace, stack: Stack, ours_dsn: str, naive_dsn: str, url: str
) -> dict[str, Any]:
    n = args.jobs
    ours_pool = await asyncpg.create_pool(ours_dsn, min_size=1, max_size=4)
    naive_pool = await asyncpg.create_pool(naive_dsn, min_size=1, max_size=8)
    assert ours_pool is not None and naive_pool is not None
    bus = await Bus.connect(stack.nats_url, stack.prefix, name="bench")
    collector = CollectorService(
        CollectorSettings(database_url=ours_dsn, nats_url=stack.nats_url, bus_prefix=stack.prefix)
    )
    stop_naive = asyncio.Event()
    try:
        now = datetime.now(UTC)
        ids: dict[str, list[uuid.UUID]] = {}
        projects: dict[str, uuid.UUID] = {}
        for name, pool in (("ours", ours_pool), ("naive", naive_pool)):
            async with pool.acquire() as conn, conn.transaction():
                projects[name] = await seed_project(conn, url)
                ids[name] = await seed_deployments(
                    conn, projects[name], n, endpoint=url, window=5, sequence_seconds=60, finished_at=now
                )
        await collector.start()
        # Evenly spread due times starting `lead` seconds from now: every job is announced before it is due.
        base = datetime.now(UTC) + timedelta(seconds=args.lead)
        due = [base + timedelta(seconds=args.spread * i / n) for i in range(n)]
        # Ours: the way the collector gets them in production, a DeploymentTriggered per deployment.
        for deployment_id, at in zip(ids["ours"], due, strict=True):
            await bus.publish(
                DeploymentTriggered(
                    deployment_id=deployment_id,
                    project_id=projects["ours"],
                    env="prod",
                    plan="pro",
                    triggered_at=at,
                )
            )
        # The baseline: the same rows inserted directly.
        async with naive_pool.acquire() as conn:
            await conn.executemany(
                "INSERT INTO collection_jobs (deployment_id, project_id, phase, sequence_index, scheduled_at,"
                " deadline_at) VALUES ($1, $2, 'pre', 0, $3, $4)",
                [
                    (d, projects["naive"], at, at + PRE_DEADLINE)
                    for d, at in zip(ids["naive"], due, strict=True)
                ],
            )
        planned = await _wait_for(
            ours_pool, "SELECT count(*) FROM collection_jobs", n, time.monotonic() + args.lead
        )
        async with aiohttp.ClientSession() as http:
            poller = NaivePoller(naive_pool, http, url, args.poll)
            naive_task = asyncio.create_task(poller.run(stop_naive))
            deadline = time.monotonic() + args.lead + args.spread + 15
            done_sql = "SELECT count(*) FROM collection_jobs WHERE status = 'done'"
            await _wait_for(ours_pool, done_sql, n, deadline)
            await _wait_for(naive_pool, done_sql, n, deadline)
            stop_naive.set()
            await naive_task
        ours = await _lags(ours_pool)
        naive = await _lags(naive_pool)
        late = await _count(ours_pool, "SELECT count(*) FROM collection_jobs WHERE created_at > scheduled_at")
        retried = await _count(ours_pool, "SELECT count(*) FROM collection_jobs WHERE attempts > 1")
    finally:
        stop_naive.set()
        await collector.stop()
        await bus.close()
        await ours_pool.close()
        await naive_pool.close()
    return _figures(args, planned, ours, naive, late, retried)


def _figures(
    args: argparse.Namespace, planned: int, ours: list[float], naive: list[float], late: int, retried: int
) -> dict[str, Any]:
    s_ours, s_naive = summary(ours), summary(naive)
    analytic = {"p50": 5.0, "p95": 9.5, "p99": 9.9, "max": 10.0}  # uniform 0..10 s
    keys = ("p50", "p95", "p99", "max")
    rows = [
        ["collector (sleep-until-due + NOTIFY)", *(fmt(s_ours[k], " s") for k in keys), str(len(ours))],
        [
            f"naive poll every {args.poll:g} s (measured)",
            *(fmt(s_naive[k], " s") for k in keys),
            str(len(naive)),
        ],
        ["naive poll every 10 s (analytic)", *(fmt(analytic[k], " s") for k in keys), "-"],
        ["ratio collector / naive 1 s", *(fmt(ratio(s_ours[k], s_naive[k]), "", 4) for k in keys), ""],
    ]
    print_table(
        f"Job start lag, {args.jobs} pre jobs due over {args.spread:g} s (started_at - scheduled_at)",
        ["loop", "p50", "p95", "p99", "max", "jobs"],
        rows,
    )
    met = len(ours) == args.jobs and s_ours["p99"] <= TARGET_P99_SECONDS
    print(f"\n  target: p99 <= {TARGET_P99_SECONDS} s -> {'met' if met else 'MISSED'}")
    print(f"  jobs planned before due: {planned}/{args.jobs}; inserted after due: {late}; retried: {retried}")
    return {
        "jobs": args.jobs,
        "spread_s": args.spread,
        "poll_s": args.poll,
        "ours_s": s_ours,
        "naive_poll_s": s_naive,
        "naive_10s_analytic_s": analytic,
        "ratio_ours_over_naive": {k: ratio(s_ours[k], s_naive[k]) for k in keys},
        "ratio_ours_over_naive_10s": {k: ratio(s_ours[k], analytic[k]) for k in keys},
        "target_p99_s": TARGET_P99_SECONDS,
        "target_met": met,
        "ours_started": len(ours),
        "naive_started": len(naive),
        "inserted_after_due": late,
        "retried": retried,
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.job_start_lag", description=__doc__)
    parser.add_argument("--jobs", type=int, default=300, help="pre jobs (one per deployment)")
    parser.add_argument("--spread", type=float, default=20.0, help="seconds over which jobs fall due")
    parser.add_argument("--lead", type=float, default=4.0, help="seconds before the first job is due")
    parser.add_argument("--poll", type=float, default=1.0, help="interval of the naive baseline loop")
    args = parser.parse_args()
    emit("job_start_lag", run_on_loop(run(args)))


if __name__ == "__main__":
    main()
