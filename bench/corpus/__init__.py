"""Evaluation corpus for verdict policies: seeded synthetic deployments with known ground truth.

`python -m bench.corpus.evaluate` generates a tuning corpus and a held-out corpus (different seeds),
runs every policy on the held-out one and prints docs/verdicts.md's tables plus a `RESULT {json}` line.
"""
