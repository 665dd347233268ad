"""The Founder View's rollups, folded from the batches' summaries, equal a brute-force count over the
events, and a rebuild from the stored events: whatever the arrival order and however the summaries are
grouped into folds, with concurrent batches and folds, repeats and late events."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from seqpulse.ingest.events import COLUMNS, Row, to_row
from seqpulse.ingest.repository import IngestRepository
from seqpulse.ingest.summary import BatchSummary
from seqpulse.ingest.writer import EventWriter, Outcome
from tests.integration.ingest.conftest import Ingest, product_event
from tests.support import eventually

pytestmark = [pytest.mark.postgres]
NOW = datetime.now(UTC).replace(microsecond=0)
GAP = timedelta(minutes=30)
WINDOWS = {"": (1, 7, 30, 60)}
# Each table with the columns that identify a row, in a stable order; counters with 0 left out.
SNAPSHOTS = {
    "user_daily_activity": "SELECT day, user_key, events, first_at, last_at FROM user_daily_activity",
    "activity_days": "SELECT user_key, scope, day FROM activity_days",
    "active_user_changes": "SELECT scope, win, day, delta FROM active_user_changes WHERE delta <> 0",
    "user_milestones": "SELECT * FROM user_milestones",
    "activity_sessions": "SELECT user_key, started_at, ended_at, events FROM activity_sessions",
    "session_days": "SELECT day, sessions, micros FROM session_days WHERE sessions <> 0 OR micros <> 0",
    "project_days": "SELECT day, project_id, events FROM project_days",
}


def random_events(rng: random.Random, n: int) -> list[Row]:
    users = [f"user-{i}" for i in range(25)]
    projects = [uuid.UUID(int=rng.getrandbits(128)) for _ in range(4)]
    names = ("user_login", "verdict_viewed", "user_signup", "project_created", "analysis_completed")
    rows = []
    for _ in range(n):
        # Clustered times (bursts within minutes, days apart) so sessions merge and split.
        at = NOW - timedelta(days=rng.randrange(70), minutes=rng.choice((0, 10, 25, 40, 200)) + rng.random())
        user = rng.choice(users)
        event = product_event(
            at,
            user=user if rng.random() > 0.05 else None,
            event_name=rng.choice(names),
            country=rng.choice(("FR", "DE", "SE", None)) if hash(user) % 3 else "FR",
            project_id=rng.choice((*projects, None)),
        )
        rows.append(to_row(event))
    return rows


async def snapshot(pool: asyncpg.Pool[Any]) -> dict[str, list[tuple[Any, ...]]]:
    async with pool.acquire() as conn:
        return {name: sorted(tuple(r) for r in await conn.fetch(sql)) for name, sql in SNAPSHOTS.items()}


def counts(changes: list[tuple[Any, ...]], scope: str, win: int, days: list[date]) -> list[int]:
    deltas = sorted((d, delta) for s, w, d, delta in changes if s == scope and w == win)
    return [sum(delta for d, delta in deltas if d <= day) for day in days]


def brute(rows: list[Row], scope: str, win: int, days: list[date]) -> list[int]:
    def in_scope(row: Row) -> bool:
        if scope == "":
            return True
        if scope == "c:*":
            return row[7] is not None
        if scope.startswith("c:"):
            return row[7] == scope[2:]
        return str(row[5]) == scope[2:]

    active = {(row[4], row[1].astimezone(UTC).date()) for row in rows if row[4] and in_scope(row)}
    return [len({u for u, d in active if day - timedelta(days=win - 1) <= d <= day}) for day in days]


def brute_sessions(rows: list[Row]) -> list[tuple[str, datetime, datetime, int]]:
    times: dict[str, list[datetime]] = defaultdict(list)
    for row in rows:
        if row[4]:
            times[row[4]].append(row[1])
    sessions = []
    for user, ats in times.items():
        ats.sort()
        start = prev = ats[0]
        events = 1
        for at in ats[1:]:
            if at - prev > GAP:
                sessions.append((user, start, prev, events))
                start, events = at, 0
            prev = at
            events += 1
        sessions.append((user, start, prev, events))
    return sorted(sessions)


async def test_rollups_match_brute_force_and_a_rebuild_whatever_the_order(pool: asyncpg.Pool[Any]) -> None:
    rng = random.Random(20261122)
    rows = random_events(rng, 1500)
    # Arrival: shuffled, in batches of 1 to 120, a tenth of them delivered twice, two batches at a time.
    arrivals = rows + rng.sample(rows, 150)
    rng.shuffle(arrivals)
    batches = []
    while arrivals:
        size = rng.randint(1, 120)
        batches.append(arrivals[:size])
        arrivals = arrivals[size:]
    repo = IngestRepository(pool)
    writer = EventWriter(repo)
    held: dict[int, BatchSummary] = {}  # as the rollup stage holds them; half are read back instead
    for pair in range(0, len(batches), 2):
        work = [writer.write(b) for b in batches[pair : pair + 2]]
        if pair % 6 == 4:  # a fold of 1 to 5 summaries at the same time as two batches
            work.append(repo.fold(dict(held), limit=rng.randint(1, 5)))
        for outcome in await asyncio.gather(*work):
            if isinstance(outcome, Outcome):
                held |= {p.id: p.summary for p in outcome.pending if p.id % 2}
    while (await repo.fold(held)).ids:
        pass
    assert await pool.fetchval("SELECT count(*) FROM rollup_backlog") == 0

    kept = await snapshot(pool)
    assert kept["activity_sessions"] == brute_sessions(rows)
    days = [NOW.date() - timedelta(days=n) for n in range(75)]
    changes = kept["active_user_changes"]
    for win in (1, 7, 30, 60):
        assert counts(changes, "", win, days) == brute(rows, "", win, days), win
    for scope in ("c:FR", "c:DE", "c:*", *(f"p:{p}" for p in {r[5] for r in rows if r[5]})):
        assert counts(changes, scope, 30, days) == brute(rows, scope, 30, days), scope
    per_day: dict[date, list[float]] = defaultdict(lambda: [0, 0.0])
    for _, start, end, _ in brute_sessions(rows):
        per_day[start.date()][0] += 1
        per_day[start.date()][1] += (end - start).total_seconds()
    assert {d: (s, m / 1e6) for d, s, m in kept["session_days"]} == {
        d: (s, pytest.approx(sec)) for d, (s, sec) in per_day.items()
    }

    await IngestRepository(pool).rebuild_rollups()
    assert await snapshot(pool) == kept


async def test_a_late_event_bridges_two_sessions_and_moves_the_counts(pool: asyncpg.Pool[Any]) -> None:
    repo = IngestRepository(pool)
    writer = EventWriter(repo)
    base = NOW - timedelta(days=3)

    def event(minutes: int) -> Row:
        return to_row(product_event(base + timedelta(minutes=minutes), user="bob"))

    await writer.write([event(0), event(20)])
    await writer.write([event(70), event(75)])  # 50 minutes after: a second session
    await repo.fold()
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM activity_sessions") == 2
        await writer.write([event(45)])  # within 30 minutes of both: one session from 0 to 75
        await repo.fold()
        sessions = [
            tuple(r) for r in await conn.fetch("SELECT started_at, ended_at, events FROM activity_sessions")
        ]
        totals = await conn.fetchrow("SELECT sum(sessions), sum(micros) FROM session_days")
    assert sessions == [(base, base + timedelta(minutes=75), 5)]
    assert tuple(totals) == (1, 75 * 60 * 1_000_000)


@pytest.mark.nats
async def test_events_stored_before_the_rollups_existed_are_counted_once_at_start(
    ingest: Ingest, pool: asyncpg.Pool[Any]
) -> None:
    # An upgraded database: events in product_events, no rollup ever written.
    rows = [to_row(product_event(NOW - timedelta(days=n), user=f"u{n % 3}")) for n in range(6)]
    async with pool.acquire() as conn:
        for at in {r[1].date() for r in rows}:
            await conn.execute("SELECT product_events_create_partition($1)", at)
        await conn.copy_records_to_table("product_events", records=rows, columns=COLUMNS)
    await ingest.start()
    assert sum((await ingest.activity()).values()) == 6
    later = to_row(product_event(NOW, user="u0"))
    await ingest.publish(product_event(NOW, user="u0"))
    await eventually(lambda: ingest.has_stored(7))
    await ingest.stop_all()
    await ingest.start()  # a restart does not count them again
    assert sum((await ingest.activity()).values()) == 7 and later[4] in {
        k for _, k in await ingest.activity()
    }


async def test_batches_with_the_same_events_across_days_written_at_once_never_deadlock(
    pool: asyncpg.Pool[Any],
) -> None:
    # COPY into the partitioned table buffers rows per partition and inserts a partition's rows at a
    # time, in the order it first met each partition: two batches holding the same keys must meet their
    # partitions, and each partition's keys, in one order, or each can wait on a key the other inserted.
    rng = random.Random(7)
    writer = EventWriter(IngestRepository(pool))
    for _ in range(12):
        shared = [
            to_row(product_event(NOW - timedelta(days=rng.randrange(6), minutes=rng.random())))
            for _ in range(1500)
        ]
        own = [
            [to_row(product_event(NOW - timedelta(days=rng.randrange(6)))) for _ in range(300)]
            for _ in range(2)
        ]
        outcomes = await asyncio.gather(*(writer.write(shared + extra) for extra in own))
        # One stored the shared events with its own, the other skipped them.
        assert sorted(o.stored for o in outcomes)[0] == 300
        assert sum(o.stored for o in outcomes) == 1500 + 600
