"""Dashboard pages: deployment detail."""

from __future__ import annotations

from seqpulse.gateway.resources import Resources
from seqpulse.gateway.routes import Operation


def operations(res: Resources) -> list[Operation]:
    return []
