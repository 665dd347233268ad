"""The fold's columns travel as the text of Postgres array literals (summary.array_literal): Postgres
must read back exactly the values written, whatever the text holds."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from seqpulse.ingest.summary import array_literal

pytestmark = [pytest.mark.postgres]

AWKWARD = [
    "",
    "plain",
    "NULL",
    "null",
    'a "quoted" word',
    "back\\slash",
    "\\",
    '\\"',
    "comma, brace } { and spaces ",
    "line\nbreak\ttab\r",
    "\x01\x1f control",
    "émoji 🎉 and ünïcode",
    "c:*",
    "p:" + str(uuid.UUID(int=7)),
]


async def read_back(pool: asyncpg.Pool[Any], values: list[Any], pg_type: str) -> list[Any]:
    return list(await pool.fetchval(f"SELECT $1::text::{pg_type}[]", array_literal(values)))


async def test_text_comes_back_as_written(pool: asyncpg.Pool[Any]) -> None:
    assert await read_back(pool, AWKWARD, "text") == AWKWARD
    assert await read_back(pool, [*AWKWARD, None], "text") == [*AWKWARD, None]
    for value in AWKWARD:  # alone too: the quoting must not depend on the neighbours
        assert await read_back(pool, [value], "text") == [value]


async def test_random_text_comes_back_as_written(pool: asyncpg.Pool[Any]) -> None:
    rng = random.Random(5)
    alphabet = 'ab,{}" \\\n\t\x07NUL€𝄞'
    for _ in range(50):
        values = ["".join(rng.choices(alphabet, k=rng.randint(0, 12))) for _ in range(rng.randint(0, 20))]
        assert await read_back(pool, values, "text") == values


async def test_times_dates_numbers_and_ids_come_back_exactly(pool: asyncpg.Pool[Any]) -> None:
    rng = random.Random(9)
    base = datetime(2026, 11, 22, tzinfo=UTC)
    times = [base - timedelta(microseconds=rng.randrange(10**12)) for _ in range(200)]
    times += [base, base.replace(microsecond=1), datetime(2000, 1, 1, tzinfo=UTC)]
    assert await read_back(pool, [*times, None], "timestamptz") == [*times, None]
    days = [date(2026, 2, 28), date(2024, 2, 29), date(1999, 12, 31)]
    assert await read_back(pool, days, "date") == days
    numbers = [0, 1, -1, 2**31 - 1, -(2**31)]
    assert await read_back(pool, numbers, "int") == numbers
    ids = [uuid.uuid4() for _ in range(20)]
    assert await read_back(pool, ids, "uuid") == ids


async def test_an_empty_column_is_an_empty_array(pool: asyncpg.Pool[Any]) -> None:
    assert await read_back(pool, [], "timestamptz") == []
