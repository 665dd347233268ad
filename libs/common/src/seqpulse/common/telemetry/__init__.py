"""Tracing (W3C traceparent across NATS) and Prometheus helpers."""
