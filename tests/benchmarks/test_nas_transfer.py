"""Smoke test of the NASNet transfer benchmark (``--quick``: a few seconds)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_nas_transfer_quick_writes_table_goals_and_rank_correlation(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    pytest.importorskip("mnist1d")
    pytest.importorskip("scipy")
    out = subprocess.run([sys.executable, "-m", "benchmarks", "run", "nas_transfer", "--quick",
                          "--results-dir", str(tmp_path)], cwd=ROOT, capture_output=True,
                         text=True, timeout=180, check=False)
    assert out.returncode == 0, out.stderr[-3000:]
    md = (tmp_path / "nas_transfer.md").read_text()
    assert "| searched |" in md and "| hand-designed |" in md
    assert "Spearman" in md and "-m benchmarks run nas_transfer --quick" in md
    raw = json.loads((tmp_path / "nas_transfer.json").read_text())["raw"]
    assert len(raw["search"]["values"]) == 4
    cands = raw["candidates"]
    assert [c["name"] for c in cands] == ["searched", "random-0", "random-1"]
    assert all(0.0 <= c["proxy"] <= 1.0 and len(c["large"]) == 1 for c in cands)
    assert raw["hand_designed"]["n_params"] > 0
    assert -1.0 <= raw["spearman"]["rho"] <= 1.0
    assert set(raw["goals"]) == {"beats_median_random", "matches_hand_designed"}
