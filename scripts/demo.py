"""The `make run` demo: an admin, a token, two projects on two demo apps, a healthy and a bad deployment."""

from __future__ import annotations

import asyncio
import json
import random
import secrets
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp

from seqpulse.common.config import CommonSettings
from seqpulse.common.db.pool import create_pool
from seqpulse.gateway.admin import AdminError, create_token, create_user

RUN = Path(__file__).resolve().parent.parent / ".run"
EMAIL = "admin@seqpulse.local"
APPS = (
    {
        "name": "checkout-api",
        "url": "http://127.0.0.1:8090/seqpulse-metrics",
        "admin": "http://127.0.0.1:8090",
        "regression": None,
        "hmac": True,
    },
    {
        "name": "payments-api",
        "url": "http://127.0.0.1:8091/seqpulse-metrics",
        "admin": "http://127.0.0.1:8091",
        "regression": {"kind": "errors", "magnitude": 0.25},
        "hmac": False,
    },
)


async def demo_account(settings: CommonSettings) -> tuple[str, str, str]:
    """A fresh admin and token; the email gets a suffix if an earlier run's account exists already. Its
    `user_signup` goes to the gateway's outbox, as for an admin the CLI creates (`settings`: the
    gateway's)."""
    pool = await create_pool(settings.database_url, min_size=1, max_size=2)
    try:
        password = secrets.token_urlsafe(12)
        for attempt in range(100):
            email = EMAIL if attempt == 0 else EMAIL.replace("@", f"+{attempt}@")
            try:
                await create_user(
                    pool, email=email, name="Demo Admin", password=password, is_admin=True, settings=settings
                )
                break
            except AdminError:
                continue
        issued = await create_token(pool, email=email, name="make-run", scopes=["read", "write", "admin"])
        return email, password, issued.token
    finally:
        await pool.close()


async def call(http: aiohttp.ClientSession, method: str, url: str, **kwargs: Any) -> dict[str, Any]:
    async with http.request(method, url, **kwargs) as response:
        body = await response.json(content_type=None)
        if response.status >= 400:
            raise RuntimeError(f"{method} {url} → {response.status}: {body}")
        return body if isinstance(body, dict) else {"items": body}


# Client addresses inside the networks of the MaxMind test database `make run` loads, so the Founder
# View shows countries; they reach the gateway as X-Forwarded-For from the trusted loopback proxy.
DEMO_CLIENTS = (
    "81.2.69.142",
    "89.160.20.113",
    "216.160.83.57",
    "2001:218:85a3::1",
    "2a02:cfc0::1",
    "2a02:d180::1",
)


async def _sample_events(http: aiohttp.ClientSession, base: str, projects: list[dict[str, Any]]) -> int:
    """Two weeks of product use by 18 people in three countries, so the Founder View has something to draw."""
    rng = random.Random(42)
    now = datetime.now(UTC)
    sent = 0
    for person in range(18):
        project = projects[person % len(projects)]
        client = DEMO_CLIENTS[person % len(DEMO_CLIENTS)]
        events = []
        for day in range(14, -1, -1):
            if rng.random() < 0.45:
                continue
            start = now - timedelta(days=day, hours=rng.uniform(0, 6))
            for step in range(rng.randint(1, 5)):
                name = rng.choice(("verdict_viewed", "sdh_viewed", "custom.dashboard_opened", "user_login"))
                events.append(
                    {
                        "event_id": str(uuid.uuid4()),
                        "event_name": name,
                        "user_id": f"demo-person-{person}",
                        "timestamp": (start + timedelta(minutes=4 * step)).isoformat(),
                    }
                )
        await call(
            http,
            "POST",
            f"{base}/events",
            json={"events": events},
            headers={"X-API-Key": project["api_key"], "X-Forwarded-For": client},
        )
        sent += len(events)
    return sent


async def run_demo(
    base: str,
    settings: CommonSettings,
    check_alive: Callable[[], None],
    log: Callable[[str], None],
    sequence_seconds: int,
) -> dict[str, Any]:
    previous = json.loads((RUN / "demo.json").read_text()) if (RUN / "demo.json").exists() else None
    async with aiohttp.ClientSession() as http:
        if previous and await _token_works(http, base, previous["token"]):
            email, password, token = previous["email"], previous["password"], previous["token"]
            log(f"reusing demo account {email}")
        else:
            email, password, token = await demo_account(settings)
            log(f"demo account {email} ready")
        auth = {"Authorization": f"Bearer {token}"}
        projects = []
        for app in APPS:
            project = await call(
                http,
                "POST",
                f"{base}/projects",
                headers=auth,
                json={
                    "name": f"{app['name']} {time.strftime('%H:%M:%S')}",
                    "plan": "pro",
                    "envs": ["prod", "staging"],
                    "metrics_endpoint": app["url"],
                    "window_sequences": 5,
                },
            )
            if app["hmac"]:
                secret = await call(
                    http, "POST", f"{base}/projects/{project['id']}/hmac/enable", headers=auth
                )
                await call(http, "PUT", f"{app['admin']}/admin/hmac", json={"secret": secret["hmac_secret"]})
            await call(http, "POST", f"{base}/projects/{project['id']}/endpoint/test", headers=auth)
            # The demo apps measure over one sequence (60 s in production): the policy must know.
            await call(
                http,
                "PUT",
                f"{base}/projects/{project['id']}/policy",
                headers=auth,
                json={"settings": {"app_window_seconds": sequence_seconds, "sensitivity": "high"}},
            )
            projects.append(
                {"id": project["id"], "name": project["name"], "api_key": project["api_key"], "app": app}
            )
            log(
                f"project {project['name']}: endpoint {app['url']} verified"
                + (" with HMAC v2 signing" if app["hmac"] else "")
            )
        deployments = await asyncio.gather(
            *(_deploy(http, base, auth, p, check_alive, log) for p in projects)
        )
        sent = await _sample_events(http, base, projects)
        log(f"{sent} sample product events sent for the Founder View (POST /events)")
        # A sign-in through the same route as the dashboard's, so the admin counts as active today.
        await call(http, "POST", f"{base}/auth/login", json={"email": email, "password": password})
    return {
        "base_url": base,
        "email": email,
        "password": password,
        "token": token,
        "projects": [{k: v for k, v in p.items() if k != "app"} for p in projects],
        "deployments": list(deployments),
    }


async def _token_works(http: aiohttp.ClientSession, base: str, token: str) -> bool:
    async with http.get(f"{base}/projects", headers={"Authorization": f"Bearer {token}"}) as response:
        return response.status == 200


async def _deploy(
    http: aiohttp.ClientSession,
    base: str,
    auth: dict[str, str],
    project: dict[str, Any],
    check_alive: Callable[[], None],
    log: Callable[[str], None],
) -> dict[str, Any]:
    app = project["app"]
    key = {"X-API-Key": project["api_key"]}
    await call(http, "DELETE", f"{app['admin']}/admin/regression")
    trigger = await call(
        http,
        "POST",
        f"{base}/deployments/trigger",
        headers=key,
        json={"env": "prod", "branch": "main", "idempotency_key": f"demo-{secrets.token_hex(4)}"},
    )
    deployment_id = trigger["deployment_id"]
    await _wait(
        http,
        f"{base}/deployments/{deployment_id}",
        auth,
        lambda d: d["window"]["collected_pre"] >= 1,
        check_alive,
    )
    if app["regression"]:
        await call(http, "PUT", f"{app['admin']}/admin/regression", json=app["regression"])
        log(f"{app['name']}: shipped a bad release ({app['regression']['kind']} regression injected)")
    await call(
        http,
        "POST",
        f"{base}/deployments/finish",
        headers=key,
        json={"deployment_id": deployment_id, "result": "success"},
    )
    log(f"{app['name']}: deployment {deployment_id} finished; observing 5 sequences")
    detail = await _wait(
        http,
        f"{base}/deployments/{deployment_id}",
        auth,
        lambda d: d["verdict"] is not None,
        check_alive,
        timeout=300,
    )
    verdict = detail["verdict"]
    log(f"{app['name']}: verdict {verdict['verdict']} ({verdict['summary']})")
    return {
        "label": app["name"],
        "id": deployment_id,
        "verdict": verdict["verdict"],
        "summary": verdict["summary"],
    }


async def _wait(
    http: aiohttp.ClientSession,
    url: str,
    auth: dict[str, str],
    done: Callable[[dict[str, Any]], bool],
    check_alive: Callable[[], None],
    timeout: float = 120,
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        check_alive()
        body = await call(http, "GET", url, headers=auth)
        if done(body):
            return body
        await asyncio.sleep(0.5)
    raise RuntimeError(f"timed out waiting on {url}")
