"""What the list pages read (`dashboard.sql`), owner-scoped by the viewer's user id, with keyset paging."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from seqpulse.common.db.queries import Queries
from seqpulse.gateway.records import Row, public_id
from seqpulse.gateway.repository import Conn
from seqpulse.gateway.views import derive_state

D = Queries(Path(__file__).with_name("dashboard.sql"))

VERDICT_LABELS = {
    "ok": "OK",
    "warning": "Warning",
    "rollback_recommended": "Rollback recommended",
    "not_enough_data": "Not enough data",
    "pending": "Pending",
}
SEVERITY_LABELS = {"critical": "Critical", "warning": "Warning", "info": "Info"}
METRIC_LABELS = {
    "requests_per_sec": "Requests per second",
    "latency_p95": "Latency p95",
    "error_rate": "Error rate",
    "cpu_usage": "CPU usage",
    "memory_usage": "Memory usage",
}
STATE_LABELS = {
    "running": "Running",
    "collecting": "Collecting",
    "analyzing": "Analyzing",
    "analyzed": "Analyzed",
    "expired": "Expired",
}


@dataclass(frozen=True, slots=True)
class Cursor:
    """A position in a newest-first list: the row's time and id (ids break ties between equal times)."""

    at: datetime
    id: uuid.UUID

    def encode(self) -> str:
        return f"{self.at.isoformat()}_{self.id}"

    @classmethod
    def decode(cls, raw: str) -> Cursor | None:
        """None for anything that is not a cursor this module wrote (a hand-edited URL)."""
        # A "+" of the offset arrives as a space when a URL was typed rather than built by urlencode.
        at, sep, ident = raw.strip().replace(" ", "+").rpartition("_")
        if not sep:
            return None
        try:
            when = datetime.fromisoformat(at)
            return cls(when, uuid.UUID(ident)) if when.tzinfo is not None else None
        except ValueError:
            return None


@dataclass(frozen=True, slots=True)
class Page:
    """One page of rows and the cursors of the pages around it (None: there is none that way)."""

    rows: list[Row]
    newer: Cursor | None
    older: Cursor | None


@dataclass
class ListQuery:
    """Filters and cursors read from the query string: the valid ones, and a sentence per invalid one."""

    path: str
    values: dict[str, str] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    before: Cursor | None = None
    after: Cursor | None = None

    def link(self, **cursor: str) -> str:
        """This list with the same valid filters, at another page."""
        params = {k: v for k, v in self.values.items() if v} | cursor
        return f"{self.path}?{urlencode(params)}" if params else self.path

    def read_project(self, query: Mapping[str, str], projects: Mapping[uuid.UUID, Any]) -> uuid.UUID | None:
        raw = query.get("project", "").strip()
        if not raw:
            return None
        try:
            project_id: uuid.UUID | None = uuid.UUID(raw)
        except ValueError:
            project_id = None
        # Someone else's project reads like a missing one: a page never confirms that it exists.
        if project_id is None or project_id not in projects:
            self.errors.append("That project is not one of yours (any more): showing every project.")
            return None
        self.values["project"] = str(project_id)
        return project_id

    def read_choice(self, query: Mapping[str, str], name: str, labels: Mapping[str, str]) -> str | None:
        """One of `labels`' keys, e.g. a verdict or a severity."""
        raw = query.get(name, "").strip()
        if not raw:
            return None
        if raw not in labels:
            options = ", ".join(labels.values())
            self.errors.append(
                f"“{raw[:40]}” is not a {name} (choose one of {options}): showing every {name}."
            )
            return None
        self.values[name] = raw
        return raw

    def read_cursors(self, query: Mapping[str, str]) -> None:
        for name in ("before", "after"):
            raw = query.get(name, "")
            if not raw:
                continue
            cursor = Cursor.decode(raw)
            if cursor is None:
                self.errors.append("That page link is not valid (any more): showing the newest entries.")
                self.before = self.after = None
                return
            setattr(self, name, cursor)
        if self.before and self.after:
            self.errors.append("A page link cannot go both ways: showing the newest entries.")
            self.before = self.after = None


@dataclass(frozen=True, slots=True)
class DeploymentFilters:
    project_id: uuid.UUID | None = None
    env: str | None = None
    verdict: str | None = None
    started_from: datetime | None = None
    started_before: datetime | None = None

    def args(self) -> tuple[Any, ...]:
        return (self.project_id, self.env, self.verdict, self.started_from, self.started_before)


@dataclass(frozen=True, slots=True)
class HintFilters:
    project_id: uuid.UUID | None = None
    severity: str | None = None
    metric: str | None = None

    def args(self) -> tuple[Any, ...]:
        return (self.project_id, self.severity, self.metric)


async def _page(
    conn: Conn,
    queries: tuple[str, str],
    args: Sequence[Any],
    *,
    key: str,
    before: Cursor | None,
    after: Cursor | None,
    limit: int,
) -> Page:
    """A keyset page: one query of limit+1 rows in the direction asked, one row's probe the other way."""
    older_sql, newer_sql = queries

    def cursor(row: Row) -> Cursor:
        return Cursor(row[key], row["id"])

    async def exists(sql: str, edge: Cursor) -> bool:
        return bool(await conn.fetch(sql, *args, edge.at, edge.id, 1))

    if after is not None:
        found = list(await conn.fetch(newer_sql, *args, after.at, after.id, limit + 1))
        rows = list(reversed(found[:limit]))
        newer = cursor(rows[0]) if len(found) > limit else None
        older = cursor(rows[-1]) if rows and await exists(older_sql, cursor(rows[-1])) else None
        return Page(rows, newer, older)
    at, ident = (before.at, before.id) if before else (None, None)
    found = list(await conn.fetch(older_sql, *args, at, ident, limit + 1))
    rows = found[:limit]
    older = cursor(rows[-1]) if len(found) > limit else None
    newer = cursor(rows[0]) if before and rows and await exists(newer_sql, cursor(rows[0])) else None
    return Page(rows, newer, older)


async def deployments_page(
    conn: Conn,
    user_id: uuid.UUID,
    filters: DeploymentFilters,
    *,
    before: Cursor | None = None,
    after: Cursor | None = None,
    limit: int = 25,
) -> Page:
    queries = (D.deployments_older, D.deployments_newer)
    args = (user_id, *filters.args())
    return await _page(conn, queries, args, key="started_at", before=before, after=after, limit=limit)


async def hints_page(
    conn: Conn,
    user_id: uuid.UUID,
    filters: HintFilters,
    *,
    before: Cursor | None = None,
    after: Cursor | None = None,
    limit: int = 20,
) -> Page:
    queries = (D.hints_older, D.hints_newer)
    args = (user_id, *filters.args())
    return await _page(conn, queries, args, key="created_at", before=before, after=after, limit=limit)


async def verdict_counts(conn: Conn, user_id: uuid.UUID) -> dict[str, tuple[int, int]]:
    """Verdict key → (deployments of the last 7 days, of the last 30 days)."""
    rows = await conn.fetch(D.verdict_counts, user_id)
    return {row["verdict_key"]: (row["last_7"], row["last_30"]) for row in rows}


async def project_health(conn: Conn, user_id: uuid.UUID) -> list[Row]:
    return list(await conn.fetch(D.project_health, user_id))


async def project_choices(conn: Conn, user_id: uuid.UUID) -> list[Row]:
    return list(await conn.fetch(D.project_choices, user_id))


async def account(conn: Conn, user_id: uuid.UUID) -> Row | None:
    row: Row | None = await conn.fetchrow(D.account, user_id)
    return row


async def access_tokens(conn: Conn, user_id: uuid.UUID) -> list[Row]:
    return list(await conn.fetch(D.access_tokens, user_id))


@dataclass(frozen=True, slots=True)
class DeploymentItem:
    """A deployment as a list row shows it."""

    id: uuid.UUID
    public_id: str
    project_id: uuid.UUID
    project_name: str
    env: str
    branch: str | None
    state: str
    state_label: str
    verdict: str
    verdict_label: str
    started_at: datetime
    finished_at: datetime | None

    @classmethod
    def of(cls, row: Row) -> DeploymentItem:
        state = derive_state(row["state"], row["window_state"], row["verdict_id"] is not None)
        return cls(
            id=row["id"],
            public_id=public_id(row["deployment_number"]),
            project_id=row["project_id"],
            project_name=row["project_name"],
            env=row["env"],
            branch=row["branch"],
            state=state,
            state_label=STATE_LABELS[state],
            verdict=row["verdict_key"],
            verdict_label=VERDICT_LABELS[row["verdict_key"]],
            started_at=row["started_at"],
            finished_at=row["finished_at"],
        )
