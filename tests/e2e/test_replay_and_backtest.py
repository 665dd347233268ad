"""Replay keeps the verdict history and announces only a change; a back-test stores nothing."""

from __future__ import annotations

from typing import Any

import pytest

from seqpulse.common.bus import Bus
from seqpulse.common.db.pool import Pool
from seqpulse.common.messages import VerdictCreated
from tests.e2e.conftest import Stack

pytestmark = [pytest.mark.e2e, pytest.mark.nats, pytest.mark.postgres]


async def test_replay_stores_a_new_version_and_announces_only_a_changed_verdict(
    stack: Stack, bus: Bus, pool: Pool
) -> None:
    announced: list[VerdictCreated] = []

    async def on_verdict(msg: Any) -> None:
        announced.append(VerdictCreated.from_bytes(msg.data))

    sub = await bus.nc.subscribe(VerdictCreated.subject(bus.prefix), cb=on_verdict)
    project = await stack.project("replayed", hmac=False)
    done = await stack.deploy(project, regression={"kind": "errors", "magnitude": 0.3})
    first = done["verdict"]
    url = f"/deployments/{done['id']}/reanalyze"

    same = await stack.call("POST", url, headers=stack.auth, json={"policy": first["policy"]})
    assert (same["version"], same["changed"], same["verdict"]) == (2, False, first["verdict"])

    async with pool.acquire() as conn:
        versions = await conn.fetch(
            "SELECT version, cause FROM verdicts WHERE deployment_id = $1 ORDER BY version", done["id"]
        )
    assert [(v["version"], v["cause"]) for v in versions] == [(1, "window_closed"), (2, "reanalyze")]
    detail = await stack.call("GET", f"/deployments/{done['id']}", headers=stack.auth)
    assert detail["verdict"]["version"] == 2
    await bus.nc.flush()
    await sub.unsubscribe()
    assert [a.version for a in announced if str(a.deployment_id) == done["id"]] == [1]


async def test_replay_with_an_unknown_policy_is_refused_with_the_known_names(stack: Stack) -> None:
    project = await stack.project("unknown-policy", hmac=False)
    done = await stack.deploy(project, regression=None)
    refused = await stack.call(
        "POST",
        f"/deployments/{done['id']}/reanalyze",
        headers=stack.auth,
        json={"policy": "nope"},
        expect=422,
    )
    assert "original-v2" in refused["detail"]


async def test_backtest_lists_what_a_policy_would_change_and_stores_nothing(stack: Stack, pool: Pool) -> None:
    project = await stack.project("backtested", hmac=False)
    done = await stack.deploy(project, regression=None)
    result = await stack.call(
        "POST", f"/projects/{project['id']}/backtest", headers=stack.auth, json={"policy": "original-v2"}
    )
    assert result["deployments"] == 1 and result["policy"] == "original-v2"
    row = result["results"][0]
    assert row["deployment_id"] == done["id"]
    assert row["changed"] == (row["proposed"]["verdict"] != row["current"]["verdict"])
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM verdicts WHERE deployment_id = $1", done["id"]) == 1


async def test_replay_of_a_deployment_still_collecting_is_a_409(stack: Stack) -> None:
    project = await stack.project("still-running", hmac=False)
    trigger = await stack.call(
        "POST", "/deployments/trigger", headers={"X-API-Key": project["api_key"]}, json={"env": "prod"}
    )
    refused = await stack.call(
        "POST", f"/deployments/{trigger['deployment_id']}/reanalyze", headers=stack.auth, json={}, expect=409
    )
    assert "not closed" in refused["detail"]
