"""Accounts: sign-up (the first account is the admin), sessions, CSRF, the login rate limit, sign-out."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from seqpulse.gateway.app import create_app
from seqpulse.gateway.config import GatewaySettings
from seqpulse.gateway.web.auth_pages import safe_next
from tests.integration.gateway.gateway_harness import Harness

pytestmark = [pytest.mark.postgres, pytest.mark.nats]
PASSWORD = "correct horse battery"


async def signup(gw: Harness, email: str = "founder@example.test", **extra: Any) -> Any:
    body = {"email": email, "name": "Founder", "password": PASSWORD, **extra}
    return await gw.client.post("/auth/signup", json=body)


async def test_first_account_is_the_admin_and_the_next_ones_are_not(gw: Harness) -> None:
    first = await signup(gw)
    assert first.status == 201
    body = await first.json()
    assert body["user"]["is_admin"] is True and body["csrf_token"]
    cookie = first.cookies["seqpulse_session"]
    assert cookie["httponly"] and cookie["samesite"] == "Lax" and cookie["path"] == "/"
    second = await signup(gw, "dev@example.test")
    assert (await second.json())["user"]["is_admin"] is False


async def test_signup_names_the_bad_field_and_refuses_a_taken_email(gw: Harness) -> None:
    response = await gw.client.post("/auth/signup", json={"email": "nope", "name": "A", "password": "short"})
    assert response.status == 422
    fields = {e["field"] for e in (await response.json(content_type=None))["errors"]}
    assert fields == {"email", "password"}
    assert (await signup(gw, "Same@Example.test")).status == 201
    again = await signup(gw, "same@example.test")
    assert again.status == 409
    assert (await again.json(content_type=None))["errors"] == [
        {"field": "email", "reason": "is already registered"}
    ]
    async with gw.pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM users") == 1


async def test_a_session_reads_without_csrf_but_changes_nothing_without_it(gw: Harness) -> None:
    csrf = (await (await signup(gw)).json())["csrf_token"]
    assert (await gw.client.get("/projects")).status == 200
    body = {"name": "web", "metrics_endpoint": gw.fake.url}
    refused = await gw.client.post("/projects", json=body)
    assert refused.status == 403
    assert (await refused.json(content_type=None))["code"] == "csrf_failed"
    forged = await gw.client.post("/projects", json=body, headers={"X-CSRF-Token": "x" * 43})
    assert forged.status == 403
    async with gw.pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM projects") == 0
    created = await gw.client.post("/projects", json=body, headers={"X-CSRF-Token": csrf})
    assert created.status == 201


async def test_login_logout_and_a_closed_session_is_refused(gw: Harness) -> None:
    await signup(gw)
    gw.client.session.cookie_jar.clear()
    assert (await gw.client.get("/auth/me")).status == 401
    wrong = await gw.client.post("/auth/login", json={"email": "founder@example.test", "password": "nope"})
    assert wrong.status == 401
    unknown = await gw.client.post("/auth/login", json={"email": "who@example.test", "password": PASSWORD})
    assert (await unknown.json(content_type=None))["detail"] == (await wrong.json(content_type=None))[
        "detail"
    ]
    ok = await gw.client.post("/auth/login", json={"email": "FOUNDER@example.test", "password": PASSWORD})
    assert ok.status == 200
    csrf = (await ok.json())["csrf_token"]
    cookie = ok.cookies["seqpulse_session"].value
    me = await gw.client.get("/auth/me")
    assert (await me.json())["user"]["email"] == "founder@example.test"
    assert (await gw.client.post("/auth/logout", headers={"X-CSRF-Token": csrf})).status == 204
    # The old cookie, replayed after sign-out, no longer opens anything.
    replay = await gw.client.get("/auth/me", cookies={"seqpulse_session": cookie})
    assert replay.status == 401


async def test_failed_logins_are_limited_per_account_across_the_window(
    gateway_settings: GatewaySettings, gw: Harness
) -> None:
    await signup(gw)
    settings = gateway_settings.model_copy(update={"login_max_failures": 3})
    async with TestClient(TestServer(create_app(settings), host="127.0.0.1")) as client:
        for _ in range(3):
            bad = await client.post("/auth/login", json={"email": "founder@example.test", "password": "bad"})
            assert bad.status == 401
        limited = await client.post(
            "/auth/login", json={"email": "founder@example.test", "password": PASSWORD}
        )
        assert limited.status == 429
        assert int(limited.headers["Retry-After"]) >= 1
        # Another account is not locked by someone guessing this one.
        other = await client.post("/auth/login", json={"email": "other@example.test", "password": "x"})
        assert other.status == 401


async def test_signup_can_be_turned_off(gateway_settings: GatewaySettings, gw: Harness) -> None:
    settings = gateway_settings.model_copy(update={"signup_enabled": False})
    async with TestClient(TestServer(create_app(settings), host="127.0.0.1")) as client:
        response = await client.post(
            "/auth/signup", json={"email": "a@example.test", "name": "A", "password": PASSWORD}
        )
        assert response.status == 403
        assert (await response.json(content_type=None))["code"] == "signup_disabled"
        page = await client.get("/signup")
        assert "turned off" in await page.text()


async def test_pages_send_anonymous_visitors_to_sign_in_and_back(gw: Harness) -> None:
    response = await gw.client.get("/app/deployments?env=prod", allow_redirects=False)
    assert response.status == 302
    # `next` decodes to /app/deployments?env=prod (a `?` needs no escaping inside a query string).
    assert response.headers["Location"] == "/login?next=/app/deployments?env%3Dprod"
    login = await gw.client.get("/login?next=/app/deployments")
    html = await login.text()
    assert login.status == 200 and 'data-redirect="/app/deployments"' in html
    assert "default-src 'self'" in login.headers["Content-Security-Policy"]


def test_after_sign_in_only_a_path_of_this_site_is_followed() -> None:
    assert safe_next("/app/projects?x=1") == "/app/projects?x=1"
    for hostile in ("https://evil.test/", "//evil.test/x", "/\\evil.test", "javascript:alert(1)", "", None):
        assert safe_next(hostile) == "/app"
