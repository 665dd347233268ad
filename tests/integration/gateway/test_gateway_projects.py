"""Projects: listing, plan-checked updates, and triggers racing each other."""

from __future__ import annotations

import asyncio

import pytest

from tests.integration.gateway.gateway_harness import Harness, bearer

pytestmark = [pytest.mark.postgres, pytest.mark.nats]


async def test_projects_list_only_shows_key_prefixes(gw: Harness) -> None:
    token = await gw.token()
    project = await gw.project(token, plan="pro", description="the shop")
    listing = await (await gw.client.get("/projects", headers=bearer(token))).json()
    [item] = listing["items"]
    assert item["api_key_prefix"] == project["api_key"][3:11]
    assert "api_key" not in item
    assert (item["plan"], item["window_sequences"], item["window_options"], item["description"]) == (
        "pro",
        15,
        [5, 15],
        "the shop",
    )


async def test_updates_are_checked_against_the_plan(gw: Harness) -> None:
    token = await gw.token()
    project = await gw.project(token)
    path = f"/projects/{project['id']}"

    async def patch(**body: object) -> tuple[int, dict[str, object]]:
        response = await gw.client.patch(path, json=body, headers=bearer(token))
        return response.status, await response.json(content_type=None)

    status, body = await patch(envs=["staging"])
    assert (status, body["code"], body["errors"][0]["field"]) == (422, "PLAN_LIMIT", "envs")
    status, body = await patch(window_sequences=15)
    assert (status, body["errors"][0]["field"]) == (422, "window_sequences")

    status, body = await patch(plan="pro", envs=["prod", "staging"], window_sequences=5, name="shop 2")
    assert status == 200
    assert (body["plan"], body["envs"], body["window_sequences"], body["name"]) == (
        "pro",
        ["prod", "staging"],
        5,
        "shop 2",
    )
    status, body = await patch(window_sequences=None)
    assert (body["window_sequences"], body["window_sequences_configured"]) == (15, None)
    await patch(window_sequences=5)

    status, body = await patch(plan="free")  # a downgrade keeps only what the free plan allows
    assert (status, body["envs"], body["window_sequences"]) == (200, ["prod"], 5)
    status, body = await patch(plan="enterprise")
    assert (body["window_sequences"], body["window_options"]) == (5, [5, 15, 30])
    status, body = await patch(unknown=1)
    assert (status, body["errors"][0]["field"]) == (422, "unknown")


async def test_a_new_deployment_observes_the_projects_window(gw: Harness) -> None:
    project = await gw.project(await gw.token(), plan="enterprise")
    _, dep = await gw.trigger(project["api_key"])
    async with gw.pool.acquire() as conn:
        row = await conn.fetchrow(
            "SELECT plan, window_sequences, sequence_seconds, metrics_endpoint FROM deployments"
        )
    assert dict(row) == {
        "plan": "enterprise",
        "window_sequences": 30,
        "sequence_seconds": 1.0,
        "metrics_endpoint": gw.fake.url,
    }
    _, body = await gw.finish(project["api_key"], dep["deployment_id"])
    assert body["message"] == "Deployment finished. Analysis scheduled in 30 sequences."


async def test_concurrent_triggers_create_one_deployment(gw: Harness) -> None:
    project = await gw.project(await gw.token(), plan="pro")
    same_key = await asyncio.gather(
        *(gw.trigger(project["api_key"], idempotency_key="race") for _ in range(5))
    )
    assert [status for status, _ in same_key] == [200] * 5
    assert sorted(body["status"] for _, body in same_key) == ["created"] + ["existing"] * 4
    assert len({body["deployment_id"] for _, body in same_key}) == 1

    await gw.finish(project["api_key"], same_key[0][1]["deployment_id"])
    same_env = await asyncio.gather(
        *(gw.trigger(project["api_key"], idempotency_key=f"k{i}") for i in range(5))
    )
    assert sorted(body["status"] for _, body in same_env) == ["created"] + ["existing"] * 4
    async with gw.pool.acquire() as conn:
        numbers = [
            r["deployment_number"]
            for r in await conn.fetch("SELECT deployment_number FROM deployments ORDER BY deployment_number")
        ]
        counter = await conn.fetchval("SELECT deployment_counter FROM projects")
    assert numbers == [1, 2] and counter == 2  # a lost race leaves no gap in the numbering
