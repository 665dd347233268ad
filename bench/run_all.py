"""`make bench`: run every benchmark in its own process and write their figures to
`bench/results/latest.json`.

`python -m bench.run_all [--only job_start_lag verdict_latency ...]`
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.procs import REPO
from bench.report import RESULT_PREFIX

BENCHES = (
    "job_start_lag",
    "verdict_latency",
    "trigger_throughput",
    "service_rss",
    "events_latency",
    "ingest_throughput",
    "founder_view",
)
# Sizes that keep each benchmark within the time limit; run a module alone for its full size
# (`python -m bench.founder_view` seeds 10 million events: about ten minutes on 2 cores).
ARGS = {"founder_view": ["--events", "1000000", "--rounds", "5"]}
RESULTS = Path(__file__).parent / "results" / "latest.json"
TIME_LIMIT = 300.0  # per benchmark; each is meant to take about a minute at most


def machine() -> dict[str, Any]:
    model = ""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "python": platform.python_version(),
        "kernel": platform.release(),
    }


def run_one(name: str) -> tuple[dict[str, Any] | None, float, int]:
    """Run `python -m bench.<name>`, echoing its output; returns its RESULT figures, seconds, exit code."""
    started = time.monotonic()
    result: dict[str, Any] | None = None
    with subprocess.Popen(
        [sys.executable, "-m", f"bench.{name}", *ARGS.get(name, [])],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    ) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            print(line, end="", flush=True)
            if line.startswith(RESULT_PREFIX):
                result = json.loads(line[len(RESULT_PREFIX) :])
            if time.monotonic() - started > TIME_LIMIT:
                proc.kill()
                print(f"[bench] {name}: over {TIME_LIMIT:.0f} s, killed", flush=True)
                break
        code = proc.wait()
    return result, time.monotonic() - started, code


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.run_all", description=__doc__)
    parser.add_argument("--only", nargs="+", choices=BENCHES, help="run only these benchmarks")
    parser.add_argument("--output", type=Path, default=RESULTS, help="where to write the JSON figures")
    args = parser.parse_args()
    report: dict[str, Any] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "results": {},
        "seconds": {},
        "failed": [],
    }
    for name in args.only or BENCHES:
        print(f"\n[bench] {name}", flush=True)
        result, seconds, code = run_one(name)
        report["seconds"][name] = round(seconds, 1)
        if result is None or code != 0:
            report["failed"].append(name)
            print(f"[bench] {name} failed (exit code {code})", flush=True)
        else:
            report["results"][name] = result
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2, sort_keys=True) + "\n")
    print(f"\n[bench] figures written to {args.output}", flush=True)
    if report["failed"]:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
