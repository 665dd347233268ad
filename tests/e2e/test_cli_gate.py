"""The `seqpulse` console script as CI runs it, against the in-process stack: run, wait, and docs/ci.md."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shlex
import socket
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from seqpulse.cli.__main__ import build_parser
from seqpulse.common.db.pool import Pool
from seqpulse.gateway.admin import create_token
from tests.e2e.conftest import Stack

pytestmark = [pytest.mark.e2e, pytest.mark.nats, pytest.mark.postgres]

SEQPULSE = str(Path(sys.executable).parent / "seqpulse")
DOC = Path(__file__).resolve().parents[2] / "docs" / "ci.md"
# Variables of the machine running the suite that would change what the CLI infers or where it goes.
FOREIGN = ("SEQPULSE_", "GITHUB_", "GITLAB_", "CI_", "CIRCLE", "BUILD_", "BRANCH_NAME", "JENKINS_")
ANY_ID = "0b7f6c3e-6a52-4d2b-9a51-3c1f3f0c2a10"


@dataclass(frozen=True)
class Done:
    code: int
    stdout: str
    stderr: str


async def cli(*argv: str, env: dict[str, str], cwd: Path | None = None, timeout: float = 90) -> Done:
    """The console script in a subprocess: the in-process servers keep serving while it runs."""
    proc = await asyncio.create_subprocess_exec(
        *argv, env=env, cwd=cwd, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise
    assert proc.returncode is not None
    return Done(proc.returncode, out.decode(), err.decode())


def clean_env(**extra: str) -> dict[str, str]:
    return {**{k: v for k, v in os.environ.items() if not k.startswith(FOREIGN)}, **extra}


@pytest.fixture
async def gate_env(stack: Stack, pool: Pool) -> dict[str, str]:
    """A healthy project, its API key and a read-only token of its owner, as CI would hold them."""
    project = await stack.project("shop", hmac=False)
    token = await create_token(pool, email="ops@example.test", name="ci", scopes=["read"])
    return clean_env(
        SEQPULSE_BASE_URL=stack.base,
        SEQPULSE_API_KEY=project["api_key"],
        SEQPULSE_TOKEN=token.token,
        SEQPULSE_PROJECT_ID=project["id"],  # for the assertions only; the CLI ignores it
    )


async def latest_deployment(stack: Stack, project_id: str) -> dict[str, Any]:
    listing = await stack.call("GET", f"/deployments?project_id={project_id}", headers=stack.auth)
    return await stack.call("GET", f"/deployments/{listing['items'][0]['id']}", headers=stack.auth)


async def test_run_on_a_healthy_app_exits_0_or_30_and_names_the_verdict(
    stack: Stack, gate_env: dict[str, str]
) -> None:
    done = await cli(
        SEQPULSE, "run", "--env", "prod", "--interval", "0.2", "--timeout", "60", "--", "true", env=gate_env
    )
    # In-process traffic is small: the default policy may honestly say it cannot decide (30).
    assert done.code in (0, 30), done
    expected = "SeqPulse verdict: ok" if done.code == 0 else "SeqPulse verdict: warning (not enough data"
    assert done.stdout.startswith(expected), done
    deployment = await latest_deployment(stack, gate_env["SEQPULSE_PROJECT_ID"])
    assert deployment["pipeline_result"] == "success" and deployment["verdict"] is not None
    assert f"{stack.base}/deployments/{deployment['id']}" in done.stdout
    assert "sequence " in done.stderr  # the progress line, one per change without a terminal


async def test_run_of_a_regressing_deploy_exits_20_with_one_json_object(
    stack: Stack, gate_env: dict[str, str]
) -> None:
    # The deploy command injects the regression, as a bad release would; its stdout goes to stderr.
    deploy = (
        "import os, urllib.request;"
        "request = urllib.request.Request(os.environ['DEMO'] + '/admin/regression', method='PUT',"
        " data=b'{\"kind\": \"errors\", \"magnitude\": 0.3}', headers={'Content-Type': 'application/json'});"
        "urllib.request.urlopen(request, timeout=10).read();"
        "print('deployed', os.environ['SEQPULSE_DEPLOYMENT_ID'])"
    )
    env = {**gate_env, "DEMO": stack.demo}
    done = await cli(
        SEQPULSE,
        "run",
        "--env",
        "prod",
        "--json",
        "--interval",
        "0.2",
        "--",
        sys.executable,
        "-c",
        deploy,
        env=env,
    )
    assert done.code == 20, done
    result = json.loads(done.stdout)  # exactly one JSON object: nothing else on stdout
    assert result["outcome"] == "rollback_recommended" and result["exit_code"] == 20
    assert result["command_exit_code"] == 0
    assert result["verdict"]["verdict"] == "rollback_recommended"
    assert any(h["severity"] == "critical" for h in result["hints"])
    assert f"deployed {result['deployment_id']}" in done.stderr


async def test_a_failed_deploy_command_is_finished_as_failed_and_never_exits_0(
    stack: Stack, gate_env: dict[str, str]
) -> None:
    done = await cli(
        SEQPULSE, "run", "--env", "prod", "--interval", "0.2", "--", "sh", "-c", "exit 7", env=gate_env
    )
    assert done.code in (7, 30), done  # the command's status when the verdict is ok
    deployment = await latest_deployment(stack, gate_env["SEQPULSE_PROJECT_ID"])
    assert deployment["pipeline_result"] == "failed"
    assert "the deploy command failed (exit 7)" in done.stdout


async def test_sigterm_during_the_deploy_reaches_the_command_and_finishes_the_deployment_as_failed(
    stack: Stack, gate_env: dict[str, str]
) -> None:
    proc = await asyncio.create_subprocess_exec(
        SEQPULSE,
        "run",
        "--env",
        "prod",
        "--",
        "sh",
        "-c",
        "echo started; exec sleep 60",
        env=gate_env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None
    try:
        line = await asyncio.wait_for(proc.stdout.readline(), 30)
        assert line == b"started\n"
        proc.terminate()  # SIGTERM to `seqpulse` alone, as a CI runner cancelling the job may send it
        out, err = await asyncio.wait_for(proc.communicate(), 30)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode == 128 + 15, (out, err)
    assert b"finished as failed" in err
    deployment = await latest_deployment(stack, gate_env["SEQPULSE_PROJECT_ID"])
    assert deployment["pipeline_result"] == "failed" and deployment["state"] != "running"


async def test_a_refused_api_key_exits_2_with_the_problem_detail_and_deploys_nothing(
    gate_env: dict[str, str], tmp_path: Path
) -> None:
    marker = tmp_path / "deployed"
    env = {**gate_env, "SEQPULSE_API_KEY": "SP_" + "0" * 32}
    done = await cli(SEQPULSE, "run", "--env", "prod", "--", "touch", str(marker), env=env)
    assert done.code == 2, done
    assert "HTTP 401: Invalid API key" in done.stdout
    assert not marker.exists()


@pytest.fixture
def dead_url() -> Iterator[str]:
    """A local port bound but not listening: connections are refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"


@pytest.mark.parametrize(("flags", "expected"), [((), 3), (("--fail-open",), 0)])
async def test_wait_on_an_unreachable_seqpulse_exits_3_or_0_with_fail_open(
    dead_url: str, flags: tuple[str, ...], expected: int
) -> None:
    env = clean_env(SEQPULSE_BASE_URL=dead_url, SEQPULSE_TOKEN="spt_unused")
    done = await cli(SEQPULSE, "wait", ANY_ID, "--timeout", "2", *flags, env=env, timeout=15)
    assert done.code == expected, done
    assert "unreachable" in done.stdout
    assert ("--fail-open" in done.stdout) is bool(flags)


# docs/ci.md: the snippets between `<!-- ci-snippet:NAME -->` and `<!-- /ci-snippet -->`.
SNIPPET = re.compile(r"<!-- ci-snippet:(\w+) -->\s*```\w+\n(.*?)```\s*<!-- /ci-snippet -->", re.S)
EXPRESSION = re.compile(r"\$\{\{\s*([\w.]+)\s*\}\}")


def snippets() -> dict[str, str]:
    return dict(SNIPPET.findall(DOC.read_text(encoding="utf-8")))


@dataclass
class Step:
    env: dict[str, str]
    run: str


def github_steps(yaml: str) -> list[Step]:
    """The steps of the snippet's job: the YAML subset the snippet uses (`env:` maps, `run: |` blocks)."""
    steps: list[Step] = []
    lines = yaml.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if re.match(r"\s*- (name|uses):", line):
            steps.append(Step({}, ""))
        key = re.match(r"(\s*)(?:- )?(env|run):\s*(.*)$", line)
        if key and steps:
            indent, name, inline = len(key.group(1)), key.group(2), key.group(3)
            block: list[str] = []
            while i + 1 < len(lines) and (
                not lines[i + 1].strip() or len(lines[i + 1]) - len(lines[i + 1].lstrip()) > indent
            ):
                i += 1
                block.append(lines[i])
            if name == "run":
                steps[-1].run = (
                    inline + "\n" if inline and inline != "|" else "\n".join(b.strip() for b in block) + "\n"
                )
            else:
                pairs = (b.strip().split(":", 1) for b in block if b.strip())
                steps[-1].env = {k.strip(): v.strip() for k, v in pairs}
        i += 1
    return steps


def test_every_seqpulse_command_in_the_snippets_parses() -> None:
    found = snippets()
    assert set(found) == {"github", "gitlab", "steps"}
    # A command starts a line, a YAML list item or a `$(…)`; comments are left out.
    command = re.compile(r"^\s*(?:- |\w+=\$\()?(seqpulse \S[^)#\n]*)", re.M)
    lines = [m.group(1) for text in found.values() for m in command.finditer(text)]
    shell = {"$id": ANY_ID, "$result": "failed"}  # the script's variables, as the shell would expand them
    commands = [[shell.get(word, word) for word in shlex.split(line)[1:]] for line in lines]
    assert sorted(argv[0] for argv in commands) == ["finish", "run", "run", "trigger", "wait"], lines
    for argv in commands:
        args = build_parser().parse_args(argv)  # a flag the CLI no longer has fails here
        if argv[0] == "run":
            assert args.command[1:] == ["./deploy.sh"], argv


async def test_the_separate_steps_of_docs_ci_md_trigger_finish_and_wait(
    stack: Stack, gate_env: dict[str, str], tmp_path: Path
) -> None:
    deploy = tmp_path / "deploy.sh"
    deploy.write_text("#!/bin/sh\necho deploying\n")
    deploy.chmod(0o755)
    script = snippets()["steps"].replace("seqpulse wait", "seqpulse wait --interval 0.2")
    env = {**gate_env, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    done = await cli("bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script, env=env, cwd=tmp_path)
    assert done.code in (0, 30), done
    assert "SeqPulse verdict:" in done.stdout and "accepted: Deployment finished." in done.stdout
    deployment = await latest_deployment(stack, gate_env["SEQPULSE_PROJECT_ID"])
    assert deployment["pipeline_result"] == "success" and deployment["verdict"] is not None
    assert deployment["branch"] is None  # no CI here: nothing to infer


async def test_the_github_actions_step_of_docs_ci_md_gates_a_deploy(
    stack: Stack, gate_env: dict[str, str], tmp_path: Path
) -> None:
    (step,) = [s for s in github_steps(snippets()["github"]) if "seqpulse run" in s.run]
    context = {
        "vars.SEQPULSE_BASE_URL": gate_env["SEQPULSE_BASE_URL"],
        "secrets.SEQPULSE_API_KEY": gate_env["SEQPULSE_API_KEY"],
        "secrets.SEQPULSE_TOKEN": gate_env["SEQPULSE_TOKEN"],
    }
    step_env = {
        name: EXPRESSION.sub(lambda m: context[m.group(1)], value) for name, value in step.env.items()
    }
    assert set(step_env) == {"SEQPULSE_BASE_URL", "SEQPULSE_API_KEY", "SEQPULSE_TOKEN"}
    deploy = tmp_path / "deploy.sh"
    deploy.write_text("#!/bin/sh\necho deploying\n")
    deploy.chmod(0o755)
    # What the runner provides: its variables, the step's env, and bash -eo pipefail for `run:`.
    runner = {
        "GITHUB_ACTIONS": "true",
        "GITHUB_RUN_ID": "4242",
        "GITHUB_RUN_ATTEMPT": "1",
        "GITHUB_REF_NAME": "main",
    }
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    env = clean_env(**runner, **step_env, PATH=path)
    done = await cli(
        "bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step.run, env=env, cwd=tmp_path
    )
    assert done.code in (0, 30), done
    assert "deploying" in done.stdout and "SeqPulse verdict:" in done.stdout
    deployment = await latest_deployment(stack, gate_env["SEQPULSE_PROJECT_ID"])
    assert (deployment["branch"], deployment["pipeline_result"]) == ("main", "success")
    assert deployment["verdict"] is not None
