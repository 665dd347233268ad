"""Sign-in and sign-up pages, and `/` sending people to the dashboard."""

from __future__ import annotations

from urllib.parse import urlsplit

from aiohttp import web

from seqpulse.gateway.auth import session_principal
from seqpulse.gateway.problems import Problem
from seqpulse.gateway.resources import Resources
from seqpulse.gateway.routes import Operation
from seqpulse.gateway.schemas.accounts import MIN_PASSWORD
from seqpulse.gateway.web.context import render


def safe_next(raw: str | None) -> str:
    """Where to go after signing in: a path of this site only (no open redirect to another host)."""
    if not raw:
        return "/app"
    parts = urlsplit(raw)
    if parts.scheme or parts.netloc or not raw.startswith("/") or raw.startswith("//") or "\\" in raw:
        return "/app"
    return raw


def operations(res: Resources) -> list[Operation]:
    async def signed_in(request: web.Request) -> bool:
        try:
            async with res.pool.acquire() as conn:
                return await session_principal(conn, request, check_csrf=False) is not None
        except Problem:
            return False

    async def home(request: web.Request) -> web.Response:
        raise web.HTTPFound("/app" if await signed_in(request) else "/login")

    async def login(request: web.Request) -> web.Response:
        target = safe_next(request.query.get("next"))
        if await signed_in(request):
            raise web.HTTPFound(target)
        context = {"next": target, "signup_enabled": res.settings.signup_enabled}
        return render(request, "login.html", context, None)

    async def signup(request: web.Request) -> web.Response:
        target = safe_next(request.query.get("next"))
        if await signed_in(request):
            raise web.HTTPFound(target)
        context = {
            "next": target,
            "signup_enabled": res.settings.signup_enabled,
            "min_password": MIN_PASSWORD,
        }
        return render(request, "signup.html", context, None)

    return [
        Operation("GET", "/", home, "The dashboard (or sign in)", "Pages", hidden=True),
        Operation("GET", "/login", login, "Sign-in page", "Pages", hidden=True),
        Operation("GET", "/signup", signup, "Sign-up page", "Pages", hidden=True),
    ]
