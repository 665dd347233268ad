"""What handlers depend on: settings, and the connections `app.py` opens at startup and closes at shutdown."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from cryptography.exceptions import InvalidTag

from seqpulse.common.bus.client import Bus
from seqpulse.common.db.outbox import OutboxRelay
from seqpulse.common.secretbox import SecretBox
from seqpulse.gateway.client_address import client_address
from seqpulse.gateway.config import GatewaySettings
from seqpulse.gateway.geoip import CountryLookup
from seqpulse.gateway.probe import EndpointProbe, PreflightCache
from seqpulse.gateway.problems import Problem
from seqpulse.gateway.ratelimit import FixedWindowLimiter
from seqpulse.gateway.records import ProjectRow


class NotStarted(RuntimeError):
    """A connection was used before the app's startup opened it (or after shutdown closed it)."""


class Resources:
    """Built by `create_app`; the connections are filled in by its cleanup contexts."""

    def __init__(self, settings: GatewaySettings) -> None:
        self.settings = settings
        self.box = SecretBox(settings.secret_key)
        self.limiter = FixedWindowLimiter(settings.ci_rate_limit_per_minute)
        self.preflight = PreflightCache(settings.hmac_preflight_cache_seconds)
        self.trusted_proxies = settings.trusted_networks
        self.pool_or_none: Any = None  # an asyncpg pool (untyped library)
        self.bus_or_none: Bus | None = None
        self.relay_or_none: OutboxRelay | None = None
        self.probe_or_none: EndpointProbe | None = None
        # None when no SEQPULSE_GEOIP_DB is configured: countries are then unknown, not an error.
        self.geoip_or_none: CountryLookup | None = None

    @property
    def pool(self) -> Any:
        if self.pool_or_none is None:
            raise NotStarted("database pool")
        return self.pool_or_none

    @property
    def bus(self) -> Bus:
        if self.bus_or_none is None:
            raise NotStarted("NATS connection")
        return self.bus_or_none

    @property
    def relay(self) -> OutboxRelay:
        if self.relay_or_none is None:
            raise NotStarted("outbox relay")
        return self.relay_or_none

    @property
    def probe(self) -> EndpointProbe:
        if self.probe_or_none is None:
            raise NotStarted("endpoint probe")
        return self.probe_or_none

    def country(self, request: web.Request) -> str | None:
        """The country of the request's client, or None; the address itself goes no further than here."""
        if self.geoip_or_none is None:
            return None
        return self.geoip_or_none.country(client_address(request, self.trusted_proxies))

    def wake_relay(self) -> None:
        """After a commit that enqueued messages: publish now instead of at the next poll."""
        if self.relay_or_none is not None:
            self.relay_or_none.wake()

    def hmac_secret(self, project: ProjectRow) -> str | None:
        """The project's HMAC secret in clear, None when signing is off; 422 if it cannot be decrypted."""
        if not project.hmac_enabled:
            return None
        try:
            if project.hmac_secret_enc is None:
                raise ValueError("no secret stored")
            return self.box.open(project.hmac_secret_enc, context=str(project.id))
        except (InvalidTag, ValueError):
            # SEQPULSE_SECRET_KEY changed, or the row was tampered with: a new secret is the way out.
            raise Problem(
                422,
                "The project's HMAC secret cannot be read; rotate it with POST /projects/{id}/hmac/rotate.",
                code="HMAC_SECRET_UNREADABLE",
                errors=[("hmac", "stored secret cannot be decrypted")],
            ) from None
