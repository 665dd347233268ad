"""Metrics-endpoint URLs: normalisation (the endpoint lock's source of truth) and masking for display."""

from __future__ import annotations

from urllib.parse import urlsplit

from seqpulse.common.errors import ValidationFailed

MAX_ENDPOINT_LENGTH = 2048


def normalize_endpoint(raw: str, *, field: str = "metrics_endpoint") -> str:
    """`HTTPS://EXAMPLE.com:8443/ds-metrics/?q#f` → `https://example.com:8443/ds-metrics`.

    Unlike the original, the port is kept: an app on a non-default port is a different endpoint, and
    dropping it made such apps unreachable. Query and fragment are dropped; userinfo is refused.
    """
    value = (raw or "").strip()
    if not value:
        raise ValidationFailed(field, "must not be empty")
    if len(value) > MAX_ENDPOINT_LENGTH:
        raise ValidationFailed(field, f"must be at most {MAX_ENDPOINT_LENGTH} characters")
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError as exc:
        raise ValidationFailed(field, f"is not a valid URL ({exc})") from exc
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise ValidationFailed(field, "must be an http or https URL")
    if parts.username or parts.password:
        raise ValidationFailed(field, "must not contain credentials (user:pass@)")
    host = (parts.hostname or "").lower()
    if not host:
        raise ValidationFailed(field, "must have a host")
    if ":" in host:
        host = f"[{host}]"
    default_port = {"http": 80, "https": 443}[scheme]
    netloc = host if port in (None, default_port) else f"{host}:{port}"
    path = parts.path or "/"
    if not path.startswith("/"):
        path = "/" + path
    if path != "/" and path.endswith("/"):
        path = path.rstrip("/") or "/"
    return f"{scheme}://{netloc}{path}"


def endpoint_host(normalized: str) -> str:
    """The host the endpoint lock binds to (no port)."""
    return (urlsplit(normalized).hostname or "").lower()


def mask_endpoint(url: str | None) -> str | None:
    """Scheme, host and at most two path segments: safe to log and show."""
    if not url:
        return None
    parts = urlsplit(url)
    segments = [s for s in parts.path.split("/") if s]
    shown = "/".join(segments[:2])
    suffix = "/..." if len(segments) > 2 else ""
    return (
        f"{parts.scheme}://{parts.netloc.rsplit('@', 1)[-1]}/{shown}{suffix}".rstrip("/")
        if shown
        else f"{parts.scheme}://{parts.netloc.rsplit('@', 1)[-1]}"
    )
