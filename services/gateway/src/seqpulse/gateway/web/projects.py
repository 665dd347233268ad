"""Dashboard pages: the project list, creating a project, and a project's page.

Reads go through the API's repositories; every change (create, settings, endpoint, HMAC, API key) is a
JSON API call from `static/js/projects.js`, so secrets are shown by the page that asked for them, once,
and never pass through a URL, a server-side store or a later page load.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aiohttp import web

from seqpulse.common.db.queries import Queries
from seqpulse.gateway import plans
from seqpulse.gateway import read_repository as reads
from seqpulse.gateway.records import public_id
from seqpulse.gateway.resources import Resources
from seqpulse.gateway.routes import Operation, path_uuid
from seqpulse.gateway.routes.projects import visible_project
from seqpulse.gateway.views import deployment_view, derive_state, endpoint_view, project_view
from seqpulse.gateway.web import project_snippets as snippets
from seqpulse.gateway.web.context import Viewer, page, render

Q = Queries(Path(__file__).with_name("projects.sql"))
RECENT_DEPLOYMENTS = 10
ENDPOINT_STATES = {
    "pending_verification": "Pending verification",
    "active": "Active",
    "blocked": "Blocked",
}
# A verdict when there is one, else where the deployment stands: never "ok" before the analyzer said so.
OUTCOMES = {
    "ok": "OK",
    "warning": "Warning",
    "rollback_recommended": "Rollback recommended",
    "running": "Deploying",
    "collecting": "Collecting",
    "analyzing": "Analyzing",
    "analyzed": "Analyzed",
    "expired": "Expired",
}
PLAN_LABELS = {"free": "Free", "pro": "Pro", "enterprise": "Enterprise"}


def _one_of(values: list[str]) -> str:
    return values[0] if len(values) == 1 else f"{', '.join(values[:-1])} or {values[-1]}"


def _quota(count: int | None, what: str) -> str:
    if count is None:
        return f"unlimited {what}s"
    return f"{count} {what}{'' if count == 1 else 's'}"


def _capitalized(text: str) -> str:
    return text[:1].upper() + text[1:]


def plan_choices() -> list[dict[str, Any]]:
    """What each plan allows, from `plans.RULES`: the form shows it next to each choice."""
    choices = []
    for plan in plans.PLANS:
        rules = plans.rules(plan)
        window = f"{_one_of([str(w) for w in rules.windows])} sequences"
        if len(rules.windows) > 1:
            window += f" ({rules.default_window} by default)"
        monthly = rules.monthly_deployments
        choices.append(
            {
                "key": plan,
                "label": PLAN_LABELS[plan],
                "allows": [
                    f"Observation window: {window}",
                    "Environment: prod only" if plan == "free" else f"Up to {rules.max_envs} environments",
                    f"{monthly} deployments a month" if monthly else "Unlimited deployments",
                    _capitalized(
                        f"{_quota(rules.endpoint_changes, 'endpoint path change')}, "
                        f"{_quota(rules.endpoint_migrations, 'host migration')}"
                    ),
                ],
            }
        )
    return choices


def window_options() -> list[dict[str, Any]]:
    """Every window some plan offers, with the plans that offer it."""
    windows = sorted({w for plan in plans.PLANS for w in plans.rules(plan).windows})
    return [
        {
            "value": w,
            "plans": _one_of([PLAN_LABELS[p] for p in plans.PLANS if w in plans.rules(p).windows]),
        }
        for w in windows
    ]


def plan_rules_json(sequence_seconds: int) -> dict[str, Any]:
    """What the page's script needs to explain the window and environments of the chosen plan."""
    return {
        "sequence_seconds": sequence_seconds,
        "plans": {
            plan: {
                "label": PLAN_LABELS[plan],
                "windows": list(plans.rules(plan).windows),
                "default_window": plans.rules(plan).default_window,
                "max_envs": plans.rules(plan).max_envs,
            }
            for plan in plans.PLANS
        },
    }


def base_url(res: Resources, request: web.Request) -> str:
    """The gateway as CI reaches it: the configured public URL, else the address this page came from."""
    if "public_base_url" in res.settings.model_fields_set:
        return res.settings.public_base_url.rstrip("/")
    return str(request.url.origin())


def _form_context(res: Resources) -> dict[str, Any]:
    return {
        "plan_choices": plan_choices(),
        "window_options": window_options(),
        "plan_rules": plan_rules_json(res.settings.sequence_seconds),
    }


def operations(res: Resources) -> list[Operation]:
    async def list_page(request: web.Request, viewer: Viewer) -> web.StreamResponse:
        who = viewer.principal
        async with res.pool.acquire() as conn:
            rows = await conn.fetch(Q.project_summaries, who.sees_everything, who.user_id)
        projects = []
        for row in rows:
            last = None
            if row["deployment_id"] is not None:
                state = derive_state(row["state"], row["window_state"], row["verdict"] is not None)
                last = {
                    "id": row["deployment_id"],
                    "public_id": public_id(row["deployment_number"]),
                    "env": row["env"],
                    "started_at": row["started_at"],
                    "outcome": row["verdict"] or state,
                }
            projects.append(
                {
                    "id": row["id"],
                    "name": row["name"],
                    "plan": row["plan"],
                    "endpoint_state": row["endpoint_state"],
                    "last": last,
                }
            )
        context = {
            "projects": projects,
            "endpoint_states": ENDPOINT_STATES,
            "outcomes": OUTCOMES,
            "plan_labels": PLAN_LABELS,
        }
        return render(request, "projects.html", context, viewer, active="projects")

    async def new_page(request: web.Request, viewer: Viewer) -> web.StreamResponse:
        return render(request, "project_new.html", _form_context(res), viewer, active="projects")

    async def detail_page(request: web.Request, viewer: Viewer) -> web.StreamResponse:
        project_id = path_uuid(request, "project_id", "Project")
        async with res.pool.acquire() as conn:
            row = await visible_project(conn, project_id, viewer.principal)
            recent = await reads.deployment_views(
                conn, viewer.principal, project_id=project_id, limit=RECENT_DEPLOYMENTS
            )
        project = project_view(row)
        endpoint = endpoint_view(row)
        deployments = [deployment_view(r, []) for r in recent]
        url = endpoint.active_endpoint or endpoint.candidate_endpoint
        timeout = snippets.ci_timeout(project.window_sequences, res.settings.sequence_seconds)
        ci_base_url = base_url(res, request)
        context = {
            **_form_context(res),
            "project": project,
            "endpoint": endpoint,
            "deployments": deployments,
            "metrics_path": snippets.metrics_path(url),
            "app_snippets": snippets.app_snippets(url),
            "ci_base_url": ci_base_url,
            "ci_snippets": snippets.ci_snippets(ci_base_url, snippets.ci_env(project.envs), timeout),
            "endpoint_states": ENDPOINT_STATES,
            "outcomes": OUTCOMES,
            "plan_labels": PLAN_LABELS,
        }
        return render(request, "project_detail.html", context, viewer, active="projects")

    return [
        Operation("GET", "/app/projects", page(res, list_page), "Projects", "Pages", hidden=True),
        # Before the `{project_id}` route, which would otherwise take "new" for an id.
        Operation("GET", "/app/projects/new", page(res, new_page), "New project", "Pages", hidden=True),
        Operation(
            "GET", "/app/projects/{project_id}", page(res, detail_page), "A project", "Pages", hidden=True
        ),
    ]
