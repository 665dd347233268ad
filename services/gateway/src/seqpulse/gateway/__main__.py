"""`seqpulse-gateway`: serve the HTTP API until SIGTERM, then drain in-flight requests and close."""

from __future__ import annotations

from aiohttp import web

from seqpulse.common.logging import configure_logging, get_logger
from seqpulse.common.runtime.heap import settle_heap
from seqpulse.common.runtime.loop import new_event_loop
from seqpulse.common.telemetry.tracing import setup_tracing
from seqpulse.gateway.app import create_app
from seqpulse.gateway.config import GatewaySettings

log = get_logger(__name__)


def main() -> None:
    settings = GatewaySettings()
    configure_logging("gateway", settings.log_level)
    setup_tracing("gateway")
    log.info("gateway_starting", host=settings.host, port=settings.port, bus_prefix=settings.bus_prefix)
    app = create_app(settings)
    app.on_startup.append(_settle_heap)  # after every resource of the app has started
    # run_app handles SIGTERM/SIGINT: it stops accepting, waits up to `shutdown_timeout` for in-flight
    # requests, then runs the cleanup contexts (relay drain, NATS drain, pool close) in reverse order.
    web.run_app(
        app,
        host=settings.host,
        port=settings.port,
        shutdown_timeout=settings.drain_seconds,
        access_log=None,
        print=None,
        handle_signals=True,
        loop=new_event_loop(),
    )
    log.info("gateway_stopped")


async def _settle_heap(_app: web.Application) -> None:
    settle_heap()


if __name__ == "__main__":
    main()
