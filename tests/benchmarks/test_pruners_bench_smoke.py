"""Smoke test of the pruning benchmark: a ``--quick`` run on a synthetic in-memory table."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from benchmarks.pruners._tables import DATA_DIR, CurveTable, load_table, synthetic_table

ROOT = Path(__file__).resolve().parents[2]


def test_table_rows_follow_the_product_order_and_survive_a_round_trip(tmp_path: Path) -> None:
    table = synthetic_table(seed=1)
    configs = table.configs()
    assert len(configs) == table.curves.shape[0] == 48
    assert [table.index(c) for c in configs] == list(range(48))
    table.save(tmp_path)
    back = load_table("synthetic", tmp_path)
    assert back.space == table.space
    np.testing.assert_allclose(back.curves, table.curves, atol=1e-6)


def test_a_table_with_the_wrong_number_of_rows_is_rejected() -> None:
    with pytest.raises(ValueError, match="shape"):
        CurveTable("bad", (("a", (1, 2)),), np.zeros((3, 4)), {})


@pytest.mark.parametrize("library", ["autolearn", "optuna"])
def test_studies_spend_the_epoch_budget_and_pruning_saves_epochs(library: str) -> None:
    if library == "optuna":
        pytest.importorskip("optuna")
    from benchmarks.pruners._bench import METHODS, run_study

    table = synthetic_table(seed=0)
    budget = 20 * table.n_epochs
    by_key = {m.key: m for m in METHODS if m.library == library}
    unpruned = run_study(by_key["random"], table, seed=0, budget=budget)
    asha = run_study(by_key["asha"], table, seed=0, budget=budget)
    # No pruning: every trial trains all epochs, 20 trainings fill the budget exactly.
    assert unpruned.complete.all() and len(unpruned.epochs) == 20
    assert unpruned.epochs[-1] == budget
    # ASHA stops trials early, so the same budget buys more (and some pruned) trials.
    assert len(asha.epochs) > 20 and not asha.complete.all()
    assert budget <= asha.epochs[-1] < budget + table.n_epochs
    assert np.all(np.diff(asha.epochs) >= 1)
    curve = [asha.incumbent(e) for e in range(1, budget + 1)]
    assert curve == sorted(curve)


def test_quick_run_writes_both_libraries_rows(tmp_path: Path) -> None:
    pytest.importorskip("optuna")
    out = subprocess.run([sys.executable, "-m", "benchmarks", "run", "pruners", "--quick",
                          "--results-dir", str(tmp_path)], cwd=ROOT, capture_output=True,
                         text=True, timeout=120, check=False)
    assert out.returncode == 0, out.stderr
    md = (tmp_path / "pruners.md").read_text()
    for label in ("autolearn ASHA", "Optuna SuccessiveHalving", "autolearn Hyperband",
                  "Optuna Hyperband", "autolearn Median", "Optuna Median"):
        assert f"| synthetic | {label} |" in md
    assert "| synthetic | autolearn BOHB |" in md
    raw = json.loads((tmp_path / "pruners.json").read_text())["raw"]
    prob = raw["problems"]["synthetic"]
    for label, rec in prob["methods"].items():
        assert len(rec["trials"]) == raw["seeds"] == 2, label
        for curve in rec["incumbent_every_budget_over_27"]:
            assert curve == sorted(curve), label
        # Random search finds its own final best within the budget, by definition.
        if "random search" in label:
            assert all(e <= prob["budget_epochs"]
                       for e in rec["epochs_to_reach_random_search_final_best"])
            assert rec["pruned"] == [0, 0]


def test_shipped_tables_load() -> None:
    for name in ("mlp_mnist1d", "mlp_digits", "sgd_digits"):
        if not (DATA_DIR / f"{name}.npz").exists():
            pytest.fail(f"{name}.npz missing: run python -m benchmarks.pruners.build_tables")
        table = load_table(name)
        assert np.isfinite(table.curves).all()
        assert 0.0 <= table.curves.min() and table.curves.max() <= 1.0
        assert table.meta["problem"] == name


def test_smac3_multi_fidelity_rows_account_epochs_both_ways() -> None:
    pytest.importorskip("smac")
    from benchmarks.pruners._bench import run_smac_mf

    table = synthetic_table(seed=0)
    R = table.n_epochs
    budget = 6 * R
    scratch, resumed = run_smac_mf(table, seed=0, budget=budget)
    # Same run, two accountings: resuming never costs more, and each trial costs >= 1 epoch.
    n = len(scratch.epochs)
    assert 0 < n <= len(resumed.epochs)
    assert np.all(resumed.epochs[:n] <= scratch.epochs)
    assert np.all(np.diff(scratch.epochs) >= 1) and np.all(np.diff(resumed.epochs) >= 0)
    # The from-scratch study stops with the trial that spent the budget.
    assert scratch.epochs[-1] >= budget or n == len(resumed.epochs)
    assert np.all(scratch.epochs[:-1] < budget)
    # COMPLETE means evaluated at the full R epochs; their values are final accuracies.
    finals = set(np.round(table.curves[:, -1], 6))
    assert scratch.complete.any()
    assert all(round(v, 6) in finals for v in scratch.value[scratch.complete])
