"""A service's lifecycle: ordered start, background tasks, `/livez` `/readyz` `/metrics`, drain on SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from aiohttp import web

from seqpulse.common.logging import get_logger
from seqpulse.common.telemetry.metrics import metrics_handler

log = get_logger(__name__)
Closer = Callable[[], Awaitable[None]]


class Service:
    """Base of every service: subclasses open resources in `start`, registering a closer for each."""

    name = "service"

    def __init__(self) -> None:
        self._tasks: list[asyncio.Task[None]] = []
        self._closers: list[tuple[str, Closer]] = []
        self._stoppers: list[Callable[[], None]] = []
        self.started = False
        self.stopping = False

    async def start(self) -> None:
        """Open connections and start loops. Called once."""
        self.started = True

    def spawn(
        self, coro: Coroutine[Any, Any, None], name: str, stop: Callable[[], None] | None = None
    ) -> None:
        """Run a background loop; `stop` asks it to finish its current unit of work and return."""
        task = asyncio.create_task(self._supervise(coro, name), name=f"{self.name}:{name}")
        self._tasks.append(task)
        if stop is not None:
            self._stoppers.append(stop)

    async def _supervise(self, coro: Coroutine[Any, Any, None], name: str) -> None:
        try:
            await coro
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("background_task_crashed", task=name, service=self.name)
            raise

    def on_stop(self, name: str, closer: Closer) -> None:
        """Register a resource to close; closers run in reverse order of registration."""
        self._closers.append((name, closer))

    async def checks(self) -> dict[str, bool]:
        """Readiness checks by name; the service is ready when all are true.

        Started and not draining, and, for the connections the service opened (`self.pool`,
        `self.bus`), Postgres answering and NATS connected.
        """
        checks = {"started": self.started and not self.stopping}
        pool = getattr(self, "pool", None)
        if pool is not None:
            try:
                async with pool.acquire(timeout=2) as conn:
                    checks["db"] = await conn.fetchval("SELECT true") is True
            except Exception:  # a readiness probe reports, it does not raise
                checks["db"] = False
        bus = getattr(self, "bus", None)
        if bus is not None:
            checks["nats"] = bool(bus.nc.is_connected)
        return checks

    async def stop(self, timeout: float = 10.0) -> None:
        """Drain: stop taking work, let in-flight work finish (up to `timeout`), then close in reverse."""
        if self.stopping:
            return
        self.stopping = True
        for stop in self._stoppers:
            stop()
        if self._tasks:
            _done, pending = await asyncio.wait(self._tasks, timeout=timeout)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        for name, closer in reversed(self._closers):
            try:
                await closer()
            except Exception as exc:  # keep closing the rest
                log.warning("close_failed", resource=name, error=str(exc))


def health_app(service: Service) -> web.Application:
    """`/livez` (the process answers), `/readyz` (every check passes), `/metrics`."""

    async def livez(_request: web.Request) -> web.Response:
        return web.json_response({"status": "alive"})

    async def readyz(_request: web.Request) -> web.Response:
        checks = await service.checks()
        ok = all(checks.values())
        return web.json_response(
            {"status": "ready" if ok else "not_ready", "checks": checks}, status=200 if ok else 503
        )

    app = web.Application()
    app.router.add_get("/livez", livez)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics_handler)
    return app


async def run_service(
    service: Service,
    *,
    host: str,
    port: int,
    http_app: web.Application | None = None,
    drain_seconds: float = 10.0,
) -> None:
    """Start the service and its HTTP app, wait for SIGTERM/SIGINT, then drain and stop."""
    stop_requested = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop_requested.set)
    await service.start()
    runner = web.AppRunner(http_app or health_app(service), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    # aiohttp has no public accessor for the bound address (needed when port 0 picks one).
    server = getattr(site, "_server", None)
    bound = [sock.getsockname() for sock in getattr(server, "sockets", None) or []]
    log.info("service_started", service=service.name, listen=[f"{a[0]}:{a[1]}" for a in bound])
    crashed = asyncio.gather(*service._tasks) if service._tasks else None
    waiters: list[asyncio.Future[Any]] = [asyncio.ensure_future(stop_requested.wait())]
    if crashed is not None:
        waiters.append(crashed)
    await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    log.info("service_stopping", service=service.name)
    await runner.shutdown()
    await service.stop(timeout=drain_seconds)
    await runner.cleanup()
    for waiter in waiters:
        waiter.cancel()
        with contextlib.suppress(BaseException):
            await waiter
    log.info("service_stopped", service=service.name)
