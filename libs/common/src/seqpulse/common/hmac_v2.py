"""HMAC v2 request signing (SeqPulse probes) and verification (instrumented apps)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

__all__ = [
    "SIGNATURE_VERSION",
    "HmacRejected",
    "HmacVerifier",
    "canonicalize_path",
    "compute_signature",
    "format_timestamp",
    "new_nonce",
    "signed_headers",
]

SIGNATURE_VERSION = "v2"
TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%SZ"

HEADER_TIMESTAMP = "X-SeqPulse-Timestamp"
HEADER_NONCE = "X-SeqPulse-Nonce"
HEADER_SIGNATURE = "X-SeqPulse-Signature"
HEADER_VERSION = "X-SeqPulse-Signature-Version"
HEADER_CANONICAL_PATH = "X-SeqPulse-Canonical-Path"
HEADER_METHOD = "X-SeqPulse-Method"
HEADER_NONCE_TTL = "X-SeqPulse-Nonce-TTL"
HEADER_PROJECT_ID = "X-SeqPulse-Project-Id"

REASON_MISSING = "Missing or invalid HMAC headers"
REASON_TOO_OLD = "Timestamp too old"
REASON_TOO_NEW = "Timestamp too far in the future"
REASON_NONCE_REUSE = "Nonce reuse"
REASON_BAD_SIGNATURE = "Invalid signature"


def canonicalize_path(path_or_url: str) -> str:
    """Return the canonical path that HMAC v2 signs.

    Accepts a bare path (``"ds-metrics"``, ``"/ds-metrics/"``) or an absolute URL; scheme, host, port,
    query and fragment are dropped, a leading ``/`` is ensured and trailing ``/`` removed (``""`` → ``"/"``).
    """
    path = urlsplit(path_or_url).path
    # All trailing slashes go, not just one: the public SDK canonicalises the received header a second time,
    # so only an idempotent canonicaliser keeps both sides agreeing on paths such as "/a//".
    path = path.rstrip("/")
    if not path.startswith("/"):
        path = "/" + path
    return path


def format_timestamp(dt: datetime) -> str:
    """Format an aware datetime as the signed ``YYYY-MM-DDTHH:MM:SSZ`` UTC timestamp."""
    if dt.tzinfo is None:
        # A naive datetime would be read as local time and silently skew every signature.
        raise ValueError("format_timestamp needs a timezone-aware datetime")
    return dt.astimezone(UTC).strftime(TIMESTAMP_FORMAT)


def new_nonce() -> str:
    """Return a fresh random nonce (22 URL-safe characters)."""
    return secrets.token_urlsafe(16)


def compute_signature(secret: str, timestamp: str, method: str, canonical_path: str, nonce: str) -> str:
    """Return ``sha256=<hex>`` of HMAC-SHA256 over ``"{timestamp}|{METHOD}|{path}|{nonce}"``.

    The method is upper-cased and the path canonicalised here, so callers cannot sign a variant the
    receiver would never reconstruct.
    """
    payload = f"{timestamp}|{method.upper()}|{canonicalize_path(canonical_path)}|{nonce}"
    digest = hmac.new(secret.encode("utf-8"), payload.encode("utf-8"), hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def signed_headers(
    secret: str,
    url: str,
    *,
    method: str = "GET",
    project_id: str | None,
    now: datetime,
    nonce: str | None = None,
    max_past: int = 300,
    max_future: int = 30,
) -> dict[str, str]:
    """Return the ``X-SeqPulse-*`` headers that sign one request to ``url``.

    ``nonce`` defaults to a fresh random one; pass it only to build reproducible vectors.
    ``X-SeqPulse-Project-Id`` is present only when ``project_id`` is given.
    """
    timestamp = format_timestamp(now)
    path = canonicalize_path(url)
    method = method.upper()
    nonce = nonce if nonce is not None else new_nonce()
    headers = {
        HEADER_TIMESTAMP: timestamp,
        HEADER_NONCE: nonce,
        HEADER_SIGNATURE: compute_signature(secret, timestamp, method, path, nonce),
        HEADER_VERSION: SIGNATURE_VERSION,
        HEADER_CANONICAL_PATH: path,
        HEADER_METHOD: method,
        HEADER_NONCE_TTL: str(max_past + max_future),
    }
    if project_id is not None:
        headers[HEADER_PROJECT_ID] = project_id
    return headers


class HmacRejected(Exception):
    """A signed request failed verification; ``reason`` is the original SDK's wording."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _utc_now() -> datetime:
    return datetime.now(UTC)


class HmacVerifier:
    """Verifies HMAC v2 signed requests for one secret, remembering nonces in memory.

    The nonce cache lives in this process only: several replicas each accept a replay once unless they
    share a cache. Entries expire ``max_past + max_future`` seconds after they were accepted, which
    outlives the window in which their timestamp is still acceptable.
    """

    def __init__(
        self,
        secret: str,
        *,
        max_past: int = 300,
        max_future: int = 30,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        """Create a verifier; ``clock`` returns an aware datetime and is injectable for tests."""
        if not secret:
            raise ValueError("HmacVerifier needs a non-empty secret")
        if max_past < 0 or max_future < 0:
            raise ValueError("max_past and max_future must be >= 0")
        self._secret = secret
        self._max_past = timedelta(seconds=max_past)
        self._max_future = timedelta(seconds=max_future)
        self._ttl = timedelta(seconds=max_past + max_future)
        self._clock = clock
        # Insertion order is acceptance order, so expired entries sit at the front and pruning stops at
        # the first live one. Only validly signed requests get here, so the size is bounded by the
        # signer's own rate times the TTL.
        self._nonce_expiry: dict[str, datetime] = {}

    @property
    def max_past(self) -> int:
        """Accepted age of a timestamp, in seconds."""
        return int(self._max_past.total_seconds())

    @property
    def max_future(self) -> int:
        """Accepted clock lead of a timestamp, in seconds."""
        return int(self._max_future.total_seconds())

    @property
    def remembered_nonces(self) -> int:
        """How many nonces the replay cache holds right now (expired ones are pruned on each verify)."""
        return len(self._nonce_expiry)

    def verify(self, headers: Mapping[str, str], *, method: str, path: str) -> None:
        """Accept the request or raise :class:`HmacRejected`.

        ``method`` and ``path`` are the request's own; ``X-SeqPulse-Method`` and
        ``X-SeqPulse-Canonical-Path`` take precedence when present. Checks run in the order of the
        contract: headers, timestamp, nonce, signature. A nonce is remembered only once the signature
        matched, so forged requests cannot fill the cache or burn a legitimate nonce.
        """
        lowered: dict[str, str] = {}
        for name, value in headers.items():
            # First occurrence wins when a multidict repeats a header, as most servers do.
            lowered.setdefault(name.lower(), value)

        timestamp = lowered.get(HEADER_TIMESTAMP.lower(), "")
        nonce = lowered.get(HEADER_NONCE.lower(), "")
        signature = lowered.get(HEADER_SIGNATURE.lower(), "")
        version = lowered.get(HEADER_VERSION.lower(), "")
        if not timestamp or not nonce or not signature or version != SIGNATURE_VERSION:
            raise HmacRejected(REASON_MISSING)

        now = self._clock()
        try:
            sent_at = datetime.strptime(timestamp, TIMESTAMP_FORMAT).replace(tzinfo=UTC)
        except ValueError:
            # A malformed timestamp is a malformed header; the original leaked parser messages instead.
            raise HmacRejected(REASON_MISSING) from None
        if now - sent_at > self._max_past:
            raise HmacRejected(REASON_TOO_OLD)
        if sent_at - now > self._max_future:
            raise HmacRejected(REASON_TOO_NEW)

        self._prune(now)
        if nonce in self._nonce_expiry:
            raise HmacRejected(REASON_NONCE_REUSE)

        signed_method = (lowered.get(HEADER_METHOD.lower()) or method or "GET").upper()
        signed_path = canonicalize_path(lowered.get(HEADER_CANONICAL_PATH.lower()) or path or "/")
        expected = compute_signature(self._secret, timestamp, signed_method, signed_path, nonce)
        if not hmac.compare_digest(expected.encode("utf-8"), signature.encode("utf-8")):
            raise HmacRejected(REASON_BAD_SIGNATURE)

        self._nonce_expiry[nonce] = now + self._ttl

    def _prune(self, now: datetime) -> None:
        expired = []
        for nonce, expires_at in self._nonce_expiry.items():
            if expires_at > now:
                break
            expired.append(nonce)
        for nonce in expired:
            del self._nonce_expiry[nonce]
