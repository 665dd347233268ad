"""The rollup backlog (ADRs 0011, 0016): each batch summary committed is folded into the rollups exactly
once, whoever folds it and whatever fails in between: a crash before the fold, a fold that fails (both
parts, or one), two replicas folding at once, a rebuild, the retention's deletes."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, time, timedelta
from typing import Any

import asyncpg
import pytest

from seqpulse.ingest import folding
from seqpulse.ingest.events import Row, to_row
from seqpulse.ingest.folding import RollupStage
from seqpulse.ingest.repository import (
    FACTS,
    SESSIONS,
    Fact,
    Folded,
    IngestRepository,
    Part,
    Pending,
    R,
    Taken,
)
from seqpulse.ingest.summary import BatchSummary
from seqpulse.ingest.writer import EventWriter
from tests.integration.ingest.conftest import Ingest, product_event, user_key
from tests.support import eventually

pytestmark = [pytest.mark.postgres]
YESTERDAY = datetime.combine(datetime.now(UTC).date() - timedelta(days=1), time(9), UTC)
USERS = 5


def rows(first: int, n: int) -> list[Row]:
    """Events `first` to `first + n - 1`, a minute apart, of USERS users in turn: one session each."""
    return [
        to_row(product_event(YESTERDAY + timedelta(minutes=i), user=f"user{i % USERS}"))
        for i in range(first, first + n)
    ]


def expected(n: int) -> dict[str, tuple[int, int]]:
    """Per user of the first `n` events: events counted in their day, and events in their one session."""
    return {user_key(f"user{u}"): (len(range(u, n, USERS)),) * 2 for u in range(USERS)}


async def counted(pool: asyncpg.Pool[Any]) -> dict[str, tuple[int, int]]:
    async with pool.acquire() as conn:
        days = {r["user_key"]: r["events"] for r in await conn.fetch("SELECT * FROM user_daily_activity")}
        sessions = {r["user_key"]: r["events"] for r in await conn.fetch("SELECT * FROM activity_sessions")}
        assert len(sessions) == await conn.fetchval("SELECT count(*) FROM activity_sessions")
    return {user: (events, sessions.get(user, 0)) for user, events in days.items()}


async def backlog(pool: asyncpg.Pool[Any]) -> int:
    return int(await pool.fetchval("SELECT count(*) FROM rollup_backlog"))


async def write_in_batches(repo: IngestRepository, n: int, size: int) -> dict[int, BatchSummary]:
    """Store `n` events in batches of `size`; the summaries they left in the backlog, by id."""
    writer = EventWriter(repo)
    held: dict[int, BatchSummary] = {}
    for first in range(0, n, size):
        outcome = await writer.write(rows(first, min(size, n - first)))
        held |= {p.id: p.summary for p in outcome.pending}
    return held


@pytest.mark.nats
async def test_summaries_committed_before_a_crash_are_folded_once_by_the_next_start(
    ingest: Ingest, pool: asyncpg.Pool[Any]
) -> None:
    # A process that stored three batches and died before its rollup stage folded them.
    await write_in_batches(IngestRepository(pool), 30, 10)
    assert await backlog(pool) == 3 and await counted(pool) == {}
    await ingest.start()
    await ingest.folded()
    assert await counted(pool) == expected(30)
    await ingest.stop_all()
    await ingest.start()  # a restart finds an empty backlog: nothing counted twice
    await ingest.folded()
    assert await counted(pool) == expected(30)


def normal(summary: BatchSummary) -> tuple[Any, ...]:
    """A summary's content, whatever the order of its rows."""
    return (
        sorted(summary.user_days),
        sorted(summary.facts),
        sorted(summary.steps, key=repr),
        sorted(summary.project_days),
        sorted(summary.sessions),
        summary.last_received_at,
        summary.events,
    )


async def test_a_batch_read_back_from_the_backlog_sums_up_to_the_summary_its_replica_held(
    pool: asyncpg.Pool[Any],
) -> None:
    rng = random.Random(4)
    projects = [uuid.uuid4() for _ in range(3)]
    names = ["user_login", "user_signup", "project_created", "analysis_completed", "sdh_viewed"]

    def random_row(i: int) -> Row:
        return to_row(
            product_event(
                YESTERDAY + timedelta(minutes=rng.randint(-900, 900)),
                user=rng.choice([None, *(f"user{u}" for u in range(8))]),
                event_name=rng.choice(names),
                project_id=rng.choice([None, *projects]),
                country=rng.choice([None, "FR", "DE"]),
                properties={"i": i},
            )
        )

    repo = IngestRepository(pool)  # never folds: its summaries leave out no fact it knows
    writer = EventWriter(repo)
    held: dict[int, BatchSummary] = {}
    stored: list[Row] = []
    for _ in range(6):
        batch = [random_row(i) for i in range(rng.randint(1, 60))]
        # Some events again (a redelivery, stored once, the slow way), and the same id at another time
        # (another event: its key differs), also of an earlier batch, within the span of that batch's times.
        batch += rng.sample(stored, min(len(stored), 3))
        batch += [(row[0], row[1] + timedelta(minutes=1), *row[2:]) for row in rng.sample(batch, 2)]
        batch += [
            (row[0], row[1] + timedelta(seconds=30), *row[2:])
            for row in rng.sample(stored, min(len(stored), 2))
        ]
        outcome = await writer.write(batch)
        held |= {p.id: p.summary for p in outcome.pending}
        stored += batch
    async with pool.acquire() as conn, conn.transaction():
        taken = await conn.fetch(R.take_backlog, [], 100, "facts")
        assert [r["id"] for r in taken] == sorted(held)
        for r in taken:
            assert normal(await repo._read_back(conn, r)) == normal(held[r["id"]])


def failing_fold(*parts: Part) -> Callable[..., Awaitable[tuple[Taken, list[Fact]]]]:
    """`IngestRepository._fold` whose folds of `parts` run every rollup statement, then fail before the
    commit (a lost connection); the other part folds as usual."""
    original = IngestRepository._fold

    async def fold(
        self: IngestRepository, conn: Any, part: Part, cached: Any, limit: int
    ) -> tuple[Taken, list[Fact]]:
        done = await original(self, conn, part, cached, limit)
        if part in parts:
            raise ConnectionResetError("connection lost before the commit")
        return done

    return fold


async def test_a_fold_that_fails_leaves_the_backlog_and_the_next_fold_counts_it_once(
    pool: asyncpg.Pool[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = IngestRepository(pool)
    held = await write_in_batches(repo, 20, 5)
    monkeypatch.setattr(IngestRepository, "_fold", failing_fold(FACTS, SESSIONS))
    with pytest.raises(ConnectionResetError):
        await repo.fold(held)
    monkeypatch.undo()
    assert await backlog(pool) == 4 and await counted(pool) == {}
    assert len(repo.known) == 0  # facts of a fold that did not commit are not remembered
    assert (await repo.fold(held)).events == 20
    assert await counted(pool) == expected(20)
    assert (await repo.fold(held)) == Folded()


async def test_a_part_that_fails_leaves_its_batches_and_the_other_part_counts_them_once(
    pool: asyncpg.Pool[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The two parts commit apart (ADR 0016): the sessions' part fails, the other part's fold stands, and
    the next fold takes the batches into the sessions only."""
    repo = IngestRepository(pool)
    held = await write_in_batches(repo, 20, 5)
    monkeypatch.setattr(IngestRepository, "_fold", failing_fold(SESSIONS))
    with pytest.raises(ConnectionResetError):
        await repo.fold(held)
    monkeypatch.undo()
    assert await backlog(pool) == 4  # folded by one part only: kept
    assert await counted(pool) == {user: (events, 0) for user, (events, _) in expected(20).items()}
    folded = await repo.fold(held)
    assert folded.events == 20 and sorted(folded.ids) == sorted(held)
    assert await counted(pool) == expected(20)  # the days counted once, the sessions now
    assert await backlog(pool) == 0 and await pool.fetchval("SELECT count(*) FROM rollup_backlog_folded") == 0
    assert (await repo.fold(held)) == Folded()


async def test_two_replicas_folding_at_once_count_each_summary_once(pool: asyncpg.Pool[Any]) -> None:
    repos = [IngestRepository(pool), IngestRepository(pool)]
    held = await write_in_batches(repos[0], 60, 4)
    # Both hold every summary (as if each had written them) and fold at the same time, 3 at a time.
    stages = [RollupStage(repo, interval_seconds=0, limit=3) for repo in repos]
    for stage in stages:
        for backlog_id, summary in held.items():
            stage.add(Pending(backlog_id, summary))
    folded = await asyncio.gather(*(stage.fold_all() for stage in stages))
    assert sum(folded) == 60 and all(folded)  # both took part, neither counted a summary twice
    assert await backlog(pool) == 0 and await counted(pool) == expected(60)
    assert all(not stage._cached for stage in stages)  # what the other folded is forgotten


async def test_a_fold_at_its_limit_keeps_the_summaries_it_did_not_reach(pool: asyncpg.Pool[Any]) -> None:
    repo = IngestRepository(pool)
    held = await write_in_batches(repo, 25, 5)
    stage = RollupStage(repo, interval_seconds=0, limit=2)
    for backlog_id, summary in held.items():
        stage.add(Pending(backlog_id, summary))
    folded = await repo.fold(dict(stage._cached), limit=2)  # another replica folds the first two
    assert folded.ids == sorted(held)[:2]
    assert await stage.fold_all() == 15  # the other three, two then one, from memory
    assert await counted(pool) == expected(25) and not stage._cached


def no_read_back(monkeypatch: pytest.MonkeyPatch) -> None:
    async def read_back(self: IngestRepository, conn: Any, taken: asyncpg.Record) -> BatchSummary:
        raise AssertionError(f"batch {taken['id']} read back: its summary was held")

    monkeypatch.setattr(IngestRepository, "_read_back", read_back)


async def test_a_fold_between_a_commit_and_its_return_takes_the_summary_from_memory(
    pool: asyncpg.Pool[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The writer tells the stage each summary before the commit (`hold`); a fold that takes the batch
    # before the write has returned (and `add` is told) finds it there instead of reading it back.
    repo = IngestRepository(pool)
    stage = RollupStage(repo, interval_seconds=0)
    written = [(await EventWriter(repo, hold=stage.hold).write(rows(first, 5))).pending for first in (0, 5)]
    no_read_back(monkeypatch)
    assert await stage.fold_all() == 10
    assert await counted(pool) == expected(10) and await backlog(pool) == 0
    for pending in written:  # the writes return now
        stage.add(*pending)
    assert await stage.fold_all() == 0 and not stage._cached  # nothing folded twice; forgotten


async def test_a_summary_held_for_a_transaction_that_did_not_commit_counts_nowhere(
    pool: asyncpg.Pool[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = IngestRepository(pool)
    stage = RollupStage(repo, interval_seconds=0)

    failed: list[int] = []

    def hold_then_fail(pending: Pending) -> None:
        stage.hold(pending)
        failed.append(pending.id)
        raise ConnectionResetError("lost before the commit")

    with pytest.raises(ConnectionResetError):
        await EventWriter(repo, hold=hold_then_fail).write(rows(0, 5))
    assert failed[0] in stage._holding and await backlog(pool) == 0  # rolled back: its row never was
    written = (await EventWriter(repo, hold=stage.hold).write(rows(0, 5))).pending  # the redelivery
    no_read_back(monkeypatch)
    assert await stage.fold_all() == 5 and await counted(pool) == expected(5)
    stage.add(*written)
    for n in range(folding.MAX_HOLDING):  # the stale one is forgotten once that many come after it
        stage.hold(Pending(-1 - n, BatchSummary()))
    assert len(stage._holding) == folding.MAX_HOLDING and failed[0] not in stage._holding


async def test_a_rebuild_takes_in_the_backlog_and_counts_nothing_twice(pool: asyncpg.Pool[Any]) -> None:
    repo = IngestRepository(pool)
    held = await write_in_batches(repo, 20, 5)
    await repo.fold(held, limit=1)  # one folded, three waiting
    await repo.rebuild_rollups()
    assert await backlog(pool) == 0 and await counted(pool) == expected(20)
    assert await repo.fold(held) == Folded()  # the rebuild counted the waiting ones itself


async def test_the_retention_folds_the_backlog_before_deleting_the_rollups_of_past_days(
    pool: asyncpg.Pool[Any],
) -> None:
    repo = IngestRepository(pool)
    await write_in_batches(repo, 20, 5)
    cutoff = YESTERDAY.date() + timedelta(days=1)  # yesterday's events are past the retention now
    async with pool.acquire() as conn:
        await repo.delete_rollups_before(cutoff, conn)
    assert await backlog(pool) == 0
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM activity_sessions") == 0
        assert await conn.fetchval("SELECT count(*) FROM project_days") == 0
    # Folded first, then deleted: no summary of yesterday is left to bring its sessions back.
    assert await repo.fold() == Folded()


async def test_the_retention_folds_a_batch_whose_partition_it_dropped_first(pool: asyncpg.Pool[Any]) -> None:
    # A replica stored yesterday's events and stopped before folding them; midnight passes, and the
    # maintenance drops yesterday's partition, then folds the backlog before deleting the rollups.
    repo = IngestRepository(pool)
    await write_in_batches(repo, 20, 5)
    today = YESTERDAY.date() + timedelta(days=1)
    async with pool.acquire() as conn:
        assert await repo.drop_partitions_before(today, conn)
        # Nothing is left to read back: the batches count nowhere, and the fold goes through.
        await repo.delete_rollups_before(today, conn)
    assert await backlog(pool) == 0 and await counted(pool) == {}
    assert await pool.fetchval("SELECT count(*) FROM ingest_watermark") == 0


async def test_a_batch_whose_events_are_gone_is_folded_as_nothing_and_the_next_as_usual(
    pool: asyncpg.Pool[Any],
) -> None:
    repo = IngestRepository(pool)
    await write_in_batches(repo, 10, 5)
    await pool.execute("TRUNCATE product_events")  # by hand, with two batches waiting in the backlog
    await write_in_batches(repo, 5, 5)
    # No summary held: each batch is read back. The two whose events are gone fold into nothing.
    assert len((await repo.fold(limit=2)).ids) == 2 and await counted(pool) == {}
    assert len((await repo.fold()).ids) == 1 and await backlog(pool) == 0
    assert await counted(pool) == {user_key(f"user{u}"): (1, 1) for u in range(USERS)}


async def test_the_interval_holds_while_batches_are_in_hand_and_ends_once_none_is(
    pool: asyncpg.Pool[Any],
) -> None:
    repo = IngestRepository(pool)
    stage = RollupStage(repo, interval_seconds=30)
    running = asyncio.create_task(stage.run())
    try:
        # A batch in hand: the first summary is folded at once, the next waits out the interval.
        stage.batch_started()
        for first in (0, 10):
            for pending in (await EventWriter(repo).write(rows(first, 10))).pending:
                stage.add(pending)
            await asyncio.sleep(0.3)
        assert await backlog(pool) == 1 and await counted(pool) == expected(10)
        # The burst has ended: what it committed is folded now, not 30 s after the last fold.
        stage.batch_ended()

        async def backlog_empty() -> bool:
            return not await backlog(pool)

        await eventually(backlog_empty, timeout=5)
        assert await counted(pool) == expected(20)
    finally:
        stage.stop()
        await running
