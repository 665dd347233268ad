"""The Founder View page (admin only): the numbers of `GET /founder/overview`, drawn."""

from __future__ import annotations

from datetime import UTC, datetime

from aiohttp import web

from seqpulse.gateway.problems import Problem
from seqpulse.gateway.resources import Resources
from seqpulse.gateway.routes import Operation, read_query
from seqpulse.gateway.routes.founder import founder_overview
from seqpulse.gateway.schemas.founder import FounderQuery
from seqpulse.gateway.web.context import Viewer, page, render

# The last product event older than this and the page says the intake may be down ("no data").
STALE_EVENTS_SECONDS = 3600


def operations(res: Resources) -> list[Operation]:
    async def founder(request: web.Request, viewer: Viewer) -> web.Response:
        if not viewer.is_admin:
            raise Problem(
                403, "The Founder View is for the administrator of this SeqPulse.", code="forbidden"
            )
        query = read_query(request, FounderQuery)
        as_of = query.as_of or datetime.now(UTC).date()
        view = await founder_overview(
            res.pool, as_of, query.days, res.settings.collector_heartbeat_stale_seconds
        )
        last = view.last_event_at
        stale = last is None or (datetime.now(UTC) - last).total_seconds() > STALE_EVENTS_SECONDS
        context = {
            "view": view,
            "days": query.days,
            "today": view.activity[-1] if view.activity else None,
            "stale_events": stale,
            "data": view.model_dump(mode="json"),
        }
        return render(request, "founder.html", context, viewer, active="founder")

    return [Operation("GET", "/app/founder", page(res, founder), "Founder View", "Pages", hidden=True)]
