"""Prometheus helpers shared by the services: the exposition handler and the bus/outbox families."""

from __future__ import annotations

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Counter, Histogram, generate_latest

BUS_MESSAGES = Counter(
    "seqpulse_bus_messages_total",
    "Messages handled by a durable consumer, by outcome (ack, retry, dead_letter).",
    ["consumer", "outcome"],
)
BUS_HANDLER_SECONDS = Histogram(
    "seqpulse_bus_handler_duration_seconds",
    "Time a consumer's handler took per message.",
    ["consumer"],
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
OUTBOX_PUBLISHED = Counter("seqpulse_outbox_published_total", "Outbox rows published to NATS.", ["outbox"])
OUTBOX_LAG_SECONDS = Histogram(
    "seqpulse_outbox_lag_seconds",
    "Time between an outbox row's commit and its publication.",
    ["outbox"],
    buckets=(0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30),
)


async def metrics_handler(request: web.Request) -> web.Response:
    """`GET /metrics` in the Prometheus text format; `?name[]=<sample name>` (repeatable) restricts it to
    those samples, as prometheus_client's own exposition does (a poller that reads a few counters, many
    times a second, then costs the service a few lines instead of every family)."""
    names = request.query.getall("name[]", [])
    body = generate_latest(REGISTRY.restricted_registry(names) if names else REGISTRY)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})
