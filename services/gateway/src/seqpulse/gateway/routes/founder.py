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


def require_founder(who: Principal) -> None:
    # A browser session of the admin, or an admin token of the admin: a read token of the admin is not enough.
    if not who.is_admin or not (who.via_session or "admin" in who.scopes):
        raise Problem(403, "The Founder View is for the administrator of this SeqPulse.", code="forbidden")


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), UTC)


async def founder_overview(pool: Any, as_of: date, days: int, stuck_after_seconds: float) -> FounderResponse:
    """Every section's queries, run concurrently on their own connections."""
    first = as_of - timedelta(days=days - 1)
    end = _midnight(as_of + timedelta(days=1))
    since_24h = datetime.now(UTC) - timedelta(hours=24)

    async def q(name: str, *args: Any, one: bool = False) -> Any:
        async with pool.acquire() as conn:
            return await (conn.fetchrow if one else conn.fetch)(getattr(F, name), *args)

    (
        dau,
        wau,
        mau,
        countries,
        churn,
        cohorts,
        funnel,
        sessions,
        top,
        hours,
        buckets,
        jobs,
        last,
    ) = await asyncio.gather(
        q("rolling_active_users", first, as_of, 1),
        q("rolling_active_users", first, as_of, 7),
        q("rolling_active_users", first, as_of, 30),
        q("countries", first, as_of),
        q("churn", as_of, CHURN_DAYS, one=True),
        q("cohorts", as_of, COHORT_WEEKS),
        q("funnel", _midnight(first), end, one=True),
        q("sessions", end - timedelta(days=SESSION_DAYS), end, one=True),
        q("top_projects", _midnight(first), end, TOP_PROJECTS),
        q("api_by_hour", since_24h),
        q("api_latency_buckets", since_24h, one=True),
        q("jobs", stuck_after_seconds, one=True),
        q("last_event", one=True),
    )
    activity = [
        ActivityPoint(
            day=d["day"],
            dau=d["active"],
            wau=w["active"],
            mau=m["active"],
            dau_mau=fm.ratio(d["active"], m["active"]),
        )
        for d, w, m in zip(dau, wau, mau, strict=True)
    ]
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
            users=sessions["users"],
            sessions_per_user=fm.ratio(sessions["sessions"], sessions["users"]),
            avg_session_seconds=sessions["avg_seconds"],
            time_spent_seconds=sessions["total_seconds"],
            time_per_user_seconds=fm.ratio(sessions["total_seconds"], sessions["users"]),
        ),
        top_projects=[ProjectActivity.model_validate(dict(r)) for r in top],
        funnel=Funnel(days=days, **dict(funnel)),
        cohorts=[
            CohortRow(week=c.week, users=c.users, retention=c.retention)
            for c in fm.cohort_matrix(((r["week"], r["week_offset"], r["users"]) for r in cohorts), as_of)
        ],
        churn=Churn(
            period_days=CHURN_DAYS,
            **dict(churn),
            churn_rate=fm.ratio(churn["churned"], churn["previous_active"]),
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
            for c in fm.fold_countries((r["country"], r["users"]) for r in countries)
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
