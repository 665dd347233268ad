"""The gateway's own product events (sign-ups, projects, deployments, settings, page views).

Events that announce a change travel through the gateway's outbox, in the transaction of the change, so
one is published if and only if the change committed. Page views change nothing: they are published
straight away, and a failure to publish one never fails the page.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Literal

import nats.errors
from aiohttp import web
from pydantic import ValidationError

from seqpulse.common.config import CommonSettings
from seqpulse.common.db.outbox import enqueue
from seqpulse.common.logging import get_logger
from seqpulse.common.messages.product import Plan, ProductEvent, pseudonymise
from seqpulse.gateway.repository import Conn
from seqpulse.gateway.resources import NotStarted, Resources

log = get_logger(__name__)
OUTBOX = "gateway_outbox"
# A page waits this long at most for NATS to acknowledge its view event, then renders anyway.
VIEW_PUBLISH_TIMEOUT = 1.0
ViewEvent = Literal["verdict_viewed", "sdh_viewed"]
# How an account came to be: `POST /auth/signup`, or `seqpulse-admin create-user`.
SignupMethod = Literal["password", "admin"]


def product_event(
    name: str,
    *,
    key: bytes,
    user_id: uuid.UUID | str | None,
    project_id: uuid.UUID | None = None,
    plan: Plan | None = None,
    country: str | None = None,
    properties: Mapping[str, Any] | None = None,
) -> ProductEvent:
    """An internal event; the user id is pseudonymised with `key` here, so the raw id never leaves."""
    return ProductEvent(
        event_name=name,
        occurred_at=datetime.now(UTC),
        user_key=pseudonymise(str(user_id), key) if user_id is not None else None,
        project_id=project_id,
        plan=plan,
        country=country,
        properties=dict(properties or {}),
        source="internal",
    )


async def emit(
    conn: Conn,
    settings: CommonSettings,
    name: str,
    *,
    user_id: uuid.UUID | str | None,
    project_id: uuid.UUID | None = None,
    plan: Plan | None = None,
    country: str | None = None,
    properties: Mapping[str, Any] | None = None,
) -> None:
    """Store the event in `conn`'s transaction (`settings` give the pseudonym key and the bus prefix); the
    gateway wakes its relay after the commit (`res.wake_relay()`), else the relay publishes the row within
    its poll interval (the admin CLI)."""
    event = product_event(
        name,
        key=settings.pseudonym_key,
        user_id=user_id,
        project_id=project_id,
        plan=plan,
        country=country,
        properties=properties,
    )
    await enqueue(conn, OUTBOX, event, settings.bus_prefix)


async def user_signed_up(
    conn: Conn,
    settings: CommonSettings,
    user_id: uuid.UUID,
    *,
    method: SignupMethod,
    country: str | None,
) -> None:
    """`user_signup` for a new account, in `conn`'s transaction: the sign-up route and the admin CLI."""
    await emit(conn, settings, "user_signup", user_id=user_id, country=country, properties={"method": method})


async def settings_updated(
    conn: Conn,
    res: Resources,
    request: web.Request,
    user_id: uuid.UUID,
    area: str,
    *,
    project_id: uuid.UUID | None = None,
    plan: Plan | None = None,
    **properties: Any,
) -> None:
    """`settings_updated` for `area` ('project', 'policy', 'endpoint', 'hmac', 'api_key', 'token'), by the
    user behind `request`, in `conn`'s transaction (the caller wakes the relay after the commit)."""
    await emit(
        conn,
        res.settings,
        "settings_updated",
        user_id=user_id,
        project_id=project_id,
        plan=plan,
        country=res.country(request),
        properties={"area": area, **properties},
    )


async def emit_view(
    res: Resources,
    request: web.Request,
    viewer_user_id: uuid.UUID,
    name: ViewEvent,
    *,
    project_id: uuid.UUID | None = None,
    plan: Plan | None = None,
    **properties: Any,
) -> None:
    """Publish a page view (`verdict_viewed`, `sdh_viewed`) now; failures are logged, never raised."""
    try:
        event = product_event(
            name,
            key=res.settings.pseudonym_key,
            user_id=viewer_user_id,
            project_id=project_id,
            plan=plan,
            country=res.country(request),
            properties=properties,
        )
        if not res.bus.nc.is_connected:
            # A publish while disconnected waits for the reconnect: the page must not.
            log.warning("view_event_dropped", event_name=name, reason="NATS is not connected")
            return
        async with asyncio.timeout(VIEW_PUBLISH_TIMEOUT):
            await res.bus.publish(event)
    except (nats.errors.Error, TimeoutError, NotStarted, ValidationError) as exc:
        log.warning("view_event_failed", event_name=name, error=f"{type(exc).__name__}: {exc}")
