"""Smoke test of the sampler benchmark: ``--quick`` with two random samplers."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_samplers_quick_writes_regret_table_ranks_and_raw_runs(tmp_path: Path) -> None:
    pytest.importorskip("optuna")
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks", "run", "samplers", "--quick",
         "--optimizers", "autolearn-random,optuna-random", "--jobs", "1",
         "--results-dir", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)
    assert out.returncode == 0, out.stderr
    md = (tmp_path / "samplers.md").read_text()
    for problem in ("branin", "hartmann3"):
        for optimizer in ("autolearn-random", "optuna-random"):
            assert f"| {problem} | continuous | {optimizer} | 2 |" in md
    assert "mean rank @15" in md
    raw = json.loads((tmp_path / "samplers.json").read_text())["raw"]
    runs = raw["runs"]
    assert len(runs) == 2 * 2 * 2
    for run in runs:
        assert run["status"] == "ok"
        assert len(run["values"]) == len(run["lib_cpu_s"]) == 15
        assert all(t >= 0 for t in run["lib_cpu_s"])
    cell = raw["cells"]["branin|optuna-random"]["15"]
    # Regret is measured from Branin's optimum 0.3979, so it is never negative.
    assert len(cell["per_seed"]) == 2 and min(cell["per_seed"]) >= 0
