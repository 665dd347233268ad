"""`seqpulse-migrate`: bring the database named by DATABASE_URL up to the latest schema."""

from __future__ import annotations

import asyncio

import asyncpg

from seqpulse.common.config import CommonSettings
from seqpulse.common.db.migrate import migrate


async def _run() -> None:
    conn = await asyncpg.connect(CommonSettings().database_url)
    try:
        applied = await migrate(conn)
        print("applied " + ", ".join(applied) if applied else "schema up to date")
    finally:
        await conn.close()


def main() -> None:
    asyncio.run(_run())
