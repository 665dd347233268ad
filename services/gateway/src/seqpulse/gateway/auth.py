"""Credentials: personal access tokens and browser sessions (USER routes), project API keys (CI routes),
password hashes."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from datetime import UTC, datetime, timedelta
from typing import Literal

from aiohttp import web
from argon2 import PasswordHasher

from seqpulse.gateway import repository as repo
from seqpulse.gateway.problems import Problem, unauthorized
from seqpulse.gateway.records import Principal, ProjectRow

TOKEN_PREFIX = "spt_"  # noqa: S105  # a public marker, not a secret
API_KEY_PREFIX = "SP_"
SHOWN_PREFIX_CHARS = 8
# last_used_at is informative; writing it on every request would turn each read into a write.
TOUCH_EVERY = timedelta(seconds=60)
Scope = Literal["read", "write", "admin"]
# A scope includes the ones below it: a write token can read, an admin token can do everything.
_IMPLIED: dict[str, frozenset[str]] = {
    "read": frozenset({"read", "write", "admin"}),
    "write": frozenset({"write", "admin"}),
    "admin": frozenset({"admin"}),
}
COOKIE = "seqpulse_session"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# A session can do what the account can, short of the `admin` scope of tokens (which widens reads to every
# owner's data); the Founder View checks the account's admin flag instead.
SESSION_SCOPES = frozenset({"read", "write"})
_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters


def digest(secret: str) -> bytes:
    """SHA-256 of a high-entropy secret: enough for tokens and keys (passwords need argon2)."""
    return hashlib.sha256(secret.encode()).digest()


def new_access_token() -> tuple[str, str]:
    """A personal access token and the prefix shown to identify it: `spt_<43 url-safe chars>`."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    return token, token[len(TOKEN_PREFIX) : len(TOKEN_PREFIX) + SHOWN_PREFIX_CHARS]


def new_api_key() -> tuple[str, str]:
    """A project API key in the original's format `SP_<32 hex>`, and its shown prefix."""
    key = API_KEY_PREFIX + secrets.token_hex(16)
    return key, key[len(API_KEY_PREFIX) : len(API_KEY_PREFIX) + SHOWN_PREFIX_CHARS]


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except Exception:  # argon2 raises several mismatch/invalid-hash types; all mean "no"
        return False


def has_scope(granted: frozenset[str], needed: Scope) -> bool:
    return bool(granted & _IMPLIED[needed])


async def authenticate_user(conn: repo.Conn, request: web.Request, needed: Scope) -> Principal:
    """The principal behind `Authorization: Bearer spt_…` or, without that header, the session cookie;
    401 when missing, unknown, expired or revoked."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if not header:
        session = await session_principal(conn, request)
        if session is not None:
            if not has_scope(session.scopes, needed):
                raise Problem(
                    403, f"A browser session cannot use the '{needed}' scope", code="insufficient_scope"
                )
            return session
        raise unauthorized("Missing bearer token", field="Authorization", reason="is required")
    token = token.strip()
    if scheme.lower() != "bearer" or not token.startswith(TOKEN_PREFIX):
        raise unauthorized("Invalid bearer token", field="Authorization", reason="must be 'Bearer spt_…'")
    row = await repo.token_principal(conn, digest(token))
    if row is None:
        raise unauthorized("Invalid bearer token")
    if row["revoked_at"] is not None:
        raise unauthorized("Token revoked")
    if row["expired"]:
        raise unauthorized("Token expired")
    principal = Principal(
        user_id=row["user_id"],
        token_id=row["token_id"],
        is_admin=row["is_admin"],
        scopes=frozenset(row["scopes"]),
    )
    if not has_scope(principal.scopes, needed):
        raise Problem(403, f"This token lacks the '{needed}' scope", code="insufficient_scope")
    last_used: datetime | None = row["last_used_at"]
    if last_used is None or datetime.now(UTC) - last_used > TOUCH_EVERY:
        await repo.touch_access_token(conn, principal.token_id)
    return principal


async def authenticate_project(conn: repo.Conn, request: web.Request) -> tuple[ProjectRow, uuid.UUID]:
    """The project whose live key is in `X-API-Key` (and the key's id, for rate limiting), or 401."""
    key = request.headers.get("X-API-Key", "").strip()
    if not key:
        raise unauthorized("Missing API key", field="X-API-Key", reason="is required", scheme=None)
    found = await repo.project_by_api_key(conn, digest(key))
    if found is None:
        raise unauthorized(
            "Invalid API key",
            field="X-API-Key",
            reason="is not a live key of any project (revoked, rotated or mistyped)",
            scheme=None,
        )
    return found


async def session_principal(
    conn: repo.Conn, request: web.Request, *, check_csrf: bool = True
) -> Principal | None:
    """The principal of the request's session cookie; None when there is no cookie.

    A cookie that names no live session is a 401, and so is a state-changing request without the
    session's CSRF token (403), unless `check_csrf` is off (only for the HTML pages, which are GETs).
    """
    value = request.cookies.get(COOKIE)
    if not value:
        return None
    row = await conn.fetchrow(repo.Q.session_principal, digest(value))
    if row is None or row["revoked_at"] is not None or row["expired"]:
        raise unauthorized("Your session has ended; sign in again", scheme=None)
    if check_csrf and request.method not in SAFE_METHODS:
        sent = request.headers.get(CSRF_HEADER, "")
        if not sent or not hmac.compare_digest(sent, row["csrf_token"]):
            raise Problem(
                403,
                "This request did not carry the page's CSRF token; reload the page and try again.",
                code="csrf_failed",
                errors=[(CSRF_HEADER, "is missing or does not match the session")],
            )
    last_seen: datetime = row["last_seen_at"]
    now = datetime.now(UTC)
    if now - last_seen > TOUCH_EVERY:
        await conn.execute(repo.Q.touch_session, row["session_id"])
    return Principal(
        user_id=row["user_id"],
        token_id=row["session_id"],
        is_admin=row["is_admin"],
        scopes=SESSION_SCOPES,
        csrf_token=row["csrf_token"],
    )
