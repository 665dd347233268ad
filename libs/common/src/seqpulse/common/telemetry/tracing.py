"""OpenTelemetry set-up and the W3C `traceparent` carried in NATS headers and outbox rows."""

from __future__ import annotations

import os
from collections.abc import Mapping

from opentelemetry import propagate, trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF

TRACE_HEADERS = ("traceparent", "tracestate")


def setup_tracing(service: str, exporter: SpanExporter | None = None) -> None:
    """Install a tracer provider once per process; a provider already installed (tests) is kept."""
    if isinstance(trace.get_tracer_provider(), TracerProvider):
        return
    trace.set_tracer_provider(tracer_provider(service, exporter))


def tracer_provider(service: str, exporter: SpanExporter | None = None) -> TracerProvider:
    """Spans exported to `exporter`, else to OTLP when `OTEL_EXPORTER_OTLP_ENDPOINT` is set (sampled as
    `OTEL_TRACES_SAMPLER` says, every trace by default). With neither, spans are not recorded: they would
    go nowhere, and recording them cost the gateway ~0.05 ms of the ~0.7 ms of CPU a single-event
    `POST /events` takes (bench/events_latency). Each span still gets its trace and span ids, which the
    logs carry and NATS headers and outbox rows pass on, so one trace's log lines still line up across
    the services; marked unsampled, such a trace is not recorded further on either, so the endpoint is
    set on every service or on none."""
    resource = Resource.create({"service.name": f"seqpulse-{service}"})
    if exporter is None and os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        exporter = OTLPSpanExporter()
    if exporter is None:
        return TracerProvider(resource=resource, sampler=ALWAYS_OFF)
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(BatchSpanProcessor(exporter))
    return provider


def tracer(name: str) -> trace.Tracer:
    """The tracer of a module (`seqpulse.<service>.<module>`)."""
    return trace.get_tracer(name)


def current_trace_headers() -> dict[str, str]:
    """The current span's context as `traceparent`/`tracestate` headers (empty outside a span)."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return {k: v for k, v in carrier.items() if k in TRACE_HEADERS}


def context_from_headers(headers: Mapping[str, str] | None) -> Context:
    """The remote parent carried by message headers or a stored traceparent."""
    carrier = {k.lower(): v for k, v in (headers or {}).items() if k.lower() in TRACE_HEADERS}
    return propagate.extract(carrier)


def current_trace_id() -> str | None:
    ctx = trace.get_current_span().get_span_context()
    return format(ctx.trace_id, "032x") if ctx.is_valid else None
