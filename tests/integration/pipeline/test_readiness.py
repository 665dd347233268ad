"""`/readyz` of the collector and analyzer reflects Postgres and NATS, not only "the process runs"."""

from __future__ import annotations

from typing import Any

import pytest

from seqpulse.analyzer.app import AnalyzerService
from seqpulse.analyzer.config import AnalyzerSettings
from seqpulse.collector.app import CollectorService
from seqpulse.collector.config import CollectorSettings
from seqpulse.common.bus import Bus
from seqpulse.common.runtime import Service

pytestmark = [pytest.mark.nats, pytest.mark.postgres]


@pytest.mark.parametrize("kind", ["collector", "analyzer"])
async def test_readiness_turns_false_when_the_database_goes_away(
    kind: str, service_env: dict[str, Any], bus: Bus
) -> None:
    service: Service = (
        CollectorService(CollectorSettings(**service_env))
        if kind == "collector"
        else AnalyzerService(AnalyzerSettings(**service_env))
    )
    await service.start()
    try:
        assert await service.checks() == {"started": True, "db": True, "nats": True}
        pool = service.pool  # type: ignore[attr-defined]  # both services expose their pool
        pool.terminate()
        checks = await service.checks()
        assert checks["db"] is False and checks["nats"] is True
    finally:
        await service.stop()
