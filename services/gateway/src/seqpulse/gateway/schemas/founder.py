"""The Founder View (admin only): usage, activation, retention, churn, jobs, API health, countries."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from pydantic import Field

from seqpulse.gateway.schemas.common import Response, StrictRequest


class FounderQuery(StrictRequest):
    days: int = Field(default=30, ge=1, le=90, description="Length of the activity series, in UTC days.")
    as_of: date | None = Field(default=None, description="Last UTC day shown (default: today).")


class ActivityPoint(Response):
    day: date
    dau: int
    wau: int
    mau: int
    dau_mau: float | None = Field(description="Stickiness: DAU / MAU of that day.")


class SessionStats(Response):
    days: int
    sessions: int
    users: int
    sessions_per_user: float | None
    avg_session_seconds: float
    time_spent_seconds: float
    time_per_user_seconds: float | None


class ProjectActivity(Response):
    project_id: uuid.UUID
    name: str
    plan: str | None
    events: int
    users: int


class Funnel(Response):
    days: int
    signed_up: int
    created_project: int
    got_verdict: int


class CohortRow(Response):
    week: date
    users: int
    retention: list[float]


class Churn(Response):
    period_days: int
    previous_active: int
    current_active: int
    churned: int
    new_or_returning: int
    churn_rate: float | None


class Jobs(Response):
    pending: int
    running: int
    failed_24h: int
    stuck: int


class ApiHour(Response):
    hour: datetime
    requests: int
    errors_4xx: int
    errors_5xx: int


class ApiHealth(Response):
    requests_24h: int
    errors_4xx_24h: int
    errors_5xx_24h: int
    p50_ms: float | None
    p95_ms: float | None
    hours: list[ApiHour]


class CountryUsers(Response):
    country: str = Field(description="ISO 3166-1 alpha-2, 'other' (folded: fewer than 5 users) or 'unknown'.")
    users: int


class FounderResponse(Response):
    as_of: date
    activity: list[ActivityPoint]
    sessions: SessionStats
    top_projects: list[ProjectActivity]
    funnel: Funnel
    cohorts: list[CohortRow]
    churn: Churn
    jobs: Jobs
    api: ApiHealth
    countries: list[CountryUsers]
    last_event_at: datetime | None
