"""A deployment end to end: CI API, gateway, NATS, collector, analyzer, the demo app, and one trace."""

from __future__ import annotations

import time

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from tests.e2e.conftest import Stack
from tests.support import eventually

pytestmark = [pytest.mark.e2e, pytest.mark.nats, pytest.mark.postgres]


async def test_healthy_and_regressed_deployments_reach_their_verdicts_in_seconds(stack: Stack) -> None:
    started = time.monotonic()
    healthy = await stack.deploy(await stack.project("checkout", hmac=True), regression=None)
    assert healthy["state"] == "analyzed"
    # In-process on 2 cores the demo's traffic wobbles; the default policy may honestly say it cannot
    # vouch for the deployment, but it must not raise an alarm it cannot back.
    verdict = healthy["verdict"]
    assert verdict["verdict"] == "ok" or (verdict["verdict"] == "warning" and verdict["insufficient_data"]), (
        verdict
    )
    assert healthy["window"]["collected_post"] == 5

    bad = await stack.deploy(
        await stack.project("payments", hmac=False), regression={"kind": "errors", "magnitude": 0.3}
    )
    assert bad["verdict"]["verdict"] == "rollback_recommended", bad["verdict"]
    assert any(
        h["severity"] == "critical" and "error_rate" in (h["metric"], *h.get("composite_signals", []))
        for h in bad["hints"]
    )
    assert time.monotonic() - started < 60


async def test_one_trace_spans_gateway_collector_and_analyzer(
    stack: Stack, span_exporter: InMemorySpanExporter
) -> None:
    span_exporter.clear()
    result = await stack.deploy(await stack.project("traced", hmac=False), regression=None)
    spans = span_exporter.get_finished_spans()
    finish = [
        s
        for s in spans
        if "/deployments/finish" in s.name or (s.attributes or {}).get("http.route") == "/deployments/finish"
    ]
    assert finish, sorted({s.name for s in spans})
    trace_id = finish[0].context.trace_id

    async def verdict_published() -> set[str] | None:
        # The verdict is readable once its transaction commits; the span of its publication ends a
        # moment later, when JetStream acks it.
        names = {s.name for s in span_exporter.get_finished_spans() if s.context.trace_id == trace_id}
        published = any(n.endswith(".analysis.v1.verdict_created") and n.startswith("publish") for n in names)
        return names if published else None

    in_trace = await eventually(verdict_published, timeout=10.0)
    assert any(name.startswith("collect post") for name in in_trace), in_trace
    assert any(
        name.endswith(".collection.v1.window_closed") and name.startswith("consume") for name in in_trace
    )
    assert any(
        name.endswith(".analysis.v1.verdict_created") and name.startswith("publish") for name in in_trace
    )
    assert result["verdict"] is not None
