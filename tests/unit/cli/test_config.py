"""CI gate settings: flags over `SEQPULSE_*` over the CI's variables; missing secrets are usage errors."""

from __future__ import annotations

import pytest

from seqpulse.cli.__main__ import main
from seqpulse.cli.config import (
    UsageError,
    api_key,
    base_url,
    deployment_id,
    detect_ci,
    read_token,
    trigger_body,
)

GITHUB = {"GITHUB_RUN_ID": "9001", "GITHUB_RUN_ATTEMPT": "2", "GITHUB_REF_NAME": "main"}
GITLAB = {"CI_PIPELINE_ID": "555", "CI_JOB_ID": "777", "CI_COMMIT_REF_NAME": "release/1.2"}
CIRCLE = {"CIRCLE_WORKFLOW_ID": "wf-abc", "CIRCLE_BUILD_NUM": "42", "CIRCLE_BRANCH": "feature/x"}
JENKINS = {"BUILD_TAG": "jenkins-shop-deploy-17", "BRANCH_NAME": "main"}


def body(environ: dict[str, str], **flags: str | None) -> tuple[str, str | None, str, str | None]:
    args: dict[str, str | None] = {
        "env": None,
        "branch": None,
        "idempotency_key": None,
        "metrics_endpoint": None,
    }
    resolved = trigger_body(environ, **{**args, **flags})
    return resolved.env, resolved.branch, resolved.idempotency_key, resolved.metrics_endpoint


@pytest.mark.parametrize(
    ("environ", "provider", "key", "branch"),
    [
        (GITHUB, "github", "gha-9001-2-prod", "main"),
        ({**GITHUB, "GITHUB_RUN_ATTEMPT": ""}, "github", "gha-9001-1-prod", "main"),
        ({**GITHUB, "GITHUB_HEAD_REF": "fix/login"}, "github", "gha-9001-2-prod", "fix/login"),
        (GITLAB, "gitlab", "gl-555-777-prod", "release/1.2"),
        ({"CI_PIPELINE_ID": "555"}, "gitlab", "gl-555-prod", None),
        (CIRCLE, "circleci", "circle-wf-abc-42-prod", "feature/x"),
        (JENKINS, "jenkins", "jenkins-jenkins-shop-deploy-17-prod", "main"),
        ({"BUILD_ID": "88"}, "jenkins", "jenkins-88-prod", None),
    ],
)
def test_each_ci_gives_its_run_key_and_branch(
    environ: dict[str, str], provider: str, key: str, branch: str | None
) -> None:
    ci = detect_ci(environ)
    assert ci is not None and ci.provider == provider
    assert body(environ, env="prod") == ("prod", branch, key, None)


def test_the_inferred_key_differs_per_environment_within_one_run() -> None:
    assert body(GITHUB, env="staging")[2] != body(GITHUB, env="prod")[2]


def test_key_and_branch_come_from_one_provider_never_mixed() -> None:
    # GitHub wins (the SDK's order); GitLab's branch must not leak into GitHub's run.
    environ = {"GITHUB_RUN_ID": "1", "CI_PIPELINE_ID": "2", "CI_COMMIT_REF_NAME": "gitlab-branch"}
    assert body(environ, env="prod")[1:3] == (None, "gha-1-1-prod")


def test_outside_ci_the_key_is_unique_per_invocation_and_there_is_no_branch() -> None:
    first, second = body({}, env="prod"), body({}, env="prod")
    assert detect_ci({}) is None
    assert first[1] is None
    assert first[2].startswith("cli-") and first[2].endswith("-prod") and first[2] != second[2]


def test_flags_override_variables_and_ci_inference() -> None:
    environ = {
        **GITHUB,
        "SEQPULSE_ENV": "staging",
        "SEQPULSE_METRICS_ENDPOINT": "https://app.example/m",
        "SEQPULSE_BASE_URL": "https://env.example",
    }
    assert body(environ) == ("staging", "main", "gha-9001-2-staging", "https://app.example/m")
    flagged = body(
        environ,
        env="prod",
        branch="hotfix",
        idempotency_key="mine",
        metrics_endpoint="https://flag.example/m",
    )
    assert flagged == ("prod", "hotfix", "mine", "https://flag.example/m")
    assert base_url(environ, None) == "https://env.example"
    assert base_url(environ, "https://flag.example/") == "https://flag.example"


def test_trigger_body_sends_only_what_is_known() -> None:
    resolved = trigger_body({}, env="prod", branch=None, idempotency_key="k", metrics_endpoint=None)
    assert resolved.to_json() == {"env": "prod", "idempotency_key": "k"}


@pytest.mark.parametrize(
    ("call", "names"),
    [
        (
            lambda: trigger_body({}, env=None, branch=None, idempotency_key=None, metrics_endpoint=None),
            "--env",
        ),
        (lambda: base_url({}, None), "SEQPULSE_BASE_URL"),
        (lambda: base_url({"SEQPULSE_BASE_URL": "seqpulse.example"}, None), "http"),
        (lambda: api_key({}), "SEQPULSE_API_KEY"),
        (lambda: api_key({"SEQPULSE_API_KEY": "  "}), "SEQPULSE_API_KEY"),
        (lambda: api_key({"SEQPULSE_API_KEY": "spt_abc"}), "personal access token"),
        (lambda: read_token({}), "SEQPULSE_TOKEN"),
        (lambda: read_token({"SEQPULSE_TOKEN": "SP_abc"}), "project API key"),
        (lambda: deployment_id("dpl_3"), "DEPLOYMENT"),
    ],
)
def test_missing_or_swapped_settings_are_usage_errors_naming_what_to_fix(call: object, names: str) -> None:
    with pytest.raises(UsageError, match=names):
        call()  # type: ignore[operator]  # the parametrized lambdas


@pytest.mark.parametrize(
    ("argv", "names"),
    [
        (["trigger", "--env", "prod"], "SEQPULSE_API_KEY"),
        (["finish", "0b7f6c3e-6a52-4d2b-9a51-3c1f3f0c2a10"], "SEQPULSE_API_KEY"),
        (["wait", "0b7f6c3e-6a52-4d2b-9a51-3c1f3f0c2a10"], "SEQPULSE_TOKEN"),
        (["run", "--env", "prod", "--", "true"], "SEQPULSE_API_KEY"),
        (["run", "--env", "prod"], "deploy command is required"),
    ],
)
def test_commands_exit_2_naming_the_missing_variable(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], argv: list[str], names: str
) -> None:
    for name in ("SEQPULSE_API_KEY", "SEQPULSE_TOKEN", "SEQPULSE_ENV"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SEQPULSE_BASE_URL", "http://127.0.0.1:9")
    assert main(argv) == 2
    assert names in capsys.readouterr().err


def test_run_checks_the_read_token_before_anything_is_deployed(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: object
) -> None:
    monkeypatch.delenv("SEQPULSE_TOKEN", raising=False)
    monkeypatch.setenv("SEQPULSE_BASE_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("SEQPULSE_API_KEY", "SP_0123")
    assert main(["run", "--env", "prod", "--", "false"]) == 2
    assert "SEQPULSE_TOKEN" in capsys.readouterr().err


def test_bad_flags_are_argparse_usage_errors(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["wait", "0b7f6c3e-6a52-4d2b-9a51-3c1f3f0c2a10", "--timeout", "-1"])
    assert exc.value.code == 2
    assert "--timeout" in capsys.readouterr().err
