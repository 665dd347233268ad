"""Browser sessions: an opaque HttpOnly cookie, its SHA-256 in `user_sessions`, and a CSRF token.

The cookie authenticates; it is `SameSite=Lax`, so another site cannot make the browser send it on a
cross-site POST, and every state-changing request must also carry the session's CSRF token in
`X-CSRF-Token` (synchronizer token pattern, OWASP), which a page of another origin cannot read.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import UTC, datetime, timedelta

from aiohttp import web

from seqpulse.gateway import repository as repo
from seqpulse.gateway.auth import COOKIE, digest


async def open_session(conn: repo.Conn, user_id: uuid.UUID, ttl: timedelta) -> tuple[str, str]:
    """A new session for the user: the cookie value (shown once, to the browser) and its CSRF token."""
    value = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    await conn.execute(repo.Q.insert_session, user_id, digest(value), csrf, datetime.now(UTC) + ttl)
    return value, csrf


async def close_session(conn: repo.Conn, session_id: uuid.UUID) -> None:
    await conn.execute(repo.Q.revoke_session, session_id)


def set_cookie(response: web.StreamResponse, value: str, *, ttl: timedelta, secure: bool) -> None:
    response.set_cookie(
        COOKIE,
        value,
        max_age=int(ttl.total_seconds()),
        path="/",
        httponly=True,
        samesite="Lax",
        secure=secure,
    )


def clear_cookie(response: web.StreamResponse, *, secure: bool) -> None:
    response.del_cookie(COOKIE, path="/", secure=secure, httponly=True, samesite="Lax")
