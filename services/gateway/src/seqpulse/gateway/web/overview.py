"""Dashboard pages: the overview — recent deployments, verdicts over 7 and 30 days, what needs attention."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from aiohttp import web

from seqpulse.gateway.records import Row, public_id
from seqpulse.gateway.resources import Resources
from seqpulse.gateway.routes import Operation
from seqpulse.gateway.web import dashboard_reads as reads
from seqpulse.gateway.web.context import Viewer, page, render

RECENT = 8
# The bar chart's geometry, in SVG user units (the SVG scales to its box).
CHART_LABEL_WIDTH = 172
CHART_BAR_WIDTH = 160
CHART_ROW_HEIGHT = 28


@dataclass(frozen=True, slots=True)
class Bar:
    key: str
    label: str
    count: int
    width: float
    y: int


@dataclass(frozen=True, slots=True)
class Chart:
    days: int
    total: int
    bars: list[Bar]
    height: int
    summary: str


@dataclass(frozen=True, slots=True)
class Reason:
    rank: int  # lower is more urgent
    kind: str  # a badge class: the verdict, or the endpoint state
    text: str
    href: str
    link: str


@dataclass(frozen=True, slots=True)
class Attention:
    project_id: uuid.UUID
    project_name: str
    reasons: list[Reason]


def charts(counts: Mapping[str, tuple[int, int]]) -> list[Chart]:
    """Pure: one horizontal bar chart per period, bars scaled to the period's largest count."""
    result = []
    for index, days in ((0, 7), (1, 30)):
        values = {key: counts.get(key, (0, 0))[index] for key in reads.VERDICT_LABELS}
        top = max(values.values(), default=0)
        bars = [
            Bar(
                key=key,
                label=label,
                count=values[key],
                width=round(CHART_BAR_WIDTH * values[key] / top, 1) if top else 0.0,
                y=i * CHART_ROW_HEIGHT,
            )
            for i, (key, label) in enumerate(reads.VERDICT_LABELS.items())
        ]
        total = sum(values.values())
        summary = ", ".join(f"{bar.label}: {bar.count}" for bar in bars)
        result.append(Chart(days, total, bars, CHART_ROW_HEIGHT * len(bars), f"Last {days} days — {summary}"))
    return result


def needs_attention(rows: Sequence[Row]) -> list[Attention]:
    """Pure: the projects with something to do, most urgent first, each with why and where to go."""
    found = []
    for row in rows:
        project = f"/app/projects/{row['id']}"
        reasons: list[Reason] = []
        if row["last_verdict"] is not None:
            number = public_id(row["last_verdict_number"])
            deployment = f"/app/deployments/{row['last_verdict_deployment_id']}"
            if row["last_verdict"] == "rollback_recommended":
                text = f"Latest verdict ({number}): rollback recommended."
                reasons.append(Reason(0, "rollback_recommended", text, deployment, f"Open {number}"))
            elif row["last_insufficient_data"]:
                text = f"Latest deployment ({number}) could not be verified: not enough data."
                reasons.append(Reason(3, "not_enough_data", text, deployment, f"Open {number}"))
            elif row["last_verdict"] == "warning":
                text = f"Latest verdict ({number}): warning."
                reasons.append(Reason(2, "warning", text, deployment, f"Open {number}"))
        if row["endpoint_state"] == "blocked":
            text = "The metrics endpoint is blocked: deployments are refused until it is changed."
            reasons.append(Reason(1, "blocked", text, project, "Fix the endpoint"))
        elif row["endpoint_state"] != "active" and not row["has_active_endpoint"]:
            text = (
                "The metrics endpoint is not verified yet: CI cannot announce deployments until it is tested."
            )
            reasons.append(Reason(1, "pending_verification", text, project, "Test the endpoint"))
        elif row["endpoint_state"] != "active":
            text = "A new metrics endpoint waits for its test; deployments still use the previous one."
            reasons.append(Reason(4, "pending_verification", text, project, "Test the endpoint"))
        if not row["has_deployments"]:
            text = "No deployment yet: add SeqPulse to the CI pipeline to verify the next one."
            reasons.append(Reason(5, "none", text, project, "Set up CI"))
        if reasons:
            reasons.sort(key=lambda r: r.rank)
            found.append(Attention(row["id"], row["name"], reasons))
    found.sort(key=lambda a: (a.reasons[0].rank, a.project_name.lower()))
    return found


def operations(res: Resources) -> list[Operation]:
    async def overview(request: web.Request, viewer: Viewer) -> web.Response:
        async with res.pool.acquire() as conn:
            projects = await reads.project_health(conn, viewer.user_id)
            recent = await reads.deployments_page(
                conn, viewer.user_id, reads.DeploymentFilters(), limit=RECENT
            )
            counts = await reads.verdict_counts(conn, viewer.user_id)
        context = {
            "has_projects": bool(projects),
            "recent": [reads.DeploymentItem.of(row) for row in recent.rows],
            "more_recent": recent.older is not None,
            "charts": charts(counts),
            "chart_label_width": CHART_LABEL_WIDTH,
            "chart_bar_width": CHART_BAR_WIDTH,
            "attention": needs_attention(projects),
            "project_count": len(projects),
        }
        return render(request, "overview.html", context, viewer, active="overview")

    return [Operation("GET", "/app", page(res, overview), "Overview page", "Pages", hidden=True)]
