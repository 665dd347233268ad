"""Demo app settings, read from command-line options with environment-variable defaults."""

from __future__ import annotations

import argparse
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from seqpulse.common.hmac_v2 import canonicalize_path

MIB = 1024 * 1024
RESERVED_PATHS = frozenset({"/admin", "/api/work"})


@dataclass(frozen=True, slots=True)
class DemoAppSettings:
    """Everything the demo app needs; the defaults match the public SDK where it has one."""

    host: str = "127.0.0.1"
    port: int = 8090
    rps: float = 20.0
    window_seconds: float = 60.0
    metrics_path: str = "/seqpulse-metrics"
    memory_limit_bytes: int = 512 * MIB
    hmac_secret: str | None = None
    hmac_max_skew_past: int = 300
    hmac_max_skew_future: int = 30

    def __post_init__(self) -> None:
        if not 0 <= self.port <= 65535:
            raise ValueError(f"port must be in 0..65535, got {self.port}")
        if not (math.isfinite(self.rps) and self.rps >= 0):
            raise ValueError(f"rps must be a finite number >= 0, got {self.rps}")
        if not (math.isfinite(self.window_seconds) and self.window_seconds > 0):
            raise ValueError(f"window_seconds must be a finite number > 0, got {self.window_seconds}")
        if self.memory_limit_bytes <= 0:
            raise ValueError("memory_limit_bytes must be > 0")
        if self.hmac_max_skew_past < 0 or self.hmac_max_skew_future < 0:
            raise ValueError("HMAC skews must be >= 0")
        # Normalised once here so routing and the HMAC path agree on one spelling.
        path = canonicalize_path(self.metrics_path)
        if path in RESERVED_PATHS or path.startswith("/admin/"):
            raise ValueError(f"metrics_path {path} collides with the app's own routes")
        object.__setattr__(self, "metrics_path", path)


def load_settings(
    argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None
) -> DemoAppSettings:
    """Build settings from ``argv`` (default: ``sys.argv``), falling back to ``environ`` then defaults."""
    env = os.environ if environ is None else environ
    defaults = DemoAppSettings()
    parser = argparse.ArgumentParser(
        prog="seqpulse-demo-app",
        description="Demo app that generates its own traffic and exposes SeqPulse metrics.",
    )
    # String defaults go through `type` like typed-in values, so a bad environment variable is reported
    # as a usage error instead of a traceback.
    parser.add_argument("--host", default=env.get("SEQPULSE_DEMO_HOST", defaults.host))
    parser.add_argument(
        "--port",
        type=int,
        default=env.get("SEQPULSE_DEMO_PORT", str(defaults.port)),
        help="0 picks a free port and prints it as a JSON line on stdout",
    )
    parser.add_argument(
        "--rps",
        type=float,
        default=env.get("SEQPULSE_DEMO_RPS", str(defaults.rps)),
        help="self-generated requests per second (Poisson arrivals); 0 disables the generator",
    )
    parser.add_argument(
        "--window-seconds",
        type=float,
        default=env.get("SEQPULSE_DEMO_WINDOW_SECONDS", str(defaults.window_seconds)),
        help="sliding window the metrics are computed over",
    )
    parser.add_argument(
        "--metrics-path", default=env.get("SEQPULSE_DEMO_METRICS_PATH", defaults.metrics_path)
    )
    parser.add_argument(
        "--memory-limit-mib",
        type=float,
        default=env.get("SEQPULSE_DEMO_MEMORY_LIMIT_MIB", str(defaults.memory_limit_bytes // MIB)),
        help="denominator of memory_usage",
    )
    args = parser.parse_args(argv)
    try:
        return DemoAppSettings(
            host=args.host,
            port=args.port,
            rps=args.rps,
            window_seconds=args.window_seconds,
            metrics_path=args.metrics_path,
            memory_limit_bytes=int(args.memory_limit_mib * MIB),
            # The secret is deliberately not a CLI option: argv is visible to every user of the host.
            hmac_secret=env.get("SEQPULSE_HMAC_SECRET") or None,
            hmac_max_skew_past=int(env.get("SEQPULSE_HMAC_MAX_SKEW_PAST", defaults.hmac_max_skew_past)),
            hmac_max_skew_future=int(env.get("SEQPULSE_HMAC_MAX_SKEW_FUTURE", defaults.hmac_max_skew_future)),
        )
    except (ValueError, OverflowError) as exc:
        parser.error(str(exc))
