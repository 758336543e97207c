"""Smoke-run the RL examples with tiny budgets."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_ppo_cartpole_example(tmp_path):
    pytest.importorskip("torch")
    pytest.importorskip("gymnasium")
    log = tmp_path / "log.csv"
    cmd = [sys.executable, str(ROOT / "examples" / "rl_ppo_cartpole.py"), "--timesteps", "512",
           "--eval-every", "256", "--log", str(log)]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "trained 512 env steps" in out.stdout
    assert "evaluation return" in out.stdout
    assert log.read_text().startswith("timesteps,")
