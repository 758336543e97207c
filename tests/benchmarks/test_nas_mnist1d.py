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
    for part in ("table", "live"):
        for method in ("reinforce", "random"):
            assert f"| {part} | {method} |" in md
    assert "Mann-Whitney U" in md
    raw = json.loads((tmp_path / "nas_mnist1d.json").read_text())["raw"]
    assert raw["table"]["size"] == 16
    rows = (tmp_path / "nas_mnist1d_quick_table.jsonl").read_text().splitlines()
    assert len(rows) == 16
    table = {json.dumps(r["decisions"], sort_keys=True): r["val_accuracy"]
             for r in map(json.loads, rows)}
    for method in ("reinforce", "random"):
        runs = raw["table_runs"][method]
        assert len(runs) == raw["seeds"] == 2 and all(len(r) == raw["budget"] for r in runs)
        # every table-search value is a table entry
        assert all(v in set(table.values()) for r in runs for v in r)
        assert len(raw["live_runs"][method]) == 1
        # a live search's architectures are table rows: its incumbent can be re-evaluated
        live = raw["live_runs"][method][0]
        assert len(live["decisions"]) == len(live["values"]) == raw["budget"]
        assert all(json.dumps(d, sort_keys=True) in table for d in live["decisions"])
    assert "incumbent re-evaluated" in md and "reevaluated_p" in raw["tests"]["live"]
