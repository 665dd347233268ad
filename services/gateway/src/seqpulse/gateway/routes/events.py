"""`POST /events`: product events over HTTP, judged one by one, on JetStream before the answer.

Who may send: a project's API key (`X-API-Key`; every event is then that project's), or a user, by
personal access token with the `write` scope or by browser session (events are then that user's). The
client's address gives the events their country and goes no further: it is not published, stored
or logged. The user id is pseudonymised before the event leaves the gateway.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime

import nats.errors
import nats.js.errors
from aiohttp import web

from seqpulse.common.bus.client import Bus
from seqpulse.common.logging import get_logger
from seqpulse.common.messages.base import Encoded
from seqpulse.common.messages.product import Plan
from seqpulse.gateway import repository as repo
from seqpulse.gateway.auth import COOKIE, authenticate_project, authenticate_user, digest
from seqpulse.gateway.event_intake import Sender, checked_events, judge_all
from seqpulse.gateway.problems import Problem, unauthorized
from seqpulse.gateway.records import ProjectRow
from seqpulse.gateway.resources import Resources
from seqpulse.gateway.routes import Operation
from seqpulse.gateway.schemas.common import FieldError
from seqpulse.gateway.schemas.events import (
    EventsAcceptedResponse,
    EventsRequest,
    RejectedEvent,
)

log = get_logger(__name__)
# Publishes in flight per request: enough to hide the ack round trip, few enough to share the connection.
# Seconds to wait for JetStream's acks of a request's events before answering 503 (a retry is safe).
PUBLISH_ACK_TIMEOUT = 10.0
# An application sends events with the same key many times a second: its project is remembered this long,
# which is also how long a rotated key may still send events (nothing else) on each replica.
API_KEY_CACHE_SECONDS = 5.0


class ApiKeyCache:
    """Projects of recently seen API keys (by hash), in memory; unknown keys are never remembered."""

    def __init__(
        self, ttl: float, *, max_entries: int = 10_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._clock = clock
        self._entries: dict[bytes, tuple[float, ProjectRow]] = {}

    def get(self, key_hash: bytes) -> ProjectRow | None:
        entry = self._entries.get(key_hash)
        if entry is None or entry[0] <= self._clock():
            return None
        return entry[1]

    def put(self, key_hash: bytes, project: ProjectRow) -> None:
        now = self._clock()
        if len(self._entries) >= self.max_entries:
            self._entries = {k: v for k, v in self._entries.items() if v[0] > now}
            if len(self._entries) >= self.max_entries:
                self._entries.clear()
        self._entries[key_hash] = (now + self.ttl, project)


async def publish_all(bus: Bus, events: Sequence[Encoded], shared: Mapping[str, bytes]) -> None:
    """Publish every event (`shared`: by subject, the fields its events leave out) and wait for JetStream's
    acks; 503 if NATS fails or does not ack in time."""
    if not bus.nc.is_connected:
        raise _unavailable("not connected")
    try:
        await bus.publish_encoded(events, shared=shared, timeout=PUBLISH_ACK_TIMEOUT)
    except (nats.errors.Error, nats.js.errors.Error, TimeoutError) as exc:
        raise _unavailable(f"{type(exc).__name__}: {exc}") from exc


def _unavailable(reason: str) -> Problem:
    log.warning("events_publish_failed", reason=reason)
    return Problem(
        503,
        "Events could not be handed to the event bus; retry the same request (event ids make a retry safe).",
        code="unavailable",
        headers={"Retry-After": "5"},
    )


def _field(name: str, index: int, batched: bool) -> str:
    return f"events.{index}.{name}" if batched else name


def operations(res: Resources) -> list[Operation]:
    keys = ApiKeyCache(API_KEY_CACHE_SECONDS)

    async def project_of_key(request: web.Request) -> ProjectRow:
        key_hash = digest(request.headers.get("X-API-Key", "").strip())
        project = keys.get(key_hash)
        if project is None:
            async with res.pool.acquire() as conn:
                project, _key_id = await authenticate_project(conn, request)  # 401 if missing or unknown
            keys.put(key_hash, project)
        return project

    async def post(request: web.Request) -> web.Response:
        raw = await request.read()
        received_at = datetime.now(UTC)
        plans: dict[uuid.UUID, Plan] = {}
        sender: Sender
        if "X-API-Key" in request.headers:
            # The hot path (applications): with the key's project remembered, no database round trip.
            sender = await project_of_key(request)
            checked, batched = checked_events(raw, received_at)
        elif "Authorization" in request.headers or COOKIE in request.cookies:
            async with res.pool.acquire() as conn:
                sender = await authenticate_user(conn, request, "write")
                checked, batched = checked_events(raw, received_at)
                named = {p for c in checked if isinstance(c, dict) and (p := c.get("project_id")) is not None}
                if named:
                    plans = await repo.project_plans_visible(conn, sorted(named), sender)
        else:
            raise unauthorized(
                "Missing credentials: a project's X-API-Key, or a user's Authorization: Bearer token",
                field="X-API-Key",
                reason="or Authorization is required",
            )

        accepted, rejected, shared = judge_all(
            checked,
            sender,
            plans,
            key=res.settings.pseudonym_key,
            country=res.country(request),  # the only use of the client's address
            received_at=received_at,
            prefix=res.bus.prefix,
        )
        answer = EventsAcceptedResponse(
            accepted=len(accepted),
            rejected=[
                RejectedEvent(index=i, errors=[FieldError(field=f, reason=r) for f, r in errs])
                for i, errs in rejected
            ],
        )
        if not accepted:
            errors = [(_field(f, i, batched), r) for i, errs in rejected for f, r in errs]
            detail = "; ".join(f"{f}: {r}" for f, r in errors[:5]) + ("; …" if len(errors) > 5 else "")
            raise Problem(
                422,
                f"No event was accepted: {detail}",
                code="validation_failed",
                errors=errors,
                extra=answer.model_dump(mode="json"),
            )
        await publish_all(res.bus, accepted, shared)
        # A line per request at this endpoint's rate is noise; one with refusals helps a sender debug.
        (log.info if rejected else log.debug)(
            "events_accepted",
            accepted=len(accepted),
            rejected=len(rejected),
            via="api_key" if isinstance(sender, ProjectRow) else "user",
            project_id=str(sender.id) if isinstance(sender, ProjectRow) else None,
        )
        return web.Response(status=202, body=answer.model_dump_json(), content_type="application/json")

    return [
        Operation(
            "POST",
            "/events",
            post,
            "Send product events, one or a batch of up to 1000 (X-API-Key, or a user token/session "
            "with `write`); each bad event is refused with its reasons, the others are published",
            "Events",
            auth="api_key_or_user",
            request=EventsRequest,
            response=EventsAcceptedResponse,
            status=202,
            errors=(400, 401, 403, 413, 422, 503),
        ),
    ]
