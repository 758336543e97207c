"""Smoke test of the mnist1d NAS benchmark: a ``--quick`` run (16-architecture table)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("scipy")

ROOT = Path(__file__).resolve().parents[2]


def test_quick_run_builds_a_table_and_reports_both_methods(tmp_path: Path) -> None:
    out = subprocess.run([sys.executable, "-m", "benchmarks", "run", "nas_mnist1d", "--quick",
                          "--results-dir", str(tmp_path)], cwd=ROOT, capture_output=True,
                         text=True, timeout=300, check=False)
    assert out.returncode == 0, out.stderr
    md = (tmp_path / "nas_mnist1d.md").read_text()
    for part in ("table, retrain", "table, cache", "live, retrain"):
        for method in ("reinforce", "random"):
            assert f"| {part} | {method} |" in md
    assert "Mann-Whitney U" in md and "re-evaluated" in md
    raw = json.loads((tmp_path / "nas_mnist1d.json").read_text())["raw"]
    assert raw["table"]["size"] == 16
    rows = [json.loads(r) for r in
            (tmp_path / "nas_mnist1d_quick_table.jsonl").read_text().splitlines()]
    table = {(r["seed"], json.dumps(r["decisions"], sort_keys=True)): r["val_accuracy"]
             for r in rows}
    assert sum(seed == 0 for seed, _ in table) == 16  # seeds 0 and 1 for every architecture
    for label, runs in raw["runs"].items():
        for method in ("reinforce", "random"):
            assert len(runs[method]) == (1 if label.startswith("live") else raw["seeds"])
            for run in runs[method]:
                assert len(run["values"]) == len(run["decisions"]) == raw["budget"]
                for rule, pick in run["picks"].items():
                    # the returned architecture is re-evaluated by held-out seed 0
                    key = json.dumps(pick["decisions"], sort_keys=True)
                    assert pick["reevaluated"] == table[(0, key)], (label, rule)
                if label.startswith("table"):
                    # every table-search value is a table entry with a search seed (>= 1)
                    assert all(any(table.get((s, json.dumps(d, sort_keys=True))) == v
                                   for s in range(1, 1 + raw["budget"]))
                               for v, d in zip(run["values"], run["decisions"], strict=True))
    assert "reeval_shrunk" in raw["tests"]["live, retrain"]
