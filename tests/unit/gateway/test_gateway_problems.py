"""The error middleware: problem+json for every failure, and no stack trace for an unexpected one."""

from __future__ import annotations

import logging

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from pydantic import BaseModel

from seqpulse.common.errors import ValidationFailed
from seqpulse.gateway.middlewares import problems
from seqpulse.gateway.routes import validate


class Body(BaseModel):
    count: int
    nested: list[int]


async def _client(handler: web.Handler) -> TestClient[web.Request, web.Application]:
    app = web.Application(middlewares=[problems])
    app.router.add_get("/", handler)
    client = TestClient(TestServer(app, host="127.0.0.1"))
    await client.start_server()
    return client


async def test_an_unexpected_exception_is_a_500_with_an_error_id_and_no_trace(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def boom(_request: web.Request) -> web.Response:
        raise RuntimeError("secret internals /etc/passwd")

    client = await _client(boom)
    try:
        with caplog.at_level(logging.ERROR):
            response = await client.get("/")
            body = await response.json(content_type=None)
    finally:
        await client.close()
    assert (response.status, response.content_type) == (500, "application/problem+json")
    assert body["code"] == "internal_error" and len(body["error_id"]) == 32
    assert "secret internals" not in str(body) and "Traceback" not in str(body)
    assert any(body["error_id"] in str(getattr(r, "fields", {})) for r in caplog.records)


async def test_validation_errors_list_every_field_with_a_dotted_path() -> None:
    async def invalid(_request: web.Request) -> web.Response:
        validate(Body, {"count": "many", "nested": [1, "x"]})
        return web.Response()

    client = await _client(invalid)
    try:
        response = await client.get("/")
        body = await response.json(content_type=None)
    finally:
        await client.close()
    assert response.status == 422
    assert [e["field"] for e in body["errors"]] == ["count", "nested.1"]
    assert body["detail"].startswith("Invalid input: count: ")


async def test_common_validation_failures_keep_their_status_and_code() -> None:
    async def refused(_request: web.Request) -> web.Response:
        raise ValidationFailed(
            "metrics_endpoint", "must have a host", status=400, code="ENDPOINT_INVALID_FORMAT"
        )

    client = await _client(refused)
    try:
        response = await client.get("/")
        body = await response.json(content_type=None)
    finally:
        await client.close()
    assert (response.status, body["code"], body["type"]) == (
        400,
        "ENDPOINT_INVALID_FORMAT",
        "urn:seqpulse:problem:endpoint-invalid-format",
    )
    assert body["errors"] == [{"field": "metrics_endpoint", "reason": "must have a host"}]
