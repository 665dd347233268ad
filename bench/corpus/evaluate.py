"""Run every verdict policy on the held-out corpus and print docs/verdicts.md's tables.

`python -m bench.corpus.evaluate [--corpus heldout|tuning] [--healthy 3000] [--regressions 6000]`

Thresholds were chosen on the tuning corpus (seed TUNING_SEED); the numbers reported in
docs/verdicts.md come from the held-out corpus (seed HELDOUT_SEED), generated independently.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from collections.abc import Callable, Sequence
from typing import Any

from bench.corpus.scenarios import HEALTHY_TAGS, STRATA, Scenario, sample_scenarios
from bench.corpus.simulate import simulate
from bench.corpus.tables import INSUFFICIENT, OK, ROLLBACK, WARNING, Outcome, Rate, quantile, rate, table
from seqpulse.analyzer.model import AnalysisResult
from seqpulse.analyzer.policies import POLICY_NAMES, get_policy
from seqpulse.common.policy_settings import PolicySettings

TUNING_SEED = 101
HELDOUT_SEED = 20260219
ORDER = ("evidence-v1", "original-v2")
Rows = dict[str, list[Outcome]]


def classify(result: AnalysisResult) -> str:
    if result.insufficient_data:
        return INSUFFICIENT
    return {"ok": OK, "warning": WARNING, "rollback_recommended": ROLLBACK}[result.verdict]


def run(scenarios: Sequence[Scenario], policies: Sequence[str]) -> Rows:
    """Each scenario simulated once and judged by every policy, timing only the policy call."""
    outcomes: Rows = {name: [] for name in policies}
    engines = {name: get_policy(name) for name in policies}
    for scenario in scenarios:
        data = simulate(scenario)
        for name, engine in engines.items():
            started = time.perf_counter()
            result = engine.analyze(data)
            elapsed = time.perf_counter() - started
            named = {h.metric for h in result.hints} | {m for h in result.hints for m in h.composite_signals}
            outcomes[name].append(
                Outcome(name, classify(result), result.confidence, elapsed, frozenset(named))
            )
    return outcomes


def flagged(o: Outcome) -> bool:
    return o.verdict in (WARNING, ROLLBACK)


def is_(verdict: str) -> Callable[[Outcome], bool]:
    return lambda o: o.verdict == verdict


def _select(
    outcomes: list[Outcome], scenarios: Sequence[Scenario], keep: Callable[[Scenario], bool]
) -> list[Outcome]:
    return [o for o, s in zip(outcomes, scenarios, strict=True) if keep(s)]


def headline(scenarios: Sequence[Scenario], outcomes: Rows, title: str) -> dict[str, Any]:
    def healthy(s: Scenario) -> bool:
        return s.truth == "healthy"

    measures: tuple[tuple[str, Callable[[Scenario], bool], Callable[[Outcome], bool]], ...] = (
        ("false_rollback", healthy, is_(ROLLBACK)),
        ("false_rollback_plain", lambda s: healthy(s) and not s.tags, is_(ROLLBACK)),
        ("false_warning", healthy, is_(WARNING)),
        ("not_enough_data_healthy", healthy, is_(INSUFFICIENT)),
        ("ok_healthy", healthy, is_(OK)),
        ("clear_flagged", lambda s: s.clear, flagged),
        ("clear_not_ok", lambda s: s.clear, lambda o: o.verdict != OK),
        ("clear_user_facing_rollback", lambda s: s.clear_user_facing, is_(ROLLBACK)),
        ("not_enough_data_all", lambda s: True, is_(INSUFFICIENT)),
    )
    out: dict[str, Any] = {}
    rows: list[list[str]] = []
    for name, chosen in outcomes.items():
        figures = {key: rate(_select(chosen, scenarios, keep), hit) for key, keep, hit in measures}
        out[name] = {key: value.as_json() for key, value in figures.items()}
        rows.extend([name, key, value.text()] for key, value in figures.items())
    print(table(title, ["policy", "measure", "rate (95% Wilson interval)"], rows))
    return out


def effects(
    scenarios: Sequence[Scenario], outcomes: Rows, keep: Callable[[Scenario], bool], title: str
) -> None:
    labels = sorted({s.label for s in scenarios if s.truth == "regression" and keep(s)})
    rows: list[list[str]] = []
    for label in labels:

        def labelled(s: Scenario, label: str = label) -> bool:
            return s.label == label and keep(s)

        chosen = {name: _select(o, scenarios, labelled) for name, o in outcomes.items()}
        row = [label, str(len(next(iter(chosen.values()))))]
        for rows_of in chosen.values():
            row += [
                rate(rows_of, flagged).short(),
                rate(rows_of, is_(ROLLBACK)).short(),
                rate(rows_of, is_(INSUFFICIENT)).short(),
            ]
        rows.append(row)
    heads = ["regression", "n"] + [f"{p[:8]} {k}" for p in outcomes for k in ("flag", "rollbk", "n.e.d.")]
    print(table(f"Flagged / rollback / not enough data by injected change ({title})", heads, rows))


def strata(scenarios: Sequence[Scenario], outcomes: Rows) -> None:
    rows = []
    for stratum, low, high in STRATA:
        for pre in (1, 3):

            def healthy(s: Scenario, stratum: str = stratum, pre: int = pre) -> bool:
                return s.truth == "healthy" and s.stratum == stratum and s.pre_count == pre

            def step(s: Scenario, stratum: str = stratum, pre: int = pre) -> bool:
                same = s.stratum == stratum and s.pre_count == pre
                return same and s.truth == "regression" and s.shape == "step" and s.window >= 6

            row = [f"{stratum} ({low:g}-{high:g} rps)", str(pre)]
            for chosen in outcomes.values():
                calm, steps = _select(chosen, scenarios, healthy), _select(chosen, scenarios, step)
                row += [
                    str(len(calm)),
                    rate(calm, is_(ROLLBACK)).short(),
                    rate(calm, is_(INSUFFICIENT)).short(),
                    rate(steps, flagged).short(),
                ]
            rows.append(row)
    heads = ["traffic", "pre samples"] + [
        f"{p[:8]} {k}" for p in outcomes for k in ("healthy n", "FRR", "n.e.d.", "step flag")
    ]
    title = "By traffic and pre samples (healthy: FRR, not enough data; steps, >= 6 sequences: flagged)"
    print(table(title, heads, rows))


def hard_cases(scenarios: Sequence[Scenario], outcomes: Rows) -> None:
    rows = []
    for tag in ("none", *HEALTHY_TAGS):

        def keep(s: Scenario, tag: str = tag) -> bool:
            return s.truth == "healthy" and ((not s.tags) if tag == "none" else tag in s.tags)

        row = [tag, str(sum(1 for s in scenarios if keep(s)))]
        for chosen in outcomes.values():
            picked = _select(chosen, scenarios, keep)
            row += [
                rate(picked, is_(ROLLBACK)).short(),
                rate(picked, is_(WARNING)).short(),
                rate(picked, is_(INSUFFICIENT)).short(),
            ]
        rows.append(row)
    heads = ["healthy case", "n"] + [f"{p[:8]} {k}" for p in outcomes for k in ("rollbk", "warn", "n.e.d.")]
    print(table("Healthy deployments by hard case", heads, rows))


def speed(scenarios: Sequence[Scenario], outcomes: Rows) -> dict[str, Any]:
    out: dict[str, Any] = {}
    rows = []
    for name, chosen in outcomes.items():
        times = [o.seconds * 1000 for o in _select(chosen, scenarios, lambda s: s.window == 30)]
        out[name] = {
            "n": len(times),
            "p50_ms": round(quantile(times, 0.5), 3),
            "p99_ms": round(quantile(times, 0.99), 3),
            "max_ms": round(max(times, default=0.0), 3),
        }
        rows.append([name, str(len(times)), *(f"{out[name][k]:.3f}" for k in ("p50_ms", "p99_ms", "max_ms"))])
    print(
        table(
            "Verdict time for 30-sequence windows (ms, one core, this machine)",
            ["policy", "n", "p50", "p99", "max"],
            rows,
        )
    )
    return out


def calibration(scenarios: Sequence[Scenario], outcomes: list[Outcome]) -> dict[str, Any]:
    """Stated confidence against what happened: rollbacks that were regressions; oks that missed none
    of the clear regressions."""
    out: dict[str, Any] = {}
    rows = []
    checks = ((ROLLBACK, lambda s: s.truth == "regression"), (OK, lambda s: not s.clear))
    for verdict, right in checks:
        for low, high in ((0.0, 0.7), (0.7, 0.9), (0.9, 1.01)):
            chosen = [
                s
                for s, o in zip(scenarios, outcomes, strict=True)
                if o.verdict == verdict and low <= o.confidence < high
            ]
            r = Rate(sum(1 for s in chosen if right(s)), len(chosen))
            key = f"{verdict}_{low:.1f}-{min(high, 1.0):.1f}"
            out[key] = r.as_json()
            rows.append([verdict, f"[{low:.1f}, {min(high, 1.0):.1f})", r.text()])
    print(
        table(
            "evidence-v1: stated confidence vs. observed accuracy", ["verdict", "confidence", "right"], rows
        )
    )
    return out


def hint_accuracy(scenarios: Sequence[Scenario], outcomes: Rows) -> dict[str, Any]:
    """Among flagged regressions, the share where some hint names the metric that was changed."""
    out: dict[str, Any] = {}
    for name, chosen in outcomes.items():
        pairs = [
            (s, o) for s, o in zip(scenarios, chosen, strict=True) if s.truth == "regression" and flagged(o)
        ]
        hits = sum(1 for s, o in pairs if {e.metric for e in s.effects} & o.hint_metrics)
        out[name] = Rate(hits, len(pairs)).as_json()
    return out


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Evaluate verdict policies on a synthetic corpus.")
    parser.add_argument("--corpus", choices=("heldout", "tuning"), default="heldout")
    parser.add_argument("--healthy", type=int, default=3000)
    parser.add_argument("--regressions", type=int, default=6000)
    parser.add_argument("--policy", action="append", choices=POLICY_NAMES, help="default: every policy")
    args = parser.parse_args(argv)
    seed = HELDOUT_SEED if args.corpus == "heldout" else TUNING_SEED
    scenarios = sample_scenarios(seed, args.healthy, args.regressions)
    names = args.policy or list(POLICY_NAMES)
    outcomes = run(scenarios, [p for p in ORDER if p in names] + [p for p in names if p not in ORDER])
    result: dict[str, Any] = {
        "corpus": args.corpus,
        "seed": seed,
        "scenarios": len(scenarios),
        "healthy": sum(1 for s in scenarios if s.truth == "healthy"),
        "clear": sum(1 for s in scenarios if s.clear),
        "clear_user_facing": sum(1 for s in scenarios if s.clear_user_facing),
        "settings_sha256": hashlib.sha256(PolicySettings().model_dump_json().encode()).hexdigest()[:16],
    }
    result["headline"] = headline(scenarios, outcomes, f"Headline ({args.corpus} corpus, seed {seed})")
    effects(scenarios, outcomes, lambda s: True, "all shapes, traffic and windows")
    effects(
        scenarios,
        outcomes,
        lambda s: s.rps >= 5 and s.window >= 6 and s.shape == "step" and not s.tags,
        "step changes where data can decide: >= 5 rps, >= 6 sequences, no fault",
    )
    strata(scenarios, outcomes)
    hard_cases(scenarios, outcomes)
    result["speed_30_sequences"] = speed(scenarios, outcomes)
    if "evidence-v1" in outcomes:
        result["calibration"] = calibration(scenarios, outcomes["evidence-v1"])
    result["hint_names_injected_metric"] = hint_accuracy(scenarios, outcomes)
    print("RESULT " + json.dumps(result, sort_keys=True))


if __name__ == "__main__":
    main()
