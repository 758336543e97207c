"""Smoke test of the harder NASNet transfer benchmark (``--quick``: a few seconds)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_nas_transfer_hard_quick_runs_pilot_seeds_and_rank_ceiling(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    pytest.importorskip("mnist1d")
    pytest.importorskip("scipy")
    out = subprocess.run([sys.executable, "-m", "benchmarks", "run", "nas_transfer_hard",
                          "--quick", "--results-dir", str(tmp_path)], cwd=ROOT,
                         capture_output=True, text=True, timeout=240, check=False)
    assert out.returncode == 0, out.stderr[-3000:]
    md = (tmp_path / "nas_transfer_hard.md").read_text()
    assert "| searched |" in md and "| hand-designed |" in md and "Ceiling" in md
    raw = json.loads((tmp_path / "nas_transfer_hard.json").read_text())["raw"]
    assert raw["task"]["pilot"], "the pilot chose the task"
    cands = raw["candidates"]
    assert [c["name"] for c in cands] == ["searched", "random-0", "random-1", "random-2"]
    assert all(len(c["large"]) == 3 and len(c["proxy"]) == 2 for c in cands)
    # the searched cell's first proxy score is its search score
    assert cands[0]["proxy"][0] == max(v for v in raw["search"]["values"] if v is not None)
    assert len(raw["hand_designed"]["large"]) == 3
    assert len(raw["spearman"]["seed_ceiling"]) == 3
    lo, hi = raw["spearman"]["bootstrap_95"]
    assert -1.0 <= lo <= hi <= 1.0


def test_noisy_mnist1d_adds_seeded_noise() -> None:
    pytest.importorskip("torch")
    pytest.importorskip("mnist1d")
    from benchmarks.nas_transfer_hard import noisy_mnist1d

    clean = noisy_mnist1d(0, 100, 50, 0.0)
    a, b = noisy_mnist1d(0, 100, 50, 1.0), noisy_mnist1d(0, 100, 50, 1.0)
    assert (a.X_train == b.X_train).all() and (a.y_train == clean.y_train).all()
    assert not (a.X_train == clean.X_train).all()
    assert a.X_train.shape == clean.X_train.shape and a.X_val.shape == clean.X_val.shape


def test_nas_transfer_hard_quick_search_seeds_with_random_arm_resumes(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    pytest.importorskip("mnist1d")
    pytest.importorskip("scipy")
    cmd = [sys.executable, "-m", "benchmarks", "run", "nas_transfer_hard", "--quick",
           "--search-seeds", "2", "--results-dir", str(tmp_path)]
    out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=240,
                         check=False)
    assert out.returncode == 0, out.stderr[-3000:]
    raw = json.loads((tmp_path / "nas_transfer_hard.json").read_text())["raw"]
    assert raw["complete"] and raw["seeds_done"] == [0, 1]
    keys = [(r["arm"], r["seed"], r["stage"]) for r in raw["runs"]]
    assert sorted(keys) == sorted((a, k, s) for a in ("ppo", "random") for k in (0, 1)
                                  for s in ("search", "large"))
    for r in raw["runs"]:
        if r["stage"] == "large":
            assert len(r["large"]) == 3
        else:  # best-by-proxy cell of the arm's own search
            assert r["best_proxy"] == max(v for v in r["values"] if v is not None)
            assert len(r["values"]) == 4
    # seed 0's controller search is the base run's, not rerun
    assert [r["from_base"] for r in raw["runs"] if r["arm"] == "ppo" and r["seed"] == 0] \
        == [True, True]
    assert "controller_vs_random_search" in raw["tests"]
    lines = (tmp_path / "nas_transfer_hard_live.jsonl").read_text().splitlines()
    assert len(lines) == 8
    # resume: a second run trains nothing and reports the same numbers
    out = subprocess.run([*cmd, "--report-only"], cwd=ROOT, capture_output=True, text=True,
                         timeout=240, check=False)
    assert out.returncode == 0, out.stderr[-3000:]
    raw2 = json.loads((tmp_path / "nas_transfer_hard.json").read_text())["raw"]
    assert raw2["per_seed_large"] == raw["per_seed_large"]
    assert len((tmp_path / "nas_transfer_hard_live.jsonl").read_text().splitlines()) == 8


def test_search_seeds_without_base_run_is_a_clear_error(tmp_path: Path) -> None:
    out = subprocess.run([sys.executable, "-m", "benchmarks", "run", "nas_transfer_hard",
                          "--search-seeds", "2", "--base", str(tmp_path / "missing.json"),
                          "--results-dir", str(tmp_path)], cwd=ROOT, capture_output=True,
                         text=True, timeout=120, check=False)
    assert out.returncode != 0 and "one-seed run" in out.stderr


def test_tuned_controller_settings_and_utc_stopping_rule(tmp_path: Path) -> None:
    """--controller-settings tuned builds the tuned controller; --stop-at in the past starts
    no seed and reports INCOMPLETE without tests; a finished seed after the stop is left out."""
    import argparse

    pytest.importorskip("torch")
    from autolearn.nas import make_space
    from autolearn.samplers import ControllerSampler
    from benchmarks.nas_transfer_hard import TUNED_CONTROLLER, _arm_sampler, _utc

    space = make_space("nasnet", num_blocks=2)
    args = argparse.Namespace(controller_settings="tuned", controller_batch=8)
    s = _arm_sampler("ppo", 7, space, args)
    assert isinstance(s, ControllerSampler) and s.algorithm == "ppo"
    assert s.lr == TUNED_CONTROLLER["lr"] and s.entropy_coef == TUNED_CONTROLLER["entropy_coef"]
    assert _utc("2026-12-07T15:20") == _utc("2026-12-07T15:20:00Z") == 1796656800.0
    with pytest.raises(SystemExit, match="ISO time"):
        _utc("15h20")


def test_search_seeds_stop_at_in_the_past_is_incomplete(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    pytest.importorskip("mnist1d")
    pytest.importorskip("scipy")
    base = tmp_path / "base"
    out = subprocess.run([sys.executable, "-m", "benchmarks", "run", "nas_transfer_hard",
                          "--quick", "--results-dir", str(base)], cwd=ROOT, capture_output=True,
                         text=True, timeout=240, check=False)
    assert out.returncode == 0, out.stderr[-3000:]
    out = subprocess.run([sys.executable, "-m", "benchmarks", "run", "nas_transfer_hard",
                          "--quick", "--search-seeds", "3", "--first-seed", "5",
                          "--controller-settings", "tuned", "--stop-at", "2020-01-01T00:00",
                          "--base", str(base / "nas_transfer_hard.json"),
                          "--results-dir", str(tmp_path)], cwd=ROOT, capture_output=True,
                         text=True, timeout=240, check=False)
    assert out.returncode == 0, out.stderr[-3000:]
    raw = json.loads((tmp_path / "nas_transfer_hard.json").read_text())["raw"]
    assert not raw["complete"] and raw["seeds_done"] == [] and raw["tests"] == {}
    md = (tmp_path / "nas_transfer_hard.md").read_text()
    assert "INCOMPLETE under the stopping rule" in md and "session 9" in md
