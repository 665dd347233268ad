"""The gateway's Prometheus families; `path` is always a route template, never an id."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

HTTP_REQUESTS = Counter(
    "seqpulse_http_requests_total",
    "HTTP requests answered by the gateway.",
    ["method", "path", "status_code"],
)
HTTP_DURATION = Histogram(
    "seqpulse_http_request_duration_seconds",
    "Time to answer an HTTP request.",
    ["method", "path"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5),
)
DEPLOYMENTS = Counter(
    "seqpulse_gateway_deployments_total",
    "CI API outcomes: trigger created/existing, finish accepted/ignored/not_found.",
    ["action", "status"],
)
