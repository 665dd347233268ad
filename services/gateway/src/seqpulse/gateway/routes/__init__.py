"""Route tables: each module returns its `Operation`s, which `app.py` mounts and `openapi.py` documents."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

import orjson
from aiohttp import web
from pydantic import BaseModel, ValidationError

from seqpulse.gateway.middlewares import validation_problem
from seqpulse.gateway.problems import Problem, bad_request

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
# "api_key_or_user": a project's API key, or a user's token or session (POST /events).
Auth = Literal["none", "user", "api_key", "api_key_or_user"]
M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True, slots=True)
class Operation:
    """One HTTP operation and what documents it."""

    method: str
    path: str
    handler: Handler
    summary: str
    tag: str
    auth: Auth = "none"
    request: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    response: type[BaseModel] | None = None
    status: int = 200
    errors: tuple[int, ...] = ()
    scope: str | None = None
    hidden: bool = False


async def read_json(request: web.Request, model: type[M]) -> M:
    """Parse and validate a JSON body: 400 on malformed JSON (field `body`), 422 per invalid field."""
    return validate(model, json_object(await request.read()))


def json_object(
    raw: bytes, *, missing: str = "a JSON object is required", wrong: str = "must be a JSON object"
) -> dict[str, Any]:
    """The body as a JSON object, or 400 on field `body`: `missing` for an empty body, `wrong` for JSON
    that is not an object."""
    if not raw.strip():
        raise bad_request("body", missing)
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise bad_request("body", f"is not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise bad_request("body", wrong)
    return data


def validate(model: type[M], data: object) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise validation_problem(exc) from None


def read_query(request: web.Request, model: type[M]) -> M:
    """Validate query parameters; a repeated parameter is refused rather than silently picking one."""
    data: dict[str, str] = {}
    for key in request.query:
        values = request.query.getall(key)
        if len(values) > 1:
            raise bad_request(key, "must be given once")
        data[key] = values[0]
    return validate(model, data)


def path_uuid(request: web.Request, name: str, what: str) -> uuid.UUID:
    """A UUID path parameter; one that is not a UUID cannot name anything, hence 404 like an unknown one."""
    try:
        return uuid.UUID(request.match_info[name])
    except ValueError:
        raise Problem(404, f"{what} not found", code="not_found") from None


def respond(model: BaseModel, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        status=status, body=model.model_dump_json(), content_type="application/json", headers=headers
    )
