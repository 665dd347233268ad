"""Health, readiness, Prometheus metrics, OpenAPI and the CI rate limit."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp import web

from seqpulse.gateway.app import RESOURCES
from seqpulse.gateway.openapi import build_openapi
from seqpulse.gateway.ratelimit import FixedWindowLimiter
from seqpulse.gateway.routes import Operation
from tests.integration.gateway.gateway_harness import Harness, bearer

pytestmark = [pytest.mark.postgres, pytest.mark.nats]


async def _json(gw: Harness, path: str) -> tuple[int, dict[str, Any]]:
    response = await gw.client.get(path)
    return response.status, await response.json(content_type=None)


async def _job(
    gw: Harness, deployment_id: str, project_id: str, index: int, status: str, age_s: float
) -> None:
    """A collector job row; `age_s` places its finish (failed) or lease end (running) in the past."""
    async with gw.pool.acquire() as conn:
        await conn.execute(
            "INSERT INTO collection_jobs (deployment_id, project_id, phase, sequence_index, scheduled_at,"
            " deadline_at, status, finished_at, lease_expires_at)"
            " VALUES ($1, $2, 'post', $3, now(), now(), $4,"
            " CASE WHEN $4 = 'failed' THEN now() - make_interval(secs => $5) END,"
            " CASE WHEN $4 = 'running' THEN now() - make_interval(secs => $5) END)",
            deployment_id,
            project_id,
            index,
            status,
            age_s,
        )


async def test_health_counts_failed_jobs_of_the_last_hour_only(gw: Harness) -> None:
    status, body = await _json(gw, "/health")
    assert (status, body["status"]) == (200, "degraded")
    assert body["checks"]["db"] and body["checks"]["nats"]
    assert body["reasons"] == ["collector_heartbeat_fresh"]  # no collector runs in this test

    project = await gw.project(await gw.token())
    _, dep = await gw.trigger(project["api_key"])
    async with gw.pool.acquire() as conn:
        await conn.execute("INSERT INTO collector_heartbeats (instance_id) VALUES ('collector-1')")
    await _job(gw, dep["deployment_id"], project["id"], 0, "failed", 7200)
    status, body = await _json(gw, "/health")
    assert (status, body["status"], body["reasons"]) == (200, "ok", [])
    assert body["scheduler"]["failed_last_hour"] == 0 and body["scheduler"]["heartbeat_fresh"]

    await _job(gw, dep["deployment_id"], project["id"], 1, "failed", 300)
    status, body = await _json(gw, "/health")
    assert (status, body["status"], body["reasons"]) == (200, "degraded", ["no_failed_jobs_last_hour"])


async def test_scheduler_health_reports_stuck_jobs_and_a_stale_heartbeat(gw: Harness) -> None:
    project = await gw.project(await gw.token())
    _, dep = await gw.trigger(project["api_key"])
    async with gw.pool.acquire() as conn:
        await conn.execute(
            "INSERT INTO collector_heartbeats (instance_id, beat_at)"
            " VALUES ('c', now() - interval '2 minutes')"
        )
    await _job(gw, dep["deployment_id"], project["id"], 0, "running", 300)
    await _job(gw, dep["deployment_id"], project["id"], 1, "running", 10)
    await _job(gw, dep["deployment_id"], project["id"], 2, "pending", 0)
    status, body = await _json(gw, "/health/scheduler")
    assert (status, body["status"]) == (200, "degraded")
    assert (body["pending"], body["running"], body["stuck"]) == (1, 2, 1)
    assert body["checks"]["no_stuck_jobs"] is False and body["checks"]["collector_heartbeat_fresh"] is False
    assert body["heartbeat_age_seconds"] >= 119


async def test_db_check_liveness_and_readiness(gw: Harness) -> None:
    assert await _json(gw, "/db-check") == (200, {"db_ok": True})
    assert await _json(gw, "/livez") == (200, {"status": "alive"})
    assert await _json(gw, "/readyz") == (200, {"status": "ready", "checks": {"db": True, "nats": True}})


async def test_metrics_label_requests_by_route_template(gw: Harness) -> None:
    token = await gw.token()
    project = await gw.project(token)
    await gw.client.get(f"/projects/{project['id']}", headers=bearer(token))
    await gw.client.get("/definitely/not/a/route")
    text = await (await gw.client.get("/metrics")).text()
    assert (
        'seqpulse_http_requests_total{method="GET",path="/projects/{project_id}",status_code="200"}' in text
    )
    assert 'path="<unmatched>",status_code="404"' in text
    assert (
        'seqpulse_http_request_duration_seconds_bucket{le="0.005",method="GET",path="/projects/{project_id}"}'
        in text
    )
    assert project["id"] not in text
    assert 'path="/metrics"' not in text


async def test_metrics_restricted_to_the_samples_named_in_the_query(gw: Harness) -> None:
    await gw.client.get("/definitely/not/a/route")
    wanted = "seqpulse_http_requests_total"
    text = await (await gw.client.get("/metrics", params=[("name[]", wanted)])).text()
    samples = [line for line in text.splitlines() if line and not line.startswith("#")]
    assert samples and all(line.startswith(wanted + "{") for line in samples)
    assert 'path="<unmatched>",status_code="404"' in text
    everything = await (await gw.client.get("/metrics")).text()
    assert "seqpulse_http_request_duration_seconds_bucket" in everything and len(everything) > 3 * len(text)


async def test_openapi_documents_the_ci_contract_and_docs_need_no_cdn(gw: Harness) -> None:
    status, spec = await _json(gw, "/openapi.json")
    assert status == 200 and spec["openapi"].startswith("3.1")
    trigger = spec["paths"]["/deployments/trigger"]["post"]
    assert trigger["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/TriggerRequest"
    }
    assert trigger["security"] == [{"apiKeyAuth": []}]
    assert spec["paths"]["/deployments/finish"]["post"]["security"] == [{"apiKeyAuth": []}]
    # USER routes take a token or the browser session (its CSRF header on state-changing methods).
    for path, method in (("/deployments", "get"), ("/projects", "post")):
        assert spec["paths"][path][method]["security"] == [{"bearerAuth": []}, {"sessionCookie": []}]
    # Product events: a project's API key, or a user's token or session.
    assert spec["paths"]["/events"]["post"]["security"] == [
        {"apiKeyAuth": []},
        {"bearerAuth": []},
        {"sessionCookie": []},
    ]
    session = spec["components"]["securitySchemes"]["sessionCookie"]
    assert (session["type"], session["in"], session["name"]) == ("apiKey", "cookie", "seqpulse_session")
    assert "X-CSRF-Token" in session["description"]
    assert "402" in trigger["responses"] and "X-Idempotency-Key" in [p["name"] for p in trigger["parameters"]]
    assert set(spec["components"]["schemas"]["TriggerRequest"]["properties"]) == {
        "env",
        "idempotency_key",
        "branch",
        "metrics_endpoint",
    }
    assert "/metrics" not in spec["paths"]
    deployments = spec["paths"]["/deployments"]["get"]
    assert {"project_id", "env", "limit", "before"} <= {p["name"] for p in deployments["parameters"]}
    page = await (await gw.client.get("/docs")).text()
    assert "/deployments/trigger" in page and "<script" not in page and "https://" not in page


def test_openapi_offers_no_session_for_a_user_route_needing_the_admin_scope() -> None:
    async def handler(_request: web.Request) -> web.Response:
        return web.Response()

    operations = [
        Operation("GET", "/a", handler, "Read", "T", auth="user", scope="read"),
        Operation("POST", "/b", handler, "Administer", "T", auth="user", scope="admin"),
    ]
    paths = build_openapi(operations, server_url="http://x")["paths"]
    assert paths["/a"]["get"]["security"] == [{"bearerAuth": []}, {"sessionCookie": []}]
    assert paths["/b"]["post"]["security"] == [{"bearerAuth": []}]


async def test_ci_calls_are_rate_limited_per_key(gw: Harness) -> None:
    project = await gw.project(await gw.token())
    gw.app[RESOURCES].limiter = FixedWindowLimiter(2, clock=lambda: 1_000_010.0)
    for _ in range(2):
        status, _ = await gw.trigger(project["api_key"], idempotency_key="same")
        assert status == 200
    response = await gw.client.post(
        "/deployments/trigger", json={"env": "prod"}, headers={"X-API-Key": project["api_key"]}
    )
    problem = await response.json(content_type=None)
    assert (response.status, problem["code"], response.headers["Retry-After"]) == (429, "rate_limited", "10")
    assert problem["detail"] == "Rate limit exceeded: 2 per 1 minute"
    bad_key = await gw.client.post(
        "/deployments/trigger", json={"env": "prod"}, headers={"X-API-Key": "SP_x"}
    )
    assert bad_key.status == 401  # authentication comes first and spends no quota
    finish = await gw.client.post(
        "/deployments/finish",
        json={"deployment_id": project["id"], "result": "success"},
        headers={"X-API-Key": project["api_key"]},
    )
    assert finish.status == 200  # finish has its own budget, as in the original
