"""Who may call what: personal access tokens, project API keys, owner scoping (404, never 403)."""

from __future__ import annotations

import pytest

from tests.integration.gateway.gateway_harness import Harness, bearer

pytestmark = [pytest.mark.postgres, pytest.mark.nats]


async def test_user_routes_need_a_valid_bearer_token(gw: Harness) -> None:
    response = await gw.client.get("/projects")
    body = await response.json(content_type=None)
    assert response.status == 401
    assert body["errors"] == [{"field": "Authorization", "reason": "is required"}]
    assert response.headers["WWW-Authenticate"] == "Bearer"
    for header in ("Bearer spt_unknown", "Basic dXNlcjpwYXNz", "Bearer "):
        response = await gw.client.get("/projects", headers={"Authorization": header})
        assert response.status == 401, header


async def test_a_revoked_token_stops_working_and_others_survive(gw: Harness) -> None:
    token = await gw.token()
    created = await gw.client.post("/tokens", json={"name": "ci", "scopes": ["read"]}, headers=bearer(token))
    assert created.status == 201
    second = await created.json()
    assert second["token"].startswith("spt_") and len(second["token"]) == 47
    assert second["prefix"] == second["token"][4:12]
    assert (await gw.client.get("/projects", headers=bearer(second["token"]))).status == 200

    listed = await (await gw.client.get("/tokens", headers=bearer(token))).json()
    assert len(listed["items"]) == 2 and all("token" not in item for item in listed["items"])

    revoked = await gw.client.delete(f"/tokens/{second['id']}", headers=bearer(token))
    assert revoked.status == 204
    response = await gw.client.get("/projects", headers=bearer(second["token"]))
    assert response.status == 401
    assert (await response.json(content_type=None))["detail"] == "Token revoked"
    assert (await gw.client.get("/projects", headers=bearer(token))).status == 200


async def test_an_expired_token_is_refused(gw: Harness) -> None:
    token = await gw.token()
    async with gw.pool.acquire() as conn:
        await conn.execute("UPDATE access_tokens SET expires_at = now() - interval '1 minute'")
    response = await gw.client.get("/projects", headers=bearer(token))
    assert response.status == 401
    assert (await response.json(content_type=None))["detail"] == "Token expired"


async def test_scopes_limit_what_a_token_does(gw: Harness) -> None:
    reader = await gw.token(scopes=("read",))
    before = await gw.counts()
    response = await gw.client.post(
        "/projects", json={"name": "x", "metrics_endpoint": gw.fake.url}, headers=bearer(reader)
    )
    assert response.status == 403
    assert (await response.json(content_type=None))["code"] == "insufficient_scope"
    writer = await gw.token(scopes=("read", "write"))
    escalate = await gw.client.post(
        "/tokens", json={"name": "x", "scopes": ["admin"]}, headers=bearer(writer)
    )
    assert escalate.status == 403
    assert await gw.counts() == {
        **before,
        "users": before["users"] + 1,
        "access_tokens": before["access_tokens"] + 1,
    }


async def test_using_a_token_records_when_it_was_last_used(gw: Harness) -> None:
    token = await gw.token()
    await gw.client.get("/projects", headers=bearer(token))
    async with gw.pool.acquire() as conn:
        assert await conn.fetchval("SELECT last_used_at FROM access_tokens") is not None


async def test_someone_elses_project_is_not_found(gw: Harness) -> None:
    owner = await gw.token()
    project = await gw.project(owner)
    _, dep = await gw.trigger(project["api_key"])
    stranger = await gw.token()
    for path in (
        f"/projects/{project['id']}",
        f"/projects/{project['id']}/endpoint",
        f"/deployments/{dep['deployment_id']}",
        f"/deployments?project_id={project['id']}",
    ):
        response = await gw.client.get(path, headers=bearer(stranger))
        assert response.status == 404, path
    response = await gw.client.post(f"/projects/{project['id']}/hmac/enable", headers=bearer(stranger))
    assert response.status == 404
    assert (await (await gw.client.get("/projects", headers=bearer(stranger))).json())["items"] == []
    revoke = await gw.client.delete(f"/tokens/{project['id']}", headers=bearer(stranger))
    assert revoke.status == 404


async def test_admins_see_every_project_only_with_an_admin_token(gw: Harness) -> None:
    project = await gw.project(await gw.token())
    admin_all = await gw.token(scopes=("admin",), admin=True)
    admin_email = "user2@example.com"
    admin_read = await gw.token(scopes=("read",), email=admin_email)
    assert (await gw.client.get(f"/projects/{project['id']}", headers=bearer(admin_all))).status == 200
    assert (await gw.client.get(f"/projects/{project['id']}", headers=bearer(admin_read))).status == 404


async def test_ci_routes_need_a_valid_api_key(gw: Harness) -> None:
    before = await gw.counts()
    response = await gw.client.post("/deployments/trigger", json={"env": "prod"})
    body = await response.json(content_type=None)
    assert response.status == 401
    assert body["errors"] == [{"field": "X-API-Key", "reason": "is required"}]
    response = await gw.client.post(
        "/deployments/trigger", json={"env": "prod"}, headers={"X-API-Key": "SP_nope"}
    )
    body = await response.json(content_type=None)
    assert (response.status, body["detail"]) == (401, "Invalid API key")
    assert body["errors"] == [
        {"field": "X-API-Key", "reason": "is not a live key of any project (revoked, rotated or mistyped)"}
    ]
    assert await gw.counts() == before


async def test_rotating_the_api_key_invalidates_the_old_one_at_once(gw: Harness) -> None:
    token = await gw.token()
    project = await gw.project(token)
    old_key = project["api_key"]
    assert old_key.startswith("SP_") and len(old_key) == 35
    rotated = await gw.client.post(f"/projects/{project['id']}/api-key/rotate", headers=bearer(token))
    new_key = (await rotated.json())["api_key"]
    assert new_key != old_key
    status, body = await gw.trigger(old_key)
    assert (status, body["detail"]) == (401, "Invalid API key")
    status, body = await gw.trigger(new_key)
    assert (status, body["status"]) == (200, "created")
    async with gw.pool.acquire() as conn:
        stored = await conn.fetch("SELECT key_hash FROM project_api_keys")
    assert all(new_key.encode() not in bytes(row["key_hash"]) for row in stored)  # only hashes are stored
