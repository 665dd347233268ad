"""Dashboard pages: every diagnostic hint (SDH) of the viewer's projects, filtered and paged."""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aiohttp import web

from seqpulse.gateway.product_events import emit_view
from seqpulse.gateway.records import Row, public_id
from seqpulse.gateway.resources import Resources
from seqpulse.gateway.routes import Operation
from seqpulse.gateway.web import dashboard_reads as reads
from seqpulse.gateway.web.context import Viewer, page, render

PAGE_SIZE = 20
# requests_per_sec and latency_p95 change as a ratio (after / before); the fractions as a difference.
RATIO_METRICS = frozenset({"requests_per_sec", "latency_p95"})
_THRESHOLD_TOKEN = re.compile(r"(?:^|\s)threshold=(\S+)")


@dataclass(frozen=True, slots=True)
class EvidenceRow:
    metric: str
    baseline: str
    observed: str
    change: str
    threshold: str


@dataclass(frozen=True, slots=True)
class HintItem:
    id: uuid.UUID
    title: str
    code: str
    severity: str
    metric: str
    metric_label: str
    diagnosis: str
    actions: list[str]
    evidence: list[EvidenceRow]
    notes: list[str]
    confidence: str
    deployment_id: uuid.UUID
    public_id: str
    project_name: str
    env: str
    created_at: datetime


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def format_value(metric: str, value: Any) -> str:
    number = _number(value)
    if number is None:
        return "—"
    if metric == "latency_p95":
        return f"{number:.0f} ms"
    if metric == "requests_per_sec":
        return f"{number:.1f} req/s"
    return f"{number * 100:.2f} %" if metric == "error_rate" else f"{number * 100:.1f} %"


def format_change(metric: str, change: Any, baseline: Any, observed: Any) -> str:
    """The analyzer's change when it gave one, else computed the same way from the two means."""
    number, before, after = _number(change), _number(baseline), _number(observed)
    if metric in RATIO_METRICS:
        if number is None and before and after is not None:
            number = after / before
        return "—" if number is None else f"×{number:.2f} ({(number - 1) * 100:+.0f} %)"
    if number is None and before is not None and after is not None:
        number = after - before
    return "—" if number is None else f"{number * 100:+.2f} pp"


def _threshold(metric: str, value: Any, detail: Any) -> str:
    if _number(value) is not None:
        return format_value(metric, value)
    match = _THRESHOLD_TOKEN.search(detail) if isinstance(detail, str) else None
    return match.group(1) if match else "—"


def evidence_rows(row: Row) -> list[EvidenceRow]:
    """Pure: baseline, observed, change and threshold per metric the hint is about."""
    evidence = _mapping(row["evidence"])
    metric = row["metric"]
    if metric in reads.METRIC_LABELS:
        observed = row["observed_value"] if row["observed_value"] is not None else evidence.get("observed")
        threshold = row["threshold"] if row["threshold"] is not None else evidence.get("threshold")
        audit = _mapping(evidence.get(metric))
        return [
            EvidenceRow(
                reads.METRIC_LABELS[metric],
                format_value(metric, evidence.get("baseline")),
                format_value(metric, observed),
                format_change(metric, evidence.get("change"), evidence.get("baseline"), observed),
                _threshold(
                    metric,
                    threshold if threshold is not None else audit.get("secured_threshold"),
                    evidence.get("detail"),
                ),
            )
        ]
    signals = _mapping(evidence.get("signals"))
    baselines = _mapping(evidence.get("baseline"))
    observeds = _mapping(evidence.get("observed"))
    names = [m for m in (row["composite_signals"] or signals or baselines) if m in reads.METRIC_LABELS]
    rows = []
    for name in names:
        signal = _mapping(signals.get(name))
        audit = _mapping(evidence.get(name))
        threshold = signal.get("threshold")
        threshold = threshold if threshold is not None else audit.get("secured_threshold")
        rows.append(
            EvidenceRow(
                reads.METRIC_LABELS[name],
                format_value(name, baselines.get(name)),
                format_value(name, observeds.get(name)),
                format_change(name, signal.get("change"), baselines.get(name), observeds.get(name)),
                _threshold(name, threshold, signal.get("detail")),
            )
        )
    return rows


def evidence_notes(evidence: Mapping[str, Any]) -> list[str]:
    """What a hint without per-metric figures rests on: the reasons data was insufficient, its quality."""
    notes = []
    reasons = evidence.get("reasons")
    if isinstance(reasons, list) and reasons:
        notes.append("Why: " + ", ".join(str(r).replace("_", " ") for r in reasons))
    quality = _number(evidence.get("data_quality_score", evidence.get("quality")))
    if quality is not None:
        notes.append(f"Data quality {quality:.2f}{' (low)' if evidence.get('low_data_quality') else ''}")
    return notes


def hint_item(row: Row) -> HintItem:
    metric = row["metric"]
    signals = [reads.METRIC_LABELS.get(m, m) for m in row["composite_signals"] or ()]
    return HintItem(
        id=row["id"],
        title=row["title"],
        code=row["code"],
        severity=row["severity"],
        metric=metric,
        metric_label=reads.METRIC_LABELS.get(metric)
        or ("Combined: " + ", ".join(signals) if signals else "Whole deployment"),
        diagnosis=row["diagnosis"],
        actions=list(row["suggested_actions"]),
        evidence=evidence_rows(row),
        notes=evidence_notes(_mapping(row["evidence"])),
        confidence=f"{row['confidence'] * 100:.0f} %",
        deployment_id=row["deployment_id"],
        public_id=public_id(row["deployment_number"]),
        project_name=row["project_name"],
        env=row["env"],
        created_at=row["created_at"],
    )


def parse(
    query: Mapping[str, str], projects: Mapping[uuid.UUID, str]
) -> tuple[reads.ListQuery, reads.HintFilters]:
    """Pure: read the hint filters; each invalid one is left out and explained in a sentence."""
    parsed = reads.ListQuery("/app/sdh")
    project_id = parsed.read_project(query, projects)
    severity = parsed.read_choice(query, "severity", reads.SEVERITY_LABELS)
    metric = parsed.read_choice(query, "metric", reads.METRIC_LABELS)
    parsed.read_cursors(query)
    return parsed, reads.HintFilters(project_id, severity, metric)


def operations(res: Resources) -> list[Operation]:
    async def hints(request: web.Request, viewer: Viewer) -> web.Response:
        async with res.pool.acquire() as conn:
            choices = await reads.project_choices(conn, viewer.user_id)
            parsed, filters = parse(request.query, {row["id"]: row["name"] for row in choices})
            found = await reads.hints_page(
                conn, viewer.user_id, filters, before=parsed.before, after=parsed.after, limit=PAGE_SIZE
            )
        await emit_view(
            res,
            request,
            viewer.user_id,
            "sdh_viewed",
            project_id=filters.project_id,
            severity=filters.severity,
            hints=len(found.rows),
        )
        context = {
            "items": [hint_item(row) for row in found.rows],
            "projects": choices,
            "severities": reads.SEVERITY_LABELS,
            "metrics": reads.METRIC_LABELS,
            "values": parsed.values,
            "errors": parsed.errors,
            "filtered": bool(parsed.values),
            "paged": bool(parsed.before or parsed.after),
            "newer_url": parsed.link(after=found.newer.encode()) if found.newer else None,
            "older_url": parsed.link(before=found.older.encode()) if found.older else None,
            "first_url": parsed.link(),
        }
        status = 400 if parsed.errors else 200
        return render(request, "sdh.html", context, viewer, status, active="sdh")

    return [Operation("GET", "/app/sdh", page(res, hints), "Diagnostic hints page", "Pages", hidden=True)]
