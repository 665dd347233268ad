"""Integration snippets of the project page, pure: the app side (metrics + HMAC v2) and the CI side.

The app snippets implement the contract of the reference (§4, §5) with the standard library of each
runtime; the integration tests run them, as the page shows them, against the gateway's endpoint test.
The CI snippets are those of `docs/ci.md` with the gateway's URL filled in; the API key only ever
appears as the name of a CI secret.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from urllib.parse import urlsplit

from seqpulse.common.hmac_v2 import canonicalize_path

DEFAULT_METRICS_PATH = "/seqpulse-metrics"


@dataclass(frozen=True, slots=True)
class Snippet:
    """One block of code to copy: `key` names its element on the page."""

    key: str
    title: str
    filename: str
    intro: str
    code: str


def metrics_path(endpoint: str | None) -> str:
    """The path the app must serve: the project's endpoint's, else the contract's default."""
    if not endpoint:
        return DEFAULT_METRICS_PATH
    return canonicalize_path(urlsplit(endpoint).path)


def ci_timeout(window_sequences: int, sequence_seconds: int) -> int:
    """How long `seqpulse run` waits for the verdict: the window plus 15 minutes, at least docs' 1800 s."""
    return max(1800, math.ceil(window_sequences * sequence_seconds) + 900)


def ci_env(envs: list[str]) -> str:
    return "prod" if "prod" in envs or not envs else envs[0]


PYTHON = '''\
"""SeqPulse metrics for an aiohttp app: `setup_seqpulse(app)` measures every request and serves
GET METRICS_PATH as SeqPulse reads it. With SEQPULSE_HMAC_SECRET set, only signed probes get an answer."""

import hashlib
import hmac
import os
import time
from collections import deque
from datetime import datetime, timezone

from aiohttp import web

METRICS_PATH = __PATH__
WINDOW_SECONDS = 60  # SeqPulse reads one value per 60-second sequence
MAX_PAST, MAX_FUTURE = 300, 30  # accepted age and clock lead of a signature, seconds


class _Window:
    def __init__(self):
        self.requests = deque()  # (monotonic end time, latency in ms, answered 5xx)
        self.cpu_mark = (time.monotonic(), time.process_time())

    def _prune(self, now):
        while self.requests and self.requests[0][0] < now - WINDOW_SECONDS:
            self.requests.popleft()

    def record(self, latency_ms, failed):
        now = time.monotonic()
        self._prune(now)
        self.requests.append((now, latency_ms, failed))

    def metrics(self):
        now, cpu = time.monotonic(), time.process_time()
        self._prune(now)
        latencies = sorted(r[1] for r in self.requests)
        count = len(latencies)
        wall, used = now - self.cpu_mark[0], cpu - self.cpu_mark[1]
        self.cpu_mark = (now, cpu)
        return {
            "requests_per_sec": count / WINDOW_SECONDS,
            "latency_p95": latencies[-(-count * 95 // 100) - 1] if count else 0.0,  # ms, nearest rank
            "error_rate": sum(r[2] for r in self.requests) / count if count else 0.0,  # 0..1
            "cpu_usage": min(1.0, used / wall) if wall > 0 else 0.0,  # share of one core, 0..1
            "memory_usage": _memory_usage(),  # 0..1
        }


def _memory_usage():
    """Resident memory over the limit: SEQPULSE_MEMORY_LIMIT_BYTES, else the machine's RAM (Linux)."""
    try:
        with open("/proc/self/statm") as statm:
            rss = int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return 0.0
    ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return min(1.0, rss / int(os.environ.get("SEQPULSE_MEMORY_LIMIT_BYTES") or ram))


_window = _Window()
_seen_nonces = {}  # nonce -> expiry; one process only (replicas need a shared store, e.g. Redis SET NX)


def _canonical(path):
    path = path.split("?", 1)[0].rstrip("/")
    return path if path.startswith("/") else "/" + path


def _signed_by_seqpulse(request, secret):
    """HMAC v2: headers present, timestamp fresh, nonce unseen, signature right (constant time)."""
    h = request.headers
    ts, nonce, sig = (h.get("X-SeqPulse-" + n, "") for n in ("Timestamp", "Nonce", "Signature"))
    if not (ts and nonce and sig) or h.get("X-SeqPulse-Signature-Version") != "v2":
        return False
    try:
        sent = datetime.strptime(ts, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc).timestamp()
    except ValueError:
        return False
    now = time.time()
    if now - sent > MAX_PAST or sent - now > MAX_FUTURE:
        return False
    for seen, expiry in list(_seen_nonces.items()):
        if expiry < now:
            del _seen_nonces[seen]
    if nonce in _seen_nonces:
        return False
    method = (h.get("X-SeqPulse-Method") or request.method).upper()
    path = _canonical(h.get("X-SeqPulse-Canonical-Path") or request.path)
    payload = f"{ts}|{method}|{path}|{nonce}".encode()
    expected = "sha256=" + hmac.new(secret.encode(), payload, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected.encode(), sig.encode()):
        return False
    _seen_nonces[nonce] = now + MAX_PAST + MAX_FUTURE
    return True


@web.middleware
async def seqpulse_middleware(request, handler):
    if request.path == METRICS_PATH:
        return await handler(request)
    started, status = time.perf_counter(), 500  # an unhandled exception is answered 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as exc:
        status = exc.status
        raise
    finally:
        _window.record((time.perf_counter() - started) * 1000, status >= 500)


async def seqpulse_metrics(request):
    secret = os.environ.get("SEQPULSE_HMAC_SECRET")
    if secret and not _signed_by_seqpulse(request, secret):
        return web.json_response({"error": "unauthorized"}, status=401)
    return web.json_response({"metrics": _window.metrics()})


def setup_seqpulse(app):
    app.middlewares.append(seqpulse_middleware)
    app.router.add_get(METRICS_PATH, seqpulse_metrics)
'''

NODE = """\
// SeqPulse metrics for an Express app: `app.use(seqpulse())` before your routes measures every request
// and serves GET METRICS_PATH as SeqPulse reads it. With SEQPULSE_HMAC_SECRET set, only signed probes
// get an answer.
const crypto = require("node:crypto");
const os = require("node:os");

const METRICS_PATH = __PATH__;
const WINDOW_MS = 60_000; // SeqPulse reads one value per 60-second sequence
const MAX_PAST = 300, MAX_FUTURE = 30; // accepted age and clock lead of a signature, seconds

function seqpulse() {
  const requests = []; // [end time ms, latency ms, answered 5xx]
  const seenNonces = new Map(); // nonce -> expiry; one process only (replicas need a shared store)
  let cpuMark = { at: process.hrtime.bigint(), usage: process.cpuUsage() };

  const prune = (now) => { while (requests.length && requests[0][0] < now - WINDOW_MS) requests.shift(); };

  function signedBySeqPulse(req, secret) {
    const h = (name) => req.get(name) || "";
    const ts = h("X-SeqPulse-Timestamp"), nonce = h("X-SeqPulse-Nonce"), sig = h("X-SeqPulse-Signature");
    if (!ts || !nonce || !sig || h("X-SeqPulse-Signature-Version") !== "v2") return false;
    if (!/^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ$/.test(ts)) return false;
    const now = Date.now() / 1000, sent = Date.parse(ts) / 1000;
    if (!(now - sent <= MAX_PAST && sent - now <= MAX_FUTURE)) return false;
    for (const [seen, expiry] of seenNonces) if (expiry < now) seenNonces.delete(seen);
    if (seenNonces.has(nonce)) return false;
    let path = (h("X-SeqPulse-Canonical-Path") || req.path).split("?")[0].replace(/\\/+$/, "");
    if (!path.startsWith("/")) path = "/" + path;
    const method = (h("X-SeqPulse-Method") || req.method).toUpperCase();
    const expected = "sha256=" + crypto.createHmac("sha256", secret)
      .update(`${ts}|${method}|${path}|${nonce}`).digest("hex");
    const a = Buffer.from(expected), b = Buffer.from(sig);
    if (a.length !== b.length || !crypto.timingSafeEqual(a, b)) return false;
    seenNonces.set(nonce, now + MAX_PAST + MAX_FUTURE);
    return true;
  }

  function metrics() {
    prune(Date.now());
    const latencies = requests.map((r) => r[1]).sort((x, y) => x - y);
    const n = latencies.length;
    const at = process.hrtime.bigint(), usage = process.cpuUsage();
    const wallUs = Number(at - cpuMark.at) / 1000;
    const cpuUs = usage.user + usage.system - cpuMark.usage.user - cpuMark.usage.system;
    cpuMark = { at, usage };
    const limit = Number(process.env.SEQPULSE_MEMORY_LIMIT_BYTES) || os.totalmem();
    return {
      requests_per_sec: n / (WINDOW_MS / 1000),
      latency_p95: n ? latencies[Math.ceil(n * 0.95) - 1] : 0, // ms, nearest rank
      error_rate: n ? requests.filter((r) => r[2]).length / n : 0, // 0..1
      cpu_usage: wallUs > 0 ? Math.min(1, cpuUs / wallUs) : 0, // share of one core, 0..1
      memory_usage: Math.min(1, process.memoryUsage().rss / limit), // 0..1
    };
  }

  return (req, res, next) => {
    if (req.method === "GET" && req.path === METRICS_PATH) {
      const secret = process.env.SEQPULSE_HMAC_SECRET;
      if (secret && !signedBySeqPulse(req, secret)) return res.status(401).json({ error: "unauthorized" });
      return res.json({ metrics: metrics() });
    }
    const started = process.hrtime.bigint();
    res.on("finish", () => {
      const now = Date.now();
      prune(now);
      requests.push([now, Number(process.hrtime.bigint() - started) / 1e6, res.statusCode >= 500]);
    });
    return next();
  };
}

module.exports = { seqpulse };
"""

GITHUB = """\
jobs:
  deploy:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-python@v5
        with:
          python-version: "3.11"
      - name: Install the SeqPulse CLI
        run: |
          src="git+https://github.com/your-org/seqpulse.git@main"
          pip install "seqpulse-common @ $src#subdirectory=libs/common" \\
                      "seqpulse-analyzer @ $src#subdirectory=services/analyzer" \\
                      "seqpulse-cli @ $src#subdirectory=tools/cli"
      - name: Deploy, gated by SeqPulse
        env:
          SEQPULSE_BASE_URL: __BASE__
          SEQPULSE_API_KEY: ${{ secrets.SEQPULSE_API_KEY }}
          SEQPULSE_TOKEN: ${{ secrets.SEQPULSE_TOKEN }}
        run: |
          __RUN__
"""

GITLAB = """\
deploy:
  stage: deploy
  image: python:3.11
  variables:
    SEQPULSE_BASE_URL: __BASE__
    # SEQPULSE_API_KEY and SEQPULSE_TOKEN: masked CI/CD variables of the project
  before_script:
    - src="git+https://gitlab.com/your-org/seqpulse.git@main"
    - pip install "seqpulse-common @ $src#subdirectory=libs/common" \
"seqpulse-analyzer @ $src#subdirectory=services/analyzer" "seqpulse-cli @ $src#subdirectory=tools/cli"
  script:
    - __RUN__
  allow_failure:
    exit_codes: [30]  # "not enough data to decide": the job shows as a warning, the pipeline goes on
"""


def app_snippets(endpoint: str | None) -> list[Snippet]:
    # A JSON string is a valid Python and JavaScript string literal, whatever the path holds.
    path = json.dumps(metrics_path(endpoint))
    return [
        Snippet(
            "python",
            "Python (aiohttp)",
            "seqpulse_metrics.py",
            "Add the file to your app and call setup_seqpulse(app) where you build the application.",
            PYTHON.replace("__PATH__", path),
        ),
        Snippet(
            "node",
            "Node.js (Express)",
            "seqpulse-metrics.js",
            'Add the file to your app and call app.use(require("./seqpulse-metrics").seqpulse()) '
            "before your routes.",
            NODE.replace("__PATH__", path),
        ),
    ]


def ci_snippets(base_url: str, env: str, timeout: int) -> list[Snippet]:
    run = f"seqpulse run --env {env} --timeout {timeout} -- ./deploy.sh"
    fill = {"__BASE__": base_url, "__RUN__": run}

    def filled(template: str) -> str:
        for placeholder, value in fill.items():
            template = template.replace(placeholder, value)
        return template

    return [
        Snippet(
            "github",
            "GitHub Actions",
            ".github/workflows/deploy.yml",
            "Add the secrets SEQPULSE_API_KEY (this project's key) and SEQPULSE_TOKEN (a read-only "
            "token) to the repository, then replace ./deploy.sh with your deploy command.",
            filled(GITHUB),
        ),
        Snippet(
            "gitlab",
            "GitLab CI",
            ".gitlab-ci.yml",
            "Add SEQPULSE_API_KEY and SEQPULSE_TOKEN as masked CI/CD variables, then replace "
            "./deploy.sh with your deploy command.",
            filled(GITLAB),
        ),
    ]
