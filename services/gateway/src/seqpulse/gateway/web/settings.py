"""Dashboard pages: settings — the account, and personal access tokens (created and revoked via `/tokens`)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from aiohttp import web

from seqpulse.gateway.problems import not_found
from seqpulse.gateway.records import Row
from seqpulse.gateway.resources import Resources
from seqpulse.gateway.routes import Operation
from seqpulse.gateway.web import dashboard_reads as reads
from seqpulse.gateway.web.context import Viewer, page, render

# What a browser session may hand out: the `admin` scope is for tokens of the admin CLI only.
SCOPES = (
    ("read", "Read", "See projects, deployments, verdicts and hints (enough for seqpulse wait)."),
    ("write", "Write", "Also create and change projects, endpoints and tokens."),
)


@dataclass(frozen=True, slots=True)
class TokenItem:
    id: uuid.UUID
    name: str
    prefix: str
    scopes: list[str]
    status: str  # active | expired | revoked
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime | None
    revoked_at: datetime | None

    @classmethod
    def of(cls, row: Row) -> TokenItem:
        status = "revoked" if row["revoked_at"] else "expired" if row["expired"] else "active"
        return cls(
            id=row["id"],
            name=row["name"],
            prefix=row["token_prefix"],
            scopes=list(row["scopes"]),
            status=status,
            created_at=row["created_at"],
            last_used_at=row["last_used_at"],
            expires_at=row["expires_at"],
            revoked_at=row["revoked_at"],
        )


def operations(res: Resources) -> list[Operation]:
    async def settings(request: web.Request, viewer: Viewer) -> web.Response:
        async with res.pool.acquire() as conn:
            account = await reads.account(conn, viewer.user_id)
            tokens = await reads.access_tokens(conn, viewer.user_id)
        if account is None:
            raise not_found("Account")
        context = {
            "account": account,
            "tokens": [TokenItem.of(row) for row in tokens],
            "scopes": SCOPES,
        }
        return render(request, "settings.html", context, viewer, active="settings")

    return [Operation("GET", "/app/settings", page(res, settings), "Settings page", "Pages", hidden=True)]
