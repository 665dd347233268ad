"""Dashboard reads: the derived state, the latest verdict, hints, samples and SDH filters."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.integration.gateway.gateway_harness import Harness, bearer

pytestmark = [pytest.mark.postgres, pytest.mark.nats]


async def _verdict(
    gw: Harness, dep: str, project: str, version: int, verdict: str, hints: list[tuple[str, str]]
) -> None:
    """What the analyzer would write: a verdict version and its hints (code, severity)."""
    async with gw.pool.acquire() as conn:
        verdict_id = await conn.fetchval(
            "INSERT INTO verdicts (deployment_id, project_id, version, policy, verdict, confidence, summary,"
            " details, data_quality, comparisons)"
            " VALUES ($1, $2, $3, 'robust-v1', $4, 0.8, 'summary', ARRAY['d1'],"
            " '{\"score\": 0.9}', '{}') RETURNING id",
            dep,
            project,
            version,
            verdict,
        )
        for code, severity in hints:
            await conn.execute(
                "INSERT INTO sdh_hints (verdict_id, deployment_id, project_id, code, metric, severity, title,"
                " diagnosis, suggested_actions, observed_value, threshold, confidence)"
                " VALUES ($1, $2, $3, $4, 'latency_p95', $5,"
                " 'Latency up', 'p95 doubled', ARRAY['roll back'], 410, 300, 0.7)",
                verdict_id,
                dep,
                project,
                code,
                severity,
            )


async def _window(gw: Harness, dep: str, project: str, state: str, cancel_reason: str | None = None) -> None:
    async with gw.pool.acquire() as conn:
        await conn.execute(
            "INSERT INTO collection_windows (deployment_id, project_id, expected_post, sequence_seconds,"
            " finished_at, deadline_at, state, cancel_reason)"
            " VALUES ($1, $2, 5, 1, now(), now() + interval '1 minute', $3, $4)"
            " ON CONFLICT (deployment_id) DO UPDATE SET state = $3, cancel_reason = $4",
            dep,
            project,
            state,
            cancel_reason,
        )


async def _get(gw: Harness, token: str, path: str) -> dict[str, Any]:
    response = await gw.client.get(path, headers=bearer(token))
    assert response.status == 200, await response.text()
    body: dict[str, Any] = await response.json()
    return body


async def test_the_state_follows_the_deployment_and_no_verdict_is_invented(gw: Harness) -> None:
    token = await gw.token()
    project = await gw.project(token)
    _, dep = await gw.trigger(project["api_key"], branch="main")
    dep_id, path = dep["deployment_id"], f"/deployments/{dep['deployment_id']}"
    body = await _get(gw, token, path)
    assert (body["state"], body["public_id"], body["branch"], body["project_name"]) == (
        "running",
        "dpl_1",
        "main",
        "shop",
    )

    await gw.finish(project["api_key"], dep_id, "failed")
    body = await _get(gw, token, path)
    assert (body["state"], body["verdict"], body["verdict_status"]) == ("collecting", None, "pending")
    assert body["window"] == {
        "sequences": 5,
        "sequence_seconds": 1.0,
        "collected_pre": 0,
        "collected_post": 0,
        "state": "pending",
        "cancel_reason": None,
        "close_reason": None,
        "closed_at": None,
    }

    await _window(gw, dep_id, project["id"], "open")
    assert (await _get(gw, token, path))["state"] == "collecting"
    await _window(gw, dep_id, project["id"], "cancelled", "app answered 401 to a signed probe")
    body = await _get(gw, token, path)
    assert (body["state"], body["window"]["cancel_reason"]) == (
        "analyzing",
        "app answered 401 to a signed probe",
    )

    await _verdict(gw, dep_id, project["id"], 1, "warning", [("latency_regression", "warning")])
    await _verdict(gw, dep_id, project["id"], 2, "rollback_recommended", [("latency_regression", "critical")])
    body = await _get(gw, token, path)
    assert (body["state"], body["verdict_status"]) == ("analyzed", "available")
    assert (body["verdict"]["verdict"], body["verdict"]["version"]) == ("rollback_recommended", 2)
    assert body["verdict"]["data_quality"] == {"score": 0.9}
    assert [h["severity"] for h in body["hints"]] == ["critical"]  # hints of the latest version only


async def test_public_ids_need_their_project(gw: Harness) -> None:
    token = await gw.token()
    project = await gw.project(token)
    _, dep = await gw.trigger(project["api_key"])
    body = await _get(gw, token, f"/deployments/dpl_1?project_id={project['id']}")
    assert body["id"] == dep["deployment_id"]
    response = await gw.client.get("/deployments/dpl_1", headers=bearer(token))
    problem = await response.json(content_type=None)
    assert (response.status, problem["errors"][0]["field"]) == (400, "project_id")
    response = await gw.client.get("/deployments/dpl_x", headers=bearer(token))
    assert (response.status, (await response.json(content_type=None))["errors"][0]["field"]) == (
        400,
        "deployment_id",
    )
    response = await gw.client.get(f"/deployments/{uuid.uuid4()}", headers=bearer(token))
    assert response.status == 404


async def test_samples_come_back_oldest_first(gw: Harness) -> None:
    token = await gw.token()
    project = await gw.project(token)
    _, dep = await gw.trigger(project["api_key"])
    async with gw.pool.acquire() as conn:
        for phase, index, offset in (("post", 1, 3), ("pre", 0, 1), ("post", 0, 2)):
            await conn.execute(
                "INSERT INTO metric_samples (deployment_id, project_id, phase, sequence_index, scheduled_at,"
                " collected_at, requests_per_sec, latency_p95, error_rate, cpu_usage, memory_usage)"
                " VALUES ($1, $2, $3, $4, now(), now() + make_interval(secs => $5), 10, 100, 0.01, 0.2, 0.3)",
                dep["deployment_id"],
                project["id"],
                phase,
                index,
                offset,
            )
    body = await _get(gw, token, f"/deployments/{dep['deployment_id']}/metrics")
    assert [(s["phase"], s["sequence_index"]) for s in body["items"]] == [
        ("pre", 0),
        ("post", 0),
        ("post", 1),
    ]
    detail = await _get(gw, token, f"/deployments/{dep['deployment_id']}")
    assert (detail["window"]["collected_pre"], detail["window"]["collected_post"]) == (1, 2)


async def test_sdh_lists_latest_hints_newest_first_and_filters(gw: Harness) -> None:
    token = await gw.token()
    project = await gw.project(token, plan="pro", envs=["prod", "staging"])
    _, one = await gw.trigger(project["api_key"], env="prod")
    _, two = await gw.trigger(project["api_key"], env="staging")
    await _verdict(gw, one["deployment_id"], project["id"], 1, "warning", [("old_hint", "info")])
    await _verdict(gw, one["deployment_id"], project["id"], 2, "warning", [("error_spike", "warning")])
    await _verdict(
        gw, two["deployment_id"], project["id"], 1, "rollback_recommended", [("latency", "critical")]
    )
    body = await _get(gw, token, "/sdh")
    assert [h["code"] for h in body["items"]] == ["latency", "error_spike"]
    assert body["items"][0]["public_id"] == "dpl_2" and body["items"][0]["env"] == "staging"
    critical = await _get(gw, token, "/sdh?severity=critical")
    assert [h["code"] for h in critical["items"]] == ["latency"]
    by_dep = await _get(gw, token, f"/sdh?deployment_id=dpl_1&project_id={project['id']}")
    assert [h["code"] for h in by_dep["items"]] == ["error_spike"]
    response = await gw.client.get("/sdh?severity=fatal", headers=bearer(token))
    problem = await response.json(content_type=None)
    assert (response.status, problem["errors"][0]["field"]) == (422, "severity")
    assert (await _get(gw, await gw.token(), "/sdh"))["items"] == []


async def test_the_deployment_list_pages_with_before(gw: Harness) -> None:
    token = await gw.token()
    project = await gw.project(token)
    for run in range(3):
        _, dep = await gw.trigger(project["api_key"], idempotency_key=f"p{run}")
        await gw.finish(project["api_key"], dep["deployment_id"])
    page = await _get(gw, token, "/deployments?limit=2")
    assert [d["public_id"] for d in page["items"]] == ["dpl_3", "dpl_2"]
    assert page["next_before"] is not None
    response = await gw.client.get(
        "/deployments", params={"limit": 2, "before": page["next_before"]}, headers=bearer(token)
    )
    rest = await response.json()
    assert [d["public_id"] for d in rest["items"]] == ["dpl_1"] and rest["next_before"] is None
    response = await gw.client.get("/deployments?limit=0", headers=bearer(token))
    assert (response.status, (await response.json(content_type=None))["errors"][0]["field"]) == (422, "limit")
