"""The CI API against real Postgres and NATS: idempotency, one running deployment per env, finish rules."""

from __future__ import annotations

import pytest

from tests.integration.gateway.gateway_harness import Harness, bearer

pytestmark = [pytest.mark.postgres, pytest.mark.nats]


async def test_trigger_creates_a_deployment_and_the_same_key_returns_it(gw: Harness) -> None:
    token = await gw.token()
    project = await gw.project(token)
    status, first = await gw.trigger(project["api_key"], idempotency_key="run-1", branch="main")
    assert status == 200
    assert first["status"] == "created"
    status, again = await gw.trigger(project["api_key"], idempotency_key="run-1")
    assert (status, again["status"], again["deployment_id"]) == (200, "existing", first["deployment_id"])
    assert again["message"] == "Deployment already exists for this idempotency key"


async def test_header_idempotency_key_wins_over_the_body(gw: Harness) -> None:
    project = await gw.project(await gw.token())
    headers = {"X-API-Key": project["api_key"], "X-Idempotency-Key": "hdr-1"}
    first = await (
        await gw.client.post(
            "/deployments/trigger", json={"env": "prod", "idempotency_key": "a"}, headers=headers
        )
    ).json()
    second = await (
        await gw.client.post(
            "/deployments/trigger", json={"env": "prod", "idempotency_key": "b"}, headers=headers
        )
    ).json()
    assert second == {
        "deployment_id": first["deployment_id"],
        "status": "existing",
        "message": "Deployment already exists for this idempotency key",
    }


async def test_idempotency_keys_are_scoped_to_the_project(gw: Harness) -> None:
    token = await gw.token()
    one = await gw.project(token, name="one")
    two = await gw.project(token, name="two")
    _, a = await gw.trigger(one["api_key"], idempotency_key="shared-run")
    _, b = await gw.trigger(two["api_key"], idempotency_key="shared-run")
    assert b["status"] == "created"
    assert b["deployment_id"] != a["deployment_id"]


async def test_one_running_deployment_per_env(gw: Harness) -> None:
    project = await gw.project(await gw.token(), plan="pro", envs=["prod", "staging"])
    _, first = await gw.trigger(project["api_key"], env="prod", idempotency_key="r1")
    _, second = await gw.trigger(project["api_key"], env="prod", idempotency_key="r2")
    _, staging = await gw.trigger(project["api_key"], env="staging", idempotency_key="r3")
    assert second == {
        "deployment_id": first["deployment_id"],
        "status": "existing",
        "message": "Deployment already running for this environment",
    }
    assert staging["status"] == "created"


async def test_a_stale_running_deployment_is_expired_instead_of_blocking(gw: Harness) -> None:
    project = await gw.project(await gw.token())
    _, old = await gw.trigger(project["api_key"], idempotency_key="abandoned")
    async with gw.pool.acquire() as conn:
        await conn.execute(
            "UPDATE deployments SET started_at = now() - interval '2 hours' WHERE id = $1",
            old["deployment_id"],
        )
    status, new = await gw.trigger(project["api_key"], idempotency_key="next")
    assert (status, new["status"]) == (200, "created")
    async with gw.pool.acquire() as conn:
        state = await conn.fetchval("SELECT state FROM deployments WHERE id = $1", old["deployment_id"])
    assert state == "expired"
    status, body = await gw.finish(project["api_key"], old["deployment_id"])
    assert body == {"status": "ignored", "message": "Deployment state is 'expired', finish ignored"}


async def test_finish_twice_is_accepted_then_ignored(gw: Harness) -> None:
    project = await gw.project(await gw.token())
    _, dep = await gw.trigger(project["api_key"])
    status, first = await gw.finish(project["api_key"], dep["deployment_id"], "failed")
    assert status == 200
    assert first == {
        "status": "accepted",
        "message": "Deployment finished. Analysis scheduled in 5 sequences.",
    }
    status, second = await gw.finish(project["api_key"], dep["deployment_id"])
    assert second == {"status": "ignored", "message": "Deployment state is 'finished', finish ignored"}
    async with gw.pool.acquire() as conn:
        row = await conn.fetchrow("SELECT * FROM deployments WHERE id = $1", dep["deployment_id"])
    assert row["pipeline_result"] == "failed"
    assert row["finished_at"] is not None and row["duration_ms"] >= 0


async def test_another_projects_key_cannot_finish_a_deployment(gw: Harness) -> None:
    token = await gw.token()
    mine = await gw.project(token, name="mine")
    other = await gw.project(await gw.token(), name="other")
    _, dep = await gw.trigger(mine["api_key"])
    status, body = await gw.finish(other["api_key"], dep["deployment_id"])
    assert (status, body) == (200, {"status": "not_found", "message": "Deployment not found"})
    status, body = await gw.finish(mine["api_key"], dep["deployment_id"])
    assert body["status"] == "accepted"


async def test_free_projects_are_forced_to_prod_and_told_so(gw: Harness) -> None:
    project = await gw.project(await gw.token())
    _, body = await gw.trigger(project["api_key"], env="staging")
    assert body["status"] == "created"
    assert (
        body["message"] == "Deployment created. Environment was forced from 'staging' to 'prod' (Free plan)."
    )


async def test_unknown_env_is_refused_naming_the_field(gw: Harness) -> None:
    project = await gw.project(await gw.token(), plan="pro", envs=["prod"])
    status, body = await gw.trigger(project["api_key"], env="qa")
    assert status == 400
    assert body["code"] == "ENV_NOT_ALLOWED"
    assert body["detail"] == "Environment 'qa' not allowed. Allowed environments: prod"
    assert body["errors"][0]["field"] == "env"


async def test_trigger_without_an_active_endpoint_is_423(gw: Harness) -> None:
    project = await gw.project(await gw.token(), activate=False)
    status, body = await gw.trigger(project["api_key"])
    assert (status, body["code"]) == (423, "PROJECT_ENDPOINT_BLOCKED")


async def test_a_different_metrics_endpoint_is_409_and_the_query_string_is_ignored(gw: Harness) -> None:
    project = await gw.project(await gw.token())
    status, body = await gw.trigger(
        project["api_key"], metrics_endpoint="http://elsewhere.example/seqpulse-metrics"
    )
    assert (status, body["code"]) == (409, "ENDPOINT_MISMATCH")
    assert body["errors"][0]["field"] == "metrics_endpoint"
    status, body = await gw.trigger(project["api_key"], metrics_endpoint=gw.fake.url + "/?mode=post")
    assert (status, body["status"]) == (200, "created")


async def test_the_free_monthly_quota_is_402(gw: Harness) -> None:
    project = await gw.project(await gw.token())
    async with gw.pool.acquire() as conn:
        await conn.execute(
            "INSERT INTO deployments (project_id, deployment_number, env, state, metrics_endpoint, plan,"
            " window_sequences, sequence_seconds, finished_at)"
            " SELECT $1, n, 'prod', 'finished', $2, 'free', 5, 1, now() FROM generate_series(1, 50) n",
            project["id"],
            gw.fake.url,
        )
        await conn.execute("UPDATE projects SET deployment_counter = 50 WHERE id = $1", project["id"])
    before = await gw.counts()
    status, body = await gw.trigger(project["api_key"])
    assert status == 402
    assert body["detail"] == "Free plan monthly deployment quota reached (50/50). Upgrade to Pro."
    assert await gw.counts() == before


async def test_deployment_numbers_are_sequential_per_project(gw: Harness) -> None:
    token = await gw.token()
    project = await gw.project(token)
    ids = []
    for run in range(3):
        _, dep = await gw.trigger(project["api_key"], idempotency_key=f"n{run}")
        await gw.finish(project["api_key"], dep["deployment_id"])
        ids.append(dep["deployment_id"])
    listing = await (
        await gw.client.get(f"/deployments?project_id={project['id']}", headers=bearer(token))
    ).json()
    assert [d["public_id"] for d in listing["items"]] == ["dpl_3", "dpl_2", "dpl_1"]
    assert [d["id"] for d in listing["items"]] == ids[::-1]
