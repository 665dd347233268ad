"""Suite-wide fixtures: real NATS and Postgres started once (or taken from NATS_URL / DATABASE_URL)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from seqpulse.common.devstack import NatsServer, PostgresServer
from seqpulse.common.testing.infra import clone_database, create_template, drop_database, new_bus_prefix

REPO = Path(__file__).resolve().parent.parent
pytest_plugins = ["tests.support"]
SPANS = InMemorySpanExporter()
_provider = TracerProvider()
_provider.add_span_processor(SimpleSpanProcessor(SPANS))
trace.set_tracer_provider(_provider)


@pytest.fixture(scope="session")
def span_exporter() -> InMemorySpanExporter:
    """Every span of the test process (services run in-process in integration tests)."""
    return SPANS


@pytest.fixture(scope="session")
def nats_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if os.environ.get("NATS_URL"):
        yield os.environ["NATS_URL"]
        return
    server = NatsServer(store_dir=tmp_path_factory.mktemp("nats")).start()
    yield server.url
    server.stop()


class PgInfo:
    def __init__(self, admin_dsn: str, dsn_for: Any) -> None:
        self.admin_dsn = admin_dsn
        self.dsn_for = dsn_for


@pytest.fixture(scope="session")
def pg(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PgInfo]:
    if os.environ.get("DATABASE_URL"):
        base = os.environ["DATABASE_URL"].rsplit("/", 1)[0]
        yield PgInfo(os.environ["DATABASE_URL"], lambda name: f"{base}/{name}")
        return
    # The unprivileged postgres user (we may be root) must be able to reach the data directory.
    data_dir = Path(tmp_path_factory.mktemp("pg", numbered=True))
    for path in (data_dir, data_dir.parent, data_dir.parent.parent):
        os.chmod(path, 0o755)  # noqa: S103  # the postgres user must traverse it; it holds no secret
    server = PostgresServer(data_dir=data_dir / "data", durable=False).start()
    yield PgInfo(server.dsn, server.dsn_for)
    server.stop()


@pytest.fixture(scope="session")
async def pg_template(pg: PgInfo) -> str:
    return await create_template(pg.admin_dsn, pg.dsn_for)


@pytest.fixture
async def database_url(pg: PgInfo, pg_template: str) -> AsyncIterator[str]:
    """A database of this test's own, migrated, dropped afterwards."""
    name = await clone_database(pg.admin_dsn)
    yield pg.dsn_for(name)
    await drop_database(pg.admin_dsn, name)


@pytest.fixture
def bus_prefix() -> str:
    """A subject/stream prefix of this test's own on the shared NATS server."""
    return new_bus_prefix()
