"""The public SDK (PyPI seqpulse==0.4.1) accepts what our signer produces and rejects what it should."""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from seqpulse.common.hmac_v2 import compute_signature, signed_headers

REPO = Path(__file__).resolve().parents[2]
SDK_DIR = REPO / ".run" / "public-sdk"
SDK_REQUIREMENTS = ["seqpulse==0.4.1", "starlette", "psutil"]
SDK_MARKER = "seqpulse-0.4.1.dist-info"
SECRET = "spm_contract_secret"
INSTALL_TIMEOUT_SECONDS = 90

# Runs inside a separate interpreter whose path starts with SDK_DIR: the SDK's top-level `seqpulse` module
# would shadow our `seqpulse.*` namespace package, so it must never be imported into this process.
SDK_SCRIPT = r"""
import json, sys
from types import SimpleNamespace
import seqpulse
from seqpulse import SeqPulse

assert seqpulse.__file__.startswith(sys.argv[1]), seqpulse.__file__
spec = json.load(sys.stdin)
sdk = SeqPulse(hmac_enabled=True, hmac_secret=spec["secret"])
results = []
for case in spec["cases"]:
    request = SimpleNamespace(
        headers=case["headers"], method=case["method"], url=SimpleNamespace(path=case["path"])
    )
    results.append(list(sdk._validate_hmac_request(request)))
vector = sdk._build_signature(path="/ds-metrics", **spec["vector"])
json.dump({"results": results, "vector": vector}, sys.stdout)
"""


def _installer() -> list[str]:
    python = sys.executable
    probe = subprocess.run([python, "-m", "uv", "--version"], capture_output=True, check=False)
    if probe.returncode == 0:
        return [python, "-m", "uv", "pip", "install", "--python", python, "--target"]
    uv = shutil.which("uv")
    if uv is not None:
        return [uv, "pip", "install", "--python", python, "--target"]
    return [python, "-m", "pip", "install", "--disable-pip-version-check", "--target"]


# A cached plain function rather than a fixture: a failed install must fail the test, not error it.
@functools.cache
def public_sdk_dir() -> Path:
    """The public SDK installed once, outside our venv, into .run/public-sdk."""
    if (SDK_DIR / SDK_MARKER).is_dir():
        return SDK_DIR
    # Install beside the final place and rename, so an interrupted install never looks complete.
    staging = SDK_DIR.with_name(f"public-sdk.staging-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    staging.parent.mkdir(parents=True, exist_ok=True)
    command = [*_installer(), str(staging), *SDK_REQUIREMENTS]
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=INSTALL_TIMEOUT_SECONDS, check=False
    )
    if done.returncode != 0 or not (staging / SDK_MARKER).is_dir():
        shutil.rmtree(staging, ignore_errors=True)
        raise AssertionError(
            f"could not install the public SDK with {command}:\n{done.stdout}\n{done.stderr}"
        )
    shutil.rmtree(SDK_DIR, ignore_errors=True)
    staging.rename(SDK_DIR)
    return SDK_DIR


def run_public_sdk(cases: list[dict[str, Any]], vector: dict[str, str]) -> dict[str, Any]:
    sdk_dir = public_sdk_dir()
    done = subprocess.run(
        [sys.executable, "-c", SDK_SCRIPT, str(sdk_dir)],
        input=json.dumps({"secret": SECRET, "cases": cases, "vector": vector}),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "PYTHONPATH": str(sdk_dir)},
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def case(headers: dict[str, str], path: str = "/seqpulse-metrics") -> dict[str, Any]:
    return {"headers": headers, "method": "GET", "path": path}


def test_public_sdk_accepts_our_signed_headers_and_rejects_a_tampered_path_and_a_replay() -> None:
    now = datetime.now(UTC)
    signed = signed_headers(
        SECRET, "https://app.example.com/seqpulse-metrics/?probe=1#x", project_id="project-123", now=now
    )
    # The SDK canonicalises the received path twice; our signer must land on its fixed point.
    double_slash = signed_headers(SECRET, "https://app.example.com/a//", project_id=None, now=now)
    tampered = signed_headers(SECRET, "/seqpulse-metrics", project_id=None, now=now)
    tampered["X-SeqPulse-Canonical-Path"] = "/admin"
    vector = {"timestamp": "2026-02-13T12:00:00Z", "method": "GET", "nonce": "nonce-a"}

    outcome = run_public_sdk(
        [case(signed), case(double_slash, path="/a//"), case(tampered), case(signed)], vector
    )

    accepted, accepted_double_slash, rejected_tampered, replayed = outcome["results"]
    assert accepted == [True, None]
    assert accepted_double_slash == [True, None]
    assert rejected_tampered == [False, "Invalid signature"]
    assert replayed == [False, "Nonce reuse"]
    # The SDK's own signer and ours agree byte for byte on a fixed vector.
    assert outcome["vector"] == compute_signature(SECRET, canonical_path="/ds-metrics", **vector)
