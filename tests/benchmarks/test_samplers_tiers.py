"""The sampler benchmark's seed tiers and rank tables, checked on a made-up cache.

``--report-only`` reads finished runs from the cache and runs nothing, so these tests take
a second: they check which (optimizer, problem, seed) tasks each tier asks for and that the
rank tables are computed on the problems where every ranked optimizer ran.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.samplers import plan_tasks

ROOT = Path(__file__).resolve().parents[2]
TRIALS = 30


def test_plan_tasks_gives_each_tier_its_seeds_and_problems() -> None:
    tasks = plan_tasks(["optuna-random", "optuna-gp", "smac-bb"],
                       ["branin", "hartmann3", "hartmann6"], n_trials=TRIALS, seeds=3,
                       model_seeds=2, model_problems=["branin", "hartmann6"],
                       slow=["smac-bb"], slow_seeds=1, slow_problems=["hartmann6", "levy5"])
    by_opt: dict[str, set[tuple[str, int]]] = {}
    for t in tasks:
        by_opt.setdefault(t.optimizer, set()).add((t.problem, t.seed))
    assert by_opt["optuna-random"] == {(p, s) for p in ("branin", "hartmann3", "hartmann6")
                                       for s in range(3)}
    assert by_opt["optuna-gp"] == {(p, s) for p in ("branin", "hartmann6") for s in range(2)}
    assert by_opt["smac-bb"] == {("hartmann6", 0)}  # levy5 is not among the problems run


def test_report_only_ranks_every_optimizer_where_all_ran(tmp_path: Path,
                                                       fake_sampler_run) -> None:
    # best regret per (optimizer, problem); skopt-gp (slow tier) ran on hartmann6 only.
    best = {"optuna-random": {"branin": 9, "hartmann3": 9, "hartmann6": 9},
            "autolearn-random": {"branin": 8, "hartmann3": 10, "hartmann6": 8},
            "optuna-gp": {"branin": 1, "hartmann6": 3},
            "skopt-gp": {"hartmann6": 2}}
    seeds = {"optuna-random": 2, "autolearn-random": 2, "optuna-gp": 2, "skopt-gp": 1}
    cache = tmp_path / "cache.jsonl"
    cache.write_text("".join(json.dumps(fake_sampler_run(o, p, s, b, TRIALS)) + "\n"
                             for o, bs in best.items() for p, b in bs.items()
                             for s in range(seeds[o])))
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks", "run", "samplers", "--report-only",
         "--cache", str(cache), "--optimizers", ",".join(best),
         "--problems", "branin,hartmann3,hartmann6", "--trials", str(TRIALS),
         "--seeds", "2", "--model-seeds", "2", "--model-problems", "branin,hartmann6",
         "--slow-optimizers", "skopt-gp", "--slow-seeds", "1", "--slow-problems", "hartmann6",
         "--no-timing", "--results-dir", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)
    assert out.returncode == 0, out.stderr
    md = (tmp_path / "samplers.md").read_text()
    assert "| hartmann6 | continuous | skopt-gp | 1 | 7 | 2 |" in md
    assert "| branin | continuous | optuna-gp | 2 | 6 | 1 |" in md
    assert "skopt-gp" not in md.split("| branin | continuous | optuna-random")[0]
    ranks = json.loads((tmp_path / "samplers.json").read_text())["raw"]["ranks"]
    assert set(ranks) == {"every optimizer", "every optimizer but skopt-gp",
                          "random / TPE optimizers"}
    # Every optimizer: hartmann6 only (skopt 2 < optuna-gp 3 < autolearn 8 < optuna 9).
    assert ranks["every optimizer"]["30"] == {
        "skopt-gp": [1.0, 1], "optuna-gp": [2.0, 1], "autolearn-random": [3.0, 1],
        "optuna-random": [4.0, 1]}
    # Without the slow tier: branin and hartmann6 (hartmann3 lacks optuna-gp).
    assert ranks["every optimizer but skopt-gp"]["30"]["optuna-gp"] == [1.0, 2]
    assert ranks["every optimizer but skopt-gp"]["30"]["optuna-random"] == [3.0, 2]
    # Random / TPE: all three problems (autolearn-random ranks 1, 2, 1).
    assert ranks["random / TPE optimizers"]["30"]["autolearn-random"] == [
        pytest.approx(4 / 3), 3]
    assert "the 2 problems where all of them ran: branin, hartmann6" in md
