"""Looking at a verdict or at the hints is a product event (`verdict_viewed`, `sdh_viewed`), pseudonymised."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from seqpulse.common.messages.product import ProductEvent
from tests.integration.gateway.gateway_harness import Harness
from tests.integration.gateway.test_dashboard_pages import (
    get_page,
    seed_deployment,
    seed_project,
    seed_verdict,
    signup,
)
from tests.integration.gateway.test_gateway_events import key_of, own_events

pytestmark = [pytest.mark.postgres, pytest.mark.nats]


async def views(gw: Harness, name: str) -> list[ProductEvent]:
    return [e for e in await own_events(gw) if e.event_name == name]


async def test_opening_a_decided_deployment_and_the_hints_page_are_recorded(gw: Harness) -> None:
    user = (await signup(gw, "viewer@example.test"))["user"]
    project_id = await seed_project(gw, user["id"], "shop")
    deployment_id = await seed_deployment(gw, project_id, 1, started=datetime.now(UTC))
    await seed_verdict(gw, deployment_id, project_id, "warning")
    await get_page(gw, f"/app/deployments/{deployment_id}")
    await get_page(gw, "/app/sdh?severity=critical")

    [viewed] = await views(gw, "verdict_viewed")
    assert viewed.user_key == key_of(gw, user["id"]) and str(user["id"]) not in viewed.to_bytes().decode()
    assert viewed.project_id == project_id
    assert viewed.properties == {"deployment_id": str(deployment_id), "verdict": "warning"}
    [sdh] = await views(gw, "sdh_viewed")
    assert sdh.properties == {"severity": "critical", "hints": 0}


async def test_a_deployment_still_collecting_is_not_a_verdict_view(gw: Harness) -> None:
    user = (await signup(gw, "early@example.test"))["user"]
    project_id = await seed_project(gw, user["id"], "shop")
    deployment_id = await seed_deployment(gw, project_id, 1, started=datetime.now(UTC), state="running")
    await get_page(gw, f"/app/deployments/{deployment_id}")
    assert await views(gw, "verdict_viewed") == []
