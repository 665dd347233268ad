"""Ingest throughput: product events per second from JetStream through the ingest service into Postgres,
against raw asyncpg `copy_records_to_table` of the same rows into the same table, in the same run.

The events are published to JetStream first (timed apart), then one in-process `IngestService` drains
them: pull batches, decode and validate each `ProductEvent`, COPY into its staging table, insert the new
rows into `product_events` and upsert `user_daily_activity`, commit, ack. The baseline COPYs the very same
rows straight into `product_events` with one transaction per batch of the same size (durability per
batch, as ingest needs before it acks), and does nothing else.

`python -m bench.ingest_throughput [--events 50000] [--batch 1000] [--users 2000]`
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from prometheus_client import REGISTRY

from bench.report import emit, fmt, print_table, ratio
from bench.stack import Stack, log_services_to, running_stack
from seqpulse.common.bus import Bus
from seqpulse.common.db.pool import Pool, create_pool
from seqpulse.common.messages import ProductEvent
from seqpulse.common.messages.product import KNOWN_EVENTS, pseudonymise
from seqpulse.ingest.app import IngestService
from seqpulse.ingest.config import IngestSettings
from seqpulse.ingest.events import COLUMNS, to_row

TARGET_RATIO = 0.5
PUBLISH_CONCURRENCY = 256
# Every partition of product_events with its indexes and TOAST (the ClickHouse ADR's size threshold).
SIZE_SQL = """
SELECT coalesce(sum(pg_total_relation_size(i.inhrelid)), 0)
FROM pg_inherits i WHERE i.inhparent = 'product_events'::regclass
"""
COUNTRIES = ("FR", "DE", "US", "GB", "ES", "IT", "NL", "BE", "CA", "BR", None)


def make_events(n: int, users: int, seed: int = 7) -> list[ProductEvent]:
    """`n` events of `users` users over 50 projects in the last 36 hours (two or three daily partitions)."""
    rng = random.Random(seed)
    now = datetime.now(UTC)
    keys = [pseudonymise(f"user-{u}", b"bench-analytics-key") for u in range(users)]
    projects = [uuid.UUID(int=rng.getrandbits(128)) for _ in range(50)]
    names = sorted(KNOWN_EVENTS)
    events = []
    for _ in range(n):
        at = now - timedelta(seconds=rng.uniform(0, 36 * 3600))
        events.append(
            ProductEvent(
                message_id=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                event_name=rng.choice(names),
                occurred_at=at,
                received_at=at,
                user_key=rng.choice(keys),
                project_id=rng.choice(projects),
                plan=rng.choice(("free", "pro", "enterprise")),
                country=rng.choice(COUNTRIES),
                properties={
                    "env": "prod",
                    "deployment_id": str(rng.choice(projects)),
                    "hints": rng.randint(0, 9),
                },
                source="http",
            )
        )
    return events


async def publish_all(bus: Bus, events: list[ProductEvent]) -> float:
    """Publish every event (awaiting each PubAck, `PUBLISH_CONCURRENCY` at a time); returns seconds."""
    started = time.perf_counter()
    for start in range(0, len(events), PUBLISH_CONCURRENCY):
        await asyncio.gather(*(bus.publish(e) for e in events[start : start + PUBLISH_CONCURRENCY]))
    return time.perf_counter() - started


async def baseline(pool: Pool, events: list[ProductEvent], batch: int) -> float:
    """Raw COPY of the same rows into product_events, a transaction per batch; returns seconds."""
    rows = [to_row(e) for e in events]
    started = time.perf_counter()
    async with pool.acquire() as conn:
        for start in range(0, len(rows), batch):
            async with conn.transaction():
                await conn.copy_records_to_table(
                    "product_events", records=rows[start : start + batch], columns=COLUMNS
                )
    return time.perf_counter() - started


def stored_so_far() -> float:
    return REGISTRY.get_sample_value("seqpulse_ingest_events_total", {"outcome": "stored"}) or 0.0


async def through_ingest(stack: Stack, dsn: str, n: int, batch: int, limit: float) -> tuple[float, int]:
    """Start the service on the published backlog; seconds until all `n` are committed, batches written."""
    service = IngestService(
        IngestSettings(
            database_url=dsn, nats_url=stack.nats_url, bus_prefix=stack.prefix, ingest_batch_size=batch
        )
    )
    before = stored_so_far()
    await service.start()
    started = time.perf_counter()
    try:
        while True:  # polls the service's own counter: it costs the database nothing
            elapsed = time.perf_counter() - started
            if stored_so_far() - before >= n or elapsed > limit:
                break
            await asyncio.sleep(0.01)
    finally:
        await service.stop()
    batches = REGISTRY.get_sample_value("seqpulse_ingest_batch_size_events_count") or 0
    return elapsed, int(batches)


async def run(args: argparse.Namespace) -> dict[str, Any]:
    async with running_stack() as stack:
        log_services_to(stack.root / "services.log")
        await stack.apply_bus()
        dsn = await stack.database("ingest_bench")
        events = make_events(args.events, args.users)
        pool = await create_pool(dsn, min_size=1, max_size=2)
        bus = await Bus.connect(stack.nats_url, stack.prefix, name="bench")
        try:
            copy_seconds = await baseline(pool, events, args.batch)
            async with pool.acquire() as conn:
                copied = int(await conn.fetchval("SELECT count(*) FROM product_events"))
                await conn.execute("TRUNCATE product_events, user_daily_activity")
            publish_seconds = await publish_all(bus, events)
            ingest_seconds, batches = await through_ingest(stack, dsn, args.events, args.batch, args.limit)
            async with pool.acquire() as conn:
                stored = int(await conn.fetchval("SELECT count(*) FROM product_events"))
                counted = int(await conn.fetchval("SELECT coalesce(sum(events), 0) FROM user_daily_activity"))
                size = int(await conn.fetchval(SIZE_SQL))
        finally:
            await bus.close()
            await pool.close()
    return _figures(
        args, copy_seconds, copied, publish_seconds, ingest_seconds, stored, counted, batches, size
    )


def _figures(
    args: argparse.Namespace,
    copy_seconds: float,
    copied: int,
    publish_seconds: float,
    ingest_seconds: float,
    stored: int,
    counted: int,
    batches: int,
    size: int,
) -> dict[str, Any]:
    n = args.events
    ingest_rate = stored / ingest_seconds
    copy_rate = copied / copy_seconds
    r = ratio(ingest_rate, copy_rate)
    print_table(
        f"Ingest throughput, {n} product events of {args.users} users, batches of {args.batch}",
        ["path", "events", "seconds", "events/s"],
        [
            [
                "NATS -> ingest -> Postgres (+ activity)",
                str(stored),
                fmt(ingest_seconds),
                fmt(ingest_rate, "", 0),
            ],
            ["raw copy_records_to_table (baseline)", str(copied), fmt(copy_seconds), fmt(copy_rate, "", 0)],
            [
                "publish to JetStream (setup, not compared)",
                str(n),
                fmt(publish_seconds),
                fmt(n / publish_seconds, "", 0),
            ],
            ["ratio ingest / raw COPY", "", "", fmt(r, "", 3)],
        ],
    )
    met = stored == n and counted == n and r >= TARGET_RATIO
    verdict = "met" if met else "MISSED"
    print(f"\n  target: ratio >= {TARGET_RATIO}, every event stored and counted once -> {verdict}")
    print(f"  stored {stored}/{n}, counted in user_daily_activity {counted}/{n}, batches {batches}")
    print(f"  on disk: {size / max(stored, 1):.0f} bytes per event (table, TOAST and indexes)")
    return {
        "events": n,
        "batch": args.batch,
        "users": args.users,
        "ingest_events_per_s": ingest_rate,
        "copy_events_per_s": copy_rate,
        "ratio_ingest_over_copy": r,
        "ingest_s": ingest_seconds,
        "copy_s": copy_seconds,
        "publish_events_per_s": n / publish_seconds,
        "stored": stored,
        "counted": counted,
        "batches": batches,
        "bytes_per_event": size / max(stored, 1),
        "target_ratio": TARGET_RATIO,
        "target_met": met,
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.ingest_throughput", description=__doc__)
    parser.add_argument("--events", type=int, default=50_000, help="events published and stored")
    parser.add_argument("--batch", type=int, default=1000, help="SEQPULSE_INGEST_BATCH_SIZE and COPY size")
    parser.add_argument("--users", type=int, default=2000, help="distinct user keys")
    parser.add_argument("--limit", type=float, default=60.0, help="seconds allowed for ingest to drain")
    args = parser.parse_args()
    emit("ingest_throughput", asyncio.run(run(args)))


if __name__ == "__main__":
    main()
