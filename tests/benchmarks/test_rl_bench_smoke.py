"""Smoke test of the RL benchmark: a ``--quick`` run against Stable-Baselines3, then a
``--report-only`` rebuild from its cache."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _run(tmp_path: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "benchmarks", "run", "rl", "--quick",
                           "--results-dir", str(tmp_path), *extra], cwd=ROOT,
                          capture_output=True, text=True, timeout=300, check=False)


def test_quick_run_measures_both_libraries_and_resumes_from_its_cache(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    pytest.importorskip("stable_baselines3")
    out = _run(tmp_path)
    assert out.returncode == 0, out.stderr
    md = (tmp_path / "rl.md").read_text()
    for algo in ("A2C", "PPO", "DQN"):
        assert f"| env steps to solve (median) | {algo} | CartPole-v1 |" in md
    assert "| env steps per CPU-s, 8 envs (median of 1) | PPO |" in md
    assert "gradient updates per CPU-s" in md
    assert "A3C (SB3 column: SB3 A2C)" in md and "ASYNC_Q (SB3 column: SB3 DQN)" in md
    raw = json.loads((tmp_path / "rl.json").read_text())["raw"]
    runs = raw["solve"]["ppo/CartPole-v1"]["runs"]
    for lib in ("autolearn", "sb3"):
        (rec,) = runs[lib]
        assert rec["total_steps"] >= rec["budget"] and rec["evals"], rec
        assert rec["train_cpu"] > 0 and rec["eval_cpu"] > 0
        assert [t for t, _ in rec["evals"]] == sorted(t for t, _ in rec["evals"])
    tp = raw["throughput"]["dqn/1"]
    assert tp["autolearn"][0]["updates"] > 0 and tp["sb3"][0]["updates"] > 0
    lines = (tmp_path / "rl_runs_quick.jsonl").read_text().splitlines()
    again = _run(tmp_path, "--report-only")
    assert again.returncode == 0, again.stderr
    assert (tmp_path / "rl_runs_quick.jsonl").read_text().splitlines() == lines
    assert (tmp_path / "rl.md").read_text().split("Command")[0] == md.split("Command")[0]
