"""How far apart two medians of steps-to-solve fall when nothing differs.

For each (algorithm, env) of the RL benchmark's cache with solve runs of both libraries,
the two samples are pooled (the null: both libraries draw from one distribution) and two
samples of the same sizes are drawn from the pool with replacement, ``--draws`` times.
Reported: the observed ratio of medians (autolearn / SB3), the null's 5-95 % range of that
ratio, the share of null draws at or above the observed ratio, the null probability that
the ratio meets the goal "<= 1" (above 0.5 because the evaluation grid makes ties
common), and the two-sided Mann-Whitney p of the observed samples.

Run from the repository root::

    .venv/bin/python -m benchmarks.rl.steps_null --cache benchmarks/results/rl_runs.jsonl

Analysis only: it trains nothing, and writes ``benchmarks/results/rl_steps_null.md``.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from scipy.stats import mannwhitneyu

ROOT = Path(__file__).resolve().parents[2]


def analyse(runs: list[dict], draws: int, seed: int) -> list[dict]:
    """One row per (algo, env) with solve runs of both libraries."""
    groups: dict[tuple[str, str], dict[str, list[float]]] = {}
    for r in runs:
        if r.get("kind") == "solve" and r.get("lib") in ("autolearn", "sb3"):
            groups.setdefault((r["algo"], r["env"]), {"autolearn": [], "sb3": []})[
                r["lib"]].append(float(r["steps_to_solve"]))
    rng = np.random.default_rng(seed)
    rows = []
    for (algo, env), libs in sorted(groups.items()):
        ours, theirs = np.array(libs["autolearn"]), np.array(libs["sb3"])
        if len(ours) < 2 or len(theirs) < 2:
            continue
        observed = float(np.median(ours) / np.median(theirs))
        pool = np.concatenate([ours, theirs])
        a = rng.choice(pool, (draws, len(ours)))
        b = rng.choice(pool, (draws, len(theirs)))
        null = np.median(a, axis=1) / np.median(b, axis=1)
        rows.append({
            "algo": algo, "env": env, "n": (len(ours), len(theirs)),
            "medians": (float(np.median(ours)), float(np.median(theirs))),
            "observed": observed,
            "null_5_95": tuple(float(x) for x in np.percentile(null, [5, 95])),
            "null_at_or_above": float(np.mean(null >= observed)),
            "null_meets_goal": float(np.mean(null <= 1.0)),
            "mann_whitney_p": float(mannwhitneyu(ours, theirs, alternative="two-sided").pvalue),
        })
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--cache", default="benchmarks/results/rl_runs.jsonl")
    parser.add_argument("--draws", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="benchmarks/results/rl_steps_null.md")
    args = parser.parse_args(argv)
    runs = [json.loads(line) for line in Path(args.cache).read_text().splitlines() if line]
    rows = analyse(runs, args.draws, args.seed)
    lines = [
        "# Steps to solve: the spread of a ratio of medians when nothing differs",
        "",
        "| algorithm | env | seeds (ours, SB3) | median steps (ours, SB3) | observed ratio "
        "| null 5-95 % | null draws >= observed | null P(ratio <= 1) | Mann-Whitney p |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['algo'].upper()} | {r['env']} | {r['n'][0]}, {r['n'][1]} | "
            f"{r['medians'][0]:,.0f}, {r['medians'][1]:,.0f} | {r['observed']:.2f} | "
            f"{r['null_5_95'][0]:.2f}-{r['null_5_95'][1]:.2f} | {r['null_at_or_above']:.2f} | "
            f"{r['null_meets_goal']:.2f} | {r['mann_whitney_p']:.2f} |")
    lines += [
        "",
        "- The null pools both libraries' runs of a row and draws two samples of the row's "
        f"sizes from the pool with replacement, {args.draws:,} times (numpy seed {args.seed}). "
        "Rows whose SB3 column is another algorithm (A3C vs SB3 A2C, asynchronous Q-learning "
        "vs SB3 DQN) are in the cache under their own algorithm and have no SB3 runs, so "
        "they do not appear.",
        "- Command: `.venv/bin/python -m benchmarks.rl.steps_null "
        + " ".join(sys.argv[1:] if argv is None else argv) + "`",
        f"- Date: {datetime.now(UTC).isoformat(timespec='seconds')}",
        "",
    ]
    Path(args.out).write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
