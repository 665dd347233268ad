"""What a batch's new events add to the Founder View's rollups, worked out in Python before the database
is asked (ADR 0009): the statements of rollups.sql then read a few hundred summed rows instead of
grouping a thousand events each. The replica that stored a batch holds its summary until the rollup stage
folds it, with others, merged into one (ADRs 0011, 0014); the backlog keeps which events to sum up again
should no replica hold it. Pure: rows in, summed rows out."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

import orjson

from seqpulse.ingest.events import Row
from seqpulse.ingest.partitions import utc_day

# Events of one user further apart than this are in different sessions (ADR 0007).
SESSION_GAP = timedelta(minutes=30)
# The first of each of these, per user, is a step of the funnel and of the cohorts.
MILESTONES = ("user_signup", "project_created", "analysis_completed")
_MILESTONE_SLOTS = {name: slot for slot, name in enumerate(MILESTONES)}


UserDay = tuple[date, str, int, datetime, datetime]  # day, user, events, first, last
Fact = tuple[str, str, date]  # user, scope, day
Steps = tuple[str, datetime | None, datetime | None, datetime | None]  # user, sign-up, project, verdict
ProjectDay = tuple[date, UUID, int]  # day, project, events
Session = tuple[str, datetime, datetime, int]  # user, start, end, events


@dataclass(slots=True)
class BatchSummary:
    """The rollups' inputs, a list of rows per table; sent to rollups.sql column by column (`unnest`), each
    column as an array literal (`columns`)."""

    # user_daily_activity: one row per (UTC day, user) of the batch.
    user_days: list[UserDay] = field(default_factory=list)
    # activity_days: the scoped facts, each once.
    facts: list[Fact] = field(default_factory=list)
    # user_milestones: a user's first sign-up, project and verdict within the batch (None: not in it).
    steps: list[Steps] = field(default_factory=list)
    # project_days: events per (UTC day, project).
    project_days: list[ProjectDay] = field(default_factory=list)
    # The batch's own sessions (gaps up to SESSION_GAP), before merging with the stored ones.
    sessions: list[Session] = field(default_factory=list)
    last_received_at: datetime | None = None
    # New events summed up (each is in user_days, or has no user).
    events: int = 0

    def facts_args(self) -> tuple[Any, ...]:
        """The arguments of rollups.sql's `add_facts`, in order."""
        return (
            *columns(self.user_days, 5),
            *columns(self.facts, 3),
            *columns(self.steps, 4),
            *columns(self.project_days, 3),
            self.last_received_at,
        )


def sessions_args(sessions: Sequence[Session]) -> tuple[str, ...]:
    """The arguments of rollups.sql's `merge_sessions`, in order."""
    return columns(sessions, 4)


def columns(rows: Sequence[Sequence[Any]], width: int) -> tuple[str, ...]:
    """Rows of `width` values as `width` columns, each the text of a Postgres array (rollups.sql casts
    it: `$1::text::date[]`)."""
    return tuple(array_literal([row[i] for row in rows]) for i in range(width))


def array_literal(values: Sequence[Any]) -> str:
    """A Postgres array literal (`{"a","b",null}`) of text, numbers, dates, aware datetimes (RFC 3339),
    UUIDs and None (NULL). asyncpg's binary array encoder checks every element against three abstract
    base classes, which cost the ingest's event loop more per element than Postgres takes to parse the
    text; orjson writes the text in a fraction of either. JSON's and Postgres's quoting agree except for
    JSON's backslash escapes of control characters, so text with any backslash is quoted by hand."""
    encoded = orjson.dumps(values)
    if b"\\" not in encoded:
        return "{" + encoded[1:-1].decode() + "}"
    return "{" + ",".join(_element(value) for value in values) + "}"


def _element(value: Any) -> str:
    if value is None:
        return "NULL"
    text = value if isinstance(value, str) else orjson.dumps(value).decode().strip('"')
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


class KnownFacts:
    """Scoped (user, scope, day) facts this replica saw committed. A fact, once stored, stays until its
    day leaves the retention, and no event of such a day is stored any more: one remembered need not be
    sent again (most of a batch's facts repeat ones of the batches before it). Bounded: when full it starts
    over, which costs only sending facts again."""

    def __init__(self, limit: int = 500_000) -> None:
        self.limit = limit
        self._facts: set[Fact] = set()

    def __contains__(self, fact: Fact) -> bool:
        return fact in self._facts

    def __len__(self) -> int:
        return len(self._facts)

    def unknown(self, facts: Iterable[Fact]) -> set[Fact]:
        """Those of `facts` not remembered (a set difference: a batch has thousands)."""
        return set(facts).difference(self._facts)

    def add(self, facts: Sequence[Fact]) -> None:
        """Remember facts now committed."""
        if len(self._facts) + len(facts) > self.limit:
            self._facts.clear()
        self._facts.update(facts)


def summarise(rows: Sequence[Row], known: KnownFacts | None = None) -> BatchSummary:
    """Sum up rows that are all new (stored by this batch's transaction, none a repeat), leaving out the
    scoped facts in `known`."""
    out = BatchSummary()
    times: dict[str, list[datetime]] = defaultdict(list)  # each user's event times
    # Where each user was seen on each day: (user, day, country, project), each once. Their scoped facts
    # are spelt out afterwards, once per place rather than three times per event.
    places: set[tuple[str, date, str | None, UUID | None]] = set()
    projects: dict[tuple[date, UUID], int] = defaultdict(int)
    steps: dict[str, list[datetime | None]] = {}
    for _id, occurred, _received, name, user, project, _plan, country, _source, _props in rows:
        # Rows' times are in UTC (`as_utc`): the day without utc_day's call, which checks for that first.
        day = occurred.date() if occurred.tzinfo is UTC else utc_day(occurred)
        if project is not None:
            projects[(day, project)] += 1
        if user is None:
            continue
        times[user].append(occurred)
        places.add((user, day, country, project))
        slot = _MILESTONE_SLOTS.get(name)
        if slot is not None:
            firsts = steps.setdefault(user, [None, None, None])
            current = firsts[slot]
            if current is None or occurred < current:
                firsts[slot] = occurred
    out.events = len(rows)
    out.last_received_at = max((row[2] for row in rows), default=None)
    for user, moments in times.items():
        moments.sort()
        _add_days(out, user, moments)
        _add_sessions(out, user, moments)
    facts: set[Fact] = set()
    scopes: dict[object, str] = {}  # a project's or a country's scope, spelt once per batch
    for user, day, country, project in places:
        if country is not None:
            scope = scopes.get(country) or scopes.setdefault(country, "c:" + country)
            facts.add((user, scope, day))
            facts.add((user, "c:*", day))
        if project is not None:
            scope = scopes.get(project) or scopes.setdefault(project, f"p:{project}")
            facts.add((user, scope, day))
    if known:
        facts = known.unknown(facts)
    out.facts = list(facts)  # in no order: the rollup stage runs alone (the rollup lock)
    out.project_days = [(day, project, count) for (day, project), count in sorted(projects.items())]
    out.steps = [(user, first[0], first[1], first[2]) for user, first in sorted(steps.items())]
    return out


def _add_days(out: BatchSummary, user: str, moments: list[datetime]) -> None:
    """One entry per UTC day of the user's (sorted) event times."""
    start = 0
    day = utc_day(moments[0])
    for i in range(1, len(moments) + 1):
        next_day = utc_day(moments[i]) if i < len(moments) else None
        if next_day == day:
            continue
        out.user_days.append((day, user, i - start, moments[start], moments[i - 1]))
        if next_day is not None:
            start, day = i, next_day


def _add_sessions(out: BatchSummary, user: str, moments: list[datetime]) -> None:
    """The user's (sorted) event times cut where two are more than SESSION_GAP apart."""
    start = 0
    for i in range(1, len(moments) + 1):
        if i < len(moments) and moments[i] - moments[i - 1] <= SESSION_GAP:
            continue
        out.sessions.append((user, moments[start], moments[i - 1], i - start))
        start = i


def merge(summaries: Sequence[BatchSummary]) -> BatchSummary:
    """One summary of the events of all of `summaries` (none repeating another's events): what
    `summarise` gives for their rows together. Counts add up, first times take the earliest, facts are
    kept once, and sessions within SESSION_GAP of each other become one."""
    if len(summaries) == 1:
        return summaries[0]
    return replace(merge_facts(summaries), sessions=join_sessions(summaries))


def merge_facts(summaries: Sequence[BatchSummary]) -> BatchSummary:
    """`merge` but for the sessions, left empty (the fold of the sessions merges them apart: ADR 0016)."""
    if len(summaries) == 1:
        return replace(summaries[0], sessions=[])
    out = BatchSummary()
    days: dict[tuple[date, str], list[Any]] = {}
    facts: set[Fact] = set()
    steps: dict[str, list[datetime | None]] = {}
    projects: dict[tuple[date, UUID], int] = defaultdict(int)
    received: list[datetime] = []
    for s in summaries:
        for day, user, events, first, last in s.user_days:
            got = days.get((day, user))
            if got is None:
                days[(day, user)] = [events, first, last]
            else:
                got[0] += events
                got[1] = min(got[1], first)
                got[2] = max(got[2], last)
        facts.update(s.facts)
        for user, *firsts in s.steps:
            current = steps.setdefault(user, [None, None, None])
            current[:] = map(_earliest, current, firsts)
        for day, project, events in s.project_days:
            projects[(day, project)] += events
        if s.last_received_at is not None:
            received.append(s.last_received_at)
        out.events += s.events
    out.user_days = [(day, user, n, first, last) for (day, user), (n, first, last) in days.items()]
    out.facts = list(facts)
    out.steps = [(user, first[0], first[1], first[2]) for user, first in sorted(steps.items())]
    out.project_days = [(day, project, count) for (day, project), count in sorted(projects.items())]
    out.last_received_at = max(received, default=None)
    return out


def join_sessions(summaries: Sequence[BatchSummary]) -> list[Session]:
    """The sessions of `merge(summaries)`: those of a user within SESSION_GAP of each other joined."""
    if len(summaries) == 1:
        return summaries[0].sessions
    return _join_sessions([session for s in summaries for session in s.sessions])


def _earliest(a: datetime | None, b: datetime | None) -> datetime | None:
    if a is None:
        return b
    return a if b is None or a <= b else b


def _join_sessions(pieces: list[Session]) -> list[Session]:
    """Sessions of several batches, those of a user within SESSION_GAP of each other joined: each piece's
    own gaps are at most SESSION_GAP, so the joined ones are the sessions of all their events together."""
    pieces.sort()
    out: list[Session] = []
    for user, start, end, events in pieces:
        if out:
            last_user, last_start, last_end, last_events = out[-1]
            if last_user == user and start - last_end <= SESSION_GAP:
                out[-1] = (user, last_start, max(last_end, end), last_events + events)
                continue
        out.append((user, start, end, events))
    return out
