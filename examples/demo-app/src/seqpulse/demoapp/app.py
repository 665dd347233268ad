"""Composition root of the demo app: routes, the measuring middleware and the self-traffic lifecycle."""

from __future__ import annotations

import asyncio
import hashlib
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler

from seqpulse.common.hmac_v2 import HmacRejected, HmacVerifier, canonicalize_path
from seqpulse.demoapp.config import DemoAppSettings
from seqpulse.demoapp.regression import (
    InvalidFieldError,
    RegressionKind,
    Regressions,
    burn_cpu,
    parse_regression,
)
from seqpulse.demoapp.resources import CpuMeter, MemoryMeter
from seqpulse.demoapp.traffic import WORK_PATH, TrafficGenerator, running
from seqpulse.demoapp.window import SlidingWindow

# Median of the simulated downstream call (a database query, say) that gives /api/work a realistic
# baseline latency spread instead of a flat sub-millisecond one.
DOWNSTREAM_MEDIAN_SECONDS = 0.005


@dataclass(slots=True)
class DemoState:
    """Mutable state shared by the handlers of one app instance."""

    settings: DemoAppSettings
    window: SlidingWindow
    regressions: Regressions
    cpu: CpuMeter
    memory: MemoryMeter
    verifier: HmacVerifier | None = None
    generator: TrafficGenerator | None = None
    stop_traffic: Callable[[], Awaitable[None]] | None = None
    rng: random.Random = field(default_factory=random.Random)


STATE = web.AppKey("state", DemoState)


def _bad_request(field: str, reason: str) -> web.Response:
    return web.json_response({"error": f"{field}: {reason}", "field": field, "reason": reason}, status=400)


async def _json_body(request: web.Request) -> Any:
    try:
        return await request.json()
    except ValueError:  # bad JSON and bad UTF-8 alike
        raise InvalidFieldError("body", "must be valid JSON") from None


def _is_measured(path: str, metrics_path: str) -> bool:
    path = canonicalize_path(path)
    return path != metrics_path and path != "/admin" and not path.startswith("/admin/")


@web.middleware
async def measure(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Record every customer-facing request in the window, as an instrumented app's middleware would."""
    state = request.app[STATE]
    if not _is_measured(request.path, state.settings.metrics_path):
        return await handler(request)
    started = time.perf_counter()

    def record(status: int) -> None:
        state.window.record((time.perf_counter() - started) * 1000.0, error=status >= 500)

    # A cancelled request (server shutdown) falls through unrecorded: no client saw a status.
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        record(exc.status)
        raise
    except Exception:
        record(500)  # aiohttp answers an unhandled exception with a 500
        raise
    record(response.status)
    return response


async def work(request: web.Request) -> web.Response:
    state = request.app[STATE]
    regressions = state.regressions
    await asyncio.sleep(state.rng.lognormvariate(0.0, 0.5) * DOWNSTREAM_MEDIAN_SECONDS)
    if regressions.added_latency_seconds > 0:
        await asyncio.sleep(regressions.added_latency_seconds)
    if regressions.cpu_burn_seconds > 0:
        # Deliberately on the event loop, like a CPU-heavy handler in a real app: it slows everything.
        burn_cpu(regressions.cpu_burn_seconds)
    digest = hashlib.sha256()
    for i in range(200):
        digest.update(i.to_bytes(2, "big"))
    if regressions.should_fail():
        return web.json_response({"error": "injected failure"}, status=500)
    return web.json_response({"ok": True, "digest": digest.hexdigest()[:16]})


async def metrics(request: web.Request) -> web.Response:
    state = request.app[STATE]
    if state.verifier is not None:
        try:
            state.verifier.verify(request.headers, method=request.method, path=request.path)
        except HmacRejected as exc:
            return web.json_response({"error": exc.reason}, status=401)
    stats = state.window.stats()
    return web.json_response(
        {
            "metrics": {
                "requests_per_sec": round(stats.requests_per_sec, 3),
                "latency_p95": round(stats.latency_p95_ms, 3),
                "error_rate": round(stats.error_rate, 6),
                "cpu_usage": round(state.cpu.read(), 6),
                "memory_usage": round(state.memory.read(), 6),
            }
        }
    )


def _state_view(state: DemoState) -> dict[str, Any]:
    generator = state.generator
    stats = state.window.stats()
    return {
        "metrics_path": state.settings.metrics_path,
        "window": {"seconds": state.window.seconds, "requests": stats.count},
        "regressions": state.regressions.snapshot(),
        "ballast_bytes": state.regressions.ballast_bytes,
        "memory_limit_bytes": state.memory.limit_bytes,
        "hmac": {
            "enabled": state.verifier is not None,
            "max_skew_past": state.verifier.max_past if state.verifier else None,
            "max_skew_future": state.verifier.max_future if state.verifier else None,
        },
        "traffic": {
            "rate": state.settings.rps,
            "effective_rate": generator.effective_rate if generator else 0.0,
            "target": generator.target if generator else None,
            "sent": generator.counters.sent if generator else 0,
            "failed": generator.counters.failed if generator else 0,
            "dropped": generator.counters.dropped if generator else 0,
        },
    }


async def admin_state(request: web.Request) -> web.Response:
    return web.json_response(_state_view(request.app[STATE]))


async def put_regression(request: web.Request) -> web.Response:
    state = request.app[STATE]
    try:
        kind, magnitude = parse_regression(await _json_body(request))
    except InvalidFieldError as exc:
        return _bad_request(exc.field, exc.reason)
    state.regressions.set(kind, magnitude)
    return web.json_response(_state_view(state))


async def delete_regression(request: web.Request) -> web.Response:
    state = request.app[STATE]
    raw_kind = request.query.get("kind")
    try:
        kind = RegressionKind(raw_kind) if raw_kind is not None else None
    except ValueError:
        return _bad_request("kind", f"must be one of {', '.join(k.value for k in RegressionKind)}")
    state.regressions.clear(kind)
    return web.json_response(_state_view(state))


def _skew(body: dict[str, Any], name: str, default: int) -> int:
    value = body.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidFieldError(name, "must be an integer >= 0")
    return value


async def put_hmac(request: web.Request) -> web.Response:
    state = request.app[STATE]
    try:
        body = await _json_body(request)
        if not isinstance(body, dict):
            raise InvalidFieldError("body", "must be a JSON object")
        unknown = sorted(set(body) - {"secret", "max_skew_past", "max_skew_future"})
        if unknown:
            raise InvalidFieldError(unknown[0], "unknown field")
        secret = body.get("secret")
        if not isinstance(secret, str) or not secret:
            raise InvalidFieldError("secret", "must be a non-empty string")
        max_past = _skew(body, "max_skew_past", state.settings.hmac_max_skew_past)
        max_future = _skew(body, "max_skew_future", state.settings.hmac_max_skew_future)
    except InvalidFieldError as exc:
        return _bad_request(exc.field, exc.reason)
    # A new verifier also starts a fresh nonce cache, which is right for a new secret.
    state.verifier = HmacVerifier(secret, max_past=max_past, max_future=max_future)
    return web.json_response(_state_view(state))


async def delete_hmac(request: web.Request) -> web.Response:
    state = request.app[STATE]
    state.verifier = None
    return web.json_response(_state_view(state))


async def _traffic(app: web.Application) -> AsyncIterator[None]:
    state = app[STATE]
    generator = TrafficGenerator(
        state.settings.rps, fraction=lambda: state.regressions.traffic_fraction, rng=state.rng
    )
    state.generator = generator
    async with running(generator) as stop:
        state.stop_traffic = stop
        yield
    state.generator = None
    state.regressions.clear()  # drops the memory ballast with everything else


async def _stop_traffic(app: web.Application) -> None:
    """On shutdown, before the server drops its connections: no self-request is cut mid-flight."""
    stop = app[STATE].stop_traffic
    if stop is not None:
        await stop()


def bind_traffic_target(app: web.Application, base_url: str) -> None:
    """Point the self-traffic at the server's real address, once it is listening."""
    generator = app[STATE].generator
    if generator is None:
        raise RuntimeError("the app has not started: bind the target after the server is up")
    generator.bind(base_url)


def create_app(settings: DemoAppSettings) -> web.Application:
    """Build the demo app; traffic starts once :func:`bind_traffic_target` gives it an address."""
    app = web.Application(middlewares=[measure])
    app[STATE] = DemoState(
        settings=settings,
        window=SlidingWindow(settings.window_seconds),
        regressions=Regressions(settings.memory_limit_bytes),
        cpu=CpuMeter(),
        memory=MemoryMeter(settings.memory_limit_bytes),
        verifier=(
            HmacVerifier(
                settings.hmac_secret,
                max_past=settings.hmac_max_skew_past,
                max_future=settings.hmac_max_skew_future,
            )
            if settings.hmac_secret
            else None
        ),
    )
    app.cleanup_ctx.append(_traffic)
    app.on_shutdown.append(_stop_traffic)
    app.router.add_get(WORK_PATH, work)
    app.router.add_get(settings.metrics_path, metrics)
    app.router.add_get("/admin/state", admin_state)
    app.router.add_put("/admin/regression", put_regression)
    app.router.add_delete("/admin/regression", delete_regression)
    app.router.add_put("/admin/hmac", put_hmac)
    app.router.add_delete("/admin/hmac", delete_hmac)
    return app
