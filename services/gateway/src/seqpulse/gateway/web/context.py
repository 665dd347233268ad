"""What every page needs: the signed-in viewer (or a redirect to sign in), rendering, HTML errors."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp_jinja2
import jinja2
from aiohttp import web

from seqpulse.gateway import repository as repo
from seqpulse.gateway.auth import session_principal
from seqpulse.gateway.problems import Problem
from seqpulse.gateway.records import Principal
from seqpulse.gateway.resources import Resources

PACKAGE = Path(__file__).resolve().parent.parent
TEMPLATES = PACKAGE / "templates"
STATIC = PACKAGE / "static"
# Scripts and styles come only from our own origin: no inline script can run, whatever a page contains.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
NAV = (
    ("overview", "/app", "Overview"),
    ("deployments", "/app/deployments", "Deployments"),
    ("sdh", "/app/sdh", "Hints"),
    ("projects", "/app/projects", "Projects"),
    ("settings", "/app/settings", "Settings"),
)


@dataclass(frozen=True, slots=True)
class Viewer:
    """The signed-in person looking at a page, and the principal its reads are scoped with."""

    principal: Principal
    email: str
    name: str

    @property
    def user_id(self) -> uuid.UUID:
        return self.principal.user_id

    @property
    def is_admin(self) -> bool:
        return self.principal.is_admin


PageHandler = Callable[[web.Request, Viewer], Awaitable[web.StreamResponse]]


def setup_templates(app: web.Application) -> None:
    env = aiohttp_jinja2.setup(
        app,
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=jinja2.select_autoescape(default=True),
        undefined=jinja2.StrictUndefined,
    )
    env.globals["nav"] = NAV
    env.filters["dt"] = _format_datetime


def _format_datetime(value: Any) -> str:
    """ISO-8601 in UTC for `<time datetime>`; the page's script shows it in the reader's time zone."""
    if value is None:
        return ""
    return str(value.isoformat())


def page(res: Resources, handler: PageHandler) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """A page handler that needs a signed-in viewer: anonymous visitors go to /login and come back."""

    async def wrapped(request: web.Request) -> web.StreamResponse:
        try:
            async with res.pool.acquire() as conn:
                principal = await session_principal(conn, request, check_csrf=False)
                user = await conn.fetchrow(repo.Q.user_by_id, principal.user_id) if principal else None
        except Problem as exc:
            if exc.status != 401:
                raise
            principal = user = None
        if principal is None or user is None:
            target = request.path_qs
            raise web.HTTPFound(f"/login?next={quote(target, safe='/')}")
        viewer = Viewer(principal=principal, email=user["email"], name=user["name"])
        try:
            return await handler(request, viewer)
        except Problem as exc:
            return render(
                request, "error.html", {"status": exc.status, "message": exc.detail}, viewer, exc.status
            )

    return wrapped


def render(
    request: web.Request,
    template: str,
    context: Mapping[str, Any],
    viewer: Viewer | None,
    status: int = 200,
    *,
    active: str = "",
) -> web.Response:
    """Render a page with the layout's context: the viewer, the CSRF token and the active nav entry."""
    full = {
        "viewer": viewer,
        "csrf_token": viewer.principal.csrf_token if viewer else "",
        "active": active,
        **context,
    }
    response = aiohttp_jinja2.render_template(template, request, full, status=status)
    response.headers.update(SECURITY_HEADERS)
    return response
