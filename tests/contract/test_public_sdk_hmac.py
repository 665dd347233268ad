"""The public SDK (PyPI seqpulse==0.4.1) accepts what our signer produces and rejects what it should."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from seqpulse.common.hmac_v2 import compute_signature, signed_headers

REPO = Path(__file__).resolve().parents[2]
SECRET = "spm_contract_secret"

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


def run_public_sdk(sdk_dir: Path, cases: list[dict[str, Any]], vector: dict[str, str]) -> dict[str, Any]:
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


def test_public_sdk_accepts_our_signed_headers_and_rejects_a_tampered_path_and_a_replay(
    public_sdk_dir: Path,
) -> None:
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
        public_sdk_dir, [case(signed), case(double_slash, path="/a//"), case(tampered), case(signed)], vector
    )

    accepted, accepted_double_slash, rejected_tampered, replayed = outcome["results"]
    assert accepted == [True, None]
    assert accepted_double_slash == [True, None]
    assert rejected_tampered == [False, "Invalid signature"]
    assert replayed == [False, "Nonce reuse"]
    # The SDK's own signer and ours agree byte for byte on a fixed vector.
    assert outcome["vector"] == compute_signature(SECRET, canonical_path="/ds-metrics", **vector)
