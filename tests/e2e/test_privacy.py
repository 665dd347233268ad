"""Privacy by construction: after a run fed with real-looking IPv4 and IPv6 client addresses, no address
appears in any table, in any message of any stream, or in any log line; the countries were resolved."""

from __future__ import annotations

import ipaddress
import logging
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import nats.js.errors
import pytest
from aiohttp.test_utils import TestServer

from seqpulse.common.bus import Bus
from seqpulse.common.bus.streams import STREAMS
from seqpulse.common.db.pool import Pool
from seqpulse.common.logging import JsonFormatter
from seqpulse.gateway.app import create_app as create_gateway
from seqpulse.gateway.config import GatewaySettings
from seqpulse.ingest.app import IngestService
from seqpulse.ingest.config import IngestSettings
from tests.support import eventually

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.nats]
GEOIP = Path(__file__).resolve().parents[2] / "data" / "geoip" / "GeoLite2-Country-Test.mmdb"
# Addresses in the MaxMind test database's networks (so a country is found) and one outside any.
CLIENTS = {
    "81.2.69.142": "GB",
    "89.160.20.113": "SE",
    "216.160.83.57": "US",
    "2001:218:85a3::8a2e:370:7334": "JP",
    "2a02:cfc0::1234": "FR",
    "203.0.113.77": None,  # documentation range: no country, still never stored
}
PASSWORD = "correct horse battery"


def spellings(address: str) -> set[str]:
    """Every way an address could be written down: as given, compressed, exploded, and IPv4-mapped."""
    ip = ipaddress.ip_address(address)
    forms = {address, str(ip), ip.exploded}
    if ip.version == 4:
        forms |= {f"::ffff:{ip}", ip.exploded.replace(".", "-")}
    return forms


class Captured(logging.Handler):
    """Every log record of every logger, formatted as production formats it (JSON lines)."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.setFormatter(JsonFormatter())
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def captured_logs() -> Iterator[Captured]:
    handler = Captured()
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield handler
    root.removeHandler(handler)
    root.setLevel(old_level)


async def all_table_text(pool: Pool) -> str:
    async with pool.acquire() as conn:
        tables = await conn.fetch(
            "SELECT quote_ident(schemaname) || '.' || quote_ident(tablename) AS name FROM pg_tables"
            " WHERE schemaname NOT IN ('pg_catalog', 'information_schema')"
        )
        chunks = []
        for table in tables:
            rows = await conn.fetch(f"SELECT t::text AS row FROM {table['name']} t")  # noqa: S608  # catalog names
            chunks += [r["row"] for r in rows]
    return "\n".join(chunks)


async def all_stream_text(bus: Bus) -> str:
    chunks = []
    for spec in STREAMS:
        name = spec.name(bus.prefix)
        info = await bus.js.stream_info(name)
        if not info.state.messages:
            continue
        for seq in range(info.state.first_seq, info.state.last_seq + 1):
            try:
                msg = await bus.js.get_msg(name, seq)
            except nats.js.errors.NotFoundError:  # a deleted sequence: nothing left to read
                msg = None
            if msg is None:
                continue
            chunks.append(msg.subject)
            chunks.append((msg.data or b"").decode(errors="replace"))
            chunks.append(repr(msg.headers or {}))
    return "\n".join(chunks)


async def test_no_client_address_is_stored_published_or_logged(
    service_env: dict[str, Any], bus: Bus, pool: Pool, captured_logs: Captured
) -> None:
    ingest = IngestService(IngestSettings(**service_env, ingest_batch_max_wait_seconds=0.1))
    await ingest.start()
    gateway = TestServer(
        create_gateway(
            GatewaySettings(**service_env, geoip_db=GEOIP, trusted_proxies="127.0.0.1/32,::1/128")
        ),
        host="127.0.0.1",
    )
    await gateway.start_server()
    base = str(gateway.make_url("")).rstrip("/")
    try:
        for index, (address, _) in enumerate(CLIENTS.items()):
            via = {"X-Forwarded-For": f"{address}, 127.0.0.1"}
            # unsafe=True: keep cookies of an IP-address host (the test gateway on 127.0.0.1).
            async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
                email = f"user{index}@example.test"
                body = {"email": email, "name": f"User {index}", "password": PASSWORD}
                async with http.post(f"{base}/auth/signup", json=body, headers=via) as r:
                    assert r.status == 201, await r.text()
                    csrf = (await r.json())["csrf_token"]
                bad = {"email": email, "password": "wrong password"}
                async with http.post(f"{base}/auth/login", json=bad, headers=via) as r:
                    assert r.status == 401
                good = {"email": email, "password": PASSWORD}
                async with http.post(f"{base}/auth/login", json=good, headers=via) as r:
                    assert r.status == 200
                    csrf = (await r.json())["csrf_token"]
                project = {"name": f"shop{index}", "metrics_endpoint": "http://127.0.0.1:9/seqpulse-metrics"}
                async with http.post(
                    f"{base}/projects", json=project, headers={**via, "X-CSRF-Token": csrf}
                ) as r:
                    assert r.status == 201, await r.text()
                    api_key = (await r.json())["api_key"]
                events = {
                    "events": [
                        {"event_id": str(uuid.uuid4()), "event_name": "custom.page_opened", "user_id": email},
                        {
                            "event_id": str(uuid.uuid4()),
                            "event_name": "user_login",
                            "user_id": email,
                            "properties": {"method": "password"},
                        },
                    ]
                }
                async with http.post(
                    f"{base}/events", json=events, headers={**via, "X-API-Key": api_key}
                ) as r:
                    assert r.status == 202, await r.text()
                # A malformed request logs its problem: still without the address.
                async with http.post(f"{base}/events", data=b"{", headers={**via, "X-API-Key": api_key}) as r:
                    assert r.status == 400

        async def all_stored() -> bool:
            async with pool.acquire() as conn:
                # Per client: signup, 2 logins... only 1 succeeds, project_created, 2 events over HTTP.
                return bool(await conn.fetchval("SELECT count(*) FROM product_events") >= 5 * len(CLIENTS))

        await eventually(all_stored, timeout=30)
    finally:
        await gateway.close()
        await ingest.stop()

    async with pool.acquire() as conn:
        countries = {r["country"] for r in await conn.fetch("SELECT DISTINCT country FROM product_events")}
    # The positive control: the addresses did reach GeoIP and gave their countries.
    assert countries == set(CLIENTS.values())

    tables, messages, logs = (
        await all_table_text(pool),
        await all_stream_text(bus),
        "\n".join(captured_logs.lines),
    )
    assert logs, "the run logged nothing: the capture is broken"
    for address in CLIENTS:
        for form in spellings(address):
            assert form not in tables, f"{form} stored in a table"
            assert form not in messages, f"{form} published on the bus"
            assert form not in logs, f"{form} logged"
