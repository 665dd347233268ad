"""The deployment page: header, timeline, one chart per metric, the verdict with its evidence, the hints.

The server renders the frame and hands the script the JSON API's own answers; `static/js/deployment.js`
draws everything from them and redraws on each live event (`web/live.py`).
"""

from __future__ import annotations

from aiohttp import web

from seqpulse.gateway.product_events import emit_view
from seqpulse.gateway.resources import Resources
from seqpulse.gateway.routes import Operation
from seqpulse.gateway.web import detail_data
from seqpulse.gateway.web.context import Viewer, page, render

STATE_LABELS = {
    "running": "Deploying",
    "collecting": "Collecting",
    "analyzing": "Analyzing",
    "analyzed": "Analyzed",
    "expired": "Expired",
}


def operations(res: Resources) -> list[Operation]:
    async def detail_page(request: web.Request, viewer: Viewer) -> web.Response:
        async with res.pool.acquire() as conn:
            deployment_id = await detail_data.resolve(
                conn, viewer.principal, request.match_info["deployment_id"], request.query.get("project_id")
            )
            deployment = await detail_data.detail(conn, viewer.principal, deployment_id)
            samples = await detail_data.samples(conn, deployment)
            limits = await detail_data.limits(conn, deployment.project_id)
        data = {
            "deployment": deployment.model_dump(mode="json"),
            "metrics": samples.model_dump(mode="json"),
            "limits": limits,
            "urls": {
                "detail": f"/deployments/{deployment.id}",
                "metrics": f"/deployments/{deployment.id}/metrics",
                "events": f"/app/deployments/{deployment.id}/events",
            },
        }
        if deployment.verdict is not None:
            await emit_view(
                res,
                request,
                viewer.user_id,
                "verdict_viewed",
                project_id=deployment.project_id,
                deployment_id=str(deployment.id),
                verdict=deployment.verdict.verdict,
            )
        context = {
            "deployment": deployment,
            "state_label": STATE_LABELS[deployment.state],
            "page_data": data,
        }
        return render(request, "deployment_detail.html", context, viewer, active="deployments")

    return [
        Operation(
            "GET",
            "/app/deployments/{deployment_id}",
            page(res, detail_page),
            "A deployment's page, live while its window is open",
            "Pages",
            hidden=True,
        ),
    ]
