"""The gateway's settings: where it listens, its limits, and the timings of the CI API."""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field, field_validator

from seqpulse.common.config import CommonSettings
from seqpulse.gateway.client_address import Network, parse_networks


def _env(name: str) -> AliasChoices:
    # `populate_by_name` (inherited) keeps the field name usable as a keyword, e.g. in tests.
    return AliasChoices(name)


class GatewaySettings(CommonSettings):
    """Read from the environment like every service's settings; field names work as keywords too."""

    host: str = Field(default="127.0.0.1", validation_alias=_env("SEQPULSE_GATEWAY_HOST"))
    port: int = Field(default=8080, ge=0, le=65535, validation_alias=_env("SEQPULSE_GATEWAY_PORT"))
    # Every JSON body we accept is a few hundred bytes; 1 MiB leaves room without inviting abuse.
    max_body_bytes: int = Field(
        default=1024 * 1024, ge=1024, validation_alias=_env("SEQPULSE_GATEWAY_MAX_BODY_BYTES")
    )
    # A deployment never finished (a cancelled pipeline) stops blocking its env after this long.
    running_ttl_seconds: float = Field(
        default=3600.0, gt=0, validation_alias=_env("SEQPULSE_RUNNING_DEPLOYMENT_TTL_SECONDS")
    )
    # How the gateway is reached from outside: shown in docs and used for the OpenAPI `servers` entry.
    public_base_url: str = Field(
        default="http://127.0.0.1:8080", validation_alias=_env("SEQPULSE_PUBLIC_BASE_URL")
    )
    ci_rate_limit_per_minute: int = Field(
        default=100, ge=1, validation_alias=_env("SEQPULSE_CI_RATE_LIMIT_PER_MINUTE")
    )
    hmac_preflight_cache_seconds: float = Field(
        default=120.0, ge=0, validation_alias=_env("SEQPULSE_HMAC_PREFLIGHT_CACHE_TTL")
    )
    probe_timeout_seconds: float = Field(
        default=2.5, gt=0, le=30, validation_alias=_env("SEQPULSE_GATEWAY_PROBE_TIMEOUT_SECONDS")
    )
    # Endpoint tests and preflights make the gateway GET a URL chosen by a user. On a shared deployment,
    # set this to false so loopback, private and link-local addresses are refused (SSRF). Local runs and
    # tests probe apps on 127.0.0.1, hence the default.
    allow_private_endpoints: bool = Field(
        default=True, validation_alias=_env("SEQPULSE_ALLOW_PRIVATE_ENDPOINTS")
    )
    collector_heartbeat_stale_seconds: float = Field(
        default=30.0, gt=0, validation_alias=_env("SEQPULSE_COLLECTOR_HEARTBEAT_STALE_SECONDS")
    )
    drain_seconds: float = Field(default=10.0, ge=0, validation_alias=_env("SEQPULSE_GATEWAY_DRAIN_SECONDS"))
    # How often each replica adds its per-minute request counts to `api_request_minutes` (Founder View).
    api_stats_flush_seconds: float = Field(
        default=10.0, gt=0, validation_alias=_env("SEQPULSE_API_STATS_FLUSH_SECONDS")
    )
    # Accounts. With sign-up off, accounts are created by `seqpulse-admin create-user` only.
    signup_enabled: bool = Field(default=True, validation_alias=_env("SEQPULSE_SIGNUP_ENABLED"))
    # A session lives this long after its last use (sliding), then the browser signs in again.
    session_ttl_hours: float = Field(default=336.0, gt=0, validation_alias=_env("SEQPULSE_SESSION_TTL_HOURS"))
    # Failed sign-ins allowed per account per window (all replicas together), then 429 until it ends.
    login_max_failures: int = Field(default=10, ge=1, validation_alias=_env("SEQPULSE_LOGIN_MAX_FAILURES"))
    login_window_seconds: int = Field(
        default=900, ge=10, validation_alias=_env("SEQPULSE_LOGIN_WINDOW_SECONDS")
    )
    # Sign-in attempts per client per minute on one replica, whatever the account (credential stuffing).
    login_client_limit_per_minute: int = Field(
        default=30, ge=1, validation_alias=_env("SEQPULSE_LOGIN_CLIENT_LIMIT_PER_MINUTE")
    )

    # Product events: a MaxMind-format database (GeoIP2/GeoLite2 Country or City) gives their country.
    # Without one, the country of events sent over HTTP is null.
    geoip_db: Path | None = Field(default=None, validation_alias=_env("SEQPULSE_GEOIP_DB"))
    # Comma-separated CIDRs of the reverse proxies in front of the gateway. Only a peer in these may say
    # who the client is (X-Forwarded-For); empty means the peer is the client.
    trusted_proxies: str = Field(default="", validation_alias=_env("SEQPULSE_TRUSTED_PROXIES"))

    @field_validator("geoip_db", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("trusted_proxies")
    @classmethod
    def _cidrs(cls, value: str) -> str:
        parse_networks(value)  # a typo must stop the start, not silently trust nobody (or everybody)
        return value

    @property
    def trusted_networks(self) -> tuple[Network, ...]:
        return parse_networks(self.trusted_proxies)

    @property
    def secure_cookies(self) -> bool:
        """Cookies get `Secure` when the gateway is reached over HTTPS."""
        return self.public_base_url.startswith("https://")
