"""The CI gate's pure decisions: verdict → exit status, progress line, report and JSON."""

from __future__ import annotations

from typing import Any

import pytest

from seqpulse.cli.deployment import Deployment, UnexpectedAnswer, parse_deployment
from seqpulse.cli.gate import (
    EXIT_INSUFFICIENT,
    EXIT_OK,
    EXIT_ROLLBACK,
    EXIT_UNREACHABLE,
    EXIT_WARNING,
    decided,
    json_result,
    not_reached,
    progress_text,
    report_lines,
    run_exit_code,
    verdict_exit_code,
)

URL = "https://seqpulse.example/deployments/d1"


def hint(severity: str, code: str) -> dict[str, Any]:
    return {"severity": severity, "code": code, "metric": "error_rate", "title": f"{code} title"}


def deployment(
    *,
    state: str = "collecting",
    window: dict[str, Any] | None = None,
    verdict: dict[str, Any] | None = None,
    hints: list[dict[str, Any]] | None = None,
) -> Deployment:
    return parse_deployment(
        {
            "id": "d1",
            "public_id": "dpl_7",
            "state": state,
            "window": {
                "sequences": 5,
                "sequence_seconds": 60.0,
                "collected_pre": 1,
                "collected_post": 2,
                "state": "open",
                "cancel_reason": None,
                **(window or {}),
            },
            "verdict": verdict,
            "hints": hints or [],
        }
    )


def verdict(name: str, *, insufficient: bool = False) -> dict[str, Any]:
    return {
        "verdict": name,
        "confidence": 0.9,
        "summary": f"{name} summary",
        "insufficient_data": insufficient,
        "policy": "evidence-v1",
    }


@pytest.mark.parametrize(
    ("name", "insufficient", "allow_warning", "expected"),
    [
        ("ok", False, False, EXIT_OK),
        ("warning", False, False, EXIT_WARNING),
        ("warning", False, True, EXIT_OK),
        ("rollback_recommended", False, False, EXIT_ROLLBACK),
        ("rollback_recommended", False, True, EXIT_ROLLBACK),
        ("warning", True, False, EXIT_INSUFFICIENT),
        ("warning", True, True, EXIT_INSUFFICIENT),
        ("ok", True, False, EXIT_INSUFFICIENT),
        ("rollback_recommended", True, False, EXIT_ROLLBACK),
    ],
)
def test_verdict_maps_to_exit_status(
    name: str, insufficient: bool, allow_warning: bool, expected: int
) -> None:
    assert verdict_exit_code(name, insufficient, allow_warning=allow_warning) == expected


def test_insufficient_data_takes_precedence_over_warning_and_allow_warning() -> None:
    outcome = decided(deployment(verdict=verdict("warning", insufficient=True)), allow_warning=True)
    assert outcome is not None
    assert (outcome.name, outcome.exit_code) == ("insufficient_data", 30)
    assert outcome.message == "warning summary"


def test_no_verdict_yet_is_no_outcome() -> None:
    assert decided(deployment(), allow_warning=False) is None


def test_an_expired_deployment_ends_the_wait_as_not_decidable() -> None:
    outcome = decided(deployment(state="expired"), allow_warning=False)
    assert outcome is not None
    assert (outcome.name, outcome.exit_code) == ("expired", EXIT_INSUFFICIENT)


def test_unreachable_exits_3_and_fail_open_turns_it_into_0_and_says_so() -> None:
    closed = not_reached("unreachable", "connection refused", fail_open=False)
    assert (closed.exit_code, closed.failed_open) == (EXIT_UNREACHABLE, False)
    opened = not_reached("timed_out", "no verdict within 2 s", fail_open=True)
    assert (opened.exit_code, opened.failed_open) == (EXIT_OK, True)
    assert any("--fail-open" in line for line in report_lines(opened, None, URL))


def test_fail_open_does_not_touch_a_verdict() -> None:
    outcome = decided(deployment(verdict=verdict("rollback_recommended")), allow_warning=False)
    assert outcome is not None and not outcome.failed_open and outcome.exit_code == EXIT_ROLLBACK


@pytest.mark.parametrize(
    ("command", "gate", "expected"),
    [(0, 0, 0), (0, 20, 20), (1, 0, 1), (1, 10, 10), (7, 30, 30), (143, 0, 143)],
)
def test_run_exits_with_the_gate_but_never_0_after_a_failed_command(
    command: int, gate: int, expected: int
) -> None:
    assert run_exit_code(command, gate) == expected


def test_progress_counts_sequences_and_the_seconds_left() -> None:
    assert progress_text(deployment()) == "sequence 2 of 5, ~180s left"
    assert progress_text(deployment(), elapsed=45.5) == "sequence 2 of 5, ~135s left"
    assert progress_text(deployment(), elapsed=1000) == "sequence 2 of 5, ~0s left"
    fresh = deployment(window={"collected_post": 0, "state": "pending", "sequence_seconds": 1})
    assert progress_text(fresh) == "sequence 0 of 5, ~5s left"


def test_progress_before_finish_and_after_the_window() -> None:
    assert (
        progress_text(deployment(state="running")) == "waiting for the deploy to finish (baseline samples: 1)"
    )
    closed = deployment(state="analyzing", window={"state": "closed", "collected_post": 5})
    assert progress_text(closed) == "window closed, analyzing"
    cancelled = deployment(
        state="analyzing", window={"state": "cancelled", "cancel_reason": "hmac_rejected: bad signature"}
    )
    assert progress_text(cancelled) == "collection cancelled (hmac_rejected: bad signature), analyzing"


def test_report_names_verdict_summary_top_three_hints_by_severity_and_the_link() -> None:
    d = deployment(
        state="analyzed",
        verdict=verdict("rollback_recommended"),
        hints=[hint("info", "i1"), hint("warning", "w1"), hint("critical", "c1"), hint("critical", "c2")],
    )
    outcome = decided(d, allow_warning=False)
    assert outcome is not None
    lines = report_lines(outcome, d, URL)
    assert lines[0] == "SeqPulse verdict: rollback_recommended, confidence 0.90, policy evidence-v1 (exit 20)"
    assert lines[1] == "  rollback_recommended summary"
    assert [line.split()[2] for line in lines[2:5]] == ["c1", "c2", "w1"]
    assert lines[2] == "  - critical c1 (error_rate): c1 title"
    assert lines[5] == "  … and 1 more hint"
    assert lines[-1] == f"  {URL}"


def test_report_says_not_enough_data_and_the_process_exit_status() -> None:
    d = deployment(state="analyzed", verdict=verdict("warning", insufficient=True))
    outcome = decided(d, allow_warning=False)
    assert outcome is not None
    first = report_lines(outcome, d, URL, exit_code=4)[0]
    assert "warning (not enough data to decide)" in first and first.endswith("(exit 4)")


def test_json_result_carries_outcome_exit_status_and_the_api_view() -> None:
    d = deployment(state="analyzed", verdict=verdict("ok"), hints=[hint("info", "i1")])
    outcome = decided(d, allow_warning=False)
    assert outcome is not None
    result = json_result(outcome, d, "d1", URL)
    assert result["outcome"] == "ok" and result["exit_code"] == 0 and result["url"] == URL
    assert result["verdict"]["summary"] == "ok summary"
    assert result["hints"][0]["code"] == "i1"
    assert result["public_id"] == "dpl_7" and result["failed_open"] is False
    unreachable = json_result(not_reached("unreachable", "x", fail_open=True), None, None, None)
    assert unreachable["exit_code"] == 0 and unreachable["failed_open"] and unreachable["verdict"] is None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"window": {}}, "window.sequences"),
        ({"window": "open"}, "deployment.window"),
        ({"verdict": {"verdict": "ok"}}, "verdict.confidence"),
        ({"hints": [{"severity": "info"}]}, "hint.code"),
    ],
)
def test_an_answer_that_is_not_a_deployment_names_the_field(body: dict[str, Any], field: str) -> None:
    window = {
        "sequences": 5,
        "sequence_seconds": 1,
        "collected_pre": 0,
        "collected_post": 0,
        "state": "pending",
    }
    base = {"id": "d1", "public_id": "dpl_1", "state": "running", "window": window, "hints": []}
    with pytest.raises(UnexpectedAnswer, match=field.replace(".", r"\.")):
        parse_deployment({**base, **body})
