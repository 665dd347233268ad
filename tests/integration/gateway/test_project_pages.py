"""The Projects pages: who sees them, secrets never in the HTML, and snippets that work as shown."""

from __future__ import annotations

import asyncio
import html
import importlib.util
import json
import re
import shutil
import uuid
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from seqpulse.gateway.app import create_app
from seqpulse.gateway.config import GatewaySettings
from tests.integration.gateway.gateway_harness import Harness

pytestmark = [pytest.mark.postgres, pytest.mark.nats]
PASSWORD = "correct horse battery"
REPO = Path(__file__).resolve().parents[3]
# A stand-in for Express: just enough of `req`/`res` for the page's Node middleware, on node:http.
EXPRESS_SHIM = """\
const http = require("node:http");
const { seqpulse } = require("./seqpulse-metrics.js");
const middleware = seqpulse();
const server = http.createServer((req, res) => {
  req.path = new URL(req.url, "http://app").pathname;
  req.get = (name) => req.headers[name.toLowerCase()];
  res.status = (code) => { res.statusCode = code; return res; };
  res.json = (body) => { res.setHeader("Content-Type", "application/json"); res.end(JSON.stringify(body)); };
  middleware(req, res, () => res.end("hello"));
});
server.listen(0, "127.0.0.1", () => console.log(JSON.stringify({ port: server.address().port })));
"""


class Browser:
    """A signed-in browser: the session cookie in the client's jar, the CSRF token for changes."""

    def __init__(self, client: TestClient[web.Request, web.Application], csrf: str) -> None:
        self.client = client
        self.csrf = csrf

    async def page(self, path: str, status: int = 200) -> str:
        response = await self.client.get(path, allow_redirects=False)
        text = await response.text()
        assert response.status == status, text[:500]
        return text

    async def call(self, method: str, path: str, status: int = 200, **body: Any) -> Any:
        response = await self.client.request(
            method, path, json=body or None, headers={"X-CSRF-Token": self.csrf}
        )
        answer = await response.json(content_type=None)
        assert response.status == status, answer
        return answer


async def sign_up(client: TestClient[web.Request, web.Application], email: str) -> Browser:
    client.session.cookie_jar.clear()
    response = await client.post("/auth/signup", json={"email": email, "name": "Dev", "password": PASSWORD})
    assert response.status == 201, await response.text()
    return Browser(client, (await response.json())["csrf_token"])


def snippet(page: str, key: str) -> str:
    found = re.search(rf'<code id="snippet-{key}">(.*?)</code>', page, re.DOTALL)
    assert found, f"no {key} snippet on the page"
    return html.unescape(found.group(1))


async def test_project_pages_need_a_session(gw: Harness) -> None:
    some_id = uuid.uuid4()
    for path in ("/app/projects", "/app/projects/new", f"/app/projects/{some_id}"):
        response = await gw.client.get(path, allow_redirects=False)
        assert response.status == 302, path
        assert response.headers["Location"] == f"/login?next={path}"


async def test_the_list_starts_empty_then_shows_each_project_with_its_endpoint_state(gw: Harness) -> None:
    me = await sign_up(gw.client, "dev@example.test")
    empty = await me.page("/app/projects")
    assert "Create your first project" in empty and 'href="/app/projects/new"' in empty
    new = await me.page("/app/projects/new")
    # What each plan allows comes from plans.py.
    assert "Observation window: 5, 15 or 30 sequences (30 by default)" in new
    assert 'data-api="POST /projects"' in new and 'for="metrics_endpoint"' in new
    project = await me.call("POST", "/projects", 201, name="shop-api", metrics_endpoint=gw.fake.url)
    listed = await me.page("/app/projects")
    assert "Create your first project" not in listed
    assert f'href="/app/projects/{project["id"]}"' in listed and "shop-api" in listed
    assert "badge-pending_verification" in listed and "None yet" in listed


async def test_another_owners_project_is_not_found(gw: Harness) -> None:
    owner = await sign_up(gw.client, "owner@example.test")
    project = await owner.call("POST", "/projects", 201, name="secret-app", metrics_endpoint=gw.fake.url)
    await owner.page(f"/app/projects/{project['id']}")
    other = await sign_up(gw.client, "other@example.test")
    page = await other.page(f"/app/projects/{project['id']}", 404)
    assert "We could not find that page" in page and "secret-app" not in page
    assert "secret-app" not in await other.page("/app/projects")
    await other.page("/app/projects/not-a-uuid", 404)


async def test_the_project_page_never_shows_the_api_key_or_the_hmac_secret(gw: Harness) -> None:
    me = await sign_up(gw.client, "dev@example.test")
    project = await me.call("POST", "/projects", 201, name="shop", metrics_endpoint=gw.fake.url)
    pid = project["id"]
    await me.call("POST", f"/projects/{pid}/endpoint/test")
    secret = (await me.call("POST", f"/projects/{pid}/hmac/enable"))["hmac_secret"]
    rotated = await me.call("POST", f"/projects/{pid}/api-key/rotate")
    secrets = (project["api_key"], rotated["api_key"], secret)
    for path in (f"/app/projects/{pid}", "/app/projects", "/app/projects/new"):
        page = await me.page(path)
        for value in secrets:
            assert value not in page, path
    page = await me.page(f"/app/projects/{pid}")
    assert f"SP_{rotated['api_key_prefix']}…" in page
    assert 'id="hmac-state">on<' in page and "badge-active" in page
    # The CI snippets name the key's secret, never the key.
    assert "SEQPULSE_API_KEY: ${{ secrets.SEQPULSE_API_KEY }}" in snippet(page, "github")
    assert "SEQPULSE_API_KEY and SEQPULSE_TOKEN: masked CI/CD variables" in snippet(page, "gitlab")


async def test_ci_snippets_carry_the_gateway_url_and_the_command_of_the_docs(gw: Harness) -> None:
    me = await sign_up(gw.client, "dev@example.test")
    other_path = gw.fake.url.replace("/seqpulse-metrics", "/other-metrics")
    project = await me.call("POST", "/projects", 201, name="shop", metrics_endpoint=other_path)
    page = await me.page(f"/app/projects/{project['id']}")
    # No public URL configured: the address the page was reached at.
    origin = str(gw.client.make_url("")).rstrip("/")
    assert f"SEQPULSE_BASE_URL: {origin}\n" in snippet(page, "github")
    assert f"SEQPULSE_BASE_URL: {origin}\n" in snippet(page, "gitlab")
    # The command is the one docs/ci.md documents (and the e2e suite runs).
    docs = (REPO / "docs" / "ci.md").read_text()
    command = re.search(r"^\s*(seqpulse run --env prod .*)$", docs, re.MULTILINE)
    assert command is not None
    assert command.group(1) in snippet(page, "github") and command.group(1) in snippet(page, "gitlab")
    # The app snippets serve the project's own path.
    assert 'METRICS_PATH = "/other-metrics"' in snippet(page, "python")
    assert 'const METRICS_PATH = "/other-metrics";' in snippet(page, "node")


async def test_a_configured_public_url_is_the_one_ci_snippets_use(
    gateway_settings: GatewaySettings, gw: Harness
) -> None:
    settings = gateway_settings.model_copy(update={"public_base_url": "http://seqpulse.example.test/"})
    async with TestClient(TestServer(create_app(settings), host="127.0.0.1")) as client:
        me = await sign_up(client, "dev@example.test")
        project = await me.call("POST", "/projects", 201, name="shop", metrics_endpoint=gw.fake.url)
        page = await me.page(f"/app/projects/{project['id']}")
    assert "SEQPULSE_BASE_URL: http://seqpulse.example.test\n" in snippet(page, "github")


async def test_the_python_snippet_as_shown_passes_the_endpoint_test_signed_and_unsigned(
    gw: Harness, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    me = await sign_up(gw.client, "dev@example.test")
    project = await me.call("POST", "/projects", 201, name="py-app", metrics_endpoint=gw.fake.url)
    pid = project["id"]
    source = tmp_path / "seqpulse_metrics.py"
    source.write_text(snippet(await me.page(f"/app/projects/{pid}"), "python"))
    spec = importlib.util.spec_from_file_location("page_snippet_seqpulse_metrics", source)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)

    async def hello(request: web.Request) -> web.Response:
        return web.Response(text="hello")

    async def broken(request: web.Request) -> web.Response:
        raise web.HTTPServiceUnavailable()

    app = web.Application()
    app.router.add_get("/", hello)
    app.router.add_get("/broken", broken)
    module.setup_seqpulse(app)
    monkeypatch.delenv("SEQPULSE_HMAC_SECRET", raising=False)
    async with TestClient(TestServer(app, host="127.0.0.1")) as customer:
        for path in ("/", "/", "/", "/broken"):
            await (await customer.get(path)).read()
        await me.call(
            "PUT", f"/projects/{pid}/endpoint", metrics_endpoint=str(customer.make_url("/seqpulse-metrics"))
        )
        tested = await me.call("POST", f"/projects/{pid}/endpoint/test")
        assert tested["state"] == "active"
        assert tested["metrics"]["requests_per_sec"] == pytest.approx(4 / 60)
        assert tested["metrics"]["error_rate"] == pytest.approx(0.25)
        assert 0 < tested["metrics"]["memory_usage"] <= 1

        secret = (await me.call("POST", f"/projects/{pid}/hmac/enable"))["hmac_secret"]
        monkeypatch.setenv("SEQPULSE_HMAC_SECRET", secret)
        assert (await customer.get("/seqpulse-metrics")).status == 401  # unsigned: refused
        assert (await me.call("POST", f"/projects/{pid}/endpoint/test"))["state"] == "active"
        monkeypatch.setenv("SEQPULSE_HMAC_SECRET", "spm_not-the-secret")
        refused = await me.call("POST", f"/projects/{pid}/endpoint/test", 400)
        assert refused["errors"] == [
            {"field": "metrics_endpoint", "reason": "app answered 401 to a signed request"}
        ]


@pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is not installed")
async def test_the_node_snippet_as_shown_passes_the_signed_endpoint_test(gw: Harness, tmp_path: Path) -> None:
    me = await sign_up(gw.client, "dev@example.test")
    project = await me.call("POST", "/projects", 201, name="node-app", metrics_endpoint=gw.fake.url)
    pid = project["id"]
    (tmp_path / "seqpulse-metrics.js").write_text(snippet(await me.page(f"/app/projects/{pid}"), "node"))
    (tmp_path / "server.js").write_text(EXPRESS_SHIM)
    secret = (await me.call("POST", f"/projects/{pid}/hmac/enable"))["hmac_secret"]
    node = await asyncio.create_subprocess_exec(
        shutil.which("node") or "node",
        "server.js",
        cwd=tmp_path,
        env={"SEQPULSE_HMAC_SECRET": secret},
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert node.stdout is not None
        port = json.loads(await asyncio.wait_for(node.stdout.readline(), 10))["port"]
        await me.call(
            "PUT", f"/projects/{pid}/endpoint", metrics_endpoint=f"http://127.0.0.1:{port}/seqpulse-metrics"
        )
        tested = await me.call("POST", f"/projects/{pid}/endpoint/test")
        assert tested["state"] == "active" and set(tested["metrics"]) == {
            "requests_per_sec",
            "latency_p95",
            "error_rate",
            "cpu_usage",
            "memory_usage",
        }
        # A rotated secret the app does not have yet: the app refuses SeqPulse's signature.
        await me.call("POST", f"/projects/{pid}/hmac/rotate")
        refused = await me.call("POST", f"/projects/{pid}/endpoint/test", 400)
        assert refused["errors"][0]["reason"] == "app answered 401 to a signed request"
    finally:
        node.terminate()
        await node.wait()
