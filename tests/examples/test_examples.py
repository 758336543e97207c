"""Smoke-run every example with a tiny budget."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_quickstart_runs_and_resumes(tmp_path):
    pytest.importorskip("sklearn")
    url = f"sqlite:///{tmp_path / 'quick.db'}"
    cmd = [sys.executable, str(ROOT / "examples" / "quickstart.py"), "--storage", url,
           "--n-trials", "2", "--seed", "0"]
    first = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first.stderr
    assert "0 finished trials, running 2 more" in first.stdout
    assert "best trial #" in first.stdout
    cmd[-3] = "3"
    second = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert second.returncode == 0, second.stderr
    assert "2 finished trials, running 1 more" in second.stdout


def test_pruning_torch_example():
    pytest.importorskip("torch")
    pytest.importorskip("sklearn")
    cmd = [sys.executable, str(ROOT / "examples" / "pruning_torch.py"), "--n-trials", "6",
           "--epochs", "3"]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "6 trials" in out.stdout and "best validation accuracy" in out.stdout
