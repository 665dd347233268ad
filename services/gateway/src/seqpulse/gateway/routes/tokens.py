"""Personal access tokens of the caller (USER): list, create (shown once), revoke."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from aiohttp import web

from seqpulse.common.logging import get_logger
from seqpulse.gateway import repository as repo
from seqpulse.gateway.auth import authenticate_user, digest, has_scope, new_access_token
from seqpulse.gateway.problems import Problem, not_found
from seqpulse.gateway.product_events import settings_updated
from seqpulse.gateway.resources import Resources
from seqpulse.gateway.routes import Operation, path_uuid, read_json, respond
from seqpulse.gateway.schemas.tokens import TokenCreatedResponse, TokenCreateRequest, TokenListResponse
from seqpulse.gateway.views import token_view

log = get_logger(__name__)


def operations(res: Resources) -> list[Operation]:
    async def list_(request: web.Request) -> web.Response:
        async with res.pool.acquire() as conn:
            who = await authenticate_user(conn, request, "read")
            rows = await repo.list_access_tokens(conn, who.user_id)
        return respond(TokenListResponse(items=[token_view(r) for r in rows]))

    async def create(request: web.Request) -> web.Response:
        async with res.pool.acquire() as conn:
            who = await authenticate_user(conn, request, "write")
            body = await read_json(request, TokenCreateRequest)
            # A token can only hand out what it holds, so a leaked write token cannot mint an admin one.
            for scope in body.scopes:
                if not has_scope(who.scopes, scope):
                    raise Problem(
                        403,
                        f"This token cannot grant the '{scope}' scope",
                        code="insufficient_scope",
                        errors=[("scopes", f"'{scope}' exceeds the calling token's scopes")],
                    )
            token, prefix = new_access_token()
            expires_at = None
            if body.expires_in_days is not None:
                expires_at = datetime.now(UTC) + timedelta(days=body.expires_in_days)
            async with conn.transaction():
                row = await repo.insert_access_token(
                    conn,
                    user_id=who.user_id,
                    name=body.name,
                    prefix=prefix,
                    token_hash=digest(token),
                    scopes=list(body.scopes),
                    expires_at=expires_at,
                )
                await settings_updated(
                    conn,
                    res,
                    request,
                    who.user_id,
                    "token",
                    action="create",
                    scopes=sorted(body.scopes),
                )
        res.wake_relay()
        log.info("access_token_created", user_id=str(who.user_id), token_id=str(row["id"]), prefix=prefix)
        view = token_view(row)
        return respond(TokenCreatedResponse(**view.model_dump(), token=token), status=201)

    async def revoke(request: web.Request) -> web.Response:
        token_id = path_uuid(request, "token_id", "Token")
        async with res.pool.acquire() as conn:
            who = await authenticate_user(conn, request, "write")
            async with conn.transaction():
                if not await repo.revoke_access_token(conn, token_id, who.user_id):
                    raise not_found("Token")
                await settings_updated(
                    conn,
                    res,
                    request,
                    who.user_id,
                    "token",
                    action="revoke",
                )
        res.wake_relay()
        log.info("access_token_revoked", user_id=str(who.user_id), token_id=str(token_id))
        return web.Response(status=204)

    return [
        Operation(
            "GET",
            "/tokens",
            list_,
            "List your personal access tokens",
            "Tokens",
            auth="user",
            scope="read",
            response=TokenListResponse,
            errors=(401, 403),
        ),
        Operation(
            "POST",
            "/tokens",
            create,
            "Create a token (shown once)",
            "Tokens",
            auth="user",
            scope="write",
            request=TokenCreateRequest,
            response=TokenCreatedResponse,
            status=201,
            errors=(400, 401, 403, 422),
        ),
        Operation(
            "DELETE",
            "/tokens/{token_id}",
            revoke,
            "Revoke one of your tokens",
            "Tokens",
            auth="user",
            scope="write",
            status=204,
            errors=(401, 403, 404),
        ),
    ]
