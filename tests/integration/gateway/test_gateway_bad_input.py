"""Bad input gets a problem+json 4xx naming the field and the reason, and writes nothing."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.integration.gateway.gateway_harness import Harness, bearer

pytestmark = [pytest.mark.postgres, pytest.mark.nats]


def _fields(body: dict[str, Any]) -> dict[str, str]:
    return {error["field"]: error["reason"] for error in body["errors"]}


async def _post(
    gw: Harness, path: str, headers: dict[str, str], **kwargs: Any
) -> tuple[int, str, dict[str, Any]]:
    response = await gw.client.post(path, headers=headers, **kwargs)
    return response.status, response.content_type, await response.json(content_type=None)


@pytest.mark.parametrize(
    ("payload", "field", "reason_part"),
    [
        ({"branch": "main"}, "env", "Field required"),
        ({"env": 123}, "env", "valid string"),
        ({"env": ""}, "env", "at least 1 character"),
        ({"env": "prod", "idempotency_key": "k" * 300}, "idempotency_key", "at most 255"),
    ],
)
async def test_invalid_trigger_bodies_are_422_per_field_and_write_nothing(
    gw: Harness, payload: dict[str, Any], field: str, reason_part: str
) -> None:
    project = await gw.project(await gw.token())
    before = await gw.counts()
    status, content_type, body = await _post(
        gw, "/deployments/trigger", {"X-API-Key": project["api_key"]}, json=payload
    )
    assert (status, content_type) == (422, "application/problem+json")
    assert body["code"] == "validation_failed"
    assert reason_part in _fields(body)[field]
    assert await gw.counts() == before


async def test_malformed_json_is_400_on_the_body(gw: Harness) -> None:
    project = await gw.project(await gw.token())
    before = await gw.counts()
    status, _, body = await _post(
        gw,
        "/deployments/trigger",
        {"X-API-Key": project["api_key"], "Content-Type": "application/json"},
        data=b'{"env": "prod",',
    )
    assert status == 400
    assert body["errors"][0]["field"] == "body"
    assert body["type"] == "about:blank" and body["title"] == "Bad Request"
    assert await gw.counts() == before


@pytest.mark.parametrize("chunked", [False, True])
async def test_an_oversize_body_is_413(gw: Harness, chunked: bool) -> None:
    project = await gw.project(await gw.token())
    before = await gw.counts()
    huge = b'{"env": "prod", "branch": "' + b"x" * (2 * 1024 * 1024) + b'"}'

    async def stream() -> AsyncIterator[bytes]:
        for start in range(0, len(huge), 64 * 1024):
            yield huge[start : start + 64 * 1024]

    # With a declared length the middleware refuses it up front; a chunked body hits the read limit.
    data: Any = stream() if chunked else io.BytesIO(huge)
    status, content_type, body = await _post(
        gw, "/deployments/trigger", {"X-API-Key": project["api_key"]}, data=data
    )
    assert (status, content_type) == (413, "application/problem+json")
    assert body["errors"][0]["field"] == "body"
    assert await gw.counts() == before


async def test_a_malformed_metrics_endpoint_on_trigger_is_400(gw: Harness) -> None:
    project = await gw.project(await gw.token())
    before = await gw.counts()
    status, _, body = await _post(
        gw,
        "/deployments/trigger",
        {"X-API-Key": project["api_key"]},
        json={"env": "prod", "metrics_endpoint": "ftp://nope/metrics"},
    )
    assert (status, body["code"]) == (400, "ENDPOINT_INVALID_FORMAT")
    assert _fields(body) == {"metrics_endpoint": "must be an http or https URL"}
    assert await gw.counts() == before


@pytest.mark.parametrize(
    ("payload", "status", "field"),
    [
        ({"deployment_id": "not-a-uuid", "result": "success"}, 422, "deployment_id"),
        ({"deployment_id": "7b1f4a9e-4c1d-4a59-9a4e-2f0f5c0e6d11", "result": "maybe"}, 422, "result"),
        ({"result": "success"}, 422, "deployment_id"),
    ],
)
async def test_invalid_finish_bodies_name_the_field(
    gw: Harness, payload: dict[str, Any], status: int, field: str
) -> None:
    project = await gw.project(await gw.token())
    before = await gw.counts()
    got, _, body = await _post(gw, "/deployments/finish", {"X-API-Key": project["api_key"]}, json=payload)
    assert got == status
    assert field in _fields(body)
    assert await gw.counts() == before


@pytest.mark.parametrize(
    ("payload", "status", "field", "code"),
    [
        ({"name": "x", "metrics_endpoint": "not a url"}, 400, "metrics_endpoint", "ENDPOINT_INVALID_FORMAT"),
        (
            {"name": "x", "metrics_endpoint": "http://u:p@app.example/m"},
            400,
            "metrics_endpoint",
            "ENDPOINT_INVALID_FORMAT",
        ),
        (
            {"name": "x", "metrics_endpoint": "http://app.example/m", "plan": "gold"},
            422,
            "plan",
            "validation_failed",
        ),
        (
            {"name": "x", "metrics_endpoint": "http://app.example/m", "window_sequences": 15},
            422,
            "window_sequences",
            "PLAN_LIMIT",
        ),
        (
            {
                "name": "x",
                "metrics_endpoint": "http://app.example/m",
                "plan": "pro",
                "envs": ["a", "b", "c", "d"],
            },
            422,
            "envs",
            "PLAN_LIMIT",
        ),
        (
            {"name": "x", "metrics_endpoint": "http://app.example/m", "plan": "pro", "envs": ["bad env!"]},
            422,
            "envs.0",
            "validation_failed",
        ),
        (
            {"name": "x", "metrics_endpoint": "http://app.example/m", "colour": "red"},
            422,
            "colour",
            "validation_failed",
        ),
        ({"metrics_endpoint": "http://app.example/m"}, 422, "name", "validation_failed"),
    ],
)
async def test_invalid_projects_are_refused_and_nothing_is_written(
    gw: Harness, payload: dict[str, Any], status: int, field: str, code: str
) -> None:
    token = await gw.token()
    before = await gw.counts()
    got, content_type, body = await _post(gw, "/projects", bearer(token), json=payload)
    assert (got, content_type, body["code"]) == (status, "application/problem+json", code)
    assert field in _fields(body), body
    assert await gw.counts() == before


async def test_unknown_routes_are_404_problems(gw: Harness) -> None:
    response = await gw.client.get("/no/such/route")
    assert (response.status, response.content_type) == (404, "application/problem+json")
    assert (await response.json(content_type=None))["status"] == 404


async def test_a_wrong_method_is_405_with_allow(gw: Harness) -> None:
    response = await gw.client.delete("/projects")
    assert response.status == 405
    assert "POST" in response.headers["Allow"]
