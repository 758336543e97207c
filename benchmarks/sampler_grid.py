"""Grid search's CPU time per suggestion: autolearn's GridSampler vs Optuna's, side by side.

The sampler benchmark (``benchmarks.samplers``) times random, TPE and the model family; a
grid sampler has no place in its regret tables (it is not an optimiser of a continuous
problem), so its cost is measured here, as the issue's "random and grid <= 0.5 ms" asks.
One run: Hartmann-6 on a grid of ``--levels`` values per coordinate (4: 4,096 points),
``--trials`` trials in memory, the grid visited in a seeded shuffled order. CPU time per
suggestion is ``time.process_time`` from the end of one evaluation to the end of the last
``suggest_float`` of the next (the sampler plus the study's bookkeeping, never the
objective), as in ``benchmarks.samplers``; reported as the mean of the 10 suggestions before
trial 100 and before trial ``--trials``, median over seeds. Both libraries run in one
process, interleaved per seed, the one that goes first alternating.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from benchmarks._common import Report, median

DESCRIPTION = "ms per suggestion of grid search (GridSampler), autolearn vs Optuna"

LIBRARIES = ("autolearn", "optuna")
GOAL_MS = 0.5
DIM = 6


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--trials", type=int, default=1000, help="trials per run (1000)")
    parser.add_argument("--seeds", type=int, default=5, help="runs per library (5)")
    parser.add_argument("--levels", type=int, default=4,
                        help="grid values per coordinate (4: 4,096 points)")


def _objective() -> Callable[[dict[str, Any]], float]:
    from benchmarks.samplers.problems import PROBLEMS

    objective, _ = PROBLEMS["hartmann6"].build()
    return objective


def _one_run(library: str, grid: dict[str, list[float]], seed: int, n_trials: int,
             objective: Callable[[dict[str, Any]], float]) -> list[float]:
    """CPU seconds per suggestion of one run, in trial order."""
    lib_s: list[float] = []
    mark = [0.0]

    def evaluate(trial: Any) -> float:
        params = {name: trial.suggest_float(name, 0.0, 1.0) for name in grid}
        lib_s.append(time.process_time() - mark[0])
        value = objective(params)
        mark[0] = time.process_time()
        return value

    if library == "autolearn":
        import autolearn

        study: Any = autolearn.create_study(
            direction="minimize", sampler=autolearn.samplers.GridSampler(grid, seed=seed))
    else:
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        study = optuna.create_study(direction="minimize",
                                    sampler=optuna.samplers.GridSampler(grid, seed=seed))
    mark[0] = time.process_time()
    study.optimize(evaluate, n_trials=n_trials)
    return lib_s


def _ms_before(per_trial: list[float], k: int) -> float:
    window = per_trial[max(0, k - 10):k]
    return 1e3 * float(np.mean(window)) if window else float("nan")


def run(args: argparse.Namespace) -> Report:
    n_trials = 30 if args.quick else args.trials
    seeds = 1 if args.quick else args.seeds
    levels = args.levels
    if levels < 2 or levels ** DIM < n_trials:
        raise SystemExit(f"--levels {levels} gives {levels ** DIM} grid points, fewer than "
                         f"--trials {n_trials}: use more levels or fewer trials")
    values = [float(v) for v in np.linspace(0.0, 1.0, levels)]
    grid = {f"x{i}": list(values) for i in range(DIM)}
    objective = _objective()
    checks = sorted({k for k in (100, n_trials) if k <= n_trials})
    ms: dict[str, dict[int, list[float]]] = {lib: {k: [] for k in checks} for lib in LIBRARIES}
    for seed in range(seeds):
        order = LIBRARIES if seed % 2 == 0 else LIBRARIES[::-1]
        for lib in order:
            per_trial = _one_run(lib, grid, seed, n_trials, objective)
            for k in checks:
                ms[lib][k].append(_ms_before(per_trial, k))
    rows = []
    for k in checks:
        al, op = median(ms["autolearn"][k]), median(ms["optuna"][k])
        rows.append([f"@{k}", f"{al:.3f}", f"{op:.3f}", f"{al / op:.2f}",
                     f"<= {GOAL_MS}", "met" if al <= GOAL_MS else "missed"])
    notes = [
        f"Hartmann-6 on a {levels}^{DIM} = {levels ** DIM:,}-point grid, {n_trials} trials per "
        f"run, seeds 0..{seeds - 1} (the grid order's shuffle), in-memory storage; autolearn "
        "GridSampler(grid, seed) and Optuna GridSampler(grid, seed), defaults otherwise.",
        "ms per suggestion: mean of the 10 suggestions before trial k (process CPU time from "
        "the end of one evaluation to the end of the next trial's last suggest_float), "
        "median over seeds; ratio autolearn / Optuna. Both libraries interleaved per seed in "
        "one process, the first alternating.",
        "autolearn's GridSampler claims each point in the storage (exactly once across "
        "workers) and reads only the trials that were open or new since its last read.",
    ]
    return Report(
        title="Grid search: CPU ms per suggestion, autolearn vs Optuna",
        header=["trial", "autolearn ms", "Optuna ms", "ratio", "goal (autolearn)", "result"],
        rows=rows, notes=notes,
        raw={"ms": {lib: {str(k): v for k, v in d.items()} for lib, d in ms.items()},
             "trials": n_trials, "seeds": seeds, "levels": levels},
    )
