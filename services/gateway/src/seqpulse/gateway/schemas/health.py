"""Health answers: overall status with named checks, and the collector's scheduler snapshot."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from seqpulse.gateway.schemas.common import Response


class SchedulerSnapshot(Response):
    pending: int | None
    running: int | None
    failed_last_hour: int | None
    stuck: int | None
    heartbeat_at: datetime | None
    heartbeat_age_seconds: float | None
    heartbeat_stale_after_seconds: float
    heartbeat_fresh: bool


class HealthResponse(Response):
    status: Literal["ok", "degraded"]
    timestamp: datetime
    checks: dict[str, bool]
    reasons: list[str]
    scheduler: SchedulerSnapshot


class SchedulerHealthResponse(SchedulerSnapshot):
    status: Literal["ok", "degraded"]
    timestamp: datetime
    checks: dict[str, bool]


class DbCheckResponse(Response):
    db_ok: bool


class ReadyResponse(Response):
    status: Literal["ready", "not_ready"]
    checks: dict[str, bool]
