"""The asyncpg pool, with jsonb encoded by orjson (or given as JSON already)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeAlias

import asyncpg
import orjson

if TYPE_CHECKING:
    from asyncpg.pool import PoolConnectionProxy

# String aliases: asyncpg's classes are generic only in its stubs, not at run time.
Conn: TypeAlias = "asyncpg.Connection[Any] | PoolConnectionProxy[Any]"
Pool: TypeAlias = "asyncpg.Pool[Any]"


def _jsonb(value: Any) -> bytes:
    """jsonb's binary form: a version byte and the JSON. `bytes` are JSON already (the ingest has the
    properties' JSON from checking their size); anything else is serialised here."""
    return b"\x01" + (value if type(value) is bytes else orjson.dumps(value))


async def _init_connection(conn: asyncpg.Connection[Any]) -> None:
    await conn.set_type_codec(
        "jsonb",
        encoder=_jsonb,
        decoder=lambda data: orjson.loads(data[1:]),
        schema="pg_catalog",
        format="binary",
    )


async def create_pool(dsn: str, *, min_size: int = 1, max_size: int = 10) -> asyncpg.Pool[Any]:
    """A pool whose connections speak jsonb as Python objects."""
    pool = await asyncpg.create_pool(
        dsn, min_size=min_size, max_size=max_size, init=_init_connection, command_timeout=30
    )
    assert pool is not None
    return pool
