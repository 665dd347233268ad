"""A batch's summary (what its new events add to the rollups) against hand-computed figures, across UTC
days and time zones, and the memory of facts already stored; summaries merged for one fold, and read back
from the backlog."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

from seqpulse.common.messages import ProductEvent
from seqpulse.ingest.events import Row, to_row
from seqpulse.ingest.summary import BatchSummary, KnownFacts, merge, summarise

T0 = datetime(2026, 11, 21, 23, 40, tzinfo=UTC)
PARIS = timezone(timedelta(hours=1))
PROJECT = uuid.UUID("00000000-0000-4000-8000-000000000001")
ALICE, BOB = "a" * 32, "b" * 32


def row(
    at: datetime,
    user: str | None = ALICE,
    name: str = "user_login",
    country: str | None = "FR",
    project: uuid.UUID | None = PROJECT,
) -> Row:
    return to_row(
        ProductEvent.model_validate(
            {
                "event_name": name,
                "occurred_at": at,
                "received_at": at + timedelta(seconds=1),
                "user_key": user,
                "country": country,
                "project_id": project,
            }
        )
    )


def test_days_sessions_and_projects_are_cut_at_utc_midnight_and_at_gaps_over_30_minutes() -> None:
    rows = [
        row(T0),  # 23:40 UTC on the 21st
        row(T0.astimezone(PARIS) + timedelta(minutes=30)),  # 00:10 UTC on the 22nd, written at +01:00
        row(T0 + timedelta(minutes=60)),  # 00:40: 30 minutes after the last, same session
        row(T0 + timedelta(minutes=91)),  # 01:11: 31 minutes after, a new session
        row(T0 + timedelta(minutes=5), user=BOB, country=None, project=None),
        row(T0, user=None),  # no user: counts for its project only
    ]
    s = summarise(rows)
    assert s.user_days == [
        (date(2026, 11, 21), ALICE, 1, T0, T0),
        (date(2026, 11, 22), ALICE, 3, T0 + timedelta(minutes=30), T0 + timedelta(minutes=91)),
        (date(2026, 11, 21), BOB, 1, T0 + timedelta(minutes=5), T0 + timedelta(minutes=5)),
    ]
    assert s.sessions == [
        (ALICE, T0, T0 + timedelta(minutes=60), 3),
        (ALICE, T0 + timedelta(minutes=91), T0 + timedelta(minutes=91), 1),
        (BOB, T0 + timedelta(minutes=5), T0 + timedelta(minutes=5), 1),
    ]
    assert s.project_days == [
        (date(2026, 11, 21), PROJECT, 2),
        (date(2026, 11, 22), PROJECT, 3),
    ]
    assert s.last_received_at == T0 + timedelta(minutes=91, seconds=1)
    # Bob has neither a country nor a project: no scoped fact.
    assert set(s.facts) == {
        (ALICE, scope, day)
        for scope in ("c:FR", "c:*", f"p:{PROJECT}")
        for day in (date(2026, 11, 21), date(2026, 11, 22))
    }


def test_first_steps_are_the_earliest_of_the_batch_whatever_the_order() -> None:
    rows = [
        row(T0 + timedelta(minutes=9), name="project_created"),
        row(T0 + timedelta(minutes=3), name="project_created"),
        row(T0, name="user_signup", user=BOB),
        row(T0 + timedelta(minutes=1), name="verdict_viewed"),  # not a step
    ]
    s = summarise(rows)
    assert s.steps == [
        (ALICE, None, T0 + timedelta(minutes=3), None),
        (BOB, T0, None, None),
    ]


def test_facts_already_known_are_left_out_and_the_memory_starts_over_when_full() -> None:
    rows = [row(T0), row(T0, user=BOB, country="SE")]
    known = KnownFacts(limit=4)
    known.add([(ALICE, "c:FR", date(2026, 11, 21)), (ALICE, "c:*", date(2026, 11, 21))])
    s = summarise(rows, known)
    assert sorted((user, scope) for user, scope, _ in s.facts) == [
        (ALICE, f"p:{PROJECT}"),
        (BOB, "c:*"),
        (BOB, "c:SE"),
        (BOB, f"p:{PROJECT}"),
    ]
    # Daily activity is summed whatever the memory holds: its counters change with every event.
    assert [user for _, user, *_ in s.user_days] == [ALICE, BOB]
    known.add(s.facts)  # 2 + 4 > 4: forgets, then holds these 4
    assert len(known) == 4
    assert (ALICE, "c:FR", date(2026, 11, 21)) not in known
    assert (BOB, "c:SE", date(2026, 11, 21)) in known


def test_an_empty_batch_sums_to_nothing() -> None:
    s = summarise([])
    assert [s.user_days, s.facts, s.steps, s.project_days, s.sessions] == [[], [], [], [], []]
    assert s.last_received_at is None


def random_rows(rng: random.Random, n: int) -> list[Row]:
    """Events of 6 users over three days, bunched so that sessions meet across batches."""
    users = [f"{i:032x}" for i in range(6)] + [None]
    names = ("user_login", "user_signup", "project_created", "analysis_completed", "verdict_viewed")
    projects = (PROJECT, uuid.UUID(int=7), None)
    return [
        row(
            T0 - timedelta(days=rng.randrange(3), minutes=rng.choice((0, 20, 45, 130)) + rng.random() * 15),
            user=rng.choice(users),
            name=rng.choice(names),
            country=rng.choice(("FR", "SE", None)),
            project=rng.choice(projects),
        )
        for _ in range(n)
    ]


def normalised(s: BatchSummary) -> tuple[Any, ...]:
    """A summary with its lists in one order (merge and summarise may list rows differently)."""
    return (
        sorted(s.user_days),
        sorted(s.facts),
        s.steps,
        s.project_days,
        sorted(s.sessions),
        s.last_received_at,
        s.events,
    )


def test_merged_summaries_equal_the_summary_of_all_their_events_whatever_the_split() -> None:
    rng = random.Random(11)
    for _ in range(200):
        rows = random_rows(rng, rng.randint(1, 60))
        rng.shuffle(rows)
        cuts = sorted(rng.sample(range(1, len(rows)), min(len(rows) - 1, rng.randint(0, 4))))
        parts = [rows[a:b] for a, b in zip([0, *cuts], [*cuts, len(rows)], strict=True)]
        merged = merge([summarise(part) for part in parts])
        assert normalised(merged) == normalised(summarise(rows))


def test_sessions_of_different_batches_join_when_30_minutes_or_less_apart() -> None:
    first = summarise([row(T0), row(T0 + timedelta(minutes=10))])
    bridge = summarise([row(T0 + timedelta(minutes=40))])  # 30 minutes after the first batch's last
    apart = summarise([row(T0 + timedelta(minutes=71))])  # 31 minutes after the bridge
    merged = merge([apart, first, bridge])
    assert merged.sessions == [
        (ALICE, T0, T0 + timedelta(minutes=40), 3),
        (ALICE, T0 + timedelta(minutes=71), T0 + timedelta(minutes=71), 1),
    ]
    # 23:40 and 23:50 on the 21st, 00:20 and 00:51 on the 22nd (UTC): one row per day, summed.
    assert sorted(merged.user_days) == [
        (date(2026, 11, 21), ALICE, 2, T0, T0 + timedelta(minutes=10)),
        (date(2026, 11, 22), ALICE, 2, T0 + timedelta(minutes=40), T0 + timedelta(minutes=71)),
    ]
    assert merged.events == 4
    assert merge([first]) is first
