"""`seqpulse-analyzer`: run the analyzer until SIGTERM."""

from __future__ import annotations

import asyncio

from seqpulse.analyzer.app import AnalyzerService
from seqpulse.analyzer.config import AnalyzerSettings
from seqpulse.common.logging import configure_logging
from seqpulse.common.runtime import run_service
from seqpulse.common.telemetry.tracing import setup_tracing


def main() -> None:
    settings = AnalyzerSettings()
    configure_logging("analyzer", settings.log_level)
    setup_tracing("analyzer")
    asyncio.run(run_service(AnalyzerService(settings), host=settings.health_host, port=settings.health_port))


if __name__ == "__main__":
    main()
