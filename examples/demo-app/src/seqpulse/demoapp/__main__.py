"""Command line entry point: ``seqpulse-demo-app`` serves until SIGINT or SIGTERM."""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import sys
from collections.abc import Sequence
from datetime import UTC, datetime

from aiohttp import web

from seqpulse.demoapp.app import bind_traffic_target, create_app
from seqpulse.demoapp.config import DemoAppSettings, load_settings

log = logging.getLogger("seqpulse.demoapp")


class _JsonLineFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "service": "demo-app",
            "event": record.getMessage(),
        }
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return json.dumps(line)


def _self_url(host: str, port: int) -> str:
    # A wildcard bind is not an address to connect to; loopback reaches the same listener.
    if host in ("", "0.0.0.0"):  # noqa: S104 - comparing, not binding
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


async def serve(settings: DemoAppSettings) -> None:
    app = create_app(settings)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        site = web.TCPSite(runner, settings.host, settings.port)
        await site.start()
        port = _bound_port(runner, settings.port)
        # The one stdout line a parent process reads to learn the port (useful with --port 0).
        print(json.dumps({"event": "listening", "port": port}), flush=True)
        log.info("listening on %s:%d, metrics at %s", settings.host, port, settings.metrics_path)
        bind_traffic_target(app, _self_url(settings.host, port))

        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        await stop.wait()
        log.info("stopping")
    finally:
        await runner.cleanup()


def _bound_port(runner: web.AppRunner, requested: int) -> int:
    for address in runner.addresses:
        if isinstance(address, tuple) and len(address) >= 2:
            return int(address[1])
    return requested


def main(argv: Sequence[str] | None = None) -> None:
    settings = load_settings(argv)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_JsonLineFormatter())
    logging.basicConfig(level=logging.INFO, handlers=[handler])
    asyncio.run(serve(settings))


if __name__ == "__main__":
    main()
