"""The deployment page and its live stream: events from NATS, owner-scoped, bounded, stopped in time."""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any, Literal
from unittest.mock import ANY

import orjson
import pytest
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient, TestServer

from seqpulse.common.bus.client import Bus
from seqpulse.common.messages import SampleCollected, VerdictCreated, WindowClosed
from seqpulse.gateway.app import RESOURCES, create_app
from seqpulse.gateway.config import GatewaySettings
from seqpulse.gateway.web import detail_hub, live
from tests.integration.gateway.gateway_harness import FakeApp, Harness, eventually

pytestmark = [pytest.mark.postgres, pytest.mark.nats]
PASSWORD = "correct horse battery"
Frame = tuple[str, Any]


@pytest.fixture
async def gw(gateway_settings: GatewaySettings, fake_app: FakeApp) -> AsyncIterator[Harness]:
    """The real app with its live updates installed as `create_app` does (installing twice is a no-op)."""
    bus = await Bus.connect(gateway_settings.nats_url, gateway_settings.bus_prefix, name="test-setup")
    try:
        await bus.apply()
    finally:
        await bus.close()
    app = create_app(gateway_settings)
    live.install(app, app[RESOURCES])
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        yield Harness(client=client, app=app, settings=gateway_settings, fake=fake_app)


def hub(gw: Harness) -> detail_hub.LiveHub:
    return live.hub_for(gw.app[RESOURCES])


async def sign_up(gw: Harness, email: str) -> None:
    """A session for `email` in the test client's cookie jar (replacing any earlier one)."""
    body = {"email": email, "name": "Dev", "password": PASSWORD}
    response = await gw.client.post("/auth/signup", json=body)
    assert response.status == 201, await response.text()


async def deployment_of(gw: Harness, email: str) -> tuple[uuid.UUID, uuid.UUID]:
    """A signed-in user with a project and a triggered deployment: (deployment id, project id)."""
    await sign_up(gw, email)
    project = await gw.project(await gw.token(email=email))
    status, body = await gw.trigger(project["api_key"])
    assert body["status"] == "created", (status, body)
    return uuid.UUID(body["deployment_id"]), uuid.UUID(project["id"])


class Events:
    """Reads an open `text/event-stream` answer frame by frame."""

    def __init__(self, response: ClientResponse) -> None:
        self.response = response

    async def next(self, timeout: float = 5.0) -> Frame | None:
        """`(event, data)`, or `("comment", text)`; None once the server ended the stream."""
        name, data = "message", list[str]()
        async with asyncio.timeout(timeout):
            while True:
                raw = await self.response.content.readline()
                if not raw:
                    return None
                line = raw.decode().rstrip("\n")
                if line.startswith(":"):
                    return "comment", line[1:].strip()
                if not line:
                    if data:
                        return name, orjson.loads("\n".join(data))
                    continue
                field, _, value = line.partition(":")
                if field == "event":
                    name = value.strip()
                elif field == "data":
                    data.append(value.removeprefix(" "))


async def open_stream(gw: Harness, deployment_id: uuid.UUID) -> tuple[Events, dict[str, Any]]:
    response = await gw.client.get(f"/app/deployments/{deployment_id}/events")
    assert response.status == 200, await response.text()
    assert response.headers["Content-Type"].startswith("text/event-stream")
    assert response.headers["Cache-Control"] == "no-store"
    events = Events(response)
    first = await events.next()
    assert first is not None and first[0] == "state", first
    return events, first[1]


def sample(
    deployment_id: uuid.UUID, project_id: uuid.UUID, index: int, phase: Literal["pre", "post"] = "post"
) -> SampleCollected:
    return SampleCollected(
        deployment_id=deployment_id,
        project_id=project_id,
        phase=phase,
        sequence_index=index,
        collected_at=datetime.now(UTC),
    )


def verdict(deployment_id: uuid.UUID, project_id: uuid.UUID) -> VerdictCreated:
    return VerdictCreated(
        deployment_id=deployment_id,
        project_id=project_id,
        verdict_id=uuid.uuid4(),
        version=1,
        policy="evidence-v1",
        verdict="rollback_recommended",
        confidence=0.97,
        summary="Rollback recommended: error rate 30% vs 0.1% before",
    )


async def test_the_page_starts_from_the_apis_answer_and_is_404_for_anything_not_the_viewers(
    gw: Harness,
) -> None:
    deployment_id, project_id = await deployment_of(gw, "owner@example.test")
    response = await gw.client.get(f"/app/deployments/{deployment_id}")
    assert response.status == 200
    html = await response.text()
    assert "dpl_1" in html and "shop" in html
    # Under the CSP: scripts come from files, data in a JSON block, and no inline style anywhere.
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    assert " style=" not in html
    for tag in re.findall(r"<script[^>]*>", html):
        assert 'src="/static/' in tag or 'type="application/json"' in tag, tag
    block = re.search(r'<script type="application/json" id="deployment-data">(.*?)</script>', html, re.S)
    assert block is not None
    data = orjson.loads(block.group(1))
    api = await gw.client.get(f"/deployments/{deployment_id}")
    assert data["deployment"] == await api.json()
    assert data["urls"]["events"] == f"/app/deployments/{deployment_id}/events"
    assert data["limits"]["error_rate_limit"] == 0.01
    by_number = await gw.client.get(f"/app/deployments/dpl_1?project_id={project_id}")
    assert by_number.status == 200

    gw.client.session.cookie_jar.clear()
    anonymous = await gw.client.get(f"/app/deployments/{deployment_id}", allow_redirects=False)
    assert anonymous.status == 302
    assert anonymous.headers["Location"] == f"/login?next=/app/deployments/{deployment_id}"

    await sign_up(gw, "someone-else@example.test")
    for path in (
        f"/app/deployments/{deployment_id}",
        f"/app/deployments/dpl_1?project_id={project_id}",
        f"/app/deployments/{uuid.uuid4()}",
        "/app/deployments/dpl_1",
        "/app/deployments/not-an-id",
    ):
        refused = await gw.client.get(path)
        assert refused.status == 404, path
        assert "We could not find that page" in await refused.text()


async def test_the_stream_needs_a_session_and_never_shows_another_owners_deployment(gw: Harness) -> None:
    assert (await gw.client.get(f"/app/deployments/{uuid.uuid4()}/events")).status == 401
    theirs, _ = await deployment_of(gw, "owner@example.test")
    gw.client.session.cookie_jar.clear()
    assert (await gw.client.get(f"/app/deployments/{theirs}/events")).status == 401

    await sign_up(gw, "someone-else@example.test")
    refused = await gw.client.get(f"/app/deployments/{theirs}/events")
    assert refused.status == 404
    assert (await refused.json(content_type=None))["code"] == "not_found"
    assert (await gw.client.get(f"/app/deployments/{uuid.uuid4()}/events")).status == 404
    assert (await gw.client.get("/app/deployments/dpl_1/events")).status == 404
    # Nothing was left listening for the refused requests.
    assert hub(gw).stream_count == 0


async def test_a_stream_starts_with_the_state_and_relays_only_its_own_deployments_facts(
    gw: Harness, bus: Bus
) -> None:
    deployment_id, project_id = await deployment_of(gw, "dev@example.test")
    events, state = await open_stream(gw, deployment_id)
    assert state == {
        "deployment_id": str(deployment_id),
        "state": "running",
        "window_state": "pending",
        "collected_pre": 0,
        "collected_post": 0,
        "sequences": 5,
        "verdict": None,
    }
    other = uuid.uuid4()
    # Another deployment's facts come first on the same subscription: they must not reach this stream.
    await bus.publish(sample(other, project_id, 0, "pre"))
    await bus.publish(verdict(other, project_id))
    await bus.publish(sample(deployment_id, project_id, 0, "pre"))
    assert await events.next() == (
        "sample",
        {"deployment_id": str(deployment_id), "phase": "pre", "sequence_index": 0, "collected_at": ANY},
    )

    await bus.publish(sample(deployment_id, project_id, 0))
    await bus.publish(
        WindowClosed(
            deployment_id=deployment_id,
            project_id=project_id,
            reason="complete",
            expected_post=1,
            collected_post=1,
            collected_pre=1,
            closed_at=datetime.now(UTC),
        )
    )
    assert [(await events.next() or ("eof",))[0] for _ in range(2)] == ["sample", "window_closed"]
    assert hub(gw).listeners(other) == frozenset()


async def test_the_stream_ends_after_the_verdict(gw: Harness, bus: Bus) -> None:
    deployment_id, project_id = await deployment_of(gw, "dev@example.test")
    events, _ = await open_stream(gw, deployment_id)
    await bus.publish(verdict(deployment_id, project_id))
    assert await events.next() == (
        "verdict",
        {
            "deployment_id": str(deployment_id),
            "verdict": "rollback_recommended",
            "confidence": 0.97,
            "version": 1,
        },
    )
    assert await events.next() == ("end", {"reason": "verdict"})
    assert await events.next() is None
    await eventually(lambda: _no_streams(gw), what="the listener to be removed")


async def test_a_deployment_already_decided_gets_its_state_and_the_end_at_once(gw: Harness) -> None:
    deployment_id, project_id = await deployment_of(gw, "dev@example.test")
    async with gw.pool.acquire() as conn:
        await conn.execute(
            "UPDATE deployments SET state = 'finished', finished_at = now() WHERE id = $1", deployment_id
        )
        await conn.execute(
            "INSERT INTO verdicts (deployment_id, project_id, version, policy, verdict, confidence, summary,"
            " details, data_quality, comparisons)"
            " VALUES ($1, $2, 1, 'evidence-v1', 'ok', 0.9, 'No regression detected', ARRAY['d'],"
            " '{\"score\": 1.0}', '[]')",
            deployment_id,
            project_id,
        )
    events, state = await open_stream(gw, deployment_id)
    assert (state["state"], state["verdict"]) == ("analyzed", "ok")
    assert await events.next() == ("end", {"reason": "analyzed"})
    assert await events.next() is None


async def test_an_idle_stream_sends_heartbeat_comments(gw: Harness) -> None:
    hub(gw).heartbeat_seconds = 0.2
    deployment_id, _ = await deployment_of(gw, "dev@example.test")
    events, _ = await open_stream(gw, deployment_id)
    assert await events.next(timeout=2) == ("comment", "heartbeat")
    assert await events.next(timeout=2) == ("comment", "heartbeat")


async def test_a_listener_that_does_not_keep_up_is_dropped_while_the_others_get_everything(
    gw: Harness, bus: Bus
) -> None:
    deployment_id, project_id = await deployment_of(gw, "dev@example.test")
    events, _ = await open_stream(gw, deployment_id)
    live_hub = hub(gw)
    live_hub.queue_limit = 4
    stuck = live_hub.listen(deployment_id, uuid.uuid4())  # never read: a client that stopped reading
    for index in range(6):
        await bus.publish(sample(deployment_id, project_id, index))
    received = [await events.next() for _ in range(6)]
    assert [frame[1]["sequence_index"] for frame in received if frame] == list(range(6))
    assert stuck.closed == "overflow"
    assert stuck not in live_hub.listeners(deployment_id)


async def test_a_stream_whose_queue_overflows_ends_so_the_browser_reconnects(gw: Harness) -> None:
    deployment_id, project_id = await deployment_of(gw, "dev@example.test")
    events, _ = await open_stream(gw, deployment_id)
    live_hub = hub(gw)
    # More events than the queue holds, handed over before the stream's writer can run once.
    for index in range(detail_hub.QUEUE_LIMIT + 1):
        event = detail_hub.live_event(sample(deployment_id, project_id, index))
        assert event is not None
        live_hub.publish(event)
    assert await events.next() is None  # a plain end of stream: no `end` event, so EventSource retries
    assert live_hub.stream_count == 0


async def test_one_person_cannot_hold_more_than_their_share_of_streams(gw: Harness) -> None:
    live_hub = hub(gw)
    live_hub.max_streams_per_user = 2
    live_hub.heartbeat_seconds = 0.1  # a closed tab is noticed at the next write
    deployment_id, _ = await deployment_of(gw, "dev@example.test")
    first, _ = await open_stream(gw, deployment_id)
    await open_stream(gw, deployment_id)
    refused = await gw.client.get(f"/app/deployments/{deployment_id}/events")
    assert refused.status == 429
    assert refused.headers["Retry-After"] == "30"
    first.response.close()
    await eventually(lambda: _streams(gw, 1), what="the closed stream to be let go")
    await open_stream(gw, deployment_id)


async def test_shutting_the_gateway_down_ends_open_streams_at_once(gw: Harness) -> None:
    deployment_id, _ = await deployment_of(gw, "dev@example.test")
    events, _ = await open_stream(gw, deployment_id)
    until_end = asyncio.create_task(events.next(timeout=10))
    started = time.monotonic()
    await gw.client.server.close()
    # Without the shutdown hook aiohttp would wait its whole shutdown timeout (60 s here) for the stream.
    assert time.monotonic() - started < 5
    assert await until_end is None


def test_create_app_installs_the_live_updates(gateway_settings: GatewaySettings) -> None:
    assert live.INSTALLED in create_app(gateway_settings)


async def _no_streams(gw: Harness) -> bool:
    return hub(gw).stream_count == 0


async def _streams(gw: Harness, count: int) -> bool:
    return hub(gw).stream_count == count
