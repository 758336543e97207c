"""The sampler benchmark's per-optimizer slow problem sets and its required-field rank table.

Checked on a made-up cache with ``--report-only`` (runs nothing): scikit-optimize is planned
on every problem but has finished only some seeds on one, SMAC3 BlackBox (an extra peer)
runs on one problem; rank tables must use only problems where every ranked optimizer
finished all its planned seeds.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.samplers import parse_slow_problems, plan_tasks

ROOT = Path(__file__).resolve().parents[2]
TRIALS = 30
PROBLEMS = ["branin", "hartmann3", "hartmann6"]


def test_plan_tasks_gives_each_slow_optimizer_its_own_problems() -> None:
    tasks = plan_tasks(["skopt-gp", "smac-bb"], PROBLEMS, n_trials=TRIALS, seeds=5,
                       model_seeds=5, model_problems=[], slow=["skopt-gp", "smac-bb"],
                       slow_seeds=2, slow_problems={"skopt-gp": PROBLEMS,
                                                    "smac-bb": ["hartmann6"]})
    by_opt: dict[str, set[tuple[str, int]]] = {}
    for t in tasks:
        by_opt.setdefault(t.optimizer, set()).add((t.problem, t.seed))
    assert by_opt["skopt-gp"] == {(p, s) for p in PROBLEMS for s in range(2)}
    assert by_opt["smac-bb"] == {("hartmann6", 0), ("hartmann6", 1)}


def test_parse_slow_problems_rejects_a_slow_optimizer_without_problems() -> None:
    with pytest.raises(SystemExit, match="no problems for smac-bb"):
        parse_slow_problems("skopt-gp=all", ["skopt-gp", "smac-bb"], PROBLEMS)
    with pytest.raises(SystemExit, match="unknown problems"):
        parse_slow_problems("skopt-gp=brannin", ["skopt-gp"], PROBLEMS)


def test_required_field_table_uses_only_problems_with_every_seed(tmp_path: Path,
                                                               fake_sampler_run) -> None:
    best = {"optuna-random": {"branin": 9, "hartmann3": 9, "hartmann6": 9},
            "autolearn-random": {"branin": 8, "hartmann3": 10, "hartmann6": 8},
            "optuna-gp": {"branin": 1, "hartmann3": 1, "hartmann6": 3},
            "skopt-gp": {"branin": 2, "hartmann3": 0, "hartmann6": 2},
            "smac-bb": {"hartmann6": 1}}
    # skopt-gp has 1 of its 2 seeds on hartmann3: that problem must not be ranked with it.
    runs = [fake_sampler_run(o, p, s, b, TRIALS) for o, bs in best.items() for p, b in bs.items()
            for s in range(2) if not (o == "skopt-gp" and p == "hartmann3" and s == 1)]
    cache = tmp_path / "cache.jsonl"
    cache.write_text("".join(json.dumps(r) + "\n" for r in runs))
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks", "run", "samplers", "--report-only",
         "--cache", str(cache), "--optimizers", ",".join(best), "--problems", ",".join(PROBLEMS),
         "--trials", str(TRIALS), "--seeds", "2", "--model-seeds", "2",
         "--slow-optimizers", "skopt-gp,smac-bb", "--slow-seeds", "2",
         "--slow-problems", "skopt-gp=all;smac-bb=hartmann6", "--no-timing",
         "--results-dir", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)
    assert out.returncode == 0, out.stderr
    md = (tmp_path / "samplers.md").read_text()
    assert "| hartmann3 | continuous | skopt-gp | 1 |" in md  # the partial cell is shown
    ranks = json.loads((tmp_path / "samplers.json").read_text())["raw"]["ranks"]
    required = "required field: every optimizer but the extra peer(s) smac-bb"
    assert set(ranks) == {"every optimizer", required,
                          "every optimizer but skopt-gp, smac-bb", "random / TPE optimizers"}
    # Whole field: hartmann6 only (smac-bb 1 < skopt 2 < optuna-gp 3 < 8 < 9).
    assert ranks["every optimizer"]["30"]["smac-bb"] == [1.0, 1]
    # Required field: branin and hartmann6, not the partial hartmann3.
    assert ranks[required]["30"]["skopt-gp"] == [1.5, 2]
    assert ranks[required]["30"]["optuna-gp"] == [1.5, 2]
    # Without the slow tier: all three problems.
    assert ranks["every optimizer but skopt-gp, smac-bb"]["30"]["optuna-gp"] == [1.0, 3]
    assert "skopt-gp seeds 0..1 on 3 (all; all seeds finished on 2 of them so far)" in md
    assert "smac-bb seeds 0..1 on 1 (hartmann6)" in md
