"""Pilot grid for A3C's Acrobot-v1 settings (session 10, helper R12), on pilot seeds only.

The zoo has no A3C entry; the benchmark's A3C Acrobot task started from the zoo's A2C
Acrobot numbers (16 envs = 2 workers x 8, n_steps 5, lr 7e-4). This script tunes three of
them on pilot seeds 100-119, which are never reported as results, through the benchmark's
own runner (:func:`benchmarks.rl._runners.run_ours` / ``run_sb3``: the same evaluation,
threshold, budget and CPU bookkeeping as the benchmark).

Protocol (written before any pilot run):

* Fixed: 2 workers, the zoo's normalisation (A3C's shared obs + reward statistics, clip 10,
  gamma 0.99), ent_coef 0, gamma 0.99, max_grad_norm 0.5, RMSProp alpha 0.99 / eps 1e-5.
* Grid: envs per worker {4, 8, 16} x n_steps {5, 8, 16} x learning_rate {7e-4, 1.4e-3}.
* Reference: SB3 A2C Acrobot (zoo settings) on seeds 100-119.
* Stage 1: seeds 100-109 for all 18 settings; per seed SB3 first, then the settings in an
  order rotated by the seed. Pruning (only this rule): after stage 1 drop a setting whose
  median CPU-s to solve is more than 1.5x the lowest setting median, or whose median steps
  to solve is more than 1.5x SB3's median on seeds 100-109.
* Stage 2: seeds 110-119 for the survivors (and SB3), interleaved the same way.
* Selection (:func:`select`): among settings whose pilot median steps to solve is <= SB3 A2C's
  pilot median, the lowest pilot median CPU-s to solve; if none qualifies, the lowest median
  CPU-s among those within 1.1x of SB3's steps (said in the output). Medians over the seeds
  every surviving setting finished (if time runs out in stage 2: over the seeds completed
  by all survivors).
* Unsolved runs count at the budget (steps) and at their CPU-s at the budget, as in the
  benchmark.

Usage: ``python -m benchmarks.rl.a3c_pilot --cache /tmp/R12/pilot.jsonl [--stage 1|2]
[--summary]``. Finished runs are appended to the cache and not repeated.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from benchmarks._common import median
from benchmarks.rl._zoo import SETTINGS, Setting

__all__ = ["GRID", "grid_settings", "label", "prune", "select", "summarise"]

ENVS_PER_WORKER = (4, 8, 16)
N_STEPS = (5, 8, 16)
LEARNING_RATES = (7e-4, 1.4e-3)
GRID = tuple(itertools.product(ENVS_PER_WORKER, N_STEPS, LEARNING_RATES))
STAGE_SEEDS = {1: range(100, 110), 2: range(110, 120)}
PRUNE_CPU, PRUNE_STEPS, FALLBACK_STEPS = 1.5, 1.5, 1.1
SB3 = "sb3_a2c"
#: The zoo-derived setting the benchmark used before this pilot.
ZOO_DERIVED = (8, 5, 7e-4)


def label(point: tuple[int, int, float]) -> str:
    envs, n_steps, lr = point
    return f"e{envs}_n{n_steps}_lr{lr:g}"


def grid_settings(base: Setting | None = None) -> dict[str, Setting]:
    """The A3C Acrobot setting at every grid point (everything else as ``base``)."""
    base = base or SETTINGS["a3c/Acrobot-v1"]
    return {label(p): replace(base, n_envs=p[0],
                              ours={**base.ours, "n_steps": p[1], "learning_rate": p[2]})
            for p in GRID}


def _stats(recs: list[dict[str, Any]]) -> dict[str, float]:
    steps = [r["steps_to_solve"] if r["solved"] else r["budget"] for r in recs]
    cpu = [r["cpu_to_solve"] if r["solved"] else r["train_cpu"] for r in recs]
    return {"n": len(recs), "solved": sum(r["solved"] for r in recs),
            "steps": median(steps), "cpu": median(cpu)}


def summarise(records: list[dict[str, Any]], seeds: list[int]) -> dict[str, dict[str, float]]:
    """Median steps / CPU-s to solve per label over ``seeds`` (labels with all of them)."""
    by: dict[str, dict[int, dict[str, Any]]] = {}
    for r in records:
        by.setdefault(r["label"], {})[r["seed"]] = r
    return {lab: _stats([runs[s] for s in seeds]) for lab, runs in by.items()
            if all(s in runs for s in seeds)}


def prune(stats: dict[str, dict[str, float]]) -> list[str]:
    """The settings that survive stage 1 (see the module docstring)."""
    best_cpu = min(v["cpu"] for k, v in stats.items() if k != SB3)
    ref_steps = stats[SB3]["steps"]
    return [k for k, v in stats.items() if k != SB3
            and v["cpu"] <= PRUNE_CPU * best_cpu and v["steps"] <= PRUNE_STEPS * ref_steps]


def select(stats: dict[str, dict[str, float]], candidates: list[str]) -> tuple[str, str]:
    """(label, which rule chose it)."""
    ref = stats[SB3]["steps"]
    ok = [k for k in candidates if stats[k]["steps"] <= ref]
    if ok:
        return min(ok, key=lambda k: stats[k]["cpu"]), "steps <= SB3 A2C's pilot median"
    near = [k for k in candidates if stats[k]["steps"] <= FALLBACK_STEPS * ref]
    if near:
        return (min(near, key=lambda k: stats[k]["cpu"]),
                "none at or below SB3 A2C's pilot median steps: the lowest CPU-s within 1.1x")
    return "", "no setting within 1.1x of SB3 A2C's pilot median steps"


def _load(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(x) for x in path.read_text().splitlines() if x.strip()]


def _run(cache: Path, labels: list[str], seeds: range, deadline: float | None) -> None:
    from benchmarks.rl._runners import run_ours, run_sb3

    settings = grid_settings()
    done = {(r["label"], r["seed"]) for r in _load(cache)}
    for seed in seeds:
        k = seed % len(labels)
        order = [SB3] + labels[k:] + labels[:k]
        for lab in order:
            if (lab, seed) in done:
                continue
            if deadline is not None and time.time() > deadline:
                print("deadline reached", file=sys.stderr)
                return
            t0 = time.perf_counter()
            if lab == SB3:
                res = run_sb3(SETTINGS["a2c/Acrobot-v1"], seed, mode="solve", budget=100_000)
            else:
                res = run_ours(settings[lab], seed, mode="solve", budget=100_000)
            rec = {"label": lab, "seed": seed, "budget": 100_000, **res}
            with cache.open("a") as fh:
                fh.write(json.dumps(rec) + "\n")
            print(f"{lab} seed {seed}: steps {res['steps_to_solve']} cpu "
                  f"{res['cpu_to_solve']} ({time.perf_counter() - t0:.1f} s)",
                  file=sys.stderr, flush=True)


def _print_summary(records: list[dict[str, Any]], seeds: list[int]) -> None:
    stats = summarise(records, seeds)
    print(f"seeds {seeds[0]}-{seeds[-1]} ({len(seeds)}):")
    for lab, v in sorted(stats.items(), key=lambda kv: kv[1]["cpu"]):
        print(f"  {lab:18s} steps {v['steps']:>8,.0f}  cpu {v['cpu']:6.2f}  "
              f"solved {v['solved']}/{v['n']}")


def main(argv: list[str] | None = None) -> int:
    import torch

    torch.set_num_threads(1)
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--cache", type=Path, required=True)
    p.add_argument("--stage", type=int, choices=(1, 2))
    p.add_argument("--deadline", type=float, default=None,
                   help="unix time after which no new run starts")
    p.add_argument("--summary", action="store_true")
    args = p.parse_args(argv)
    labels = [label(pt) for pt in GRID]
    if args.stage == 1:
        _run(args.cache, labels, STAGE_SEEDS[1], args.deadline)
    elif args.stage == 2:
        stats1 = summarise(_load(args.cache), list(STAGE_SEEDS[1]))
        survivors = prune(stats1)
        print(f"stage 2 survivors: {survivors}", file=sys.stderr)
        _run(args.cache, survivors, STAGE_SEEDS[2], args.deadline)
    if args.summary:
        records = _load(args.cache)
        s1 = list(STAGE_SEEDS[1])
        _print_summary(records, s1)
        stats1 = summarise(records, s1)
        if SB3 in stats1 and len(stats1) == len(GRID) + 1:
            survivors = prune(stats1)
            print(f"survivors of stage 1: {survivors}")
            seeds = s1 + [s for s in STAGE_SEEDS[2]
                          if all((lab, s) in {(r['label'], r['seed']) for r in records}
                                 for lab in [*survivors, SB3])]
            _print_summary(records, seeds)
            stats = summarise(records, seeds)
            print("selected:", select(stats, survivors))
    return 0


if __name__ == "__main__":
    sys.exit(main())
