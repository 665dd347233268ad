"""Dashboard pages: the deployments list, filtered by GET parameters and paged by keyset."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta

from aiohttp import web

from seqpulse.gateway.resources import Resources
from seqpulse.gateway.routes import Operation
from seqpulse.gateway.web import dashboard_reads as reads
from seqpulse.gateway.web.context import Viewer, page, render

PAGE_SIZE = 25
MAX_ENV = 50
FILTER_NAMES = ("env", "from", "to")


def _date(raw: str) -> date | None:
    try:
        return date.fromisoformat(raw)
    except ValueError:
        return None


def parse(
    query: Mapping[str, str], projects: Mapping[uuid.UUID, str]
) -> tuple[reads.ListQuery, reads.DeploymentFilters]:
    """Pure: read the deployment filters; each invalid one is left out and explained in a sentence."""
    parsed = reads.ListQuery("/app/deployments")
    raw = {name: query.get(name, "").strip() for name in FILTER_NAMES}
    project_id = parsed.read_project(query, projects)
    env = raw["env"] or None
    if env is not None and len(env) > MAX_ENV:
        parsed.errors.append(
            f"An environment name has at most {MAX_ENV} characters: showing every environment."
        )
        env = None
    elif env is not None:
        parsed.values["env"] = env
    verdict = parsed.read_choice(query, "verdict", reads.VERDICT_LABELS)
    days: dict[str, date | None] = {}
    for name, label in (("from", "start"), ("to", "end")):
        days[name] = _date(raw[name]) if raw[name] else None
        if raw[name] and days[name] is None:
            parsed.errors.append(
                f"The {label} date “{raw[name][:40]}” is not a date like 2025-01-31: it was not applied."
            )
    if days["from"] and days["to"] and days["from"] > days["to"]:
        parsed.errors.append("The start date is after the end date: the dates were not applied.")
        days = {"from": None, "to": None}
    for name in ("from", "to"):
        if days[name] is not None:
            parsed.values[name] = str(days[name])
    started_from = datetime.combine(days["from"], time(), UTC) if days["from"] else None
    # The end date is included: deployments started before the next midnight (UTC).
    started_before = datetime.combine(days["to"] + timedelta(days=1), time(), UTC) if days["to"] else None
    parsed.read_cursors(query)
    filters = reads.DeploymentFilters(project_id, env, verdict, started_from, started_before)
    return parsed, filters


def operations(res: Resources) -> list[Operation]:
    async def deployments(request: web.Request, viewer: Viewer) -> web.Response:
        async with res.pool.acquire() as conn:
            choices = await reads.project_choices(conn, viewer.user_id)
            projects = {row["id"]: row["name"] for row in choices}
            parsed, filters = parse(request.query, projects)
            found = await reads.deployments_page(
                conn, viewer.user_id, filters, before=parsed.before, after=parsed.after, limit=PAGE_SIZE
            )
        envs = sorted(
            {env for row in choices for env in row["envs"]} | ({filters.env} if filters.env else set())
        )
        context = {
            "items": [reads.DeploymentItem.of(row) for row in found.rows],
            "projects": choices,
            "envs": envs,
            "verdicts": reads.VERDICT_LABELS,
            "values": parsed.values,
            "errors": parsed.errors,
            "filtered": bool(parsed.values),
            "paged": bool(parsed.before or parsed.after),
            "newer_url": parsed.link(after=found.newer.encode()) if found.newer else None,
            "older_url": parsed.link(before=found.older.encode()) if found.older else None,
            "first_url": parsed.link(),
            "base_url": res.settings.public_base_url.rstrip("/"),
        }
        status = 400 if parsed.errors else 200
        return render(request, "deployments.html", context, viewer, status, active="deployments")

    return [
        Operation(
            "GET", "/app/deployments", page(res, deployments), "Deployments page", "Pages", hidden=True
        ),
    ]
