"""The metrics endpoint lock: candidate, test, activation, quotas, audit events; and HMAC secrets."""

from __future__ import annotations

from typing import Any

import pytest

from seqpulse.common.secretbox import SecretBox
from tests.integration.gateway.gateway_harness import Harness, bearer

pytestmark = [pytest.mark.postgres, pytest.mark.nats]


async def _events(gw: Harness, project_id: str) -> list[tuple[str, dict[str, Any]]]:
    async with gw.pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT event_type, payload FROM project_endpoint_events WHERE project_id = $1"
            " ORDER BY created_at, id",
            project_id,
        )
    return [(r["event_type"], r["payload"]) for r in rows]


async def test_a_new_project_waits_for_a_successful_test(gw: Harness) -> None:
    token = await gw.token()
    project = await gw.project(token, activate=False)
    assert project["endpoint_state"] == "pending_verification"
    assert project["metrics_endpoint_active"] is None
    tested = await gw.client.post(f"/projects/{project['id']}/endpoint/test", headers=bearer(token))
    body = await tested.json()
    assert tested.status == 200
    assert (body["state"], body["active_endpoint"], body["host_lock"]) == ("active", gw.fake.url, "127.0.0.1")
    assert body["metrics"]["latency_p95"] == 180.0
    assert body["baseline_version"] == 1 and body["mutation"] == "none"
    assert [e for e, _ in await _events(gw, project["id"])] == [
        "endpoint_candidate_updated",
        "endpoint_test_succeeded",
        "endpoint_activated",
    ]


@pytest.mark.parametrize(
    ("status", "body", "reason_part"),
    [
        (503, {"metrics": {}}, "HTTP 503"),
        (
            200,
            {
                "metrics": {
                    "requests_per_sec": 1,
                    "latency_p95": 2,
                    "error_rate": 0.1,
                    "cpu_usage": 1.5,
                    "memory_usage": 0.2,
                }
            },
            "metrics.cpu_usage",
        ),
        (200, {"metrics": {"requests_per_sec": 1}}, "metrics.latency_p95: is missing"),
    ],
)
async def test_a_failed_test_is_400_and_is_remembered(
    gw: Harness, status: int, body: Any, reason_part: str
) -> None:
    token = await gw.token()
    project = await gw.project(token, activate=False)
    gw.fake.status, gw.fake.body = status, body
    response = await gw.client.post(f"/projects/{project['id']}/endpoint/test", headers=bearer(token))
    problem = await response.json(content_type=None)
    assert (response.status, problem["code"]) == (400, "ENDPOINT_TEST_FAILED")
    assert reason_part in problem["detail"]
    endpoint = await (
        await gw.client.get(f"/projects/{project['id']}/endpoint", headers=bearer(token))
    ).json()
    assert endpoint["state"] == "pending_verification"
    assert endpoint["last_test_error_code"] == "ENDPOINT_TEST_FAILED"
    assert reason_part in endpoint["last_test_error"]
    events = await _events(gw, project["id"])
    assert events[-1][0] == "endpoint_test_failed" and reason_part in events[-1][1]["error"]


async def test_path_changes_are_counted_and_limited_by_the_plan(gw: Harness) -> None:
    token = await gw.token()
    project = await gw.project(token)
    other_path = gw.fake.url.replace("/seqpulse-metrics", "/other-metrics")
    put = await gw.client.put(
        f"/projects/{project['id']}/endpoint", json={"metrics_endpoint": other_path}, headers=bearer(token)
    )
    endpoint = await put.json()
    assert (put.status, endpoint["state"], endpoint["active_endpoint"]) == (
        200,
        "pending_verification",
        gw.fake.url,
    )
    status, _ = await gw.trigger(project["api_key"])  # the active endpoint keeps working meanwhile
    assert status == 200
    tested = await (
        await gw.client.post(f"/projects/{project['id']}/endpoint/test", headers=bearer(token))
    ).json()
    assert (tested["mutation"], tested["changes_used"], tested["changes_limit"]) == ("path_change", 1, 1)
    assert tested["baseline_version"] == 2 and tested["active_endpoint"] == other_path
    before = await gw.counts()
    again = await gw.client.put(
        f"/projects/{project['id']}/endpoint", json={"metrics_endpoint": gw.fake.url}, headers=bearer(token)
    )
    assert (again.status, (await again.json())["code"]) == (409, "CHANGE_LIMIT_EXCEEDED")
    assert await gw.counts() == before


async def test_a_host_migration_moves_the_host_lock(gw: Harness) -> None:
    token = await gw.token()
    project = await gw.project(token, plan="pro")
    migrated = gw.fake.url.replace("127.0.0.1", "localhost")
    await gw.client.put(
        f"/projects/{project['id']}/endpoint", json={"metrics_endpoint": migrated}, headers=bearer(token)
    )
    tested = await (
        await gw.client.post(f"/projects/{project['id']}/endpoint/test", headers=bearer(token))
    ).json()
    assert (tested["mutation"], tested["host_lock"], tested["migrations_used"]) == (
        "host_migration",
        "localhost",
        1,
    )
    assert tested["migrations_limit"] == 3


async def test_an_invalid_candidate_is_400_and_changes_nothing(gw: Harness) -> None:
    token = await gw.token()
    project = await gw.project(token)
    before = await gw.counts()
    response = await gw.client.put(
        f"/projects/{project['id']}/endpoint",
        json={"metrics_endpoint": "javascript:alert(1)"},
        headers=bearer(token),
    )
    problem = await response.json(content_type=None)
    assert (response.status, problem["code"]) == (400, "ENDPOINT_INVALID_FORMAT")
    assert problem["errors"][0]["field"] == "metrics_endpoint"
    assert await gw.counts() == before


async def test_hmac_secret_is_shown_once_and_stored_sealed(gw: Harness) -> None:
    token = await gw.token()
    project = await gw.project(token)
    enabled = await gw.client.post(f"/projects/{project['id']}/hmac/enable", headers=bearer(token))
    secret = (await enabled.json())["hmac_secret"]
    assert enabled.status == 200 and secret.startswith("spm_") and len(secret) == 47
    async with gw.pool.acquire() as conn:
        sealed = bytes(
            await conn.fetchval("SELECT hmac_secret_enc FROM projects WHERE id = $1", project["id"])
        )
    assert secret.encode() not in sealed
    assert SecretBox(gw.settings.secret_key).open(sealed, context=project["id"]) == secret
    shown = await (await gw.client.get(f"/projects/{project['id']}", headers=bearer(token))).text()
    assert secret not in shown and '"hmac_enabled":true' in shown

    twice = await gw.client.post(f"/projects/{project['id']}/hmac/enable", headers=bearer(token))
    assert (twice.status, (await twice.json())["detail"]) == (400, "HMAC already enabled")
    rotated = await (
        await gw.client.post(f"/projects/{project['id']}/hmac/rotate", headers=bearer(token))
    ).json()
    assert rotated["hmac_secret"] != secret
    disabled = await gw.client.post(f"/projects/{project['id']}/hmac/disable", headers=bearer(token))
    assert (await disabled.json())["hmac_enabled"] is False
    async with gw.pool.acquire() as conn:
        assert (
            await conn.fetchval("SELECT hmac_secret_enc FROM projects WHERE id = $1", project["id"]) is None
        )
    off = await gw.client.post(f"/projects/{project['id']}/hmac/rotate", headers=bearer(token))
    assert (off.status, (await off.json())["detail"]) == (400, "HMAC not enabled")


async def test_trigger_preflights_hmac_projects_with_a_signed_request(gw: Harness) -> None:
    token = await gw.token()
    project = await gw.project(token, plan="pro", envs=["prod", "staging"])
    secret = (
        await (await gw.client.post(f"/projects/{project['id']}/hmac/enable", headers=bearer(token))).json()
    )["hmac_secret"]
    gw.fake.secret = "spm_not-the-right-secret"
    before, hits = await gw.counts(), gw.fake.hits
    status, body = await gw.trigger(project["api_key"])
    assert (status, body["code"]) == (422, "HMAC_PREFLIGHT_FAILED")
    assert (
        body["detail"]
        == "Metrics endpoint HMAC validation failed. Check secret and endpoint HMAC middleware."
    )
    assert gw.fake.hits == hits + 1 and await gw.counts() == before

    gw.fake.secret = secret
    status, body = await gw.trigger(project["api_key"])
    assert (status, body["status"]) == (200, "created")
    hits = gw.fake.hits
    status, body = await gw.trigger(project["api_key"], env="staging")
    assert body["status"] == "created"
    assert gw.fake.hits == hits  # a recent success for this secret is reused, not re-probed


async def test_an_unreachable_endpoint_fails_the_preflight_with_422(gw: Harness) -> None:
    token = await gw.token()
    project = await gw.project(token)
    await gw.client.post(f"/projects/{project['id']}/hmac/enable", headers=bearer(token))
    gw.fake.status = 500
    status, body = await gw.trigger(project["api_key"])
    assert (status, body["code"]) == (422, "ENDPOINT_PREFLIGHT_FAILED")
    assert body["errors"] == [{"field": "metrics_endpoint", "reason": "app answered HTTP 500"}]


async def test_the_endpoint_test_signs_when_hmac_is_on(gw: Harness) -> None:
    token = await gw.token()
    project = await gw.project(token, activate=False)
    secret = (
        await (await gw.client.post(f"/projects/{project['id']}/hmac/enable", headers=bearer(token))).json()
    )["hmac_secret"]
    gw.fake.secret = secret
    tested = await gw.client.post(f"/projects/{project['id']}/endpoint/test", headers=bearer(token))
    assert tested.status == 200 and gw.fake.rejected == 0


async def test_an_unreadable_hmac_secret_asks_for_a_rotation(gw: Harness) -> None:
    token = await gw.token()
    project = await gw.project(token)
    await gw.client.post(f"/projects/{project['id']}/hmac/enable", headers=bearer(token))
    async with gw.pool.acquire() as conn:  # as if SEQPULSE_SECRET_KEY had changed since
        await conn.execute("UPDATE projects SET hmac_secret_enc = '\\x01deadbeef'::bytea")
    status, body = await gw.trigger(project["api_key"])
    assert (status, body["code"]) == (422, "HMAC_SECRET_UNREADABLE")
    await gw.client.post(f"/projects/{project['id']}/hmac/rotate", headers=bearer(token))
    status, body = await gw.trigger(project["api_key"])
    assert (status, body["status"]) == (200, "created")
