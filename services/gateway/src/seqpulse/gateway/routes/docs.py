"""`GET /openapi.json` and `GET /docs`: a self-contained page listing the operations (no CDN)."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

import orjson
from aiohttp import web

from seqpulse.gateway.openapi import build_openapi
from seqpulse.gateway.resources import Resources
from seqpulse.gateway.routes import Operation

_AUTH = {
    "none": "none",
    "user": "Bearer token",
    "api_key": "X-API-Key",
    "api_key_or_user": "X-API-Key, or Bearer token / session",
}
_STYLE = """
body{font:15px/1.5 system-ui,sans-serif;margin:2rem auto;max-width:72rem;padding:0 1rem;color:#1d2330}
table{border-collapse:collapse;width:100%}
td,th{border-bottom:1px solid #dde;padding:.4rem .6rem;text-align:left}
code{font-size:14px}.m{font-weight:700;font-family:monospace}.GET{color:#1565c0}.POST{color:#2e7d32}
.PUT,.PATCH{color:#ef6c00}.DELETE{color:#c62828}h2{margin-top:2rem}
"""


def render_docs(operations: Sequence[Operation]) -> str:
    sections: dict[str, list[str]] = {}
    for op in operations:
        if op.hidden:
            continue
        auth = _AUTH[op.auth] + (f" ({op.scope})" if op.scope else "")
        codes = ", ".join(str(c) for c in (op.status, *op.errors))
        sections.setdefault(op.tag, []).append(
            f'<tr><td class="m {op.method}">{op.method}</td><td><code>{escape(op.path)}</code></td>'
            f"<td>{escape(op.summary)}</td><td>{escape(auth)}</td><td>{codes}</td></tr>"
        )
    body = "".join(
        f"<h2>{escape(tag)}</h2><table><tr><th>Method</th><th>Path</th><th>What</th><th>Auth</th>"
        f"<th>Status codes</th></tr>{''.join(rows)}</table>"
        for tag, rows in sections.items()
    )
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8><title>SeqPulse API</title>"
        f"<style>{_STYLE}</style></head><body><h1>SeqPulse API</h1>"
        "<p>Errors are <code>application/problem+json</code> with <code>detail</code>, <code>code</code> and "
        'per-field <code>errors</code>. Schemas: <a href="/openapi.json">/openapi.json</a>.</p>'
        f"{body}</body></html>"
    )


def operations(res: Resources, documented: Sequence[Operation]) -> list[Operation]:
    cache: dict[str, bytes] = {}

    async def openapi(_request: web.Request) -> web.Response:
        if "spec" not in cache:
            spec = build_openapi(documented, server_url=res.settings.public_base_url)
            cache["spec"] = orjson.dumps(spec)
        return web.Response(body=cache["spec"], content_type="application/json")

    async def docs(_request: web.Request) -> web.Response:
        return web.Response(text=render_docs(documented), content_type="text/html")

    return [
        Operation("GET", "/openapi.json", openapi, "This API as OpenAPI 3.1", "Docs", hidden=True),
        Operation("GET", "/docs", docs, "Human-readable list of the operations", "Docs", hidden=True),
    ]
