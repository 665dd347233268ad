"""Ingest throughput: product events per second from HTTP batches through NATS and the ingest service into
Postgres (with every Founder View rollup), against raw asyncpg `copy_records_to_table` of the same rows into
the same table, in the same run.

Three paths, one after the other on one stack (NATS and a durable Postgres), the tables emptied in between:

1. Baseline: the rows COPY'd straight into `product_events`, one transaction per `--batch` rows
   (durability per batch, as ingest needs before it acks), and nothing else.
2. End to end, the headline figure: a `seqpulse-gateway` and a `seqpulse-ingest` process
   (`SEQPULSE_INGEST_BATCH_SIZE` = `--batch`) as in production. The client POSTs the events to
   `/events` in batches of at most 1000 with the projects' API keys, 4 requests in flight, and the clock
   runs from the first POST until the ingest process has handled them all and folded every stored one
   into the rollups. Its `/metrics` (polled every 50 ms for four samples only, `name[]`, which costs the
   database nothing) tells when; the clock stops at the time the process itself recorded for the fold
   that took in the last events (`seqpulse_ingest_last_folded_timestamp_seconds`), not when the poll
   noticed, which would add up to 50 ms of the bench's own. Every POST must answer 202 with all its
   events accepted. For information it also prints when the process's last commit of new events came
   (`seqpulse_ingest_last_stored_timestamp_seconds`): every event is durable from then on, and the
   Founder View is complete once the rollups are folded.
3. Capacity (informative): the same events under new ids already on JetStream, drained by an in-process
   `IngestService` (the same code the process runs) from its start until all are stored and folded.

The events (`bench/event_corpus.py`): `--users` users, each with one country (about 10% none) and one or two
of `--projects` projects, over the last 36 hours, the nine known event names with their documented
properties, about 2% without a user. An API key sends its own project's events only, and the gateway takes
the country from the request's address, so the client sends each (project, country) group in its own
requests, with `X-Forwarded-For` an address of that country in MaxMind's test database (the gateway trusts
127.0.0.1 as a proxy; a private address for "none"): batches are therefore often below 1000 (the mean is
printed). The baseline rows are the rows the gateway publishes (same ids, users, projects, plans, countries,
properties, times; only `received_at` differs), in the order they are posted. The set-up's own events
(`project_created`) are stored before the clock starts and left out of the checks.

The whole run is repeated `--rounds` times (5), each on a fresh stack with its own baseline, and the target
is judged on the median of the rounds' ratios: on this machine one round's ratio moves by a tenth from one
run to the next, and the baseline's COPY alone by a fifth.

`python -m bench.ingest_throughput [--events 50000] [--batch 1000] [--users 2000] [--projects 5] [--rounds 5]`
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import statistics
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import orjson
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from bench.event_corpus import ANALYTICS_KEY, GEOIP_DB, Post, Project, check_addresses, make_posts
from bench.procs import console_script, cpu_seconds, running, spawn, stop, tree_cpu_seconds, wait_ready
from bench.report import emit, fmt, print_table, ratio
from bench.stack import Stack, log_services_to, running_stack
from seqpulse.common.bus import Bus
from seqpulse.common.db.pool import Pool, create_pool
from seqpulse.common.devstack import free_port
from seqpulse.common.messages import ProductEvent
from seqpulse.common.runtime.heap import settle_heap
from seqpulse.common.runtime.loop import run as run_on_loop
from seqpulse.gateway.admin import create_token, create_user
from seqpulse.gateway.event_intake import SharedFields
from seqpulse.ingest.app import IngestService
from seqpulse.ingest.config import IngestSettings
from seqpulse.ingest.events import COLUMNS, to_row

TARGET_RATIO = 0.5
POST_CONCURRENCY = 4
POLL_SECONDS = 0.05
# The samples the poll reads: the process renders only these (`name[]`), not its every family.
POLLED = (
    "seqpulse_ingest_events_total",
    "seqpulse_ingest_batch_size_events_count",
    "seqpulse_ingest_folded_events_total",
    "seqpulse_ingest_last_folded_timestamp_seconds",
    "seqpulse_ingest_last_stored_timestamp_seconds",
)
ROLLUPS = (
    "user_daily_activity, activity_days, active_user_changes, user_milestones, activity_sessions,"
    " session_days, project_days, ingest_watermark"
)
# Every partition of product_events with its indexes and TOAST (the ClickHouse ADR's size threshold).
SIZE_SQL = """
SELECT coalesce(sum(pg_total_relation_size(i.inhrelid)), 0)
FROM pg_inherits i WHERE i.inhparent = 'product_events'::regclass
"""


@dataclass
class Posted:
    answers: Counter[str] = field(default_factory=Counter)
    accepted: int = 0
    rejected: int = 0
    seconds: float = 0.0  # from the first POST until the last answer


@dataclass(frozen=True, slots=True)
class Handled:
    """The ingest process's `seqpulse_ingest_events_total` by outcome, its batch count, the events it
    folded into the rollups (`seqpulse_ingest_folded_events_total`), and the Unix times its last fold
    ended and its last commit stored a new event (`seqpulse_ingest_last_folded_timestamp_seconds`,
    `seqpulse_ingest_last_stored_timestamp_seconds`, 0 before any)."""

    stored: float = 0.0
    duplicate: float = 0.0
    rejected: float = 0.0
    dropped: float = 0.0
    batches: float = 0.0
    folded: float = 0.0
    folded_at: float = 0.0
    stored_at: float = 0.0

    @property
    def total(self) -> float:
        return self.stored + self.duplicate + self.rejected + self.dropped


# --- the three paths -----------------------------------------------------------------------------------


async def baseline(pool: Pool, events: list[ProductEvent], batch: int) -> float:
    """Raw COPY of the same rows into product_events, a transaction per batch; returns seconds. The
    properties go as the events' dicts, serialised by the pool's jsonb codec, as a COPY of these events
    would send them (the ingest sends the JSON it already has from checking their size)."""
    rows = [(*to_row(e)[:-1], e.properties) for e in events]
    started = time.perf_counter()
    async with pool.acquire() as conn:
        for start in range(0, len(rows), batch):
            async with conn.transaction():
                await conn.copy_records_to_table(
                    "product_events", records=rows[start : start + batch], columns=COLUMNS
                )
    return time.perf_counter() - started


async def post_all(base: str, posts: list[Post], started: float) -> Posted:
    """Send every request, `POST_CONCURRENCY` in flight; `seconds` counts from `started`."""
    posted = Posted()
    pending = iter(posts)

    async def worker(http: aiohttp.ClientSession) -> None:
        for post in pending:  # the shared iterator hands each request to exactly one worker
            headers = {
                "X-API-Key": post.api_key,
                "X-Forwarded-For": post.address,
                "Content-Type": "application/json",
            }
            try:
                async with http.post(f"{base}/events", data=post.body, headers=headers) as response:
                    body = await response.read()
                    posted.answers[str(response.status)] += 1
                    if response.status == 202:
                        answer = orjson.loads(body)
                        posted.accepted += int(answer["accepted"])
                        posted.rejected += len(answer["rejected"])
            except (aiohttp.ClientError, TimeoutError) as exc:
                posted.answers[f"error: {type(exc).__name__}"] += 1

    connector = aiohttp.TCPConnector(limit=POST_CONCURRENCY)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=60)) as http:
        await asyncio.gather(*(worker(http) for _ in range(POST_CONCURRENCY)))
    posted.seconds = time.perf_counter() - started
    return posted


async def handled(http: aiohttp.ClientSession, metrics_url: str) -> Handled:
    """The ingest process's counters, from its Prometheus text."""
    async with http.get(metrics_url, params=[("name[]", name) for name in POLLED]) as response:
        text = await response.text()
    values: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "seqpulse_ingest_events_total":
                values[sample.labels["outcome"]] = sample.value
            elif sample.name == "seqpulse_ingest_batch_size_events_count":
                values["batches"] = sample.value
            elif sample.name == "seqpulse_ingest_folded_events_total":
                values["folded"] = sample.value
            elif sample.name == "seqpulse_ingest_last_folded_timestamp_seconds":
                values["folded_at"] = sample.value
            elif sample.name == "seqpulse_ingest_last_stored_timestamp_seconds":
                values["stored_at"] = sample.value
    names = ("stored", "duplicate", "rejected", "dropped", "batches", "folded", "folded_at", "stored_at")
    return Handled(*(values.get(name, 0.0) for name in names))


async def wait_handled(
    metrics_url: str, at_least: float, deadline: float, posting: asyncio.Task[Posted] | None = None
) -> Handled:
    """Poll until the process has handled `at_least` events and folded every one it stored (it is the only
    replica), the deadline passes, or a POST failed."""
    async with aiohttp.ClientSession() as http:
        while True:
            now = await handled(http, metrics_url)
            done = now.total >= at_least and now.folded >= now.stored
            if done or time.perf_counter() > deadline:
                return now
            if posting is not None and posting.done():
                posted = posting.result()  # raises what the client raised
                if set(posted.answers) != {"202"} or posted.rejected:
                    return now  # some events will never come
            await asyncio.sleep(POLL_SECONDS)


async def end_to_end(
    gateway: str, metrics_url: str, posts: list[Post], before: Handled, limit: float
) -> tuple[float, float, Posted, Handled]:
    """Seconds from the first POST until the process handled them all and folded the last of them (by
    its own clock: the fold that completed the work is its last one), seconds until its last commit of
    new events (the rollups folded after it), the answers, the counters."""
    n = sum(post.events for post in posts)
    started, wall_started = time.perf_counter(), time.time()
    posting = asyncio.create_task(post_all(gateway, posts, started))
    after = await wait_handled(metrics_url, before.total + n, started + limit, posting)
    noticed = time.perf_counter() - started
    posted = await posting
    # The same host's clock on both sides; the poll's moment is the fallback should the gauge not have
    # moved during the run (then the run failed its checks anyway).
    completed = after.folded_at - wall_started
    elapsed = completed if 0 < completed <= noticed else noticed
    stored = after.stored_at - wall_started
    return elapsed, stored if 0 < stored <= elapsed else elapsed, posted, after


def stored_so_far() -> float:
    return REGISTRY.get_sample_value("seqpulse_ingest_events_total", {"outcome": "stored"}) or 0.0


def folded_so_far() -> float:
    return REGISTRY.get_sample_value("seqpulse_ingest_folded_events_total") or 0.0


async def capacity(stack: Stack, dsn: str, n: int, batch: int, limit: float) -> tuple[float, int]:
    """An in-process service on the published backlog: seconds until all `n` are committed and folded,
    batches."""
    service = IngestService(
        IngestSettings(
            database_url=dsn, nats_url=stack.nats_url, bus_prefix=stack.prefix, ingest_batch_size=batch
        )
    )
    before, folded_before = stored_so_far(), folded_so_far()
    await service.start()
    # As `seqpulse-ingest` does once started; here it also keeps the bench's own data (the events, twice)
    # out of the collector's walks, which otherwise cost the in-process service a third of its speed.
    settle_heap()
    started = time.perf_counter()
    try:
        while True:  # polls the service's own counter: it costs the database nothing
            elapsed = time.perf_counter() - started
            done = stored_so_far() - before >= n and folded_so_far() - folded_before >= n
            if done or elapsed > limit:
                break
            await asyncio.sleep(0.01)
    finally:
        await service.stop()
    batches = REGISTRY.get_sample_value("seqpulse_ingest_batch_size_events_count") or 0
    return elapsed, int(batches)


async def publish_all(bus: Bus, events: list[ProductEvent], sizes: list[int]) -> float:
    """Publish the events as the gateway does, request by request (`sizes`: events per request, in
    order): a request's events of one name in a frame, what they share (name, time of receipt, project,
    country, source) written once (ADR 0017), so the backlog holds the same frames; returns seconds."""
    started = time.perf_counter()
    start = 0
    for size in sizes:
        request = events[start : start + size]
        start += size
        # One API key and one address per request (event_corpus.py): one project and country, and the
        # gateway's one time of receipt.
        first = request[0]
        assert first.project_id is not None and {(e.project_id, e.country) for e in request} == {
            (first.project_id, first.country)
        }
        shared = SharedFields(
            prefix=bus.prefix,
            received_at=first.received_at,
            project_id=first.project_id,
            country=first.country,
        )
        encoded = [
            ProductEvent.encode_own(
                shared.subject(e.event_name),
                message_id=e.message_id,
                occurred_at=e.occurred_at,
                user_key=e.user_key,
                plan=e.plan,
                properties=e.properties,
            )
            for e in request
        ]
        await bus.publish_encoded(encoded, shared=shared.by_subject)
    return time.perf_counter() - started


# --- set-up and checks ---------------------------------------------------------------------------------


async def create_projects(base: str, pool: Pool, count: int) -> list[Project]:
    await create_user(pool, email="bench@example.com", name="Bench", password=None)
    token = (await create_token(pool, email="bench@example.com", name="bench", scopes=["write"])).token
    projects = []
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {token}"}) as http:
        for i in range(count):
            plan = ("pro", "free", "enterprise")[i % 3]
            body = {"name": f"bench-{i}", "plan": plan, "metrics_endpoint": "http://127.0.0.1:9/metrics"}
            async with http.post(f"{base}/projects", json=body) as response:
                created = await response.json()
                if response.status != 201:
                    raise RuntimeError(f"POST /projects answered {response.status}: {created}")
            projects.append(Project(uuid.UUID(created["id"]), plan, str(created["api_key"])))
    return projects


async def set_up_events_published(stack: Stack, pool: Pool, timeout: float = 30.0) -> int:
    """Waits until the gateway's outbox is empty; returns the messages on the EVENTS stream."""
    deadline = time.perf_counter() + timeout
    async with pool.acquire() as conn:
        while await conn.fetchval("SELECT count(*) FROM gateway_outbox"):
            if time.perf_counter() > deadline:
                raise RuntimeError("the gateway's outbox was not relayed in time")
            await asyncio.sleep(0.1)
    return await stack.events_on_stream()


async def truncate(pool: Pool) -> None:
    async with pool.acquire() as conn:
        await conn.execute(f"TRUNCATE product_events, {ROLLUPS}")


async def stored_and_counted(pool: Pool, user_keys: list[str]) -> tuple[int, int]:
    """Events stored from HTTP, and the bench users' events counted in user_daily_activity."""
    async with pool.acquire() as conn:
        stored = await conn.fetchval("SELECT count(*) FROM product_events WHERE source = 'http'")
        counted = await conn.fetchval(
            "SELECT coalesce(sum(events), 0) FROM user_daily_activity WHERE user_key = ANY($1::text[])",
            user_keys,
        )
    return int(stored), int(counted)


# --- the run -------------------------------------------------------------------------------------------


async def run(args: argparse.Namespace) -> dict[str, Any]:
    check_addresses()
    async with running_stack() as stack:
        log_services_to(stack.root / "services.log")  # the in-process service of the capacity path
        await stack.apply_bus()
        dsn = await stack.database("ingest_bench")
        pool = await create_pool(dsn, min_size=1, max_size=2)
        try:
            return await _measure(args, stack, dsn, pool)
        finally:
            await pool.close()


async def _measure(args: argparse.Namespace, stack: Stack, dsn: str, pool: Pool) -> dict[str, Any]:
    gw_port, health_port = free_port(), free_port()
    common = {
        "DATABASE_URL": dsn,
        "NATS_URL": stack.nats_url,
        "SEQPULSE_BUS_PREFIX": stack.prefix,
        "SEQPULSE_ANALYTICS_KEY": ANALYTICS_KEY,
    }
    gateway_env = {
        "SEQPULSE_GATEWAY_PORT": str(gw_port),
        "SEQPULSE_GEOIP_DB": str(GEOIP_DB),
        "SEQPULSE_TRUSTED_PROXIES": "127.0.0.1",
    }
    ingest_env = {"SEQPULSE_HEALTH_PORT": str(health_port), "SEQPULSE_INGEST_BATCH_SIZE": str(args.batch)}
    gw, health = f"http://127.0.0.1:{gw_port}", f"http://127.0.0.1:{health_port}"
    f: dict[str, Any] = {}
    gateway = spawn(
        [console_script("seqpulse-gateway")], env={**common, **gateway_env}, log=stack.root / "gateway.log"
    )
    ingest = None
    try:
        await wait_ready(f"{gw}/readyz", gateway)
        posts, events = make_posts(args.events, args.users, await create_projects(gw, pool, args.projects))
        user_keys = sorted({e.user_key for e in events if e.user_key is not None})
        f["requests"], f["with_user"] = len(posts), sum(e.user_key is not None for e in events)
        f["copy_s"] = await baseline(pool, events, args.batch)
        async with pool.acquire() as conn:
            f["copied"] = int(await conn.fetchval("SELECT count(*) FROM product_events"))
        await truncate(pool)

        set_up = await set_up_events_published(stack, pool)
        ingest = spawn(
            [console_script("seqpulse-ingest")], env={**common, **ingest_env}, log=stack.root / "ingest.log"
        )
        await wait_ready(f"{health}/readyz", ingest)
        before = await wait_handled(f"{health}/metrics", set_up, time.perf_counter() + 30)
        if before.total < set_up:
            raise RuntimeError(f"ingest handled {before.total:.0f} of the {set_up} set-up events")
        pids = {"gateway": gateway.pid, "ingest": ingest.pid, "nats": running(stack.nats.proc)}
        postmaster = running(stack.pg.proc)
        processes: dict[str, Callable[[], float]] = {
            **{name: functools.partial(cpu_seconds, pid) for name, pid in pids.items()},
            "postgres": lambda: tree_cpu_seconds(postmaster),  # the postmaster and its backends
        }
        cpu_before = {name: read() for name, read in processes.items()}
        f["e2e_s"], f["stored_s"], posted, after = await end_to_end(
            gw, f"{health}/metrics", posts, before, args.limit
        )
        # CPU per event stored: what each process spent on the end-to-end path (steadier than a rate).
        f["cpu_us"] = {
            name: (read() - cpu_before[name]) * 1e6 / max(1, args.events) for name, read in processes.items()
        }
        f["answers"], f["accepted"], f["http_s"] = dict(posted.answers), posted.accepted, posted.seconds
        f["handled_stored"] = int(after.stored - before.stored)
        f["handled_other"] = int(after.total - before.total) - f["handled_stored"]
        f["batches"] = int(after.batches - before.batches)
        f["stored"], f["counted"] = await stored_and_counted(pool, user_keys)
        async with pool.acquire() as conn:
            f["bytes_per_event"] = int(await conn.fetchval(SIZE_SQL)) / max(f["stored"], 1)
    finally:
        if ingest is not None:
            stop(ingest)
        stop(gateway)

    await truncate(pool)
    # New ids: JetStream would drop the same ones as duplicates within its window.
    again = [e.model_copy(update={"message_id": str(uuid.uuid4())}) for e in events]
    bus = await Bus.connect(stack.nats_url, stack.prefix, name="bench")
    try:
        f["publish_s"] = await publish_all(bus, again, [post.events for post in posts])
    finally:
        await bus.close()
    f["capacity_s"], f["capacity_batches"] = await capacity(stack, dsn, len(again), args.batch, args.limit)
    f["capacity_stored"], f["capacity_counted"] = await stored_and_counted(pool, user_keys)
    return _figures(args, f)


def _figures(args: argparse.Namespace, f: dict[str, Any]) -> dict[str, Any]:
    n = args.events
    copy_rate = f["copied"] / f["copy_s"]
    e2e_rate = f["stored"] / f["e2e_s"]
    capacity_rate = f["capacity_stored"] / f["capacity_s"]
    r_e2e, r_capacity = ratio(e2e_rate, copy_rate), ratio(capacity_rate, copy_rate)
    rows = [
        _row("raw copy_records_to_table (baseline)", f["copied"], f["copy_s"]),
        _row("HTTP -> gateway -> NATS -> ingest -> Postgres, folded", f["stored"], f["e2e_s"]),
        _row("  of which POST /events until the last 202", f["accepted"], f["http_s"]),
        _row("  of which until the last event stored (rollups after)", f["stored"], f["stored_s"]),
        _row("JetStream backlog -> ingest -> Postgres (capacity)", f["capacity_stored"], f["capacity_s"]),
        _row("  publish to JetStream (set-up, not compared)", n, f["publish_s"]),
        ["ratio end to end / raw COPY", "", "", fmt(r_e2e, "", 3)],
        ["ratio capacity / raw COPY", "", "", fmt(r_capacity, "", 3)],
    ]
    title = f"Ingest throughput, {n} product events of {args.users} users in {args.projects} projects"
    print_table(f"{title}, ingest batches of {args.batch}", ["path", "events", "seconds", "events/s"], rows)
    checks = {
        "every POST answered 202, all accepted": set(f["answers"]) == {"202"} and f["accepted"] == n,
        "end to end: stored once each": f["stored"] == n == f["handled_stored"] and not f["handled_other"],
        "end to end: counted once in user_daily_activity": f["counted"] == f["with_user"],
        "capacity: stored and counted once each": f["capacity_stored"] == n
        and f["capacity_counted"] == f["with_user"],
    }
    print()
    for name, ok in checks.items():
        print(f"  [{'ok' if ok else 'FAILED'}] {name}")
    print(
        f"  {f['requests']} requests ({n / f['requests']:.0f} events each on average,"
        f" {POST_CONCURRENCY} in flight),"
        f" answers {f['answers']}; ingest stored {f['stored']}/{n} in {f['batches']} batches,"
        f" counted {f['counted']}/{f['with_user']} events with a user"
    )
    print(f"  on disk: {f['bytes_per_event']:.0f} bytes per event (table, TOAST and indexes)")
    cpu = f["cpu_us"]
    print(
        "  CPU per event, end to end: "
        + ", ".join(f"{name} {value:.1f} us" for name, value in cpu.items())
        + f" (total {sum(cpu.values()):.1f} us)"
    )
    return {
        "events": n,
        "batch": args.batch,
        "users": args.users,
        "projects": args.projects,
        "requests": f["requests"],
        "post_concurrency": POST_CONCURRENCY,
        "copy_events_per_s": copy_rate,
        "copy_s": f["copy_s"],
        "e2e_events_per_s": e2e_rate,
        "e2e_s": f["e2e_s"],
        "ratio_e2e_over_copy": r_e2e,
        "http_events_per_s": f["accepted"] / f["http_s"],
        # Informative: the rate of the events' last commit, the Founder View's rollups not yet folded.
        "stored_events_per_s": f["stored"] / f["stored_s"],
        "stored_s": f["stored_s"],
        "capacity_events_per_s": capacity_rate,
        "capacity_s": f["capacity_s"],
        "ratio_capacity_over_copy": r_capacity,
        "publish_events_per_s": n / f["publish_s"],
        "answers": f["answers"],
        "stored": f["stored"],
        "counted": f["counted"],
        "with_user": f["with_user"],
        "batches": f["batches"],
        "capacity_stored": f["capacity_stored"],
        "capacity_counted": f["capacity_counted"],
        "capacity_batches": f["capacity_batches"],
        "bytes_per_event": f["bytes_per_event"],
        "cpu_us_per_event": {name: round(value, 2) for name, value in f["cpu_us"].items()},
        "checks_passed": all(checks.values()),
    }


def judge_rounds(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """The rounds side by side, and the verdict on their median: a single round's ratio moves by a tenth
    from one run to the next on this machine (the baseline's COPY alone varies by a fifth), so one round
    can neither meet nor miss the target by itself. The figures kept are the median round's."""
    ratios = [r["ratio_e2e_over_copy"] for r in rounds]
    median = statistics.median(ratios)
    middle = min(rounds, key=lambda r: abs(r["ratio_e2e_over_copy"] - median))
    rows = [
        [
            str(i),
            fmt(r["copy_events_per_s"], "", 0),
            fmt(r["e2e_events_per_s"], "", 0),
            fmt(r["ratio_e2e_over_copy"], "", 3),
            fmt(r["ratio_capacity_over_copy"], "", 3),
            fmt(sum(r["cpu_us_per_event"].values()), "", 1),
            "ok" if r["checks_passed"] else "FAILED",
        ]
        for i, r in enumerate(rounds, 1)
    ]
    rows.append(
        [
            "median",
            fmt(statistics.median(r["copy_events_per_s"] for r in rounds), "", 0),
            fmt(statistics.median(r["e2e_events_per_s"] for r in rounds), "", 0),
            fmt(median, "", 3),
            fmt(statistics.median(r["ratio_capacity_over_copy"] for r in rounds), "", 3),
            fmt(statistics.median(sum(r["cpu_us_per_event"].values()) for r in rounds), "", 1),
            "",
        ]
    )
    headers = ["round", "raw COPY ev/s", "end to end ev/s", "ratio", "capacity ratio", "CPU us/ev", "checks"]
    print_table(f"{len(rounds)} rounds, each on its own stack", headers, rows)
    checked = all(r["checks_passed"] for r in rounds)
    met = median >= TARGET_RATIO and checked
    print(
        f"\n  target: median end to end >= {TARGET_RATIO} x raw COPY, every check passes in every round"
        f" -> {'met' if met else 'MISSED'} (rounds {min(ratios):.3f}-{max(ratios):.3f})"
    )
    return {
        **middle,
        "rounds": len(rounds),
        "round_ratios": ratios,
        "ratio_e2e_over_copy": median,
        "checks_passed": checked,
        "target_ratio": TARGET_RATIO,
        "target_met": met,
    }


def _row(label: str, events: int, seconds: float) -> list[str]:
    return [label, str(events), fmt(seconds), fmt(events / seconds, "", 0)]


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.ingest_throughput", description=__doc__)
    parser.add_argument("--events", type=int, default=50_000, help="events sent and stored")
    parser.add_argument("--batch", type=int, default=1000, help="SEQPULSE_INGEST_BATCH_SIZE and COPY size")
    parser.add_argument("--users", type=int, default=2000, help="distinct users")
    parser.add_argument("--projects", type=int, default=5, help="projects (one API key each)")
    parser.add_argument("--limit", type=float, default=60.0, help="seconds allowed for each path to finish")
    parser.add_argument(
        "--rounds", type=int, default=5, help="independent runs, each on its own stack; judged on the median"
    )
    args = parser.parse_args()
    if args.rounds < 1:
        parser.error("--rounds: must be at least 1")
    rounds = []
    for i in range(args.rounds):
        print(f"\n=== round {i + 1} of {args.rounds}")
        rounds.append(run_on_loop(run(args)))
    emit("ingest_throughput", judge_rounds(rounds))


if __name__ == "__main__":
    main()
