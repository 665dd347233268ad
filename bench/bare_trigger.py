"""The baseline of `trigger_throughput`: a bare aiohttp handler that parses the trigger body and
answers the trigger's shape, served like the gateway (`web.run_app` on the services' event loop, no
access log).

`python -m bench.bare_trigger --port 8081`
"""

from __future__ import annotations

import argparse
import uuid

from aiohttp import web

from seqpulse.common.runtime.loop import new_event_loop


async def trigger(request: web.Request) -> web.Response:
    body = await request.json()
    if not isinstance(body, dict) or not isinstance(body.get("env"), str):
        return web.json_response({"detail": "env is required"}, status=422)
    return web.json_response({"deployment_id": str(uuid.uuid4()), "status": "created", "message": None})


async def readyz(_request: web.Request) -> web.Response:
    return web.json_response({"status": "ready"})


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.bare_trigger", description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    app = web.Application()
    app.router.add_post("/deployments/trigger", trigger)
    app.router.add_get("/readyz", readyz)
    web.run_app(
        app,
        host="127.0.0.1",
        port=args.port,
        access_log=None,
        print=None,
        shutdown_timeout=2,
        loop=new_event_loop(),
    )


if __name__ == "__main__":
    main()
