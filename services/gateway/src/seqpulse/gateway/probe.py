"""The gateway's own GETs of a metrics endpoint: the endpoint test and the trigger's HMAC preflight."""

from __future__ import annotations

import asyncio
import hashlib
import ipaddress
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urlsplit

import aiohttp
import orjson

from seqpulse.common.app_metrics import AppMetrics, InvalidMetrics, parse_app_metrics
from seqpulse.common.hmac_v2 import signed_headers

# The five metrics fit in a few hundred bytes; anything much larger is not a metrics endpoint.
MAX_BODY_BYTES = 64 * 1024


@dataclass(frozen=True, slots=True)
class ProbeOutcome:
    """`metrics` on success; else a human `reason`, and `rejected` when the app refused our signature."""

    metrics: AppMetrics | None = None
    reason: str = ""
    rejected: bool = False

    @property
    def ok(self) -> bool:
        return self.metrics is not None


async def _is_private(host: str) -> bool:
    infos = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if address.is_private or address.is_loopback or address.is_link_local or address.is_reserved:
            return True
    return False


class EndpointProbe:
    """One signed (when a secret is given) GET with a short timeout, validated as app metrics."""

    def __init__(self, session: aiohttp.ClientSession, *, timeout: float, allow_private: bool) -> None:
        self._session = session
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._timeout_seconds = timeout
        self._allow_private = allow_private

    async def probe(self, url: str, *, secret: str | None, project_id: str) -> ProbeOutcome:
        headers = {"Accept": "application/json", "User-Agent": "SeqPulse-Gateway/1"}
        if secret is not None:
            headers.update(signed_headers(secret, url, project_id=project_id, now=datetime.now(UTC)))
        try:
            if not self._allow_private and await _is_private(urlsplit(url).hostname or ""):
                return ProbeOutcome(reason="endpoint resolves to a private or loopback address")
            async with self._session.get(
                url, headers=headers, timeout=self._timeout, allow_redirects=False
            ) as response:
                if response.status in (401, 403) and secret is not None:
                    return ProbeOutcome(
                        reason=f"app answered {response.status} to a signed request", rejected=True
                    )
                if not 200 <= response.status < 300:
                    return ProbeOutcome(reason=f"app answered HTTP {response.status}")
                raw = await response.content.read(MAX_BODY_BYTES + 1)
        except TimeoutError:
            return ProbeOutcome(reason=f"timed out after {self._timeout_seconds:g} s")
        except (aiohttp.ClientError, OSError) as exc:
            return ProbeOutcome(reason=f"connection failed ({type(exc).__name__})")
        if len(raw) > MAX_BODY_BYTES:
            return ProbeOutcome(reason=f"response body larger than {MAX_BODY_BYTES} bytes")
        try:
            body = orjson.loads(raw)
        except ValueError:
            return ProbeOutcome(reason="response body is not JSON")
        try:
            return ProbeOutcome(metrics=parse_app_metrics(body))
        except InvalidMetrics as exc:
            return ProbeOutcome(reason=f"invalid metrics: {exc}")


def secret_fingerprint(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()[:16]


@dataclass
class PreflightCache:
    """Successful HMAC preflights, per (project, endpoint, secret fingerprint), for `ttl` seconds.

    In-process only: each replica preflights once per TTL, which is the cost the original accepted too.
    A rotated secret has a new fingerprint, so it is always preflighted afresh.
    """

    ttl: float
    clock: Callable[[], float] = time.monotonic
    max_entries: int = 4096
    _until: dict[tuple[str, str, str], float] = field(default_factory=dict)

    def fresh(self, key: tuple[str, str, str]) -> bool:
        until = self._until.get(key)
        return until is not None and until > self.clock()

    def remember(self, key: tuple[str, str, str]) -> None:
        if self.ttl <= 0:
            return
        now = self.clock()
        if len(self._until) >= self.max_entries:
            self._until = {k: t for k, t in self._until.items() if t > now}
            if len(self._until) >= self.max_entries:
                self._until.clear()
        self._until[key] = now + self.ttl
