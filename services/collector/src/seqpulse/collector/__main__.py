"""`seqpulse-collector`: run the collector until SIGTERM."""

from __future__ import annotations

import asyncio

from seqpulse.collector.app import CollectorService
from seqpulse.collector.config import CollectorSettings
from seqpulse.common.logging import configure_logging
from seqpulse.common.runtime import run_service
from seqpulse.common.telemetry.tracing import setup_tracing


def main() -> None:
    settings = CollectorSettings()
    configure_logging("collector", settings.log_level)
    setup_tracing("collector")
    asyncio.run(run_service(CollectorService(settings), host=settings.health_host, port=settings.health_port))


if __name__ == "__main__":
    main()
