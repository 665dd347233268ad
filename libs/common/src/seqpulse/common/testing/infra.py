"""Per-test isolation on shared servers: a database cloned from a migrated template, a subject prefix."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg

from seqpulse.common.db.migrate import migrate

TEMPLATE_DB = "seqpulse_template"


async def create_template(admin_dsn: str, dsn_for: Any) -> str:
    """Create (or recreate) the migrated template database; returns its name."""
    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{TEMPLATE_DB}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{TEMPLATE_DB}"')
    finally:
        await conn.close()
    conn = await asyncpg.connect(dsn_for(TEMPLATE_DB))
    try:
        await migrate(conn)
    finally:
        await conn.close()
    return TEMPLATE_DB


async def clone_database(admin_dsn: str, name: str | None = None) -> str:
    """A fresh database copied from the template (milliseconds, unlike re-running migrations)."""
    name = name or f"test_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{TEMPLATE_DB}"')
    finally:
        await conn.close()
    return name


async def drop_database(admin_dsn: str, name: str) -> None:
    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


def new_bus_prefix() -> str:
    return f"t{uuid.uuid4().hex[:12]}"
