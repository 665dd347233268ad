"""`seqpulse wait`'s loop against a scripted gateway: one progress line, the outcome, timeouts."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from seqpulse.cli.client import Client
from seqpulse.cli.wait import ProgressLine, WaitOptions, watch


def view(
    state: str, post: int, window_state: str = "open", verdict: dict[str, Any] | None = None
) -> dict[str, Any]:
    return {
        "id": "d1",
        "public_id": "dpl_1",
        "state": state,
        "window": {
            "sequences": 3,
            "sequence_seconds": 1,
            "collected_pre": 1,
            "collected_post": post,
            "state": window_state,
            "cancel_reason": None,
        },
        "verdict": verdict,
        "hints": [],
    }


VERDICT = {"verdict": "warning", "confidence": 0.5, "summary": "s", "insufficient_data": False, "policy": "p"}


class Views:
    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.reads = 0
        self.hang_after: int | None = None  # reads answered before the gateway stops answering

    async def handle(self, request: web.Request) -> web.Response:
        self.reads += 1
        if self.hang_after is not None and self.reads > self.hang_after:
            await asyncio.sleep(30)
        return web.json_response(self.bodies[min(self.reads, len(self.bodies)) - 1])


@pytest.fixture
async def views() -> AsyncIterator[tuple[Views, str]]:
    state = Views()
    app = web.Application()
    app.router.add_get("/deployments/{id}", state.handle)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    yield state, str(server.make_url("")).rstrip("/")
    await server.close()


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


async def no_sleep(_: float) -> None:
    return None


def options(timeout: float = 10.0, *, allow_warning: bool = False, fail_open: bool = False) -> WaitOptions:
    return WaitOptions(timeout=timeout, interval=0.01, allow_warning=allow_warning, fail_open=fail_open)


async def test_progress_is_one_line_per_change_without_a_terminal(views: tuple[Views, str]) -> None:
    script, base = views
    script.bodies = [
        view("running", 0, "pending"),
        view("collecting", 1),
        view("collecting", 1),
        view("collecting", 2),
        view("analyzing", 3, "closed"),
        view("analyzed", 3, "closed", VERDICT),
    ]
    stream = io.StringIO()
    async with aiohttp.ClientSession() as http:
        outcome, deployment = await watch(
            Client(http, base, token="spt_t"), "d1", options(), ProgressLine(stream), sleep=no_sleep
        )
    assert (outcome.name, outcome.exit_code) == ("warning", 10)
    assert deployment is not None and deployment.verdict is not None
    assert stream.getvalue().splitlines() == [
        "seqpulse: waiting for the deploy to finish (baseline samples: 1)",
        "seqpulse: sequence 1 of 3, ~2s left",
        "seqpulse: sequence 2 of 3, ~1s left",
        "seqpulse: window closed, analyzing",
    ]


async def test_on_a_terminal_the_line_is_rewritten_in_place_and_cleared(views: tuple[Views, str]) -> None:
    script, base = views
    script.bodies = [view("collecting", 1), view("collecting", 2), view("analyzed", 3, "closed", VERDICT)]
    stream = Tty()
    async with aiohttp.ClientSession() as http:
        outcome, _ = await watch(
            Client(http, base, token="spt_t"),
            "d1",
            options(allow_warning=True),
            ProgressLine(stream),
            sleep=no_sleep,
        )
    assert outcome.exit_code == 0
    written = stream.getvalue()
    assert "\n" not in written
    assert written.count("\r\x1b[K") == 3  # two states, then cleared for the report
    assert written.endswith("\r\x1b[K")


@pytest.mark.parametrize(("fail_open", "expected"), [(False, 3), (True, 0)])
async def test_no_verdict_before_the_timeout_is_timed_out(
    views: tuple[Views, str], fail_open: bool, expected: int
) -> None:
    script, base = views
    script.bodies = [view("collecting", 1)]
    async with aiohttp.ClientSession() as http:
        outcome, deployment = await watch(
            Client(http, base, token="spt_t"),
            "d1",
            # Long enough for the first read to land even on a loaded CI machine, so the outcome is
            # "timed out waiting" rather than "never reached".
            options(2.0, fail_open=fail_open),
            ProgressLine(io.StringIO()),
        )
    assert (outcome.name, outcome.exit_code, outcome.failed_open) == ("timed_out", expected, fail_open)
    assert "no verdict within 2 s (last: sequence 1 of 3" in outcome.message
    assert deployment is not None


async def test_a_read_still_waiting_at_the_timeout_is_timed_out_not_unreachable(
    views: tuple[Views, str],
) -> None:
    """The last read is cut short by `--timeout`: the outcome is the timeout, with the last progress."""
    script, base = views
    script.bodies, script.hang_after = [view("collecting", 1)], 1
    async with aiohttp.ClientSession() as http:
        outcome, deployment = await watch(
            Client(http, base, token="spt_t"), "d1", options(0.5), ProgressLine(io.StringIO()), sleep=no_sleep
        )
    assert (outcome.name, outcome.exit_code) == ("timed_out", 3)
    assert "no verdict within 0.5 s (last: sequence 1 of 3" in outcome.message
    assert deployment is not None and script.reads == 2


async def test_a_refused_read_is_a_configuration_error_even_with_fail_open() -> None:
    app = web.Application()

    async def refuse(_: web.Request) -> web.Response:
        return web.json_response({"status": 401, "detail": "Token revoked"}, status=401)

    app.router.add_get("/deployments/{id}", refuse)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        async with aiohttp.ClientSession() as http:
            client = Client(http, str(server.make_url("")).rstrip("/"), token="spt_t")
            outcome, _ = await watch(client, "d1", options(fail_open=True), ProgressLine(io.StringIO()))
    finally:
        await server.close()
    assert (outcome.name, outcome.exit_code) == ("api_error", 2)
    assert "Token revoked" in outcome.message
