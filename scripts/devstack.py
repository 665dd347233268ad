"""`make run`: the whole SeqPulse stack on this machine, with a demo, stopped cleanly on Ctrl-C."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg

from seqpulse.common.bus import Bus
from seqpulse.common.config import CommonSettings
from seqpulse.common.db.migrate import migrate
from seqpulse.common.devstack import NatsServer, PostgresServer

REPO = Path(__file__).resolve().parent.parent
RUN = REPO / ".run"
GEOIP_TEST_DB = REPO / "data" / "geoip" / "GeoLite2-Country-Test.mmdb"
BIN = Path(sys.executable).parent
DEMO_EMAIL = "admin@seqpulse.local"


def log(message: str) -> None:
    print(f"[seqpulse] {message}", flush=True)


class Stack:
    """Servers and services started by this script, stopped in reverse order."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.servers: list[NatsServer | PostgresServer] = []
        self.procs: list[tuple[str, subprocess.Popen[bytes]]] = []
        (RUN / "logs").mkdir(parents=True, exist_ok=True)

    def start_servers(self) -> tuple[str, str]:
        nats_url = os.environ.get("NATS_URL")
        if not nats_url:
            nats = NatsServer(
                store_dir=RUN / "nats", port=self.args.nats_port, log_file=RUN / "logs/nats.log"
            )
            self.servers.append(nats.start())
            nats_url = nats.url
            log(f"NATS JetStream on {nats_url} (data in .run/nats)")
        database_url = os.environ.get("DATABASE_URL")
        if not database_url:
            pg = PostgresServer(data_dir=RUN / "postgres", port=self.args.pg_port)
            self.servers.append(pg.start())
            database_url = pg.dsn_for("seqpulse")
            log(f"PostgreSQL on 127.0.0.1:{pg.port} (data in .run/postgres)")
            asyncio.run(create_database(pg.dsn, "seqpulse"))
        return nats_url, database_url

    def spawn(self, name: str, argv: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        with open(RUN / "logs" / f"{name}.log", "ab") as out:  # the child keeps its own descriptor
            proc = subprocess.Popen(argv, env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT)  # noqa: S603
        self.procs.append((name, proc))
        return proc

    def stop(self) -> None:
        for _name, proc in reversed(self.procs):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for name, proc in reversed(self.procs):
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                log(f"{name} did not stop in 15 s; killing it")
                proc.kill()
        for server in reversed(self.servers):
            server.stop()
        log("stopped")

    def check_alive(self) -> None:
        for name, proc in self.procs:
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited with code {proc.returncode}; see .run/logs/{name}.log")


async def create_database(admin_dsn: str, name: str) -> None:
    conn = await asyncpg.connect(admin_dsn)
    try:
        if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


async def prepare(database_url: str, nats_url: str, prefix: str) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        applied = await migrate(conn)
        log("migrations: " + (", ".join(applied) if applied else "up to date"))
    finally:
        await conn.close()
    bus = await Bus.connect(nats_url, prefix, name="seqpulse-devstack")
    try:
        await bus.apply()
        log("streams and consumers declared")
    finally:
        await bus.close()


def secret_key() -> str:
    path = RUN / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


async def wait_http(url: str, proc_check: Any, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            proc_check()
            try:
                async with http.get(url, timeout=aiohttp.ClientTimeout(total=2)) as response:
                    if response.status == 200:
                        return
            except (aiohttp.ClientError, TimeoutError):
                pass
            await asyncio.sleep(0.2)
    raise RuntimeError(f"{url} did not answer 200 within {timeout:.0f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--gateway-port", type=int, default=int(os.environ.get("SEQPULSE_GATEWAY_PORT", "8080"))
    )
    parser.add_argument("--nats-port", type=int, default=int(os.environ.get("SEQPULSE_NATS_PORT", "4222")))
    parser.add_argument("--pg-port", type=int, default=int(os.environ.get("SEQPULSE_PG_PORT", "5433")))
    parser.add_argument(
        "--sequence-seconds", type=int, default=int(os.environ.get("SEQPULSE_SEQUENCE_SECONDS", "3"))
    )
    parser.add_argument("--no-demo", action="store_true", help="start the stack without running the demo")
    parser.add_argument("--exit-after-demo", action="store_true", help="stop once the demo verdicts are in")
    args = parser.parse_args()

    stack = Stack(args)

    def on_signal(_signum: int, _frame: Any) -> None:
        # Unwinds whatever runs (start-up, the demo, the idle loop) into the `finally` that stops the stack.
        raise KeyboardInterrupt

    # SIGINT explicitly: a shell starting us in the background leaves it ignored; Ctrl-C must still stop us.
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        nats_url, database_url = stack.start_servers()
        prefix = os.environ.get("SEQPULSE_BUS_PREFIX", "seqpulse")
        asyncio.run(prepare(database_url, nats_url, prefix))
        env = {
            "DATABASE_URL": database_url,
            "NATS_URL": nats_url,
            "SEQPULSE_BUS_PREFIX": prefix,
            "SEQPULSE_SECRET_KEY": secret_key(),
            "SEQPULSE_SEQUENCE_SECONDS": str(args.sequence_seconds),
            "SEQPULSE_GATEWAY_PORT": str(args.gateway_port),
            "SEQPULSE_PUBLIC_BASE_URL": f"http://127.0.0.1:{args.gateway_port}",
            # MaxMind's test database: it knows only a few test networks, which the demo's sample events
            # come from (set SEQPULSE_GEOIP_DB to a GeoLite2-Country database for real countries).
            "SEQPULSE_GEOIP_DB": os.environ.get("SEQPULSE_GEOIP_DB", str(GEOIP_TEST_DB)),
            "SEQPULSE_TRUSTED_PROXIES": os.environ.get("SEQPULSE_TRUSTED_PROXIES", "127.0.0.1/32,::1/128"),
        }
        gateway = stack.spawn("gateway", [str(BIN / "seqpulse-gateway")], env)
        stack.spawn("collector", [str(BIN / "seqpulse-collector")], {**env, "SEQPULSE_HEALTH_PORT": "8081"})
        stack.spawn("analyzer", [str(BIN / "seqpulse-analyzer")], {**env, "SEQPULSE_HEALTH_PORT": "8082"})
        stack.spawn("ingest", [str(BIN / "seqpulse-ingest")], {**env, "SEQPULSE_HEALTH_PORT": "8083"})
        demo_env = {"SEQPULSE_DEMO_WINDOW_SECONDS": str(args.sequence_seconds), "SEQPULSE_DEMO_RPS": "60"}
        stack.spawn("demo-app-checkout", [str(BIN / "seqpulse-demo-app"), "--port", "8090"], demo_env)
        stack.spawn("demo-app-payments", [str(BIN / "seqpulse-demo-app"), "--port", "8091"], demo_env)
        base = f"http://127.0.0.1:{args.gateway_port}"
        asyncio.run(wait_http(f"{base}/readyz", stack.check_alive))
        del gateway
        log(f"gateway ready on {base}")
        if not args.no_demo:
            from scripts.demo import run_demo

            # The gateway's own settings: the demo admin's sign-up goes through its outbox.
            settings = CommonSettings(
                DATABASE_URL=database_url, bus_prefix=prefix, secret_key=env["SEQPULSE_SECRET_KEY"]
            )
            info = asyncio.run(run_demo(base, settings, stack.check_alive, log, args.sequence_seconds))
            (RUN / "demo.json").write_text(json.dumps(info, indent=2))
            print_summary(info)
        if args.exit_after_demo:
            return
        log("running; press Ctrl-C to stop")
        while True:
            time.sleep(0.5)
            stack.check_alive()
    except KeyboardInterrupt:
        pass
    finally:
        stack.stop()


def print_summary(info: dict[str, Any]) -> None:
    print()
    print("  SeqPulse is running")
    print(f"  Dashboard         {info['base_url']}/app  (Founder View: {info['base_url']}/app/founder)")
    print(f"  Sign in as        {info['email']}  /  {info['password']}")
    print(f"  API               {info['base_url']}  (operations listed at /docs)")
    print(f"  API token         {info['token']}")
    for project in info["projects"]:
        print(f"  Project           {project['name']}  (api key {project['api_key']})")
    for deployment in info["deployments"]:
        print(f"  Deployment        {deployment['label']}: {deployment['verdict']} — {deployment['summary']}")
        print(f"                    {info['base_url']}/app/deployments/{deployment['id']}")
    print("  Written to .run/demo.json; logs in .run/logs/")
    print()


if __name__ == "__main__":
    main()
