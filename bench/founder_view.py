"""Founder View query time over 10 million product events (target: under 300 ms for the whole view),
against the naive way of getting one of its numbers (MAU as count(DISTINCT user_key) over raw events)
in the same run.

The events are bulk-loaded with SQL, then the ingest service's rollups are built from them by its own
rebuild (`IngestRepository.rebuild_rollups`, the same tables the rollup stage keeps: tests check that the
two agree); the view reads only the rollups, as in production.

`python -m bench.founder_view [--events 10000000] [--users 20000] [--rounds 7]`
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg

from bench.report import emit, fmt, print_table, ratio, summary
from bench.stack import running_stack
from seqpulse.common.runtime.loop import run as run_on_loop
from seqpulse.gateway.routes.founder import F, founder_overview
from seqpulse.ingest.repository import IngestRepository

TARGET_S = 0.300
DAYS = 90
# The everyday events; `user_signup` (once per user, a quarter of them in the last 8 weeks) and
# `project_created` (a third of users) are added after.
NAMES = (
    "user_login",
    "deployment_triggered",
    "deployment_finished",
    "analysis_completed",
    "verdict_viewed",
    "sdh_viewed",
    "settings_updated",
)
COUNTRIES = ("US", "FR", "DE", "GB", "IN", "BR", "JP", "CA", "ES", "IT", "NL", "SE", "PL", "AU", "SG", "IS")
ROLLUPS = (
    "user_daily_activity",
    "activity_days",
    "active_user_changes",
    "user_milestones",
    "activity_sessions",
    "session_days",
    "project_days",
)
# Indexes are built after the load, as one would for a bulk import; the view reads them as in production.
INDEXES = (
    "product_events_user_idx",
    "product_events_name_idx",
    "product_events_project_idx",
)


async def seed(conn: asyncpg.Connection[Any], events: int, users: int, as_of: date) -> float:
    started = time.perf_counter()
    first = as_of - timedelta(days=DAYS - 1)
    for offset in range(DAYS):
        await conn.execute("SELECT product_events_create_partition($1)", first + timedelta(days=offset))
    definitions = [await conn.fetchval("SELECT pg_get_indexdef($1::regclass)", name) for name in INDEXES]
    for name in INDEXES:
        await conn.execute(f"DROP INDEX {name}")
    await conn.execute("SET synchronous_commit = off")
    await conn.execute("SET maintenance_work_mem = '1GB'")
    # A skewed population (a few heavy users, a long tail), uniform times over 90 days.
    end = datetime.combine(as_of + timedelta(days=1), datetime.min.time(), UTC)
    chunk = 1_000_000
    for start in range(0, events, chunk):
        await conn.execute(
            """
            INSERT INTO product_events (event_id, occurred_at, received_at, event_name, user_key, project_id,
                                        plan, country, source, properties)
            SELECT gen_random_uuid(), at, at, ($3::text[])[1 + (i % 7)], left(md5(u::text), 32),
                   md5('p' || (u % 500))::uuid, 'pro', ($4::text[])[1 + (u % 16)], 'http', '{}'
            FROM (
                SELECT i, floor(power(random(), 2) * $5)::int AS u,
                       $6::timestamptz - random() * interval '90 days' AS at
                FROM generate_series($1::int, $2::int) AS i
            ) g
            """,
            start,
            min(start + chunk, events) - 1,
            list(NAMES),
            list(COUNTRIES),
            users,
            end,
        )
    await conn.execute(
        """
        INSERT INTO product_events (event_id, occurred_at, received_at, event_name, user_key, project_id,
                                    plan, country, source, properties)
        SELECT gen_random_uuid(), at, at, name, user_key, NULL, 'free', NULL, 'internal', '{}'
        FROM (
            -- A quarter of the users signed up in the last 8 weeks: the cohorts' worst case, every one
            -- of them active most days since.
            SELECT user_key, CASE WHEN hashtext(user_key) % 4 = 0
                                  THEN $1::timestamptz - random() * interval '56 days'
                                  ELSE min(occurred_at) END AS at
            FROM product_events GROUP BY user_key
        ) u,
             LATERAL (VALUES ('user_signup'), ('project_created')) AS n(name)
        WHERE name = 'user_signup' OR hashtext(user_key) % 3 = 0
        """,
        end,
    )
    for definition in definitions:
        await conn.execute(definition)
    await conn.execute("VACUUM ANALYZE product_events")
    return time.perf_counter() - started


async def build_rollups(dsn: str) -> float:
    started = time.perf_counter()
    # A one-off bulk job: room to sort in memory (the view itself runs with the defaults).
    pool = await asyncpg.create_pool(dsn, min_size=1, max_size=1, server_settings={"work_mem": "512MB"})
    assert pool is not None
    try:
        await IngestRepository(pool).rebuild_rollups()
        async with pool.acquire() as conn:
            for table in ROLLUPS:
                await conn.execute(f"VACUUM ANALYZE {table}")
    finally:
        await pool.close()
    return time.perf_counter() - started


async def main(events: int, users: int, rounds: int) -> None:
    as_of = datetime.now(UTC).date()
    async with running_stack() as stack:
        dsn = await stack.database("founder")
        conn = await asyncpg.connect(dsn)
        try:
            seeded = await seed(conn, events, users, as_of)
            stored = await conn.fetchval("SELECT count(*) FROM product_events")
        finally:
            await conn.close()
        print(f"seeded {stored} events for {users} users over {DAYS} days in {seeded:.0f} s")
        rebuilt = await build_rollups(dsn)
        print(f"rollups built from them in {rebuilt:.0f} s")
        pool = await asyncpg.create_pool(dsn, min_size=4, max_size=16)
        try:
            await founder_overview(pool, as_of, 30, 30.0)  # warm-up: plans and cache
            view = []
            for _ in range(rounds):
                started = time.perf_counter()
                await founder_overview(pool, as_of, 30, 30.0)
                view.append(time.perf_counter() - started)
            first = as_of - timedelta(days=29)
            start = datetime.combine(first, datetime.min.time(), UTC)
            end = datetime.combine(as_of + timedelta(days=1), datetime.min.time(), UTC)
            parts: dict[str, tuple[Any, ...]] = {
                "active users (DAU/WAU/MAU, churn)": (F.active_user_changes, as_of),
                "countries": (F.countries, as_of),
                "cohorts": (F.cohorts, as_of, 8),
                "funnel": (F.funnel, start, end),
                "sessions (7 days)": (F.sessions, as_of - timedelta(days=6), as_of),
                "top_projects": (F.top_projects, first, as_of, 10),
            }
            breakdown: dict[str, float] = {}
            async with pool.acquire() as c:
                for label, (sql, *args) in parts.items():
                    started = time.perf_counter()
                    await c.fetch(sql, *args)
                    breakdown[label] = time.perf_counter() - started
            naive = []
            since = datetime.combine(as_of - timedelta(days=29), datetime.min.time(), UTC)
            async with pool.acquire() as c:
                for _ in range(max(3, rounds // 2)):
                    started = time.perf_counter()
                    await c.fetchval(
                        "SELECT count(DISTINCT user_key) FROM product_events WHERE occurred_at >= $1", since
                    )
                    naive.append(time.perf_counter() - started)
        finally:
            await pool.close()
    ours, base = summary(view), summary(naive)
    print_table(
        f"Founder View over {stored:,} events (seconds)",
        ["query", "p50", "max", "target"],
        [
            ["whole Founder View (30-day series)", fmt(ours["p50"]), fmt(ours["max"]), f"< {TARGET_S}"],
            ["baseline: one MAU by count(DISTINCT) on raw events", fmt(base["p50"]), fmt(base["max"]), ""],
        ],
    )
    print(f"ratio ours/baseline (p50): {fmt(ratio(ours['p50'], base['p50']), digits=3)}")
    print_table(
        "Sections run alone (seconds)", ["query", "time"], [[k, fmt(v)] for k, v in breakdown.items()]
    )
    emit(
        "founder_view",
        {
            "events": stored,
            "users": users,
            "view_s": ours,
            "naive_mau_s": base,
            "ratio_p50": ratio(ours["p50"], base["p50"]),
            "sections_s": breakdown,
            "target_s": TARGET_S,
            "meets_target": ours["p50"] < TARGET_S,
        },
    )


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--users", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    run_on_loop(main(args.events, args.users, args.rounds))


if __name__ == "__main__":
    cli()
