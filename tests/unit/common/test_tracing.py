"""The tracer provider a service installs: spans recorded when there is somewhere to export them, and
trace ids made and passed on either way."""

from __future__ import annotations

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from seqpulse.common.telemetry.tracing import context_from_headers, current_trace_headers, tracer_provider


def test_without_an_exporter_spans_are_not_recorded_but_carry_trace_ids_across(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_ENDPOINT", raising=False)
    tracer = tracer_provider("test").get_tracer("test")
    with tracer.start_as_current_span("POST /events") as server:
        assert not server.is_recording()
        trace_id = server.get_span_context().trace_id
        assert server.get_span_context().is_valid
        with tracer.start_as_current_span("publish") as child:
            assert child.get_span_context().trace_id == trace_id
            headers = current_trace_headers()  # what a NATS message or an outbox row carries
    assert headers["traceparent"].split("-")[1] == format(trace_id, "032x")
    # The next service continues the same trace from those headers.
    with tracer.start_as_current_span("consume", context=context_from_headers(headers)) as consumer:
        assert consumer.get_span_context().trace_id == trace_id


def test_with_an_exporter_every_span_is_recorded_and_exported() -> None:
    exporter = InMemorySpanExporter()
    provider = tracer_provider("test", exporter)
    tracer = provider.get_tracer("test")
    with tracer.start_as_current_span("POST /events") as server:
        assert server.is_recording()
        with tracer.start_as_current_span("publish"):
            pass
    assert provider.force_flush()
    spans = exporter.get_finished_spans()
    assert [s.name for s in spans] == ["publish", "POST /events"]
    assert spans[0].resource.attributes["service.name"] == "seqpulse-test"
    assert len({s.context.trace_id for s in spans}) == 1
    provider.shutdown()
