"""Helpers for tests that need real NATS and Postgres."""
