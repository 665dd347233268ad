"""The servers a benchmark runs against: an embedded NATS and a durable Postgres under a temp dir."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import nats

from seqpulse.common.bus import Bus
from seqpulse.common.db.migrate import migrate
from seqpulse.common.devstack import NatsServer, PostgresServer
from seqpulse.common.logging import JsonFormatter

BUS_PREFIX = "bench"


@dataclass
class Stack:
    """Running servers; `database()` makes a migrated database, `apply_bus()` declares the streams."""

    root: Path
    nats: NatsServer
    pg: PostgresServer
    prefix: str = BUS_PREFIX

    @property
    def nats_url(self) -> str:
        return self.nats.url

    async def database(self, name: str) -> str:
        """A new database with every migration applied; returns its DSN."""
        admin = await asyncpg.connect(self.pg.dsn)
        try:
            await admin.execute(f'CREATE DATABASE "{name}"')
        finally:
            await admin.close()
        dsn = self.pg.dsn_for(name)
        conn = await asyncpg.connect(dsn)
        try:
            await migrate(conn)
        finally:
            await conn.close()
        return dsn

    async def events_on_stream(self) -> int:
        """Messages on the EVENTS stream (a frame counts once)."""
        nc = await nats.connect(self.nats_url)
        try:
            info = await nc.jetstream().stream_info(f"{self.prefix.upper()}_EVENTS")
            return int(info.state.messages)
        finally:
            await nc.close()

    async def apply_bus(self) -> None:
        bus = await Bus.connect(self.nats_url, self.prefix, name="bench-setup")
        try:
            await bus.apply()
        finally:
            await bus.close()


def log_services_to(path: Path) -> None:
    """In-process services log as in production (JSON lines, INFO) but into a file, not over the
    figures; warnings and errors still reach stderr."""
    to_file = logging.FileHandler(path)
    to_file.setFormatter(JsonFormatter())
    to_stderr = logging.StreamHandler()
    to_stderr.setLevel(logging.WARNING)
    to_stderr.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [to_file, to_stderr]
    root.setLevel(logging.INFO)
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)


@contextlib.asynccontextmanager
async def running_stack() -> AsyncIterator[Stack]:
    """NATS (JetStream, file store) and Postgres with fsync on, so commits cost what they cost in
    production; everything lives in one temp dir that is removed afterwards."""
    root = Path(tempfile.mkdtemp(prefix="seqpulse-bench-"))
    # Postgres runs as an unprivileged user when we are root: it must be able to enter the directory.
    os.chmod(root, 0o755)  # noqa: S103  # holds throwaway benchmark data only
    nats = NatsServer(store_dir=root / "nats", log_file=root / "nats.log")
    pg = PostgresServer(data_dir=root / "pg", durable=True)
    started: list[NatsServer | PostgresServer] = []
    try:
        for server in (nats, pg):
            await asyncio.to_thread(server.start)
            started.append(server)
        yield Stack(root=root, nats=nats, pg=pg)
    finally:
        for server in reversed(started):
            await asyncio.to_thread(server.stop)
        shutil.rmtree(root, ignore_errors=True)
