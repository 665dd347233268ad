"""`seqpulse analyze FILE`: verdicts for recorded samples, offline, through the analyzer's own policies.

Prints one JSON object per analysis and per line. Exit status: 0 once every analysis ran (whatever
the verdicts), 2 for unusable input (the message names the field), as argparse does for bad usage.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, TextIO

from seqpulse.analyzer.model import AnalysisResult
from seqpulse.analyzer.policies import POLICY_NAMES, get_policy
from seqpulse.cli.offline_input import InputError, parse_document

# The policy `seqpulse analyze` uses unless the input or --policy names another. The service's
# default is its own setting (SEQPULSE_ANALYZER_DEFAULT_POLICY); docs/verdicts.md compares both.
DEFAULT_POLICY = "evidence-v1"
EXIT_OK, EXIT_BAD_INPUT = 0, 2


def register(subparsers: Any) -> None:
    """Add `analyze` to the `seqpulse` parser; sets `handler` for the dispatcher."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "analyze",
        help="judge recorded pre/post samples offline",
        description="Judge recorded samples with the analyzer's policies; one JSON result per line.",
    )
    parser.add_argument("file", metavar="FILE", help="a JSON analysis or list of analyses; - for stdin")
    parser.add_argument(
        "--policy",
        choices=POLICY_NAMES,
        default=DEFAULT_POLICY,
        help=f"policy for inputs that name none (default: {DEFAULT_POLICY})",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, stdin: TextIO | None = None, stdout: TextIO | None = None) -> int:
    stdin, stdout = stdin or sys.stdin, stdout or sys.stdout
    try:
        analyses = parse_document(_load(args.file, stdin), args.policy)
    except InputError as exc:
        print(f"seqpulse analyze: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    for analysis in analyses:
        result = get_policy(analysis.policy).analyze(analysis.data)
        stdout.write(json.dumps(to_output(analysis.id, result), separators=(",", ":")) + "\n")
    stdout.flush()
    return EXIT_OK


def to_output(identifier: Any, result: AnalysisResult) -> dict[str, Any]:
    """The service's verdict record, with the caller's id first."""
    return {"id": identifier, **result.to_dict()}


def _load(name: str, stdin: TextIO) -> Any:
    source = "stdin" if name == "-" else name
    try:
        text = stdin.read() if name == "-" else Path(name).read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError("input", f"cannot read {source}: {exc.strerror or exc}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        where = f"{source} line {exc.lineno} column {exc.colno}"
        raise InputError("input", f"not valid JSON ({where}: {exc.msg})") from None
