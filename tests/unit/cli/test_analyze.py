"""`seqpulse analyze`: recorded samples in, one JSON verdict per line out, field-named errors."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from seqpulse.cli.__main__ import build_parser, main

PRE = {
    "timestamp": "2026-02-19T12:00:00Z",
    "requests_per_sec": 50,
    "latency_p95": 120,
    "error_rate": 0.001,
    "cpu_usage": 0.3,
    "memory_usage": 0.4,
}


def post(n: int, **overrides: float) -> list[dict[str, Any]]:
    return [{**PRE, "timestamp": f"2026-02-19T12:{3 + i:02d}:00Z", **overrides} for i in range(n)]


def run_cli(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], document: Any, *args: str
) -> tuple[int, list[dict[str, Any]], str]:
    monkeypatch.setattr("sys.stdin", io.StringIO(json.dumps(document)))
    status = main(["analyze", "-", *args])
    captured = capsys.readouterr()
    lines = [json.loads(line) for line in captured.out.splitlines()]
    return status, lines, captured.err


def test_one_object_gives_one_json_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    status, lines, _ = run_cli(
        monkeypatch, capsys, {"id": "d1", "pre": [PRE], "post": post(8, error_rate=0.05)}
    )
    assert status == 0
    assert len(lines) == 1
    (line,) = lines
    assert line["id"] == "d1"
    assert line["policy"] == "evidence-v1"
    assert line["verdict"] == "rollback_recommended"
    assert {"confidence", "summary", "details", "hints", "data_quality", "insufficient_data"} <= set(line)
    assert {"code", "metric", "severity"} <= set(line["hints"][0])


def test_a_list_gives_one_line_per_analysis_in_order(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    document = [
        {"id": 1, "pre": [PRE], "post": post(8)},
        {"id": 2, "pre": [PRE], "post": post(2)},
        {"pre": [PRE], "post": post(8), "policy": "original-v2"},
    ]
    status, lines, _ = run_cli(monkeypatch, capsys, document)
    assert status == 0
    assert [line["id"] for line in lines] == [1, 2, None]
    assert lines[1]["insufficient_data"] is True
    assert lines[2]["policy"] == "original-v2"


def test_window_and_analysis_time_default_from_the_samples(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _, lines, _ = run_cli(monkeypatch, capsys, {"pre": [PRE], "post": post(8)})
    quality = lines[0]["data_quality"]
    assert quality["expected_post_samples"] == 7  # 8 sequences, the first straddling the restart
    assert not any(issue.startswith("stale") for issue in quality["issues"])


def test_policy_option_applies_to_inputs_that_name_none(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _, lines, _ = run_cli(monkeypatch, capsys, {"pre": [PRE], "post": post(8)}, "--policy", "original-v2")
    assert lines[0]["policy"] == "original-v2"


def test_a_file_argument_is_read(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "window.json"
    path.write_text(json.dumps({"pre": [PRE], "post": post(8)}), encoding="utf-8")
    assert main(["analyze", str(path)]) == 0
    assert json.loads(capsys.readouterr().out)["verdict"] in ("ok", "warning")


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (
            [{"pre": [PRE], "post": post(3)}] * 3
            + [{"pre": [PRE], "post": [*post(2), {**PRE, "error_rate": 1.5}]}],
            "input[3].post[2].error_rate: must be a fraction between 0 and 1",
        ),
        ({"pre": [PRE], "post": [{**PRE, "latency_p95": -1}]}, "input.post[0].latency_p95: must be >= 0"),
        (
            {"pre": [PRE], "post": [{**PRE, "requests_per_sec": "many"}]},
            "input.post[0].requests_per_sec: must be a finite number",
        ),
        (
            {"pre": [PRE], "post": [{**PRE, "timestamp": "yesterday"}]},
            "input.post[0].timestamp: not an ISO 8601 timestamp",
        ),
        (
            {"pre": [PRE], "post": [{k: v for k, v in PRE.items() if k != "cpu_usage"}]},
            "input.post[0].cpu_usage: is required",
        ),
        ({"pre": [PRE]}, "input.post: is required"),
        ({"pre": [PRE], "post": [], "windows": 3}, "input.windows: unknown field"),
        (
            {"pre": [PRE], "post": post(3), "window_sequences": 0},
            "input.window_sequences: must be an integer >= 1",
        ),
        ({"pre": [PRE], "post": post(3), "policy": "magic"}, "input.policy: unknown policy 'magic'"),
        (
            {"pre": [PRE], "post": post(3), "settings": {"latency_warn_ratio": 0.5}},
            "input.settings.latency_warn_ratio: input should be greater than 1",
        ),
        ({"pre": [], "post": []}, "input: needs at least one sample, or analyzed_at"),
        ([], "input: is an empty list"),
        (42, "input: must be an object"),
    ],
)
def test_bad_input_exits_2_naming_the_field(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], document: Any, message: str
) -> None:
    status, lines, err = run_cli(monkeypatch, capsys, document)
    assert status == 2
    assert lines == []
    assert message in err


def test_invalid_json_exits_2(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("{not json"))
    assert main(["analyze", "-"]) == 2
    assert "input: not valid JSON (stdin line 1" in capsys.readouterr().err


def test_a_missing_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["analyze", str(tmp_path / "nope.json")]) == 2
    assert "input: cannot read" in capsys.readouterr().err


def test_the_parser_has_one_subcommand_per_module_and_requires_one() -> None:
    parser = build_parser()
    assert parser.parse_args(["analyze", "-"]).command == "analyze"
    with pytest.raises(SystemExit) as caught:
        parser.parse_args([])
    assert caught.value.code == 2
