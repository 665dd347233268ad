"""Every dashboard page, mounted by `app.py` like the API operations (hidden from the OpenAPI document)."""

from __future__ import annotations

from seqpulse.gateway.resources import Resources
from seqpulse.gateway.routes import Operation
from seqpulse.gateway.web import (
    auth_pages,
    deployment_detail,
    deployments,
    founder,
    live,
    overview,
    projects,
    sdh,
    settings,
)


def operations(res: Resources) -> list[Operation]:
    return [
        *auth_pages.operations(res),
        *overview.operations(res),
        *deployments.operations(res),
        *deployment_detail.operations(res),
        *live.operations(res),
        *sdh.operations(res),
        *projects.operations(res),
        *settings.operations(res),
        *founder.operations(res),
    ]
