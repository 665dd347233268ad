"""Accounts: sign up (when enabled), sign in and out with a session cookie, who am I."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from datetime import UTC, datetime, timedelta

from aiohttp import web

from seqpulse.common.logging import get_logger
from seqpulse.gateway import repository as repo
from seqpulse.gateway import sessions
from seqpulse.gateway.auth import authenticate_user, hash_password, verify_password
from seqpulse.gateway.client_address import client_address
from seqpulse.gateway.problems import Problem, unauthorized
from seqpulse.gateway.product_events import emit, user_signed_up
from seqpulse.gateway.ratelimit import FixedWindowLimiter
from seqpulse.gateway.resources import Resources
from seqpulse.gateway.routes import Operation, read_json, respond
from seqpulse.gateway.schemas.accounts import LoginRequest, SessionResponse, SignupRequest, UserResponse

log = get_logger(__name__)
# Verified when the email is unknown, so a wrong email costs as long as a wrong password (no user probing).
_DUMMY_HASH = hash_password("not-a-real-password-only-for-timing")
BAD_CREDENTIALS = "The email or the password is incorrect."


def _account_key(email: str) -> bytes:
    return hashlib.sha256(email.strip().lower().encode()).digest()


def operations(res: Resources) -> list[Operation]:
    settings = res.settings
    ttl = timedelta(hours=settings.session_ttl_hours)
    window = settings.login_window_seconds
    per_client = FixedWindowLimiter(settings.login_client_limit_per_minute)

    def window_start(now: datetime) -> datetime:
        epoch = int(now.timestamp())
        return datetime.fromtimestamp(epoch - epoch % window, UTC)

    async def signed_in(conn: repo.Conn, user_id: uuid.UUID, status: int) -> web.Response:
        value, csrf = await sessions.open_session(conn, user_id, ttl)
        user = await conn.fetchrow(repo.Q.user_by_id, user_id)
        response = respond(
            SessionResponse(user=UserResponse.model_validate(dict(user)), csrf_token=csrf), status=status
        )
        sessions.set_cookie(response, value, ttl=ttl, secure=settings.secure_cookies)
        return response

    async def signup(request: web.Request) -> web.Response:
        if not settings.signup_enabled:
            raise Problem(
                403,
                "Sign-up is turned off on this SeqPulse; ask its administrator for an account.",
                code="signup_disabled",
            )
        body = await read_json(request, SignupRequest)
        # Hashing is CPU-bound (argon2id, ~50 ms): off the event loop.
        password_hash = await asyncio.to_thread(hash_password, body.password)
        async with res.pool.acquire() as conn, conn.transaction():
            # Serialise sign-ups so exactly one first account becomes the admin (the founder).
            await conn.execute("SELECT pg_advisory_xact_lock(hashtext('seqpulse.signup'))")
            if await repo.user_by_email(conn, body.email) is not None:
                raise Problem(
                    409,
                    "An account with this email already exists; sign in instead.",
                    code="email_taken",
                    errors=[("email", "is already registered")],
                )
            first = await conn.fetchval(repo.Q.count_users) == 0
            user_id = await repo.insert_user(
                conn, email=body.email, name=body.name, password_hash=password_hash, is_admin=first
            )
            await conn.execute(repo.Q.touch_login, user_id)
            response = await signed_in(conn, user_id, 201)
            await user_signed_up(conn, settings, user_id, method="password", country=res.country(request))
        res.wake_relay()
        log.info("user_signed_up", user_id=str(user_id), is_admin=first)
        return response

    async def login(request: web.Request) -> web.Response:
        # Keyed by the client's address (seen through trusted proxies) in memory only: never stored or logged.
        decision = per_client.hit(client_address(request, res.trusted_proxies) or "unknown")
        if not decision.allowed:
            raise _too_many(decision.retry_after)
        body = await read_json(request, LoginRequest)
        key = _account_key(body.email)
        now = datetime.now(UTC)
        start = window_start(now)
        async with res.pool.acquire() as conn:
            failures = await conn.fetchval(repo.Q.login_failures, key, start)
            if failures >= settings.login_max_failures:
                reset = (start + timedelta(seconds=window) - now).total_seconds()
                raise _too_many(max(1, int(reset) + 1))
            user = await conn.fetchrow(repo.Q.user_for_login, body.email)
            stored = user["password_hash"] if user is not None else None
            ok = await asyncio.to_thread(verify_password, stored or _DUMMY_HASH, body.password)
            if user is None or stored is None or not ok:
                await conn.execute(repo.Q.record_login_failure, key, start)
                log.info("login_failed", known_account=user is not None)
                raise unauthorized(BAD_CREDENTIALS, scheme=None)
            async with conn.transaction():
                await conn.execute(repo.Q.forget_login_failures, key, start)
                await conn.execute(repo.Q.touch_login, user["id"])
                response = await signed_in(conn, user["id"], 200)
                await emit(
                    conn,
                    res.settings,
                    "user_login",
                    user_id=user["id"],
                    country=res.country(request),
                    properties={"method": "password"},
                )
        res.wake_relay()
        log.info("user_logged_in", user_id=str(user["id"]))
        return response

    async def logout(request: web.Request) -> web.Response:
        async with res.pool.acquire() as conn:
            who = await authenticate_user(conn, request, "read")
            if who.via_session:
                await sessions.close_session(conn, who.token_id)
        response = web.Response(status=204)
        sessions.clear_cookie(response, secure=settings.secure_cookies)
        log.info("user_logged_out", user_id=str(who.user_id))
        return response

    async def me(request: web.Request) -> web.Response:
        async with res.pool.acquire() as conn:
            who = await authenticate_user(conn, request, "read")
            user = await conn.fetchrow(repo.Q.user_by_id, who.user_id)
        return respond(
            SessionResponse(user=UserResponse.model_validate(dict(user)), csrf_token=who.csrf_token)
        )

    return [
        Operation(
            "POST",
            "/auth/signup",
            signup,
            "Create an account and sign in (the first account is the admin)",
            "Accounts",
            request=SignupRequest,
            response=SessionResponse,
            status=201,
            errors=(400, 403, 409, 422),
        ),
        Operation(
            "POST",
            "/auth/login",
            login,
            "Sign in: sets an HttpOnly session cookie and returns the CSRF token",
            "Accounts",
            request=LoginRequest,
            response=SessionResponse,
            errors=(400, 401, 422, 429),
        ),
        Operation(
            "POST",
            "/auth/logout",
            logout,
            "Sign out: ends the session and clears the cookie",
            "Accounts",
            auth="user",
            scope="read",
            status=204,
            errors=(401, 403),
        ),
        Operation(
            "GET",
            "/auth/me",
            me,
            "The signed-in account",
            "Accounts",
            auth="user",
            scope="read",
            response=SessionResponse,
            errors=(401,),
        ),
    ]


def _too_many(retry_after: int) -> Problem:
    return Problem(
        429,
        f"Too many sign-in attempts; try again in {retry_after} seconds.",
        code="rate_limited",
        headers={"Retry-After": str(retry_after)},
    )
