"""Pilot for PPO's ``recompute_advantages`` (session 11), on pilot seeds only.

PPO's Acrobot-v1 row misses its steps goal (28,672 vs SB3's 20,480 at 40 seeds) although
autolearn's PPO computes what SB3's does (``lockstep_ppo.py``): with the same algorithm the
goal is a coin flip. Andrychowicz et al. 2021 ("What Matters in On-Policy Reinforcement
Learning?") report that recomputing the advantages with the current value network before
every pass over the data helps. This pilot decides whether autolearn's PPO does that by
default. It runs the benchmark's own runner (:func:`benchmarks.rl._runners.run_ours`: the
same evaluation, threshold, budget and CPU bookkeeping) on the zoo settings of the three
PPO rows, autolearn only, two arms: ``base`` (as the table) and ``recompute``
(``recompute_advantages=True``, nothing else changed).

Protocol (committed before any pilot run):

* Seeds: Acrobot-v1 100-139, CartPole-v1 100-139, Pendulum-v1 100-104 (pilot seeds, never
  reported as results). Per seed both arms, in an order alternating with the seed.
* Unsolved runs count at the budget, as in the benchmark.
* ``recompute`` becomes PPOConfig's default only if all of these hold (:func:`decide`):
  1. Acrobot: its median steps to solve is below ``base``'s and a one-sided Mann-Whitney
     test (fewer steps) gives p <= 0.10;
  2. CartPole: its median steps to solve is at most ``base``'s;
  3. Pendulum: its median steps to solve is at most ``base``'s and its median final
     evaluation return is at least ``base``'s minus 10 % of its magnitude.
* If adopted: the table's PPO rows (CartPole and Acrobot seeds 0-39, Pendulum 0-4, and the
  PPO throughput rows) are rerun for both libraries, interleaved per seed, and replace the
  current runs whatever they give. If not: the option stays, off, documented with this
  pilot's numbers.

Stage 2 (written after stage 1, before any stage-2 run). Stage 1 on seeds 100-139: Acrobot
16,384 vs 20,480 median steps (means 19,149 vs 23,347), one-sided p = 0.22, so rule 1
failed and by the rule above the option would stay off. The effect looked large enough to
test on more seeds, so a second, independent test replaces rule 1 (stage 1's Acrobot runs
are not pooled into it):

* Acrobot-v1 seeds 140-219 (80 new pilot seeds), both arms, same alternation; the
  ``recompute`` arm now evaluates the value network with the acting path's numpy forward
  on the CPU (stage 1: torch's; the same numbers to float32 rounding).
* ``recompute`` becomes the default only if stage 1's rules 2 and 3 pass and, on seeds
  140-219 alone, its median steps to solve is below ``base``'s with a one-sided
  Mann-Whitney p <= 0.05 (:func:`decide_stage2`). Otherwise it stays off.

Usage: ``python -m benchmarks.rl.ppo_pilot --cache C --env Acrobot-v1`` (one env per call;
runs are appended to the cache and not repeated), then ``--summary``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from benchmarks._common import median
from benchmarks.rl._zoo import SETTINGS, Setting

__all__ = ["ARMS", "PILOT_SEEDS", "STAGE2_SEEDS", "arm_setting", "decide", "decide_stage2",
           "summarise"]

ARMS = ("base", "recompute")
PILOT_SEEDS = {"Acrobot-v1": range(100, 140), "CartPole-v1": range(100, 140),
               "Pendulum-v1": range(100, 105)}
STAGE2_SEEDS = range(140, 220)
P_MAX, RETURN_SLACK, P_MAX_STAGE2 = 0.10, 0.10, 0.05


def arm_setting(env: str, arm: str) -> Setting:
    """The zoo setting with ``recompute_advantages`` off (``base``: the default when the
    pilot ran) or on (``recompute``: the default since)."""
    base = SETTINGS[f"ppo/{env}"]
    return replace(base, ours={**base.ours, "recompute_advantages": arm == "recompute"})


def _steps(r: dict[str, Any]) -> float:
    return float(r["steps_to_solve"] if r["solved"] else r["budget"])


def summarise(records: list[dict[str, Any]], env: str, stage: int = 1
              ) -> dict[str, dict[str, Any]]:
    """Per arm: steps to solve per seed (the stage's seeds both arms finished), medians, CPU."""
    stage_seeds = set(PILOT_SEEDS[env] if stage == 1 else STAGE2_SEEDS)
    by: dict[str, dict[int, dict[str, Any]]] = {a: {} for a in ARMS}
    for r in records:
        if r["env"] == env and r["seed"] in stage_seeds:
            by[r["arm"]][r["seed"]] = r
    seeds = sorted(set(by["base"]) & set(by["recompute"]))
    out: dict[str, dict[str, Any]] = {}
    for arm in ARMS:
        recs = [by[arm][s] for s in seeds]
        out[arm] = {"n": len(recs), "solved": sum(r["solved"] for r in recs),
                    "steps": [_steps(r) for r in recs],
                    "median_steps": median([_steps(r) for r in recs]) if recs else float("nan"),
                    "median_cpu": median([r["cpu_to_solve"] if r["solved"] else r["train_cpu"]
                                          for r in recs]) if recs else float("nan"),
                    "median_final": median([r["final_eval"] for r in recs
                                            if r.get("final_eval") is not None] or [float("nan")])}
    return out


def decide(stats: dict[str, dict[str, dict[str, Any]]]) -> tuple[bool, list[str]]:
    """(adopt?, one line per rule) from :func:`summarise` of the three envs."""
    from scipy.stats import mannwhitneyu

    lines, ok = [], True
    a = stats["Acrobot-v1"]
    p = float(mannwhitneyu(a["recompute"]["steps"], a["base"]["steps"],
                           alternative="less").pvalue)
    r1 = a["recompute"]["median_steps"] < a["base"]["median_steps"] and p <= P_MAX
    lines.append(f"1 Acrobot: median {a['recompute']['median_steps']:,.0f} vs "
                 f"{a['base']['median_steps']:,.0f}, one-sided p = {p:.3f}: "
                 f"{'pass' if r1 else 'fail'}")
    c = stats["CartPole-v1"]
    r2 = c["recompute"]["median_steps"] <= c["base"]["median_steps"]
    lines.append(f"2 CartPole: median {c['recompute']['median_steps']:,.0f} vs "
                 f"{c['base']['median_steps']:,.0f}: {'pass' if r2 else 'fail'}")
    pe = stats["Pendulum-v1"]
    fb, fr = pe["base"]["median_final"], pe["recompute"]["median_final"]
    r3 = (pe["recompute"]["median_steps"] <= pe["base"]["median_steps"]
          and fr >= fb - RETURN_SLACK * abs(fb))
    lines.append(f"3 Pendulum: median {pe['recompute']['median_steps']:,.0f} vs "
                 f"{pe['base']['median_steps']:,.0f}, final return {fr:.1f} vs {fb:.1f}: "
                 f"{'pass' if r3 else 'fail'}")
    ok = r1 and r2 and r3
    return ok, lines


def decide_stage2(stats2: dict[str, dict[str, Any]], stage1_lines: list[str]
                  ) -> tuple[bool, list[str]]:
    """(adopt?, lines): stage 1's rules 2 and 3 (from ``stage1_lines``) and the stage-2 test."""
    from scipy.stats import mannwhitneyu

    p = float(mannwhitneyu(stats2["recompute"]["steps"], stats2["base"]["steps"],
                           alternative="less").pvalue)
    ok2 = (stats2["recompute"]["median_steps"] < stats2["base"]["median_steps"]
           and p <= P_MAX_STAGE2)
    guards = all(line.endswith("pass") for line in stage1_lines[1:])
    line = (f"stage 2 Acrobot (seeds {STAGE2_SEEDS[0]}-{STAGE2_SEEDS[-1]}): median "
            f"{stats2['recompute']['median_steps']:,.0f} vs {stats2['base']['median_steps']:,.0f}"
            f", one-sided p = {p:.3f}: {'pass' if ok2 else 'fail'}")
    return ok2 and guards, [*stage1_lines[1:], line]


def _load(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(x) for x in path.read_text().splitlines() if x.strip()]


def _run(cache: Path, env: str, seeds: range) -> None:
    from benchmarks.rl._runners import run_ours

    done = {(r["env"], r["arm"], r["seed"]) for r in _load(cache)}
    for seed in seeds:
        order = ARMS if seed % 2 == 0 else ARMS[::-1]
        for arm in order:
            if (env, arm, seed) in done:
                continue
            setting = arm_setting(env, arm)
            t0 = time.perf_counter()
            res = run_ours(setting, seed, mode="solve", budget=setting.budget)
            rec = {"env": env, "arm": arm, "seed": seed, "budget": setting.budget, **res}
            with cache.open("a") as fh:
                fh.write(json.dumps(rec) + "\n")
            print(f"{env} {arm} seed {seed}: steps {res['steps_to_solve']} cpu "
                  f"{res['cpu_to_solve']} ({time.perf_counter() - t0:.1f} s)",
                  file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    import torch

    torch.set_num_threads(1)
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--cache", type=Path, required=True)
    p.add_argument("--env", choices=sorted(PILOT_SEEDS))
    p.add_argument("--stage", type=int, choices=(1, 2), default=1,
                   help="2: Acrobot seeds 140-219 (see the docstring)")
    p.add_argument("--summary", action="store_true")
    args = p.parse_args(argv)
    if args.env:
        _run(args.cache, args.env, PILOT_SEEDS[args.env] if args.stage == 1 else STAGE2_SEEDS)
    if args.summary:
        records = _load(args.cache)
        stats = {}
        for env in PILOT_SEEDS:
            stats[env] = s = summarise(records, env)
            for arm in ARMS:
                v = s[arm]
                print(f"{env:12s} {arm:10s} n {v['n']:2d} solved {v['solved']:2d}  median steps "
                      f"{v['median_steps']:>8,.0f}  cpu {v['median_cpu']:6.2f}  "
                      f"final {v['median_final']:8.1f}")
        if all(stats[e]["base"]["n"] == len(PILOT_SEEDS[e]) for e in PILOT_SEEDS):
            adopt, lines = decide(stats)
            print("\n".join(lines))
            print("stage 1: adopt recompute_advantages as the default:", adopt)
            s2 = summarise(records, "Acrobot-v1", stage=2)
            if s2["base"]["n"] == len(STAGE2_SEEDS):
                for arm in ARMS:
                    print(f"stage 2 Acrobot {arm:10s} n {s2[arm]['n']} solved "
                          f"{s2[arm]['solved']} median steps {s2[arm]['median_steps']:,.0f} "
                          f"cpu {s2[arm]['median_cpu']:.2f}")
                adopt2, lines2 = decide_stage2(s2, lines)
                print("\n".join(lines2))
                print("stage 2: adopt recompute_advantages as the default:", adopt2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
