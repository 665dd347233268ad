"""The pool's jsonb codec: Python values are serialised by orjson; bytes are JSON already (the ingest
passes the properties' JSON it made while checking their size) and go as they are."""

from __future__ import annotations

from typing import Any

import asyncpg
import orjson
import pytest

pytestmark = [pytest.mark.postgres]

VALUES: list[Any] = [{"a": 1, "b": [True, None, "é"]}, {}, [1, 2], "text", 3]


@pytest.mark.parametrize("value", VALUES)
async def test_a_value_and_its_json_as_bytes_store_the_same(pool: asyncpg.Pool[Any], value: Any) -> None:
    as_value = await pool.fetchval("SELECT $1::jsonb", value)
    as_json = await pool.fetchval("SELECT $1::jsonb", orjson.dumps(value))
    assert as_value == as_json == value


async def test_bytes_that_are_not_json_are_refused_by_postgres(pool: asyncpg.Pool[Any]) -> None:
    with pytest.raises(asyncpg.InvalidTextRepresentationError):
        await pool.fetchval("SELECT $1::jsonb", b"{not json")
