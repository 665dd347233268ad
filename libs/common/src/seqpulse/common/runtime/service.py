"""A service's lifecycle: ordered start, background tasks, `/livez` `/readyz` `/metrics`, drain on SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from aiohttp import web

from seqpulse.common.bus.client import Bus
from seqpulse.common.config import CommonSettings
from seqpulse.common.db.pool import Pool, create_pool
from seqpulse.common.logging import configure_logging, get_logger
from seqpulse.common.runtime.heap import settle_heap
from seqpulse.common.runtime.loop import run
from seqpulse.common.telemetry.metrics import metrics_handler

log = get_logger(__name__)
Closer = Callable[[], Awaitable[None]]


class Service:
    """Base of every service: subclasses open resources in `start`, registering a closer for each."""

    name = "service"
    pool: Pool | None = None
    bus: Bus | None = None

    async def open_pool(self, settings: CommonSettings) -> Pool:
        """The service's asyncpg pool, closed on stop (and checked by readiness)."""
        self.pool = await create_pool(
            settings.database_url, min_size=settings.db_pool_min, max_size=settings.db_pool_max
        )
        self.on_stop("db pool", self.pool.close)
        return self.pool

    async def open_bus(self, settings: CommonSettings) -> Bus:
        """The service's NATS connection, drained on stop (and checked by readiness)."""
        self.bus = await Bus.connect(settings.nats_url, settings.bus_prefix, name=f"seqpulse-{self.name}")
        self.on_stop("nats", self.bus.close)
        return self.bus

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
        pool = self.pool
        if pool is not None:
            try:
                async with pool.acquire(timeout=2) as conn:
                    checks["db"] = await conn.fetchval("SELECT true") is True
            except Exception:  # a readiness probe reports, it does not raise
                checks["db"] = False
        bus = self.bus
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
    settle_heap()
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


def main(service: Service, settings: CommonSettings) -> None:
    """The body of a service's `__main__`: JSON logs, tracing, run until SIGTERM."""
    from seqpulse.common.telemetry.tracing import setup_tracing

    configure_logging(service.name, settings.log_level)
    setup_tracing(service.name)
    run(run_service(service, host=settings.health_host, port=settings.health_port))
