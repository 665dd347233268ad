"""`GET /founder/overview`: the Founder View's numbers, for the administrator only."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from aiohttp import web

from seqpulse.common.db.queries import Queries
from seqpulse.gateway import founder_metrics as fm
from seqpulse.gateway.api_stats import quantile
from seqpulse.gateway.auth import authenticate_user
from seqpulse.gateway.problems import Problem
from seqpulse.gateway.records import Principal
from seqpulse.gateway.resources import Resources
from seqpulse.gateway.routes import Operation, read_query, respond
from seqpulse.gateway.schemas.founder import (
    ActivityPoint,
    ApiHealth,
    ApiHour,
    Churn,
    CohortRow,
    CountryUsers,
    FounderQuery,
    FounderResponse,
    Funnel,
    Jobs,
    ProjectActivity,
    SessionStats,
)

F = Queries(Path(__file__).resolve().parent.parent / "founder.sql")
SESSION_DAYS = 7
COHORT_WEEKS = 8
CHURN_DAYS = 30
TOP_PROJECTS = 10
TOP_PROJECT_DAYS = 30


def require_founder(who: Principal) -> None:
    # A browser session of the admin, or an admin token of the admin: a read token of the admin is not enough.
    if not who.is_admin or not (who.via_session or "admin" in who.scopes):
        raise Problem(403, "The Founder View is for the administrator of this SeqPulse.", code="forbidden")


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), UTC)


async def founder_overview(pool: Any, as_of: date, days: int, stuck_after_seconds: float) -> FounderResponse:
    """Every section's queries, run concurrently on their own connections; all read rollups."""
    first = as_of - timedelta(days=days - 1)
    end = _midnight(as_of + timedelta(days=1))
    since_24h = datetime.now(UTC) - timedelta(hours=24)
    previous_period = as_of - timedelta(days=CHURN_DAYS)

    async def q(name: str, *args: Any, one: bool = False) -> Any:
        async with pool.acquire() as conn:
            return await (conn.fetchrow if one else conn.fetch)(getattr(F, name), *args)

    (changes, countries, cohorts, funnel, sessions, top, hours, buckets, jobs, last) = await asyncio.gather(
        q("active_user_changes", as_of),
        q("countries", as_of),
        q("cohorts", as_of, COHORT_WEEKS),
        q("funnel", _midnight(first), end, one=True),
        q("sessions", as_of - timedelta(days=SESSION_DAYS - 1), as_of, one=True),
        q("top_projects", as_of - timedelta(days=TOP_PROJECT_DAYS - 1), as_of, TOP_PROJECTS),
        q("api_by_hour", since_24h),
        q("api_latency_buckets", since_24h, one=True),
        q("jobs", stuck_after_seconds, one=True),
        q("last_event", one=True),
    )
    series = [first + timedelta(days=n) for n in range(days)]
    counts = fm.rolling_counts(
        ((r["win"], r["day"], r["delta"]) for r in changes), [*series, previous_period]
    )

    def active(win: int, day: date) -> int:
        return counts.get(win, {}).get(day, 0)

    activity = [
        ActivityPoint(
            day=d,
            dau=active(1, d),
            wau=active(7, d),
            mau=active(30, d),
            dau_mau=fm.ratio(active(1, d), active(30, d)),
        )
        for d in series
    ]
    churned = fm.churn(active(30, previous_period), active(30, as_of), active(2 * CHURN_DAYS, as_of))
    week_users = active(SESSION_DAYS, as_of)
    per_hour: dict[datetime, dict[str, int]] = {}
    for row in hours:
        per_hour.setdefault(row["hour"], {})[row["status_class"]] = row["requests"]
    api_hours = [
        ApiHour(
            hour=hour,
            requests=sum(counts.values()),
            errors_4xx=counts.get("4xx", 0),
            errors_5xx=counts.get("5xx", 0),
        )
        for hour, counts in sorted(per_hour.items())
    ]
    latency = list(buckets["buckets"])
    return FounderResponse(
        as_of=as_of,
        activity=activity,
        sessions=SessionStats(
            days=SESSION_DAYS,
            sessions=sessions["sessions"],
            users=week_users,
            sessions_per_user=fm.ratio(sessions["sessions"], week_users),
            avg_session_seconds=fm.ratio(sessions["total_seconds"], sessions["sessions"]) or 0.0,
            time_spent_seconds=sessions["total_seconds"],
            time_per_user_seconds=fm.ratio(sessions["total_seconds"], week_users),
        ),
        top_projects=[ProjectActivity.model_validate(dict(r)) for r in top],
        funnel=Funnel(days=days, **dict(funnel)),
        cohorts=[
            CohortRow(week=c.week, users=c.users, retention=c.retention)
            for c in fm.cohort_matrix(((r["week"], r["week_offset"], r["users"]) for r in cohorts), as_of)
        ],
        churn=Churn(
            period_days=CHURN_DAYS,
            previous_active=churned.previous_active,
            current_active=churned.current_active,
            churned=churned.churned,
            new_or_returning=churned.new_or_returning,
            churn_rate=fm.ratio(churned.churned, churned.previous_active),
        ),
        jobs=Jobs.model_validate(dict(jobs)),
        api=ApiHealth(
            requests_24h=sum(h.requests for h in api_hours),
            errors_4xx_24h=sum(h.errors_4xx for h in api_hours),
            errors_5xx_24h=sum(h.errors_5xx for h in api_hours),
            p50_ms=quantile(latency, 0.5) if latency else None,
            p95_ms=quantile(latency, 0.95) if latency else None,
            hours=api_hours,
        ),
        countries=[
            CountryUsers(country=c.country, users=c.users)
            for c in fm.fold_countries(
                fm.located(((r["country"], r["users"]) for r in countries), active(30, as_of))
            )
        ],
        last_event_at=last[0],
    )


def operations(res: Resources) -> list[Operation]:
    async def overview(request: web.Request) -> web.Response:
        async with res.pool.acquire() as conn:
            who = await authenticate_user(conn, request, "read")
        require_founder(who)
        query = read_query(request, FounderQuery)
        as_of = query.as_of or datetime.now(UTC).date()
        body = await founder_overview(
            res.pool, as_of, query.days, res.settings.collector_heartbeat_stale_seconds
        )
        return respond(body)

    return [
        Operation(
            "GET",
            "/founder/overview",
            overview,
            "The Founder View: DAU/WAU/MAU, sessions, funnel, cohorts, churn, jobs, API health, countries",
            "Founder",
            auth="user",
            scope="read",
            query=FounderQuery,
            response=FounderResponse,
            errors=(401, 403, 422),
        )
    ]
