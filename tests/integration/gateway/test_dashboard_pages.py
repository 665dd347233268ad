"""Overview, Deployments, Hints and Settings pages: sign-in, filters, keyset paging, owner scoping, tokens."""

from __future__ import annotations

import html
import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from seqpulse.gateway.web import deployments as deployments_page
from seqpulse.gateway.web import sdh as sdh_page
from tests.integration.gateway.gateway_harness import Harness

pytestmark = [pytest.mark.postgres, pytest.mark.nats]
PASSWORD = "correct horse battery"
PAGES = ("/app", "/app/deployments", "/app/sdh", "/app/settings")
NOW = datetime.now(UTC)


async def signup(gw: Harness, email: str, name: str = "Dana Ops") -> dict[str, Any]:
    """A new account whose session is now the client's."""
    response = await gw.client.post("/auth/signup", json={"email": email, "name": name, "password": PASSWORD})
    assert response.status == 201, await response.text()
    body: dict[str, Any] = await response.json()
    return body


async def sign_in(gw: Harness, email: str) -> None:
    gw.client.session.cookie_jar.clear()
    response = await gw.client.post("/auth/login", json={"email": email, "password": PASSWORD})
    assert response.status == 200, await response.text()


async def get_page(gw: Harness, path: str, status: int = 200) -> str:
    response = await gw.client.get(path, allow_redirects=False)
    text = await response.text()
    assert response.status == status, text[:2000]
    return text


async def seed_project(
    gw: Harness,
    owner: str,
    name: str,
    *,
    envs: tuple[str, ...] = ("prod", "staging"),
    endpoint_state: str = "active",
) -> uuid.UUID:
    active = "http://127.0.0.1:9/seqpulse-metrics" if endpoint_state == "active" else None
    async with gw.pool.acquire() as conn:
        project_id: uuid.UUID = await conn.fetchval(
            "INSERT INTO projects (owner_id, name, envs, endpoint_state, metrics_endpoint_active,"
            " metrics_endpoint_candidate) VALUES ($1, $2, $3, $4, $5, 'http://127.0.0.1:9/seqpulse-metrics')"
            " RETURNING id",
            uuid.UUID(owner),
            name,
            list(envs),
            endpoint_state,
            active,
        )
    return project_id


async def seed_deployment(
    gw: Harness,
    project_id: uuid.UUID,
    number: int,
    *,
    started: datetime,
    env: str = "prod",
    state: str = "finished",
    branch: str | None = "main",
) -> uuid.UUID:
    async with gw.pool.acquire() as conn:
        deployment_id: uuid.UUID = await conn.fetchval(
            "INSERT INTO deployments (project_id, deployment_number, env, branch, state, pipeline_result,"
            " metrics_endpoint, plan, window_sequences, sequence_seconds, started_at, finished_at)"
            " VALUES ($1, $2, $3, $4, $5, CASE WHEN $5 = 'finished' THEN 'success' END,"
            " 'http://127.0.0.1:9/seqpulse-metrics', 'pro', 5, 1, $6::timestamptz,"
            " CASE WHEN $5 = 'finished' THEN $6::timestamptz + interval '2 minutes' END) RETURNING id",
            project_id,
            number,
            env,
            branch,
            state,
            started,
        )
    return deployment_id


async def seed_verdict(
    gw: Harness,
    deployment_id: uuid.UUID,
    project_id: uuid.UUID,
    verdict: str,
    *,
    version: int = 1,
    insufficient: bool = False,
    hints: tuple[dict[str, Any], ...] = (),
    at: datetime | None = None,
) -> None:
    """What the analyzer writes: a verdict version and its hints."""
    async with gw.pool.acquire() as conn:
        verdict_id = await conn.fetchval(
            "INSERT INTO verdicts (deployment_id, project_id, version, policy, verdict, confidence, summary,"
            " details, insufficient_data, data_quality, comparisons)"
            " VALUES ($1, $2, $3, 'evidence-v1', $4, 0.8, 'summary', ARRAY['d1'], $5, '{}', '{}')"
            " RETURNING id",
            deployment_id,
            project_id,
            version,
            verdict,
            insufficient,
        )
        for index, hint in enumerate(hints):
            await conn.execute(
                "INSERT INTO sdh_hints (verdict_id, deployment_id, project_id, code, metric, severity, title,"
                " diagnosis, suggested_actions, observed_value, threshold, confidence, evidence,"
                " composite_signals, created_at)"
                " VALUES ($1, $2, $3, $4, $5, $6, $7, 'diagnosis', $8, $9, $10, 0.7, $11, $12, $13)",
                verdict_id,
                deployment_id,
                project_id,
                hint.get("code", f"code{index}"),
                hint.get("metric", "latency_p95"),
                hint["severity"],
                hint["title"],
                list(hint.get("actions", ["Check the slow-query log"])),
                hint.get("observed"),
                hint.get("threshold"),
                hint.get("evidence", {}),
                list(hint.get("signals", ())),
                (at or NOW) + timedelta(microseconds=index),
            )


def links(page: str, rel: str) -> list[str]:
    return [html.unescape(m) for m in re.findall(rf'<a class="button" href="([^"]+)" rel="{rel}">', page)]


def public_ids(page: str) -> list[str]:
    return re.findall(r'href="/app/deployments/[0-9a-f-]{36}">(dpl_\d+)</a>', page)


async def test_every_page_sends_anonymous_visitors_to_sign_in_and_answers_a_signed_in_user(
    gw: Harness,
) -> None:
    for path in PAGES:
        response = await gw.client.get(path, allow_redirects=False)
        assert response.status == 302, path
        assert response.headers["Location"] == f"/login?next={path}"
    await signup(gw, "dana@example.test")
    for path in PAGES:
        response = await gw.client.get(path, allow_redirects=False)
        text = await response.text()
        assert response.status == 200, (path, text[:500])
        assert text.count("<h1") == 1
        assert 'aria-current="page"' in text
        assert "script-src 'self'" in response.headers["Content-Security-Policy"]
        # No inline script or style: the CSP would block them anyway.
        assert "style=" not in text and "<script>" not in text


async def test_a_new_user_is_told_how_to_start_on_every_list(gw: Harness) -> None:
    await signup(gw, "dana@example.test")
    overview = await get_page(gw, "/app")
    assert "Create your first project" in overview and 'href="/app/projects/new"' in overview
    listing = await get_page(gw, "/app/deployments")
    assert (
        "No deployments yet" in listing
        and "/deployments/trigger" in listing
        and "/deployments/finish" in listing
    )
    assert "No hints yet" in await get_page(gw, "/app/sdh")


async def test_deployments_filter_by_project_env_verdict_and_dates(gw: Harness) -> None:
    owner = (await signup(gw, "dana@example.test"))["user"]["id"]
    shop = await seed_project(gw, owner, "shop")
    blog = await seed_project(gw, owner, "blog")
    ok = await seed_deployment(gw, shop, 1, started=NOW - timedelta(days=3))
    await seed_verdict(gw, ok, shop, "ok")
    bad = await seed_deployment(gw, shop, 2, started=NOW - timedelta(days=2), env="staging")
    await seed_verdict(gw, bad, shop, "rollback_recommended")
    unsure = await seed_deployment(gw, blog, 1, started=NOW - timedelta(days=1))
    await seed_verdict(gw, unsure, blog, "warning", insufficient=True)
    await seed_deployment(gw, blog, 2, started=NOW, state="running")

    everything = await get_page(gw, "/app/deployments")
    assert public_ids(everything) == ["dpl_2", "dpl_1", "dpl_2", "dpl_1"]
    assert "badge-rollback_recommended" in everything and "Not enough data" in everything

    assert public_ids(await get_page(gw, f"/app/deployments?project={blog}")) == ["dpl_2", "dpl_1"]
    assert public_ids(await get_page(gw, "/app/deployments?env=staging")) == ["dpl_2"]
    for verdict, expected in (
        ("ok", ["dpl_1"]),
        ("rollback_recommended", ["dpl_2"]),
        ("not_enough_data", ["dpl_1"]),
        ("pending", ["dpl_2"]),
        ("warning", []),
    ):
        found = await get_page(gw, f"/app/deployments?verdict={verdict}")
        assert public_ids(found) == expected, verdict
        assert f'<option value="{verdict}" selected>' in found
    assert "No deployments match" in await get_page(gw, "/app/deployments?verdict=warning")

    def day(ago: int) -> str:
        return (NOW - timedelta(days=ago)).date().isoformat()

    assert public_ids(await get_page(gw, f"/app/deployments?from={day(2)}&to={day(1)}")) == ["dpl_1", "dpl_2"]
    assert public_ids(await get_page(gw, f"/app/deployments?to={day(3)}")) == ["dpl_1"]
    combined = await get_page(gw, f"/app/deployments?project={shop}&verdict=ok&from={day(5)}")
    assert public_ids(combined) == ["dpl_1"]


async def test_deployments_page_by_keyset_older_then_newer(
    gw: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(deployments_page, "PAGE_SIZE", 3)
    owner = (await signup(gw, "dana@example.test"))["user"]["id"]
    shop = await seed_project(gw, owner, "shop")
    tie = NOW - timedelta(hours=5)
    for number in range(1, 8):
        # dpl_4 and dpl_5 start at the same instant: the id decides, and neither is lost nor repeated.
        started = tie if number in (4, 5) else NOW - timedelta(hours=10 - number)
        await seed_deployment(gw, shop, number, started=started, env="prod" if number != 6 else "staging")

    first = await get_page(gw, "/app/deployments?env=prod")
    assert not links(first, "prev")
    pages = [public_ids(first)]
    current = first
    while older := links(current, "next"):
        assert "env=prod" in older[0] and "offset" not in older[0]
        current = await get_page(gw, older[0])
        pages.append(public_ids(current))
    assert [len(p) for p in pages] == [3, 3]
    seen = [n for p in pages for n in p]
    assert sorted(seen) == ["dpl_1", "dpl_2", "dpl_3", "dpl_4", "dpl_5", "dpl_7"]
    # From the last page, "Newer" walks back to the same first page, which offers "Older" again.
    back = await get_page(gw, links(current, "prev")[0])
    assert public_ids(back) == pages[0]
    assert links(back, "next") and not links(back, "prev")


async def test_bad_filter_values_are_told_in_sentences_and_the_page_still_lists(gw: Harness) -> None:
    owner = (await signup(gw, "dana@example.test"))["user"]["id"]
    shop = await seed_project(gw, owner, "shop")
    await seed_deployment(gw, shop, 1, started=NOW)
    page = await get_page(
        gw,
        "/app/deployments?verdict=banana&from=yesterday&project=not-a-uuid&env=" + "x" * 60,
        status=400,
    )
    assert 'role="alert"' in page
    for sentence in (
        "is not a verdict",
        "is not a date like 2025-01-31",
        "That project is not one of yours",
        "An environment name has at most 50 characters",
    ):
        assert sentence in html.unescape(page), sentence
    assert public_ids(page) == ["dpl_1"] and "Traceback" not in page
    reversed_dates = await get_page(gw, "/app/deployments?from=2025-02-01&to=2025-01-01", status=400)
    assert "The start date is after the end date" in reversed_dates and public_ids(reversed_dates) == [
        "dpl_1"
    ]
    stale = await get_page(gw, "/app/deployments?before=nonsense", status=400)
    assert "That page link is not valid" in stale and public_ids(stale) == ["dpl_1"]
    hints = await get_page(gw, "/app/sdh?severity=urgent&metric=disk_io", status=400)
    assert "is not a severity" in html.unescape(hints) and "is not a metric" in html.unescape(hints)


async def test_hints_filter_by_severity_project_and_metric_with_their_evidence(gw: Harness) -> None:
    owner = (await signup(gw, "dana@example.test"))["user"]["id"]
    shop = await seed_project(gw, owner, "shop")
    blog = await seed_project(gw, owner, "blog")
    first = await seed_deployment(gw, shop, 1, started=NOW - timedelta(hours=2))
    latency = {
        "severity": "critical",
        "title": "Persistent latency p95 breaches detected",
        "metric": "latency_p95",
        "observed": 410.0,
        "evidence": {
            "baseline": 300.0,
            "observed": 410.0,
            "change": 1.3667,
            "detail": "latency_p95 ratio_test ratio=1.37 threshold=warn>1.3x,rollback>=2x -> fail(critical)",
        },
        "actions": ["Review sequence-level metrics", "Roll back if persistence remains"],
    }
    memory = {
        "severity": "info",
        "title": "Memory usage within normal range",
        "metric": "memory_usage",
        "observed": 0.41,
        "threshold": 0.8,
        "evidence": {"baseline": 0.4},
    }
    # A replay superseded version 1: only version 2's hints count.
    await seed_verdict(gw, first, shop, "warning", hints=({"severity": "warning", "title": "Superseded"},))
    await seed_verdict(gw, first, shop, "rollback_recommended", version=2, hints=(latency, memory))
    second = await seed_deployment(gw, blog, 1, started=NOW - timedelta(hours=1))
    outage = {
        "severity": "critical",
        "title": "Service degradation detected",
        "metric": "composite",
        "signals": ("error_rate", "latency_p95"),
        "evidence": {
            "baseline": {"error_rate": 0.001, "latency_p95": 200.0},
            "observed": {"error_rate": 0.051, "latency_p95": 260.0},
            "signals": {"error_rate": {"change": 0.05}, "latency_p95": {"change": 1.3}},
        },
    }
    warning = {
        "severity": "warning",
        "title": "CPU usage spike detected",
        "metric": "cpu_usage",
        "observed": 0.85,
        "threshold": 0.8,
        "evidence": {"baseline": 0.5},
    }
    await seed_verdict(
        gw, second, blog, "rollback_recommended", hints=(outage, warning), at=NOW + timedelta(seconds=1)
    )

    page = html.unescape(await get_page(gw, "/app/sdh"))
    titles = re.findall(r'<h2 id="hint-[^"]+">([^<]+)</h2>', page)
    assert titles == [
        "CPU usage spike detected",
        "Service degradation detected",
        "Memory usage within normal range",
        "Persistent latency p95 breaches detected",
    ]
    assert "Superseded" not in page
    # Evidence: baseline, observed, change and threshold in the metric's unit.
    for text in (
        "300 ms",
        "410 ms",
        "×1.37 (+37 %)",
        "warn&gt;1.3x,rollback&gt;=2x",
        "+5.00 pp",
        "80.0 %",
        "Roll back if persistence remains",
    ):
        assert html.unescape(text) in page, text
    assert page.count(f'href="/app/deployments/{first}"') == 2

    def titles_of(text: str) -> list[str]:
        return re.findall(r'<h2 id="hint-[^"]+">([^<]+)</h2>', html.unescape(text))

    critical = titles_of(await get_page(gw, "/app/sdh?severity=critical"))
    assert critical == ["Service degradation detected", "Persistent latency p95 breaches detected"]
    assert titles_of(await get_page(gw, f"/app/sdh?project={shop}&severity=info")) == [
        "Memory usage within normal range"
    ]
    # A composite hint counts for each metric it names.
    assert titles_of(await get_page(gw, "/app/sdh?metric=latency_p95")) == [
        "Service degradation detected",
        "Persistent latency p95 breaches detected",
    ]
    assert titles_of(await get_page(gw, "/app/sdh?metric=requests_per_sec")) == []


async def test_hints_page_by_keyset(gw: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sdh_page, "PAGE_SIZE", 2)
    owner = (await signup(gw, "dana@example.test"))["user"]["id"]
    shop = await seed_project(gw, owner, "shop")
    dep = await seed_deployment(gw, shop, 1, started=NOW)
    hints = tuple({"severity": "warning", "title": f"Hint {i}", "code": f"c{i}"} for i in range(5))
    await seed_verdict(gw, dep, shop, "warning", hints=hints)
    seen: list[str] = []
    current = await get_page(gw, "/app/sdh?severity=warning")
    while True:
        seen += re.findall(r'<h2 id="hint-[^"]+">([^<]+)</h2>', current)
        older = links(current, "next")
        if not older:
            break
        assert "severity=warning" in older[0]
        current = await get_page(gw, older[0])
    assert seen == ["Hint 4", "Hint 3", "Hint 2", "Hint 1", "Hint 0"]
    assert links(current, "prev")


async def test_overview_counts_verdicts_and_lists_the_projects_needing_attention(gw: Harness) -> None:
    owner = (await signup(gw, "dana@example.test"))["user"]["id"]
    healthy = await seed_project(gw, owner, "healthy")
    broken = await seed_project(gw, owner, "broken")
    await seed_project(gw, owner, "untested", endpoint_state="pending_verification")
    await seed_project(gw, owner, "blocked", endpoint_state="blocked")
    await seed_project(gw, owner, "fresh")
    for number, (days, verdict) in enumerate(((1, "ok"), (10, "ok"), (20, "warning"), (45, "ok")), start=1):
        dep = await seed_deployment(gw, healthy, number, started=NOW - timedelta(days=days))
        await seed_verdict(gw, dep, healthy, verdict)
    dep = await seed_deployment(gw, healthy, 5, started=NOW - timedelta(hours=1))
    await seed_verdict(gw, dep, healthy, "ok")
    bad = await seed_deployment(gw, broken, 1, started=NOW - timedelta(days=2))
    await seed_verdict(gw, bad, broken, "rollback_recommended")
    await seed_deployment(gw, broken, 2, started=NOW - timedelta(minutes=5), state="running")

    page = html.unescape(await get_page(gw, "/app"))

    def counts(days: int) -> dict[str, int]:
        chart = page.split(f'data-days="{days}"')[1].split("</svg>")[0]
        return {k: int(v) for k, v in re.findall(r'data-verdict="(\w+)" data-count="(\d+)"', chart)}

    assert counts(7) == {"ok": 2, "warning": 0, "rollback_recommended": 1, "not_enough_data": 0, "pending": 1}
    assert counts(30) == {
        "ok": 3,
        "warning": 1,
        "rollback_recommended": 1,
        "not_enough_data": 0,
        "pending": 1,
    }
    assert "4 deployments in the last 7 days" in re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page))

    attention = page.split('id="attention-title"')[1].split("</section>")[0]
    names = re.findall(r'<h3><a href="/app/projects/[0-9a-f-]+">(\w+)</a></h3>', attention)
    assert names == ["broken", "blocked", "untested", "fresh"]
    assert "Latest verdict (dpl_1): rollback recommended." in attention
    assert f'href="/app/deployments/{bad}"' in attention
    assert "The metrics endpoint is blocked" in attention
    assert "The metrics endpoint is not verified yet" in attention
    assert "No deployment yet" in attention
    recent = page.split('id="recent-title"')[1]
    assert public_ids(recent)[:2] == ["dpl_2", "dpl_5"]


async def test_another_owner_sees_none_of_it_on_any_page(gw: Harness) -> None:
    alice = (await signup(gw, "alice@example.test", "Alice"))["user"]["id"]
    secret_project = await seed_project(gw, alice, "alicesecretshop")
    dep = await seed_deployment(gw, secret_project, 77, started=NOW, branch="alice-branch")
    hint = {"severity": "critical", "title": "Alice only hint", "evidence": {"baseline": 1.0}}
    await seed_verdict(gw, dep, secret_project, "rollback_recommended", hints=(hint,))
    assert "dpl_77" in await get_page(gw, "/app/deployments")

    await signup(gw, "bob@example.test", "Bob")
    for path in (
        *PAGES,
        f"/app/deployments?project={secret_project}",
        f"/app/sdh?project={secret_project}",
        "/app/deployments?verdict=rollback_recommended",
        "/app/sdh?severity=critical",
    ):
        response = await gw.client.get(path, allow_redirects=False)
        text = await response.text()
        assert response.status in (200, 400), path
        for leaked in ("alicesecretshop", "dpl_77", "alice-branch", "Alice only hint", str(dep), "alice@"):
            assert leaked not in text, (path, leaked)
    refused = html.unescape(await get_page(gw, f"/app/sdh?project={secret_project}", status=400))
    assert "That project is not one of yours" in refused
    overview = await get_page(gw, "/app")
    assert "Create your first project" in overview

    # And Alice still sees hers once she is back.
    await sign_in(gw, "alice@example.test")
    assert "Alice only hint" in await get_page(gw, "/app/sdh")


async def test_a_created_token_is_shown_once_and_listed_by_prefix_only(gw: Harness) -> None:
    session = await signup(gw, "dana@example.test", "Dana Ops")
    csrf = {"X-CSRF-Token": session["csrf_token"]}
    settings = await get_page(gw, "/app/settings")
    for fact in ("Dana Ops", "dana@example.test", "badge-admin", "You have no token yet."):
        assert fact in settings, fact
    assert 'data-api="POST /tokens"' in settings and 'data-copy="#new-token"' in settings

    created = await gw.client.post("/tokens", json={"name": "ci deploy", "scopes": ["read"]}, headers=csrf)
    assert created.status == 201
    token = await created.json()
    assert token["token"].startswith("spt_")
    settings = await get_page(gw, "/app/settings")
    assert "ci deploy" in settings and f"spt_{token['prefix']}…" in settings
    assert token["token"] not in settings and token["token"][len("spt_") :] not in settings
    assert f'data-id="{token["id"]}"' in settings and "data-confirm=" in settings

    revoked = await gw.client.delete(f"/tokens/{token['id']}", headers=csrf)
    assert revoked.status == 204
    settings = await get_page(gw, "/app/settings")
    assert "badge-token-revoked" in settings and f'data-id="{token["id"]}"' not in settings

    # Another account's settings list none of Dana's tokens.
    await signup(gw, "bob@example.test", "Bob")
    other = await get_page(gw, "/app/settings")
    assert "ci deploy" not in other and "badge-admin" not in other and "You have no token yet." in other
