"""The mnist1d macro-space NAS benchmark (``benchmarks/nas_mnist1d_macro.py``): its helpers and
a ``--quick`` run (lives here because it exercises the NAS search end to end)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_space_size_and_expected_best_of() -> None:
    from benchmarks.nas_mnist1d_macro import _setup, expected_best_of, space_size

    assert space_size(_setup(False, 5)["space"]) == (4 * 4 * 3) ** 5 * 2 ** 10
    assert expected_best_of([0.5], 64) == 0.5
    # two values: the max of k draws is the larger one unless all k draws are the smaller
    assert expected_best_of([0.2, 0.8], 3) == pytest.approx(0.2 / 8 + 0.8 * 7 / 8)


def test_quick_run_reports_both_methods_and_reevaluates_on_the_heldout_seed(
        tmp_path: Path) -> None:
    pytest.importorskip("torch")
    pytest.importorskip("scipy")
    out = subprocess.run([sys.executable, "-m", "benchmarks", "run", "nas_mnist1d_macro",
                          "--quick", "--results-dir", str(tmp_path)], cwd=ROOT,
                         capture_output=True, text=True, timeout=300, check=False)
    assert out.returncode == 0, out.stderr
    md = (tmp_path / "nas_mnist1d_macro.md").read_text()
    assert "| reinforce | 1 |" in md and "| random | 1 |" in md and "Pilot:" in md
    raw = json.loads((tmp_path / "nas_mnist1d_macro.json").read_text())["raw"]
    rows = [json.loads(r) for r in
            (tmp_path / "nas_mnist1d_macro_quick_trainings.jsonl").read_text().splitlines()]
    trained = {(r["seed"], json.dumps(r["decisions"], sort_keys=True)): r["val_accuracy"]
               for r in rows}
    assert len(raw["pilot"]["values"]) == 6 and len(raw["pilot"]["values_seed2"]) == 3
    for method in ("reinforce", "random"):
        (run,) = raw["runs"][method]
        assert len(run["values"]) == raw["budget"]
        for pick in run["picks"].values():
            assert pick["reevaluated"] == trained[(0, json.dumps(pick["decisions"],
                                                                 sort_keys=True))]
        best = run["picks"]["best_trial"]
        key = json.dumps(best["decisions"], sort_keys=True)
        assert best["reevaluated_multi"] == pytest.approx(
            sum(trained[(s, key)] for s in (0, 100, 101)) / 3)


def test_confirm_quick_run_reevaluates_the_confirmed_pick(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    pytest.importorskip("scipy")
    out = subprocess.run([sys.executable, "-m", "benchmarks", "run", "nas_mnist1d_confirm",
                          "--quick", "--results-dir", str(tmp_path)], cwd=ROOT,
                         capture_output=True, text=True, timeout=300, check=False)
    assert out.returncode == 0, out.stderr
    md = (tmp_path / "nas_mnist1d_confirm.md").read_text()
    assert "| reinforce | 1 |" in md and "| random | 1 |" in md
    raw = json.loads((tmp_path / "nas_mnist1d_confirm.json").read_text())["raw"]
    rows = [json.loads(r) for r in
            (tmp_path / "nas_mnist1d_confirm_quick_trainings.jsonl").read_text().splitlines()]
    trained = {(r["seed"], json.dumps(r["decisions"], sort_keys=True)): r["val_accuracy"]
               for r in rows}
    for method in ("reinforce", "random"):
        (run,) = raw["runs"][method]
        assert len(run["values"]) == raw["budget"] == 8 and run["children"] == 6
        pick = run["confirm"]
        key = json.dumps(pick["decisions"], sort_keys=True)
        # the confirmed pick was trained twice in the search (seeds 1, 2), then on the
        # five held-out seeds, which no search uses
        assert pick["values"] == [trained[(1, key)], trained[(2, key)]]
        assert pick["heldout"] == [trained[(s, key)] for s in raw["heldout"]]
        best6 = sorted(run["values"][:6], reverse=True)[:2]
        confirmed = [v for v, d in zip(run["values"][:6], run["decisions"][:6], strict=True)
                     if d == pick["decisions"]]
        assert max(confirmed) in best6


def test_confirm_collect_only_writes_searches_but_no_report(tmp_path: Path) -> None:
    """The stopping rule's mode: pairs go to the live file, nothing reports the headline;
    a later run without the flag reads them back and writes the report."""
    pytest.importorskip("torch")
    pytest.importorskip("scipy")
    cmd = [sys.executable, "-m", "benchmarks", "run", "nas_mnist1d_confirm", "--quick",
           "--results-dir", str(tmp_path)]
    out = subprocess.run([*cmd, "--collect-only"], cwd=ROOT, capture_output=True, text=True,
                         timeout=300, check=False)
    assert out.returncode == 0, out.stderr
    assert "no report written" in out.stdout and "Mann-Whitney" not in out.stdout
    assert not (tmp_path / "nas_mnist1d_confirm.md").exists()
    live = (tmp_path / "nas_mnist1d_confirm_quick_live.jsonl").read_text().splitlines()
    assert len(live) == 2
    out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300,
                         check=False)
    assert out.returncode == 0, out.stderr
    raw = json.loads((tmp_path / "nas_mnist1d_confirm.json").read_text())["raw"]
    assert raw["reused"] == 2 and raw["pairs_done"] == 1
