"""Services as child processes: start with an environment, wait for readiness, read RSS, stop."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import aiohttp

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def console_script(name: str) -> str:
    """A console script of the virtual environment we run in (`seqpulse-gateway`, …)."""
    path = BIN / name
    if not path.is_file():
        raise RuntimeError(f"{path} not found: run `make venv` first")
    return str(path)


def spawn(argv: list[str], *, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """Start `argv` from the repository root with `env` on top of ours; output goes to `log`."""
    with open(log, "ab") as out:  # the child keeps its own descriptor
        return subprocess.Popen(
            argv, cwd=REPO, env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT
        )


async def wait_ready(url: str, proc: subprocess.Popen[bytes], *, timeout: float = 30.0) -> float:
    """Poll `url` until it answers 200; returns the seconds it took. Fails if the process exits."""
    started = time.monotonic()
    async with aiohttp.ClientSession() as http:
        while time.monotonic() - started < timeout:
            if proc.poll() is not None:
                raise RuntimeError(f"{proc.args!r} exited with code {proc.returncode} before {url} was ready")
            try:
                async with http.get(url, timeout=aiohttp.ClientTimeout(total=2)) as response:
                    if response.status == 200:
                        return time.monotonic() - started
            except (aiohttp.ClientError, TimeoutError):
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError(f"{url} did not answer 200 within {timeout:.0f} s")


def rss_mib(pid: int) -> float:
    """Resident set size (VmRSS) of a process, in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


def running(proc: subprocess.Popen[bytes] | None) -> int:
    """The pid of a server the bench started."""
    if proc is None or proc.poll() is not None:
        raise RuntimeError("the server is not running")
    return proc.pid


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    # Split after the command name, index 0 is field 3 of proc(5): utime (14) and stime (15) are 11, 12.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def tree_cpu_seconds(pid: int) -> float:
    """CPU time of a process and its live children (Postgres: the postmaster and its backends)."""
    total = cpu_seconds(pid)
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == pid:
                total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, IndexError, ValueError):
            continue  # the process exited while we looked
    return total


def stop(proc: subprocess.Popen[bytes], *, timeout: float = 15.0) -> None:
    """SIGTERM (the services drain on it), then SIGKILL if it does not exit in time."""
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)
