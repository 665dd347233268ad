"""`POST /events` and the gateway's own product events, on real Postgres and NATS JetStream.

The TCP peer of a test request is always 127.0.0.1; a test-only outermost middleware lets a request say
which peer it stands for (`X-Test-Peer`), the way a connection from that address would arrive.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, cast

import nats.errors
import nats.js.errors
import orjson
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer, make_mocked_request
from nats.aio.msg import Msg

from seqpulse.common.bus.client import Bus
from seqpulse.common.bus.frames import FRAME_HEADER, Part, decode_frame
from seqpulse.common.messages.product import KNOWN_EVENTS, MAX_PROPERTIES_BYTES, ProductEvent, pseudonymise
from seqpulse.gateway.app import RESOURCES, create_app
from seqpulse.gateway.config import GatewaySettings
from seqpulse.gateway.product_events import emit_view
from seqpulse.gateway.records import ProjectRow
from seqpulse.gateway.routes import events as events_route
from seqpulse.gateway.routes.events import ApiKeyCache
from tests.integration.gateway.gateway_harness import FakeApp, Harness, bearer, eventually

pytestmark = [pytest.mark.postgres, pytest.mark.nats]
GEOIP_DB = Path(__file__).resolve().parents[3] / "data" / "geoip" / "GeoLite2-Country-Test.mmdb"
TEST_PEER = "X-Test-Peer"
PASSWORD = "correct horse battery"
# Addresses of MaxMind's test database (data/geoip/GeoLite2-Country-Test.json).
GB, SE, JP = "81.2.69.142", "89.160.20.115", "2001:218::1"


@web.middleware
async def peer_from_header(request: web.Request, handler: Any) -> web.StreamResponse:
    peer = request.headers.get(TEST_PEER)
    return await handler(request.clone(remote=peer) if peer else request)


@pytest.fixture
def gateway_settings(database_url: str, nats_url: str, bus_prefix: str) -> GatewaySettings:
    return GatewaySettings(
        database_url=database_url,
        nats_url=nats_url,
        bus_prefix=bus_prefix,
        sequence_seconds=1.0,
        port=0,
        db_pool_max=4,
        geoip_db=GEOIP_DB,
        trusted_proxies="10.0.0.0/8, 2001:db8::/32",
    )


@pytest.fixture
async def gw(gateway_settings: GatewaySettings, fake_app: FakeApp) -> AsyncIterator[Harness]:
    bus = await Bus.connect(gateway_settings.nats_url, gateway_settings.bus_prefix, name="test-setup")
    try:
        await bus.apply()
    finally:
        await bus.close()
    app = create_app(gateway_settings)
    app.middlewares.insert(0, peer_from_header)
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        yield Harness(client=client, app=app, settings=gateway_settings, fake=fake_app)


def event(**fields: Any) -> dict[str, Any]:
    return {"event_id": str(uuid.uuid4()), "event_name": "custom.report_exported", **fields}


async def post_events(
    gw: Harness, body: Any, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, Any]]:
    response = await gw.client.post("/events", json=body, headers=headers)
    return response.status, await response.json(content_type=None)


async def stream_messages(gw: Harness) -> list[Msg]:
    """Every message of the test's EVENTS stream, in order (a fresh ordered consumer from the start)."""
    js = gw.app[RESOURCES].bus.js
    info = await js.stream_info(f"{gw.settings.bus_prefix.upper()}_EVENTS")
    if not info.state.messages:
        return []
    subscription = await js.subscribe(f"{gw.settings.bus_prefix}.events.v1.>", ordered_consumer=True)
    try:
        return [await subscription.next_msg(timeout=10) for _ in range(info.state.messages)]
    finally:
        await subscription.unsubscribe()


async def drained(gw: Harness) -> None:
    """Wait until the outbox relay has published every event committed so far."""

    async def empty() -> bool:
        async with gw.pool.acquire() as conn:
            return bool(await conn.fetchval("SELECT count(*) FROM gateway_outbox") == 0)

    await eventually(empty, what="the gateway outbox to drain")


async def published(gw: Harness, source: str = "http") -> list[tuple[Msg, ProductEvent]]:
    """The stream's messages from `source` ("http": POST /events; "internal": the gateway's own), once
    the outbox has drained (setting up a project announces `project_created` on the same stream)."""
    await drained(gw)
    decoded: list[tuple[Msg, ProductEvent]] = []
    for msg in await stream_messages(gw):
        if msg.headers and FRAME_HEADER in msg.headers:  # a request's events of one name, in one frame
            parts = decode_frame(ProductEvent, msg.data, msg.subject, gw.settings.bus_prefix)
            assert all(isinstance(p, Part) for p in parts), parts
            decoded += [(msg, p.message) for p in parts if isinstance(p, Part)]
        else:
            decoded.append((msg, ProductEvent.from_bytes(msg.data)))
    return [(msg, e) for msg, e in decoded if e.source == source]


async def http_events(gw: Harness) -> list[ProductEvent]:
    return [e for _, e in await published(gw)]


async def own_events(gw: Harness) -> list[ProductEvent]:
    return [e for _, e in await published(gw, "internal")]


def key_of(gw: Harness, user_id: uuid.UUID | str) -> str:
    return pseudonymise(str(user_id), gw.settings.pseudonym_key)


async def api_key_project(gw: Harness) -> dict[str, Any]:
    return await gw.project(await gw.token(), activate=False, plan="pro")


# --- POST /events: what is accepted, what is refused -------------------------------------------------


async def test_a_batch_publishes_its_good_events_and_refuses_each_bad_one_with_its_reasons(
    gw: Harness,
) -> None:
    project = await api_key_project(gw)
    good_custom = event(user_id="u-42", properties={"format": "csv"})
    an_hour_ago = (datetime.now(UTC) - timedelta(hours=1)).astimezone(timezone(timedelta(hours=1)))
    good_known = event(
        event_name="verdict_viewed", timestamp=an_hour_ago.isoformat(), properties={"verdict": "ok"}
    )
    batch = [
        good_custom,
        event(event_name="report_exported"),  # a name that is neither known nor custom.*
        event(properties={"blob": "x" * MAX_PROPERTIES_BYTES}),
        good_known,
        event(timestamp="2026-11-22T10:00:00"),  # no time zone
        {"event_name": "custom.x"},  # no event_id
        event(project_id=str(uuid.uuid4())),  # not the key's project
        "not an object",
        event(colour="blue"),  # unknown field
    ]
    status, body = await post_events(gw, {"events": batch}, {"X-API-Key": project["api_key"]})
    assert status == 202, body
    assert body["accepted"] == 2
    reasons = {r["index"]: {e["field"]: e["reason"] for e in r["errors"]} for r in body["rejected"]}
    assert sorted(reasons) == [1, 2, 4, 5, 6, 7, 8]
    assert "custom.<name>" in reasons[1]["event_name"]
    assert f"at most {MAX_PROPERTIES_BYTES} bytes" in reasons[2]["properties"]
    assert "time zone" in reasons[4]["timestamp"]
    assert set(reasons[5]) == {"event_id"}
    assert "API key's project" in reasons[6]["project_id"]
    assert reasons[7] == {"event": "must be a JSON object"}
    assert set(reasons[8]) == {"colour"}

    pairs = await published(gw)
    events = [e for _, e in pairs]
    assert [e.message_id for e in events] == [good_custom["event_id"], good_known["event_id"]]
    assert [m.subject for m, _ in pairs] == [
        f"{gw.settings.bus_prefix}.events.v1.custom.report_exported",
        f"{gw.settings.bus_prefix}.events.v1.verdict_viewed",
    ]
    assert all(m.headers and m.headers["Nats-Msg-Id"] == e.message_id for m, e in pairs)
    first, second = events
    assert first.user_key == key_of(gw, "u-42") and second.user_key is None
    assert {str(e.project_id) for e in events} == {project["id"]}
    assert {e.plan for e in events} == {"pro"}  # the project's, when the event names none
    assert first.properties == {"format": "csv"}
    assert second.occurred_at == datetime.fromisoformat(good_known["timestamp"]).astimezone(UTC)


async def test_a_batch_of_only_bad_events_is_422_and_publishes_nothing(gw: Harness) -> None:
    project = await api_key_project(gw)
    batch = [event(event_name="signup"), event(properties={"b": "x" * (MAX_PROPERTIES_BYTES + 1)})]
    status, body = await post_events(gw, {"events": batch}, {"X-API-Key": project["api_key"]})
    assert status == 422
    assert body["code"] == "validation_failed" and body["accepted"] == 0
    assert [e["field"] for e in body["errors"]] == ["events.0.event_name", "events.1.properties"]
    assert [r["index"] for r in body["rejected"]] == [0, 1]
    assert await http_events(gw) == []


async def test_a_single_event_with_an_unknown_name_is_422_on_event_name(gw: Harness) -> None:
    project = await api_key_project(gw)
    status, body = await post_events(gw, event(event_name="user_signedup"), {"X-API-Key": project["api_key"]})
    assert status == 422
    assert [e["field"] for e in body["errors"]] == ["event_name"]
    assert "custom." in body["errors"][0]["reason"]
    status, body = await post_events(gw, event(event_name="Custom.Thing"), {"X-API-Key": project["api_key"]})
    assert status == 422
    assert await http_events(gw) == []


async def test_properties_over_the_limit_are_refused_and_at_the_limit_accepted(gw: Harness) -> None:
    project = await api_key_project(gw)
    headers = {"X-API-Key": project["api_key"]}
    filler = "x" * (MAX_PROPERTIES_BYTES - len('{"k":""}'))
    status, _ = await post_events(gw, event(properties={"k": filler}), headers)
    assert status == 202
    status, body = await post_events(gw, event(properties={"k": filler + "x"}), headers)
    assert status == 422
    assert body["errors"][0]["field"] == "properties"
    assert len(await http_events(gw)) == 1


async def test_more_than_1000_events_are_refused_whole_with_413(gw: Harness) -> None:
    project = await api_key_project(gw)
    batch = [event() for _ in range(1001)]
    status, body = await post_events(gw, {"events": batch}, {"X-API-Key": project["api_key"]})
    assert status == 413
    assert body["code"] == "too_many_events"
    assert body["errors"] == [{"field": "events", "reason": body["errors"][0]["reason"]}]
    assert "at most 1000 events (got 1001)" in body["errors"][0]["reason"]
    assert await http_events(gw) == []


async def test_a_batch_of_1000_events_is_published_whole(gw: Harness) -> None:
    project = await api_key_project(gw)
    batch = [event() for _ in range(1000)]
    status, body = await post_events(gw, {"events": batch}, {"X-API-Key": project["api_key"]})
    assert (status, body) == (202, {"accepted": 1000, "rejected": []})
    pairs = await published(gw)
    assert sorted(e.message_id for _, e in pairs) == sorted(item["event_id"] for item in batch)
    # One NATS message for the lot (they share a name), its id derived from the events' ids.
    frames = {m.headers["Nats-Msg-Id"] for m, _ in pairs if m.headers}
    assert len(frames) == 1 and frames.pop().startswith("frame-")
    # In the shared form: what the events share (name, time of receipt, project, country, source) once.
    body = orjson.loads(pairs[0][0].data)
    assert body["shared"].keys() == set(ProductEvent.SHARED_FIELDS)
    assert body["shared"]["project_id"] == project["id"] and body["shared"]["source"] == "http"
    assert len(body["messages"]) == 1000
    assert all(m.keys().isdisjoint(ProductEvent.SHARED_FIELDS) for m in body["messages"])


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        (b"", "body"),
        (b"{not json", "body"),
        (b"[1, 2]", "body"),
        (b'"text"', "body"),
        (b'{"events": {"a": 1}}', "events"),
        (b'{"events": [], "extra": 1}', "body"),
    ],
)
async def test_a_malformed_body_is_400_naming_the_field(gw: Harness, raw: bytes, field: str) -> None:
    project = await api_key_project(gw)
    response = await gw.client.post(
        "/events", data=raw, headers={"X-API-Key": project["api_key"], "Content-Type": "application/json"}
    )
    assert response.status == 400
    assert [e["field"] for e in (await response.json(content_type=None))["errors"]] == [field]


async def test_an_empty_batch_is_422(gw: Harness) -> None:
    project = await api_key_project(gw)
    status, body = await post_events(gw, {"events": []}, {"X-API-Key": project["api_key"]})
    assert (status, body["errors"][0]["field"]) == (422, "events")


async def test_a_repeated_event_id_is_kept_once(gw: Harness) -> None:
    project = await api_key_project(gw)
    headers = {"X-API-Key": project["api_key"]}
    batch = [event(), event()]
    assert (await post_events(gw, {"events": batch}, headers))[0] == 202
    # The client did not hear the answer and sends the same batch again: JetStream drops the copies.
    assert await post_events(gw, {"events": batch}, headers) == (202, {"accepted": 2, "rejected": []})
    assert [e.message_id for e in await http_events(gw)] == [e["event_id"] for e in batch]
    # Within one request a repeated id is a client bug worth telling.
    fresh = event()
    status, body = await post_events(gw, {"events": [batch[0], fresh, batch[0]]}, headers)
    assert status == 202 and body["accepted"] == 2
    assert body["rejected"] == [
        {"index": 2, "errors": [{"field": "event_id", "reason": "repeats the event_id of event 0"}]}
    ]
    # batch[0] came again in another batch, hence in another frame: the stream carries it twice, and
    # ingest stores it once (its key is the event's id and time: tests/integration/ingest).
    ids = [e.message_id for e in await http_events(gw)]
    assert ids == [batch[0]["event_id"], batch[1]["event_id"], batch[0]["event_id"], fresh["event_id"]]


# --- who may send what ---------------------------------------------------------------------------------


async def test_without_credentials_it_is_401_and_with_a_bad_key_too(gw: Harness) -> None:
    status, body = await post_events(gw, event())
    assert status == 401 and "X-API-Key" in body["detail"]
    status, _ = await post_events(gw, event(), {"X-API-Key": "SP_" + "0" * 32})
    assert status == 401
    status, _ = await post_events(gw, event(), bearer(await gw.token(scopes=("read",))))
    assert status == 403
    assert await http_events(gw) == []


async def test_a_user_token_sends_events_as_its_user_for_projects_it_can_see(gw: Harness) -> None:
    token = await gw.token()
    mine = await gw.project(token, activate=False, plan="enterprise")
    theirs = await gw.project(await gw.token(), activate=False)
    async with gw.pool.acquire() as conn:
        me = await conn.fetchval("SELECT owner_id FROM projects WHERE id = $1", uuid.UUID(mine["id"]))
    batch = [
        event(project_id=mine["id"]),
        event(),
        event(user_id=str(me).upper()),  # the caller's own id, however it is written
        event(project_id=theirs["id"]),
        event(user_id=str(uuid.uuid4())),
    ]
    status, body = await post_events(gw, {"events": batch}, bearer(token))
    assert status == 202 and body["accepted"] == 3
    assert {r["index"]: r["errors"][0]["field"] for r in body["rejected"]} == {3: "project_id", 4: "user_id"}
    published = await http_events(gw)
    assert {e.user_key for e in published} == {key_of(gw, me)}
    assert [(str(e.project_id) if e.project_id else None, e.plan) for e in published] == [
        (mine["id"], "enterprise"),
        (None, None),
        (None, None),
    ]


async def test_an_admin_token_may_send_for_any_user(gw: Harness) -> None:
    other = str(uuid.uuid4())
    status, body = await post_events(
        gw, event(user_id=other), bearer(await gw.token(scopes=("admin",), admin=True))
    )
    assert (status, body["accepted"]) == (202, 1)
    assert [e.user_key for e in await http_events(gw)] == [key_of(gw, other)]


async def test_a_browser_session_sends_events_with_its_csrf_token(gw: Harness) -> None:
    signed = await gw.client.post(
        "/auth/signup", json={"email": "s@example.test", "name": "S", "password": PASSWORD}
    )
    session = await signed.json()
    refused, _ = await post_events(gw, event())
    assert refused == 403  # a session without the page's CSRF token changes nothing
    status, _ = await post_events(gw, event(), {"X-CSRF-Token": session["csrf_token"]})
    assert status == 202
    assert [e.user_key for e in await http_events(gw)] == [key_of(gw, session["user"]["id"])]


async def test_nats_unavailable_is_503_and_a_retry_later_publishes(
    gw: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = await api_key_project(gw)
    headers = {"X-API-Key": project["api_key"]}
    bus = gw.app[RESOURCES].bus

    async def never_acked(*_args: Any, **_kwargs: Any) -> asyncio.Future[None]:
        return asyncio.get_running_loop().create_future()  # JetStream down: the ack never comes

    monkeypatch.setattr(bus.js, "publish_async", never_acked)
    monkeypatch.setattr(events_route, "PUBLISH_ACK_TIMEOUT", 0.2)
    batch = [event(), event()]
    status, body = await post_events(gw, {"events": batch}, headers)
    assert status == 503 and body["code"] == "unavailable"

    async def refused(*_args: Any, **_kwargs: Any) -> asyncio.Future[None]:
        failed = asyncio.get_running_loop().create_future()
        failed.set_exception(nats.js.errors.ServiceUnavailableError())
        return failed

    monkeypatch.setattr(bus.js, "publish_async", refused)
    status, body = await post_events(gw, {"events": batch}, headers)
    assert status == 503 and body["code"] == "unavailable"
    monkeypatch.undo()
    assert (await post_events(gw, {"events": batch}, headers))[0] == 202
    assert len(await http_events(gw)) == 2


# --- country, and the address that must not leave -----------------------------------------------------


async def _country_of(gw: Harness, headers: dict[str, str]) -> str | None:
    project = await api_key_project(gw)
    sent = event()
    status, _ = await post_events(gw, sent, {"X-API-Key": project["api_key"], **headers})
    assert status == 202
    [one] = [e for e in await http_events(gw) if e.message_id == sent["event_id"]]
    return one.country


async def test_the_country_comes_from_the_peer_address(gw: Harness) -> None:
    assert await _country_of(gw, {TEST_PEER: GB}) == "GB"


async def test_the_country_of_an_ipv6_peer(gw: Harness) -> None:
    assert await _country_of(gw, {TEST_PEER: JP}) == "JP"


async def test_behind_a_trusted_proxy_the_forwarded_address_gives_the_country(gw: Harness) -> None:
    assert await _country_of(gw, {TEST_PEER: "10.1.2.3", "X-Forwarded-For": f"{GB}, {SE}"}) == "SE"
    assert await _country_of(gw, {TEST_PEER: "2001:db8::7", "X-Forwarded-For": JP}) == "JP"


async def test_a_forwarded_address_from_an_untrusted_peer_is_ignored(gw: Harness) -> None:
    assert await _country_of(gw, {TEST_PEER: GB, "X-Forwarded-For": SE}) == "GB"


async def test_an_address_the_database_does_not_know_has_no_country(gw: Harness) -> None:
    assert await _country_of(gw, {}) is None  # the real peer, 127.0.0.1


async def test_no_ip_address_reaches_the_bus_or_the_logs(
    gw: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    project = await api_key_project(gw)
    headers = {"X-API-Key": project["api_key"], TEST_PEER: "10.9.8.7", "X-Forwarded-For": f"{JP}, {GB}"}
    status, _ = await post_events(gw, {"events": [event(), event(user_id="u-1")]}, headers)
    assert status == 202
    signup = await gw.client.post(
        "/auth/signup",
        json={"email": "ip@example.test", "name": "I", "password": PASSWORD},
        headers={TEST_PEER: SE},
    )
    assert signup.status == 201
    assert [e.country for e in await http_events(gw)] == ["GB", "GB"]
    own = await own_events(gw)
    assert [(e.event_name, e.country) for e in own][-1] == ("user_signup", "SE")
    messages = await stream_messages(gw)
    ours = [r for r in caplog.records if r.name.startswith("seqpulse")]
    assert ours  # the gateway did log these requests
    for address in (GB, SE, JP, "10.9.8.7", "127.0.0.1", "2001:218"):
        for m in messages:
            assert address.encode() not in m.data
            assert address not in str(m.headers)
        for record in ours:
            assert address not in f"{record.getMessage()} {getattr(record, 'fields', '')}"


# --- the gateway's own events ---------------------------------------------------------------------------


async def test_signup_login_project_trigger_and_finish_announce_themselves_with_a_pseudonymised_user(
    gw: Harness,
) -> None:
    credentials = {"email": "own@example.test", "password": PASSWORD}
    signed = await gw.client.post(
        "/auth/signup", json={**credentials, "name": "Own"}, headers={TEST_PEER: GB}
    )
    user_id = (await signed.json())["user"]["id"]
    assert (await gw.client.post("/auth/login", json=credentials, headers={TEST_PEER: JP})).status == 200
    token = await gw.token(email=credentials["email"])
    gw.client.session.cookie_jar.clear()  # from here on the token speaks, not the session
    project = await gw.project(token, plan="pro", envs=["prod", "staging"])
    _, deployment = await gw.trigger(project["api_key"], env="staging")
    await gw.finish(project["api_key"], deployment["deployment_id"], "failed")

    events = await own_events(gw)
    assert [(e.event_name, e.properties.get("area")) for e in events] == [
        ("user_signup", None),
        ("user_login", None),
        ("project_created", None),
        ("settings_updated", "endpoint"),
        ("deployment_triggered", None),
        ("deployment_finished", None),
    ]
    signup, login, created, _activated, triggered, finished = events
    assert {e.user_key for e in events} == {key_of(gw, user_id)}
    assert {e.source for e in events} == {"internal"}
    assert (signup.country, login.country) == ("GB", "JP")
    assert signup.properties == login.properties == {"method": "password"}
    assert (signup.project_id, signup.plan) == (None, None)
    assert created.properties == {"plan": "pro", "envs": 2}
    assert {str(e.project_id) for e in events[2:]} == {project["id"]}
    assert {e.plan for e in events[2:]} == {"pro"}
    assert triggered.properties == {"env": "staging", "deployment_id": deployment["deployment_id"]}
    assert finished.properties == {
        "env": "staging",
        "deployment_id": deployment["deployment_id"],
        "pipeline_result": "failed",
    }
    for msg in await stream_messages(gw):
        assert user_id.encode() not in msg.data and user_id.replace("-", "").encode() not in msg.data


async def test_existing_triggers_and_ignored_finishes_announce_nothing(gw: Harness) -> None:
    project = await gw.project(await gw.token())
    _, deployment = await gw.trigger(project["api_key"], idempotency_key="k")
    await gw.trigger(project["api_key"], idempotency_key="k")
    await gw.finish(project["api_key"], deployment["deployment_id"])
    await gw.finish(project["api_key"], deployment["deployment_id"])
    names = [e.event_name for e in await own_events(gw)]
    assert names.count("deployment_triggered") == names.count("deployment_finished") == 1


async def test_settings_changes_announce_settings_updated_with_their_area(gw: Harness) -> None:
    token = await gw.token()
    project = await gw.project(token, plan="pro")
    pid = project["id"]
    auth = bearer(token)
    calls = [
        ("PATCH", f"/projects/{pid}", {"name": "renamed"}),
        ("PUT", f"/projects/{pid}/policy", {"analysis_policy": "original-v2", "settings": {}}),
        ("POST", f"/projects/{pid}/hmac/enable", None),
        ("POST", f"/projects/{pid}/hmac/rotate", None),
        ("POST", f"/projects/{pid}/hmac/disable", None),
        ("POST", f"/projects/{pid}/api-key/rotate", None),
        ("POST", "/tokens", {"name": "ci", "scopes": ["read"]}),
    ]
    for method, path, body in calls:
        response = await gw.client.request(method, path, json=body, headers=auth)
        assert response.status < 300, (path, await response.text())
        if path == "/tokens":
            created = await response.json()
    assert (await gw.client.delete(f"/tokens/{created['id']}", headers=auth)).status == 204
    # Refused changes announce nothing.
    assert (await gw.client.post(f"/projects/{pid}/hmac/rotate", headers=auth)).status == 400

    updates = [e for e in await own_events(gw) if e.event_name == "settings_updated"]
    assert [(e.properties["area"], e.properties.get("action")) for e in updates] == [
        ("endpoint", "activate"),
        ("project", None),
        ("policy", None),
        ("hmac", "enable"),
        ("hmac", "rotate"),
        ("hmac", "disable"),
        ("api_key", "rotate"),
        ("token", "create"),
        ("token", "revoke"),
    ]
    assert {str(e.project_id) for e in updates[:7]} == {pid}
    assert {e.project_id for e in updates[7:]} == {None}
    assert len({e.user_key for e in updates}) == 1


async def test_a_page_view_is_published_and_a_bus_failure_does_not_reach_the_page(
    gw: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    res = gw.app[RESOURCES]
    viewer = uuid.uuid4()
    deployment_id = str(uuid.uuid4())
    request = make_mocked_request("GET", "/deployments/x")
    await emit_view(res, request, viewer, "verdict_viewed", deployment_id=deployment_id, verdict="ok")
    [view] = await own_events(gw)
    assert (view.event_name, view.user_key) == ("verdict_viewed", key_of(gw, viewer))
    assert view.properties == {"deployment_id": deployment_id, "verdict": "ok"}

    async def broken(*_args: Any, **_kwargs: Any) -> None:
        raise nats.errors.NoRespondersError

    monkeypatch.setattr(res.bus.js, "publish", broken)
    await emit_view(res, request, viewer, "sdh_viewed", hints=3)  # logged, not raised
    monkeypatch.undo()
    assert len(await own_events(gw)) == 1


async def test_the_openapi_document_describes_post_events(gw: Harness) -> None:
    spec = await (await gw.client.get("/openapi.json")).json()
    operation = spec["paths"]["/events"]["post"]
    assert set(operation["responses"]) == {"202", "400", "401", "403", "413", "422", "503"}
    schema = operation["requestBody"]["content"]["application/json"]["schema"]
    assert schema == {"$ref": "#/components/schemas/EventsRequest"}
    assert "EventRequest" in spec["components"]["schemas"]


def test_docs_list_every_known_event_and_its_properties() -> None:
    docs = (Path(__file__).resolve().parents[3] / "docs" / "events.md").read_text()
    for name, properties in KNOWN_EVENTS.items():
        row = next((line for line in docs.splitlines() if line.startswith(f"| `{name}` |")), None)
        assert row is not None, f"docs/events.md has no row for {name}"
        for prop in properties:
            assert f"`{prop}`" in row, f"docs/events.md does not document {name}.{prop}"


def test_a_remembered_api_key_is_forgotten_after_its_time_to_live() -> None:
    now = [100.0]
    cache = ApiKeyCache(5.0, max_entries=2, clock=lambda: now[0])
    project = cast(ProjectRow, object())
    assert cache.get(b"a") is None
    cache.put(b"a", project)
    assert cache.get(b"a") is project
    now[0] = 104.9
    assert cache.get(b"a") is project
    now[0] = 105.0
    assert cache.get(b"a") is None
    cache.put(b"b", project)
    cache.put(b"c", project)
    cache.put(b"d", project)  # full: the expired "a" goes first, then everything if still full
    assert cache.get(b"d") is project
