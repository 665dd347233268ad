"""One GET of an app's metrics endpoint, signed with HMAC v2 when the project asks, classified."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime

import aiohttp

from seqpulse.common.app_metrics import AppMetrics, InvalidMetrics, parse_app_metrics
from seqpulse.common.hmac_v2 import signed_headers


@dataclass(frozen=True, slots=True)
class ProbeOk:
    metrics: AppMetrics


@dataclass(frozen=True, slots=True)
class ProbeFailed:
    """Worth retrying: network error, timeout, 5xx, or an unusable body."""

    reason: str


@dataclass(frozen=True, slots=True)
class ProbeRejected:
    """The app refused our signature (401/403 on a signed probe): retrying cannot help."""

    reason: str


ProbeResult = ProbeOk | ProbeFailed | ProbeRejected


async def probe(
    session: aiohttp.ClientSession,
    url: str,
    *,
    timeout: float,
    hmac_secret: str | None,
    project_id: str,
) -> ProbeResult:
    headers = {"Accept": "application/json", "User-Agent": "SeqPulse-Collector/1"}
    if hmac_secret is not None:
        headers.update(signed_headers(hmac_secret, url, project_id=project_id, now=datetime.now(UTC)))
    try:
        async with session.get(
            url, headers=headers, timeout=aiohttp.ClientTimeout(total=timeout), allow_redirects=False
        ) as response:
            if response.status in (401, 403) and hmac_secret is not None:
                return ProbeRejected(f"app answered {response.status} to a signed probe")
            if response.status >= 300:
                return ProbeFailed(f"app answered HTTP {response.status}")
            try:
                body = await response.json(content_type=None)
            except ValueError:
                return ProbeFailed("response body is not JSON")
    except TimeoutError:
        return ProbeFailed(f"timed out after {timeout:g} s")
    except (aiohttp.ClientError, OSError, asyncio.IncompleteReadError) as exc:
        return ProbeFailed(f"connection failed: {type(exc).__name__}")
    try:
        return ProbeOk(parse_app_metrics(body))
    except InvalidMetrics as exc:
        return ProbeFailed(f"invalid metrics: {exc}")
