"""What a batch's new events add to the Founder View's rollups, worked out in Python before the database
is asked (ADR 0009): the statements of rollups.sql then read a few hundred summed rows instead of
grouping a thousand events each. Pure: rows in, columns out."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID

from seqpulse.ingest.events import Row
from seqpulse.ingest.partitions import utc_day

# Events of one user further apart than this are in different sessions (ADR 0007).
SESSION_GAP = timedelta(minutes=30)
# The first of each of these, per user, is a step of the funnel and of the cohorts.
MILESTONES = ("user_signup", "project_created", "analysis_completed")


@dataclass(slots=True)
class BatchSummary:
    """The rollups' inputs, column by column (each list one `unnest` argument of rollups.sql)."""

    # user_daily_activity: one entry per (UTC day, user) of the batch.
    day_days: list[date] = field(default_factory=list)
    day_users: list[str] = field(default_factory=list)
    day_events: list[int] = field(default_factory=list)
    day_first: list[datetime] = field(default_factory=list)
    day_last: list[datetime] = field(default_factory=list)
    # activity_days: the scoped (user, scope, day) facts, each once.
    fact_users: list[str] = field(default_factory=list)
    fact_scopes: list[str] = field(default_factory=list)
    fact_days: list[date] = field(default_factory=list)
    # user_milestones: a user's first sign-up, project and verdict within the batch (None: not in it).
    step_users: list[str] = field(default_factory=list)
    step_signup: list[datetime | None] = field(default_factory=list)
    step_project: list[datetime | None] = field(default_factory=list)
    step_verdict: list[datetime | None] = field(default_factory=list)
    # project_days: events per (UTC day, project).
    project_days: list[date] = field(default_factory=list)
    project_ids: list[UUID] = field(default_factory=list)
    project_events: list[int] = field(default_factory=list)
    # The batch's own sessions (gaps up to SESSION_GAP), before merging with the stored ones.
    session_users: list[str] = field(default_factory=list)
    session_starts: list[datetime] = field(default_factory=list)
    session_ends: list[datetime] = field(default_factory=list)
    session_events: list[int] = field(default_factory=list)
    last_received_at: datetime | None = None

    def facts_args(self) -> tuple[Any, ...]:
        """The arguments of rollups.sql's `add_facts`, in order."""
        return (
            self.day_days,
            self.day_users,
            self.day_events,
            self.day_first,
            self.day_last,
            self.fact_users,
            self.fact_scopes,
            self.fact_days,
            self.step_users,
            self.step_signup,
            self.step_project,
            self.step_verdict,
            self.project_days,
            self.project_ids,
            self.project_events,
            self.last_received_at,
        )

    def sessions_args(self) -> tuple[Any, ...]:
        """The arguments of rollups.sql's `merge_sessions`, in order."""
        return (self.session_users, self.session_starts, self.session_ends, self.session_events)


class KnownFacts:
    """Scoped (user, scope, day) facts this replica saw committed. A fact, once stored, stays until its
    day leaves the retention, and no event of such a day is stored any more: one remembered need not be
    sent again (most of a batch's facts repeat ones of the batches before it). Bounded: when full it starts
    over, which costs only sending facts again."""

    def __init__(self, limit: int = 500_000) -> None:
        self.limit = limit
        self._facts: set[tuple[str, str, date]] = set()

    def __contains__(self, fact: tuple[str, str, date]) -> bool:
        return fact in self._facts

    def __len__(self) -> int:
        return len(self._facts)

    def add(self, users: Sequence[str], scopes: Sequence[str], days: Sequence[date]) -> None:
        """Remember facts now committed."""
        if len(self._facts) + len(users) > self.limit:
            self._facts.clear()
        self._facts.update(zip(users, scopes, days, strict=True))


def summarise(rows: Sequence[Row], known: KnownFacts | None = None) -> BatchSummary:
    """Sum up rows that are all new (stored by this batch's transaction, none a repeat), leaving out the
    scoped facts in `known`."""
    out = BatchSummary()
    times: dict[str, list[datetime]] = defaultdict(list)  # each user's event times
    facts: set[tuple[str, str, date]] = set()
    projects: dict[tuple[date, UUID], int] = defaultdict(int)
    steps: dict[str, list[datetime | None]] = {}
    scopes: dict[object, str] = {}  # a project's or a country's scope, spelt once per batch
    last_received: datetime | None = None
    for _id, occurred, received, name, user, project, _plan, country, _source, _props in rows:
        if last_received is None or received > last_received:
            last_received = received
        day = utc_day(occurred)
        if project is not None:
            projects[(day, project)] += 1
        if user is None:
            continue
        times[user].append(occurred)
        if country is not None:
            scope = scopes.get(country) or scopes.setdefault(country, "c:" + country)
            facts.add((user, scope, day))
            facts.add((user, "c:*", day))
        if project is not None:
            scope = scopes.get(project) or scopes.setdefault(project, f"p:{project}")
            facts.add((user, scope, day))
        if name in MILESTONES:
            firsts = steps.setdefault(user, [None, None, None])
            slot = MILESTONES.index(name)
            current = firsts[slot]
            if current is None or occurred < current:
                firsts[slot] = occurred
    out.last_received_at = last_received
    for user, moments in times.items():
        moments.sort()
        _add_days(out, user, moments)
        _add_sessions(out, user, moments)
    if known is not None and len(known):
        facts = {fact for fact in facts if fact not in known}
    for user, scope, day in facts:  # in no order: the rollup stage runs alone (the rollup lock)
        out.fact_users.append(user)
        out.fact_scopes.append(scope)
        out.fact_days.append(day)
    for (day, project), count in sorted(projects.items()):
        out.project_days.append(day)
        out.project_ids.append(project)
        out.project_events.append(count)
    for user, (signup, first_project, verdict) in sorted(steps.items()):
        out.step_users.append(user)
        out.step_signup.append(signup)
        out.step_project.append(first_project)
        out.step_verdict.append(verdict)
    return out


def _add_days(out: BatchSummary, user: str, moments: list[datetime]) -> None:
    """One entry per UTC day of the user's (sorted) event times."""
    start = 0
    day = utc_day(moments[0])
    for i in range(1, len(moments) + 1):
        next_day = utc_day(moments[i]) if i < len(moments) else None
        if next_day == day:
            continue
        out.day_days.append(day)
        out.day_users.append(user)
        out.day_events.append(i - start)
        out.day_first.append(moments[start])
        out.day_last.append(moments[i - 1])
        if next_day is not None:
            start, day = i, next_day


def _add_sessions(out: BatchSummary, user: str, moments: list[datetime]) -> None:
    """The user's (sorted) event times cut where two are more than SESSION_GAP apart."""
    start = 0
    for i in range(1, len(moments) + 1):
        if i < len(moments) and moments[i] - moments[i - 1] <= SESSION_GAP:
            continue
        out.session_users.append(user)
        out.session_starts.append(moments[start])
        out.session_ends.append(moments[i - 1])
        out.session_events.append(i - start)
        start = i
