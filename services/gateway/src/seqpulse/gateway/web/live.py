"""Live deployment pages: `GET /app/deployments/{id}/events`, server-sent events from `detail_hub`.

A stream starts with the deployment's current state (so nothing between the page's render and the
subscription is lost), relays each fact about it, sends a heartbeat comment when idle, and ends after the
verdict. A stream dropped for not keeping up, or ended by the gateway's shutdown, just closes: the
browser's EventSource reconnects and is sent the current state again.
"""

from __future__ import annotations

import contextlib
import uuid
import weakref
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web

from seqpulse.gateway import read_repository as reads
from seqpulse.gateway.auth import session_principal
from seqpulse.gateway.problems import Problem
from seqpulse.gateway.records import Row
from seqpulse.gateway.resources import Resources
from seqpulse.gateway.routes import Operation
from seqpulse.gateway.views import derive_state
from seqpulse.gateway.web.detail_hub import Listener, LiveHub, sse_frame

RETRY_MS = 3000
HEARTBEAT = b": heartbeat\n\n"


_HUBS: weakref.WeakKeyDictionary[Resources, LiveHub] = weakref.WeakKeyDictionary()
INSTALLED = web.AppKey("live_hub", LiveHub)


def hub_for(res: Resources) -> LiveHub:
    """The gateway's hub (one per `Resources`, so per app)."""
    hub = _HUBS.get(res)
    if hub is None:
        hub = _HUBS[res] = LiveHub()
    return hub


def install(app: web.Application, res: Resources) -> None:
    """Wire the hub's shutdown into the app (called by `create_app` after the NATS cleanup context).

    `on_shutdown` runs before aiohttp waits for in-flight requests, so open streams end at once instead
    of holding the shutdown for its whole timeout; the cleanup context unsubscribes before NATS drains.
    """
    if INSTALLED in app:
        return
    hub = app[INSTALLED] = hub_for(res)

    async def end_streams(_app: web.Application) -> None:
        hub.close_streams()

    async def subscription(_app: web.Application) -> AsyncIterator[None]:
        yield  # subscribed lazily, by the first stream
        await hub.stop()

    app.on_shutdown.append(end_streams)
    app.cleanup_ctx.append(subscription)


def _state(row: Row) -> dict[str, Any]:
    has_verdict = row["verdict_id"] is not None
    return {
        "deployment_id": str(row["id"]),
        "state": derive_state(row["state"], row["window_state"], has_verdict),
        "window_state": row["window_state"] or "pending",
        "collected_pre": row["collected_pre"],
        "collected_post": row["collected_post"],
        "sequences": row["window_sequences"],
        "verdict": row["verdict"] if has_verdict else None,
    }


def operations(res: Resources) -> list[Operation]:
    hub = hub_for(res)

    async def events(request: web.Request) -> web.StreamResponse:
        try:
            deployment_id = uuid.UUID(request.match_info["deployment_id"])
        except ValueError:
            raise Problem(404, "Deployment not found", code="not_found") from None
        async with res.pool.acquire() as conn:
            principal = await session_principal(conn, request, check_csrf=False)
        if principal is None:
            raise Problem(401, "Sign in to follow a deployment.", code="unauthorized")
        await hub.start(res.bus)
        # Listening before reading the state: a fact arriving in between is sent twice, never lost.
        listener = hub.listen(deployment_id, principal.user_id)
        try:
            async with res.pool.acquire() as conn:
                rows = await reads.deployment_views(conn, principal, deployment_id=deployment_id, limit=1)
            if not rows:
                raise Problem(404, "Deployment not found", code="not_found")
            return await _stream(request, listener, _state(rows[0]))
        finally:
            hub.discard(listener)

    async def _stream(request: web.Request, listener: Listener, state: dict[str, Any]) -> web.StreamResponse:
        response = web.StreamResponse(
            headers={
                "Cache-Control": "no-store",
                "X-Accel-Buffering": "no",  # a proxy must pass each event on at once
                "X-Content-Type-Options": "nosniff",
            }
        )
        response.content_type = "text/event-stream"
        await response.prepare(request)
        # A page closed mid-stream resets the connection: nobody is left to tell, the stream just ends.
        with contextlib.suppress(ConnectionResetError):
            await response.write(f"retry: {RETRY_MS}\n\n".encode() + sse_frame("state", state))
            # Nothing more will happen to an analyzed or expired deployment: tell the page to stop.
            if state["state"] in ("analyzed", "expired"):
                await response.write(sse_frame("end", {"reason": state["state"]}))
                return response
            while True:
                event = await listener.next(hub.heartbeat_seconds)
                if listener.closed is not None:
                    break  # shutdown or overflow: a plain end of stream, so the browser reconnects
                if event is None:
                    await response.write(HEARTBEAT)
                    continue
                await response.write(event.frame)
                if event.final:
                    await response.write(sse_frame("end", {"reason": "verdict"}))
                    break
        return response

    return [
        Operation(
            "GET",
            "/app/deployments/{deployment_id}/events",
            events,
            "Server-sent events of one deployment (the detail page's live updates)",
            "Pages",
            hidden=True,
        ),
    ]
