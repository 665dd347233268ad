"""The composition root: settings in, a wired aiohttp application out."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
from aiohttp import web

from seqpulse.common.bus.client import Bus
from seqpulse.common.db.outbox import OutboxRelay
from seqpulse.common.db.pool import create_pool
from seqpulse.common.logging import get_logger
from seqpulse.gateway.api_stats import API_STATS, ApiStats
from seqpulse.gateway.config import GatewaySettings
from seqpulse.gateway.geoip import CountryLookup
from seqpulse.gateway.middlewares import body_limit, observe, problems
from seqpulse.gateway.probe import EndpointProbe
from seqpulse.gateway.resources import Resources
from seqpulse.gateway.routes import (
    Operation,
    accounts,
    analysis,
    ci,
    deployments,
    docs,
    endpoint,
    events,
    founder,
    health,
    policy,
    projects,
    tokens,
)
from seqpulse.gateway.web import live
from seqpulse.gateway.web import routes as pages
from seqpulse.gateway.web.context import STATIC, setup_templates

log = get_logger(__name__)
RESOURCES = web.AppKey("resources", Resources)
OPERATIONS = web.AppKey("operations", list[Operation])


def create_app(settings: GatewaySettings) -> web.Application:
    """Routes and middlewares now; the pool, NATS, the outbox relay and the HTTP client at startup."""
    res = Resources(settings)
    app = web.Application(
        # Outermost first: observe sees the final status of everything, including problem answers.
        middlewares=[observe, problems, body_limit(settings.max_body_bytes)],
        client_max_size=settings.max_body_bytes,
    )
    app[RESOURCES] = res

    async def geoip(_app: web.Application) -> AsyncIterator[None]:
        # First: a configured database that cannot be opened stops the start before anything connects.
        if settings.geoip_db is None:
            log.info("geoip_disabled", reason="SEQPULSE_GEOIP_DB not set; event countries will be null")
            yield
            return
        res.geoip_or_none = CountryLookup.open(settings.geoip_db)
        log.info("geoip_opened", database_type=res.geoip_or_none.database_type)
        yield
        res.geoip_or_none.close()
        res.geoip_or_none = None

    async def database(_app: web.Application) -> AsyncIterator[None]:
        res.pool_or_none = await create_pool(
            settings.database_url, min_size=settings.db_pool_min, max_size=settings.db_pool_max
        )
        yield
        await res.pool_or_none.close()
        res.pool_or_none = None

    async def nats(_app: web.Application) -> AsyncIterator[None]:
        res.bus_or_none = await Bus.connect(settings.nats_url, settings.bus_prefix, name="seqpulse-gateway")
        yield
        await res.bus_or_none.close()
        res.bus_or_none = None

    async def outbox(_app: web.Application) -> AsyncIterator[None]:
        relay = OutboxRelay(res.pool, res.bus, "gateway_outbox")
        task = asyncio.create_task(relay.run(), name="gateway:outbox-relay")
        res.relay_or_none = relay
        yield
        # stop() drains: rows committed before shutdown are published before NATS closes.
        relay.stop()
        await task
        res.relay_or_none = None

    async def http_client(_app: web.Application) -> AsyncIterator[None]:
        async with aiohttp.ClientSession() as session:
            res.probe_or_none = EndpointProbe(
                session,
                timeout=settings.probe_timeout_seconds,
                allow_private=settings.allow_private_endpoints,
            )
            yield
            res.probe_or_none = None

    # aiohttp runs these in order at startup and tears down only what started, in reverse.
    stats = app[API_STATS] = ApiStats()

    async def api_stats(_app: web.Application) -> AsyncIterator[None]:
        stop = asyncio.Event()
        task = asyncio.create_task(
            stats.run(res.pool, settings.api_stats_flush_seconds, stop), name="gateway:api-stats"
        )
        yield
        # The last flush runs after the HTTP server stopped, so the final requests are counted too.
        stop.set()
        await task

    app.cleanup_ctx.extend([geoip, database, nats, outbox, http_client, api_stats])
    # Live pages: their streams end on shutdown, and the hub unsubscribes before NATS drains.
    live.install(app, res)

    operations = [
        *accounts.operations(res),
        *ci.operations(res),
        *events.operations(res),
        *projects.operations(res),
        *endpoint.operations(res),
        *tokens.operations(res),
        *deployments.operations(res),
        *analysis.operations(res),
        *policy.operations(res),
        *health.operations(res),
        *founder.operations(res),
    ]
    operations += docs.operations(res, operations)
    operations += pages.operations(res)
    for op in operations:
        app.router.add_route(op.method, op.path, op.handler)
    setup_templates(app)
    # The dashboard's own scripts and styles: no CDN, no build step.
    app.router.add_static("/static", STATIC, name="static")
    app[OPERATIONS] = operations
    return app
