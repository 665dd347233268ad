"""The gate's HTTP client against a scripted gateway: what is retried, what is a configuration error."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from seqpulse.cli.client import ApiError, Client, DeadlinePassed, Unreachable
from seqpulse.cli.finish import conclude


@dataclass
class Script:
    """Answers in order (the last one repeats, built anew: a response is sent once); records each
    request's path and headers."""

    answers: list[Callable[[], web.Response]] = field(default_factory=list)
    seen: list[tuple[str, dict[str, str]]] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.seen.append((request.path_qs, dict(request.headers)))
        index = min(len(self.seen), len(self.answers)) - 1
        return self.answers[index]()


@pytest.fixture
async def gateway() -> AsyncIterator[tuple[Script, str]]:
    script = Script()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", script.handle)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    yield script, str(server.make_url("")).rstrip("/")
    await server.close()


class Sleeps:
    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)


def problem(status: int, detail: str, **extra: object) -> web.Response:
    body = {"type": "about:blank", "title": "t", "status": status, "detail": detail, "code": "c", **extra}
    return web.json_response(body, status=status, content_type="application/problem+json")


def soon(seconds: float = 5.0) -> float:
    return time.monotonic() + seconds


async def test_5xx_and_429_are_retried_with_backoff_until_an_answer(gateway: tuple[Script, str]) -> None:
    script, base = gateway
    script.answers = [
        lambda: web.Response(status=503, text="down"),
        lambda: web.json_response({}, status=429, headers={"Retry-After": "2"}),
        lambda: web.json_response({"deployment_id": "d1", "status": "created", "message": None}),
    ]
    sleeps = Sleeps()
    async with aiohttp.ClientSession() as http:
        client = Client(http, base, api_key="SP_k", sleep=sleeps)
        answer = await client.trigger({"env": "prod"}, soon())
    assert answer["deployment_id"] == "d1"
    assert len(script.seen) == 3
    assert 0 < sleeps.delays[0] <= 0.25 and sleeps.delays[1] == 2.0  # backoff, then Retry-After
    assert all(headers["X-API-Key"] == "SP_k" for _, headers in script.seen)


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 422, 423])
async def test_a_4xx_is_not_retried_and_carries_the_problem_detail(
    gateway: tuple[Script, str], status: int
) -> None:
    script, base = gateway
    script.answers = [
        lambda: problem(status, "Environment 'qa' not allowed", errors=[{"field": "env", "reason": "r"}])
    ]
    async with aiohttp.ClientSession() as http:
        with pytest.raises(ApiError) as exc:
            await Client(http, base, api_key="SP_k", sleep=Sleeps()).trigger({"env": "qa"}, soon())
    assert exc.value.status == status
    assert exc.value.detail == "Environment 'qa' not allowed (env: r)"
    assert len(script.seen) == 1


async def test_a_redirect_is_not_followed_but_reported(gateway: tuple[Script, str]) -> None:
    script, base = gateway
    script.answers = [lambda: web.Response(status=301, headers={"Location": "https://seqpulse.example/"})]
    async with aiohttp.ClientSession() as http:
        with pytest.raises(ApiError, match=r"redirected \(https://seqpulse\.example/\)"):
            await Client(http, base, api_key="SP_k").finish("d1", "success", None, soon())


async def test_a_2xx_that_is_not_json_points_at_the_url(gateway: tuple[Script, str]) -> None:
    script, base = gateway
    script.answers = [lambda: web.Response(text="<html>login</html>", content_type="text/html")]
    async with aiohttp.ClientSession() as http:
        with pytest.raises(ApiError, match="is the SeqPulse URL right"):
            await Client(http, base, token="spt_t").deployment("d1", soon())


async def test_a_deployment_read_sends_the_bearer_token_and_parses_the_answer(
    gateway: tuple[Script, str],
) -> None:
    script, base = gateway
    window = {"sequences": 5, "sequence_seconds": 1, "collected_pre": 1, "collected_post": 0, "state": "open"}
    body = {"id": "d1", "public_id": "dpl_1", "state": "collecting", "window": window, "verdict": None}
    script.answers = [lambda: web.json_response(body)]
    async with aiohttp.ClientSession() as http:
        deployment = await Client(http, base, token="spt_t").deployment("d1", soon())
    assert deployment.window.collected_pre == 1 and deployment.verdict is None
    assert script.seen[0] == ("/deployments/d1", script.seen[0][1])
    assert script.seen[0][1]["Authorization"] == "Bearer spt_t"


async def test_5xx_until_the_deadline_is_unreachable(gateway: tuple[Script, str]) -> None:
    script, base = gateway
    script.answers = [lambda: problem(503, "NATS unavailable")]
    async with aiohttp.ClientSession() as http:
        with pytest.raises(Unreachable, match="HTTP 503: NATS unavailable"):
            # Long enough that even a loaded machine answers the first attempt before the deadline.
            await Client(http, base, token="spt_t").deployment("d1", soon(2.0))
    assert len(script.seen) >= 2


async def test_a_refused_connection_is_unreachable_within_the_deadline() -> None:
    with socket.socket() as sock:  # a port nobody listens on: bound, never listening
        sock.bind(("127.0.0.1", 0))
        base = f"http://127.0.0.1:{sock.getsockname()[1]}"
        started = time.monotonic()
        async with aiohttp.ClientSession() as http:
            with pytest.raises(Unreachable) as exc:
                await Client(http, base, token="spt_t").deployment("d1", soon(0.5))
    assert not isinstance(exc.value, DeadlinePassed)
    assert time.monotonic() - started < 1.5


async def test_no_time_left_is_deadline_passed_without_a_request(gateway: tuple[Script, str]) -> None:
    script, base = gateway
    async with aiohttp.ClientSession() as http:
        with pytest.raises(DeadlinePassed):
            await Client(http, base, token="spt_t").deployment("d1", time.monotonic() - 1)
    assert script.seen == []


async def test_an_answer_still_pending_at_the_deadline_is_deadline_passed() -> None:
    """A read cut short by the caller's deadline is time running out (`--timeout`), not an unreachable
    gateway: `seqpulse wait` reports it as timed out when it had read the deployment before."""

    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(5)
        return web.json_response({})

    app = web.Application()
    app.router.add_get("/deployments/{id}", slow)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    started = time.monotonic()
    try:
        async with aiohttp.ClientSession() as http:
            with pytest.raises(DeadlinePassed, match="no answer before the deadline"):
                await Client(http, str(server.make_url("")).rstrip("/"), token="spt_t").deployment(
                    "d1", soon(0.3)
                )
    finally:
        await server.close()
    assert time.monotonic() - started < 1.5


async def test_finish_not_found_is_a_configuration_error_and_ignored_is_not(
    gateway: tuple[Script, str], capsys: pytest.CaptureFixture[str]
) -> None:
    script, base = gateway
    async with aiohttp.ClientSession() as http:
        client = Client(http, base, api_key="SP_k")
        script.answers = [
            lambda: web.json_response({"status": "not_found", "message": "Deployment not found"})
        ]
        with pytest.raises(ApiError, match="d1 not found in the project of SEQPULSE_API_KEY") as exc:
            await conclude(client, "d1", "success", None, soon())
        assert not str(exc.value).startswith("HTTP")
        script.seen.clear()
        script.answers = [lambda: web.json_response({"status": "ignored", "message": "state is 'finished'"})]
        answer = await conclude(client, "d1", "failed", "https://app.example/m", soon())
    assert answer["status"] == "ignored"
    assert "finish ignored: state is 'finished'" in capsys.readouterr().err
