"""Smoke test of the meta-learning benchmark (``--quick``: a few meta-steps)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_meta_learning_quick_writes_table_and_raw_numbers(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    cache = tmp_path / "cache.jsonl"
    cmd = [sys.executable, "-m", "benchmarks", "run", "meta_learning", "--quick",
           "--experiments", "sinusoid,mnist1d_5w1s", "--methods", "maml,pretrained,scratch",
           "--results-dir", str(tmp_path), "--cache", str(cache)]
    out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600,
                         check=False)
    assert out.returncode == 0, out.stderr
    md = (tmp_path / "meta_learning.md").read_text()
    assert "| sinusoid | maml |" in md and "| mnist1d_5w1s | pretrained |" in md
    assert "Goal MAML sinusoid" in md
    raw = json.loads((tmp_path / "meta_learning.json").read_text())
    records = raw["raw"]["records"]
    assert len(records) == 6 and len(cache.read_text().splitlines()) == 6
    for r in records:
        assert len(r["result"]["loss"]) == 11
        if r["experiment"] != "sinusoid":
            assert 0 <= r["result"]["accuracy"][-1] <= 1
    # a second run reuses the cache and only writes the report
    again = subprocess.run([*cmd, "--report-only"], cwd=ROOT, capture_output=True,
                           text=True, timeout=120, check=False)
    assert again.returncode == 0, again.stderr
    assert len(json.loads((tmp_path / "meta_learning.json").read_text())["raw"]["records"]) == 6
