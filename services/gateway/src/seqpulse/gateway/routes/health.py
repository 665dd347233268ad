"""Health, unauthenticated as in the original: `/health*`, `/db-check`, `/livez`, `/readyz`, `/metrics`."""

from __future__ import annotations

from datetime import UTC, datetime

from aiohttp import web

from seqpulse.common.logging import get_logger
from seqpulse.common.telemetry.metrics import metrics_handler
from seqpulse.gateway import read_repository as reads
from seqpulse.gateway.problems import Problem
from seqpulse.gateway.resources import Resources
from seqpulse.gateway.routes import Operation, respond
from seqpulse.gateway.schemas.health import (
    DbCheckResponse,
    HealthResponse,
    ReadyResponse,
    SchedulerHealthResponse,
    SchedulerSnapshot,
)

log = get_logger(__name__)
# A running job whose lease ran out this long ago was abandoned by a dead collector.
STUCK_AFTER_SECONDS = 60.0


def operations(res: Resources) -> list[Operation]:
    stale_after = res.settings.collector_heartbeat_stale_seconds

    async def db_ok() -> bool:
        try:
            async with res.pool.acquire() as conn:
                return bool(await conn.fetchval("SELECT 1") == 1)
        except Exception as exc:  # any failure here is the answer "db is down"
            log.warning("health_db_failed", error=type(exc).__name__)
            return False

    def nats_ok() -> bool:
        return res.bus_or_none is not None and res.bus_or_none.nc.is_connected

    async def snapshot() -> tuple[SchedulerSnapshot, bool]:
        try:
            async with res.pool.acquire() as conn:
                row = await reads.scheduler_snapshot(conn, STUCK_AFTER_SECONDS)
        except Exception as exc:  # reported as an unknown snapshot, not as a 500
            log.warning("health_snapshot_failed", error=type(exc).__name__)
            return SchedulerSnapshot(
                pending=None,
                running=None,
                failed_last_hour=None,
                stuck=None,
                heartbeat_at=None,
                heartbeat_age_seconds=None,
                heartbeat_stale_after_seconds=stale_after,
                heartbeat_fresh=False,
            ), False
        beat = row["heartbeat_at"]
        age = (row["now"] - beat).total_seconds() if beat is not None else None
        return SchedulerSnapshot(
            pending=row["pending"],
            running=row["running"],
            failed_last_hour=row["failed_last_hour"],
            stuck=row["stuck"],
            heartbeat_at=beat,
            heartbeat_age_seconds=age,
            heartbeat_stale_after_seconds=stale_after,
            heartbeat_fresh=age is not None and age <= stale_after,
        ), True

    def scheduler_checks(snap: SchedulerSnapshot, queried: bool) -> dict[str, bool]:
        return {
            "scheduler_db_query": queried,
            "collector_heartbeat_fresh": snap.heartbeat_fresh,
            # Windowed, unlike the original: one failure an hour ago no longer degrades health forever.
            "no_failed_jobs_last_hour": queried and snap.failed_last_hour == 0,
            "no_stuck_jobs": queried and snap.stuck == 0,
        }

    async def health(_request: web.Request) -> web.Response:
        snap, queried = await snapshot()
        checks = {"db": await db_ok(), "nats": nats_ok(), **scheduler_checks(snap, queried)}
        reasons = [name for name, ok in checks.items() if not ok]
        return respond(
            HealthResponse(
                status="degraded" if reasons else "ok",
                timestamp=datetime.now(UTC),
                checks=checks,
                reasons=reasons,
                scheduler=snap,
            )
        )

    async def scheduler(_request: web.Request) -> web.Response:
        snap, queried = await snapshot()
        checks = scheduler_checks(snap, queried)
        status = "ok" if all(checks.values()) else "degraded"
        return respond(
            SchedulerHealthResponse(
                **snap.model_dump(), status=status, timestamp=datetime.now(UTC), checks=checks
            )
        )

    async def db_check(_request: web.Request) -> web.Response:
        if not await db_ok():
            raise Problem(500, "Database check failed", code="unavailable")
        return respond(DbCheckResponse(db_ok=True))

    async def livez(_request: web.Request) -> web.Response:
        return web.json_response({"status": "alive"})

    async def readyz(_request: web.Request) -> web.Response:
        checks = {"db": await db_ok(), "nats": nats_ok()}
        ready = all(checks.values())
        return respond(
            ReadyResponse(status="ready" if ready else "not_ready", checks=checks),
            status=200 if ready else 503,
        )

    return [
        Operation(
            "GET",
            "/health",
            health,
            "Overall health; always 200, `status` says ok or degraded",
            "Health",
            response=HealthResponse,
        ),
        Operation(
            "GET",
            "/health/scheduler",
            scheduler,
            "The collector's job queue and heartbeat",
            "Health",
            response=SchedulerHealthResponse,
        ),
        Operation(
            "GET", "/db-check", db_check, "SELECT 1", "Health", response=DbCheckResponse, errors=(500,)
        ),
        Operation("GET", "/livez", livez, "The process answers", "Health"),
        Operation(
            "GET",
            "/readyz",
            readyz,
            "Database and NATS reachable",
            "Health",
            response=ReadyResponse,
            errors=(503,),
        ),
        Operation("GET", "/metrics", metrics_handler, "Prometheus exposition", "Health", hidden=True),
    ]
