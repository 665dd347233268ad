"""Trigger and finish announce themselves through the outbox: one message each, then the row is gone."""

from __future__ import annotations

import uuid

import pytest
from nats.js.errors import NotFoundError

from seqpulse.common.messages.deployments import DeploymentFinished, DeploymentTriggered
from seqpulse.gateway.app import RESOURCES
from tests.integration.gateway.gateway_harness import Harness, eventually

pytestmark = [pytest.mark.postgres, pytest.mark.nats]


async def _stream_count(gw: Harness, subject: str) -> int:
    js = gw.app[RESOURCES].bus.js
    info = await js.stream_info(f"{gw.settings.bus_prefix.upper()}_DEPLOYMENTS", subjects_filter=subject)
    return (info.state.subjects or {}).get(subject, 0)


async def _outbox_empty(gw: Harness) -> bool:
    async with gw.pool.acquire() as conn:
        return await conn.fetchval("SELECT count(*) FROM gateway_outbox") == 0


async def test_trigger_publishes_deployment_triggered_exactly_once(gw: Harness) -> None:
    project = await gw.project(await gw.token())
    subject = DeploymentTriggered.subject(gw.settings.bus_prefix)
    assert subject == f"{gw.settings.bus_prefix}.deployments.v1.triggered"
    # A subscriber like the collector's: an ordered consumer on the stream, from the start.
    subscription = await gw.app[RESOURCES].bus.js.subscribe(subject, ordered_consumer=True)
    try:
        _, dep = await gw.trigger(project["api_key"], idempotency_key="once")
        raw = await subscription.next_msg(timeout=10)
    finally:
        await subscription.unsubscribe()
    message = DeploymentTriggered.from_bytes(raw.data)
    assert message.deployment_id == uuid.UUID(dep["deployment_id"])
    assert str(message.project_id) == project["id"]
    assert (message.env, message.plan) == ("prod", "free")
    assert raw.headers is not None and raw.headers["Nats-Msg-Id"] == message.message_id
    assert "traceparent" in raw.headers  # the request's trace continues in the collector

    await eventually(lambda: _outbox_empty(gw), what="the outbox row to be deleted after publishing")
    await gw.trigger(project["api_key"], idempotency_key="once")  # existing: announces nothing new
    assert await _outbox_empty(gw)
    assert await _stream_count(gw, subject) == 1


async def test_finish_publishes_deployment_finished_with_the_window(gw: Harness) -> None:
    project = await gw.project(await gw.token(), plan="pro", window_sequences=5)
    _, dep = await gw.trigger(project["api_key"])
    await gw.finish(project["api_key"], dep["deployment_id"], "failed")
    await gw.finish(project["api_key"], dep["deployment_id"])  # ignored: announces nothing
    subject = DeploymentFinished.subject(gw.settings.bus_prefix)

    async def published() -> bool:
        return await _outbox_empty(gw) and await _stream_count(gw, subject) == 1

    await eventually(published, what="the relay to publish DeploymentFinished")
    raw = await gw.app[RESOURCES].bus.js.get_last_msg(
        f"{gw.settings.bus_prefix.upper()}_DEPLOYMENTS", subject
    )
    message = DeploymentFinished.from_bytes(raw.data or b"")
    assert message.deployment_id == uuid.UUID(dep["deployment_id"])
    assert (message.result, message.window_sequences, message.sequence_seconds) == ("failed", 5, 1.0)


async def test_a_message_waits_in_the_outbox_while_publishing_fails(
    gw: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The message is committed with the deployment; the relay publishes it once NATS works again."""
    project = await gw.project(await gw.token())
    relay = gw.app[RESOURCES].relay

    async def nats_down() -> int:
        raise ConnectionError("NATS unreachable")

    monkeypatch.setattr(relay, "flush", nats_down)
    _, dep = await gw.trigger(project["api_key"])
    async with gw.pool.acquire() as conn:
        row = await conn.fetchrow(
            "SELECT subject, payload FROM gateway_outbox WHERE subject LIKE '%.deployments.v1.triggered'"
        )
    assert row is not None
    assert DeploymentTriggered.from_bytes(row["payload"]).deployment_id == uuid.UUID(dep["deployment_id"])
    stream = f"{gw.settings.bus_prefix.upper()}_DEPLOYMENTS"
    with pytest.raises(NotFoundError):
        await gw.app[RESOURCES].bus.js.get_last_msg(stream, row["subject"])

    monkeypatch.undo()
    relay.wake()

    async def published() -> bool:
        return await _outbox_empty(gw) and await _stream_count(gw, row["subject"]) == 1

    await eventually(published, what="the relay to publish after recovery")
