"""Smoke test of the sampler benchmark: ``--quick`` with two random samplers."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_samplers_quick_writes_regret_table_ranks_and_raw_runs(tmp_path: Path) -> None:
    pytest.importorskip("optuna")
    cache = tmp_path / "cache.jsonl.gz"

    def run(*extra: str) -> str:
        out = subprocess.run(
            [sys.executable, "-m", "benchmarks", "run", "samplers", "--quick",
             "--optimizers", "autolearn-random,optuna-random", "--jobs", "1",
             "--results-dir", str(tmp_path), "--cache", str(cache), *extra],
            cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)
        assert out.returncode == 0, out.stderr
        return (tmp_path / "samplers.md").read_text()

    md = run()
    for problem in ("branin", "hartmann3"):
        for optimizer in ("autolearn-random", "optuna-random"):
            assert f"| {problem} | continuous | {optimizer} | 2 |" in md
    assert "mean rank @15" in md
    raw = json.loads((tmp_path / "samplers.json").read_text())["raw"]
    runs = raw["runs"]
    assert len(runs) == 2 * 2 * 2
    for r in runs:  # per-evaluation values stay in the cache, not in the report
        assert r["status"] == "ok" and r["lib_cpu_s"] >= 0 and "values" not in r
        assert r["best"] >= r["optimum"]
    cell = raw["cells"]["branin|optuna-random"]["15"]
    # Regret is measured from Branin's optimum 0.3979, so it is never negative.
    assert len(cell["per_seed"]) == 2 and min(cell["per_seed"]) >= 0
    # The gzip cache holds every run and regenerates the same tables.
    with gzip.open(cache, "rt") as f:
        cached = [json.loads(line) for line in f if line.strip()]
    assert len(cached) == 8 and all(len(c["values"]) == 15 for c in cached)
    table = md.split("Peer versions")[0]
    assert run("--report-only").split("Peer versions")[0] == table
