"""Gateway integration tests: the real app against real Postgres and NATS."""
