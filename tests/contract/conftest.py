"""Contract fixtures: the public `seqpulse` client from PyPI, installed outside our virtual environment."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SDK_DIR = REPO / ".run" / "public-sdk"
SDK_REQUIREMENTS = ("seqpulse==0.4.1", "starlette", "psutil")
SDK_MARKER = "seqpulse-0.4.1.dist-info"
INSTALL_TIMEOUT_SECONDS = 180


def _installer() -> list[str]:
    """uv as a module if the interpreter has it, else the uv binary, else pip."""
    python = sys.executable
    if subprocess.run([python, "-m", "uv", "--version"], capture_output=True, check=False).returncode == 0:
        return [python, "-m", "uv", "pip", "install", "--python", python, "--target"]
    uv = shutil.which("uv")
    if uv is not None:
        return [uv, "pip", "install", "--python", python, "--target"]
    return [python, "-m", "pip", "install", "--disable-pip-version-check", "--target"]


@pytest.fixture(scope="session")
def public_sdk_dir() -> Path:
    """A directory to put on PYTHONPATH of a subprocess, never on ours.

    The PyPI package's top-level `seqpulse` module would shadow our `seqpulse.*` namespace, so it is
    installed with `--target` into `.run/public-sdk` (reused between runs) and only run in subprocesses.
    """
    if (SDK_DIR / SDK_MARKER).is_dir():
        return SDK_DIR
    # Install beside the final place, then rename: an interrupted install never looks complete.
    staging = SDK_DIR.with_name(f"public-sdk.staging-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    staging.parent.mkdir(parents=True, exist_ok=True)
    command = [*_installer(), str(staging), *SDK_REQUIREMENTS]
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=INSTALL_TIMEOUT_SECONDS, check=False
    )
    if done.returncode != 0 or not (staging / SDK_MARKER).is_dir():
        shutil.rmtree(staging, ignore_errors=True)
        pytest.fail(f"could not install the public SDK with {command}:\n{done.stdout}\n{done.stderr}")
    if not (SDK_DIR / SDK_MARKER).is_dir():  # another test module may have installed it meanwhile
        shutil.rmtree(SDK_DIR, ignore_errors=True)
        staging.rename(SDK_DIR)
    else:
        shutil.rmtree(staging, ignore_errors=True)
    return SDK_DIR
