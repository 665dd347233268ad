"""OpenAPI 3.1 built from the route table and its pydantic models, so the document cannot drift."""

from __future__ import annotations

import re
from collections.abc import Sequence
from http import HTTPStatus
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from seqpulse.gateway.auth import COOKIE, CSRF_HEADER, SAFE_METHODS, SESSION_SCOPES
from seqpulse.gateway.routes import Operation
from seqpulse.gateway.schemas.common import ProblemResponse

REF = "#/components/schemas/{model}"
_PATH_PARAM = re.compile(r"{([a-z_]+)}")
# Alternatives: a USER route takes a personal access token or, where the scope allows, the browser session.
SECURITY: dict[str, list[dict[str, list[str]]]] = {
    "user": [{"bearerAuth": []}, {"sessionCookie": []}],
    "api_key": [{"apiKeyAuth": []}],
    "api_key_or_user": [{"apiKeyAuth": []}, {"bearerAuth": []}, {"sessionCookie": []}],
    "none": [],
}


def _ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": REF.format(model=model.__name__)}


def _security(op: Operation) -> list[dict[str, list[str]]]:
    if op.auth == "user" and op.scope is not None and op.scope not in SESSION_SCOPES:
        return [{"bearerAuth": []}]  # a session never has the `admin` scope: a token is needed
    return SECURITY[op.auth]


def _parameters(op: Operation) -> list[dict[str, Any]]:
    params: list[dict[str, Any]] = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in _PATH_PARAM.findall(op.path)
    ]
    if op.query is not None:
        schema = op.query.model_json_schema(ref_template=REF)
        required = set(schema.get("required", []))
        for name, prop in schema.get("properties", {}).items():
            params.append({"name": name, "in": "query", "required": name in required, "schema": prop})
    if op.auth == "api_key" and op.path.endswith("/trigger"):
        params.append(
            {
                "name": "X-Idempotency-Key",
                "in": "header",
                "required": False,
                "schema": {"type": "string", "maxLength": 255},
            }
        )
    return params


def _operation(op: Operation) -> dict[str, Any]:
    responses: dict[str, Any] = {}
    description = HTTPStatus(op.status).phrase
    if op.response is not None:
        responses[str(op.status)] = {
            "description": description,
            "content": {"application/json": {"schema": _ref(op.response)}},
        }
    else:
        responses[str(op.status)] = {"description": description}
    for status in op.errors:
        responses[str(status)] = {
            "description": HTTPStatus(status).phrase,
            "content": {"application/problem+json": {"schema": _ref(ProblemResponse)}},
        }
    spec: dict[str, Any] = {
        "summary": op.summary,
        "operationId": f"{op.method.lower()}_{re.sub(r'[^a-z0-9]+', '_', op.path.lower()).strip('_')}",
        "tags": [op.tag],
        "security": _security(op),
        "parameters": _parameters(op),
        "responses": responses,
    }
    if op.scope:
        spec["description"] = f"Needs a token with the `{op.scope}` scope (or a higher one)."
    if op.request is not None:
        spec["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": _ref(op.request)}},
        }
    return spec


def build_openapi(
    operations: Sequence[Operation], *, server_url: str, version: str = "1.0.0"
) -> dict[str, Any]:
    visible = [op for op in operations if not op.hidden]
    models: dict[tuple[type[BaseModel], JsonSchemaMode], None] = {(ProblemResponse, "serialization"): None}
    for op in visible:
        if op.request is not None:
            models[(op.request, "validation")] = None
        if op.response is not None:
            models[(op.response, "serialization")] = None
    _, definitions = models_json_schema(list(models), ref_template=REF)
    paths: dict[str, dict[str, Any]] = {}
    for op in visible:
        paths.setdefault(op.path, {})[op.method.lower()] = _operation(op)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "SeqPulse API",
            "version": version,
            "description": "Deployment verification: the CI API, projects, deployments, verdicts, health.",
        },
        "servers": [{"url": server_url}],
        "paths": paths,
        "components": {
            "schemas": definitions.get("$defs", {}),
            "securitySchemes": {
                "bearerAuth": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A personal access token spt_…",
                },
                "sessionCookie": {
                    "type": "apiKey",
                    "in": "cookie",
                    "name": COOKIE,
                    "description": "The browser session set by `POST /auth/login` (HttpOnly, `read` and "
                    "`write` scopes only). A request other than "
                    f"{', '.join(sorted(SAFE_METHODS))} must also send the session's CSRF token, from "
                    f"`POST /auth/login` or `GET /auth/me`, in the `{CSRF_HEADER}` header.",
                },
                "apiKeyAuth": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "X-API-Key",
                    "description": "The project's API key SP_…",
                },
            },
        },
    }
