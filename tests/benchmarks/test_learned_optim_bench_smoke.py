"""Smoke test of the learned-optimizer benchmark: a ``--quick`` run with the shipped weights."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_learned_optimizer_quick_writes_table_goals_and_raw_numbers(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    pytest.importorskip("sklearn")
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks", "run", "learned_optimizer", "--quick",
         "--settings", "quadratic-100", "--results-dir", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert out.returncode == 0, out.stderr
    md = (tmp_path / "learned_optimizer.md").read_text()
    assert "| quadratic-100 | LSTM (quadratic weights) |" in md
    assert "-m benchmarks run learned_optimizer --quick" in md
    raw = json.loads((tmp_path / "learned_optimizer.json").read_text())["raw"]
    entry = raw["settings"]["quadratic-100"]
    assert len(entry["learned"]["0"]["loss"]) == 2
    assert set(entry["baselines"]) == {"adam", "nag", "momentum", "rmsprop", "sgd"}
    assert all(b["learning_rate"] in (0.01, 0.1, 1.0) for b in entry["baselines"].values())
    assert entry["goals"][0]["goal"].startswith("LSTM <= 0.9 x adam")
