"""``autolearn nas search / export / retrain`` with tiny budgets on SQLite."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("sklearn")

from typer.testing import CliRunner  # noqa: E402

from autolearn.cli import app  # noqa: E402


@pytest.fixture(autouse=True)
def _one_thread():
    """Tests share two cores with other jobs; small children are fastest single-threaded."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _run(*args: str) -> tuple[int, str]:
    res = CliRunner().invoke(app, list(args))
    return res.exit_code, res.output


def test_search_resume_export_retrain(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'nas.db'}"
    common = ["nas", "search", "--space", "mlp", "--data", "iris", "--sampler", "random",
              "--epochs", "2", "--storage", url]
    code, out = _run(*common, "--budget", "2", "--json")
    assert code == 0, out
    first = json.loads(out)
    assert first["study_name"] == "nas-mlp-iris" and first["n_trials"] == 2
    assert first["best"]["format"] == "autolearn.nas/1"
    code, out = _run(*common, "--budget", "3")
    assert code == 0, out
    assert "3 children (3 complete" in out and "best: trial #" in out
    # other training settings on the same study: a typed error, one line, exit 1
    code, out = _run(*common[:-4], "--epochs", "4", "--storage", url, "--budget", "4")
    assert code == 1 and "error: study 'nas-mlp-iris' was started with other settings" in out
    best = tmp_path / "best.json"
    code, out = _run("nas", "export", "--storage", url, "--study-name", "nas-mlp-iris",
                     "--out", str(best))
    assert code == 0, out
    exported = json.loads(best.read_text())
    assert exported["space"] == "mlp" and exported["train"]["epochs"] == 2
    code, out = _run("nas", "retrain", str(best), "--size", "width=2", "--epochs", "3",
                     "--save", str(tmp_path / "model.pt"), "--json")
    assert code == 0, out
    result = json.loads(out)
    assert len(result["history"]) == 3 and result["size"] == {"width": 2}
    assert result["n_params"] > 2 * exported["n_params"]
    assert (tmp_path / "model.pt").exists()


def test_nasnet_search_on_mnist1d_tiny(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'nas.db'}"
    code, out = _run("nas", "search", "--space", "nasnet", "--data", "mnist1d", "--budget",
                     "2", "--sampler", "random", "--storage", url, "--n-train", "64",
                     "--n-val", "32", "--epochs", "1", "--filters", "4", "--json")
    assert code == 0, out
    data = json.loads(out)
    assert data["complete"] == 2
    assert data["best"]["size"] == {"cells": 1, "filters": 4}
    assert data["best"]["data"]["n_train"] == 64


def test_cli_errors(tmp_path: Path) -> None:
    code, out = _run("nas", "export", "--storage", f"sqlite:///{tmp_path / 'none.db'}",
                     "--study-name", "x")
    assert code == 1 and "does not exist" in out
    code, out = _run("nas", "retrain", str(tmp_path / "missing.json"))
    assert code == 1 and "no such file" in out
    code, out = _run("nas", "search", "--storage", f"sqlite:///{tmp_path / 'a.db'}",
                     "--size", "cells")
    assert code == 1 and "key=value" in out
    arch = tmp_path / "arch.json"
    arch.write_text("{}")
    code, out = _run("nas", "retrain", str(arch), "--save", str(tmp_path))  # a directory
    assert code == 1 and "must name a file in an existing directory" in out
    code, out = _run("nas", "search", "--storage", f"sqlite:///{tmp_path / 'b.db'}",
                     "--space", "mlp", "--data", "iris", "--size", "cells=2")
    assert code == 1 and "unknown size keys" in out


@pytest.mark.parametrize("script, args, expect", [
    ("nas_digits.py", ["--budget", "2", "--epochs", "1", "--sampler", "random"],
     "retrained 2x wider"),
    ("nas_mnist1d.py", ["--budget", "2", "--epochs", "1", "--n-train", "64",
                        "--retrain-epochs", "1", "--retrain-n-train", "64"],
     "retrained as 2 @ 16"),
])
def test_examples_smoke(script: str, args: list[str], expect: str) -> None:
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, str(root / "examples" / script), *args],
                         capture_output=True, text=True, timeout=300, check=False)
    assert out.returncode == 0, out.stderr
    assert "best" in out.stdout and expect in out.stdout


def test_search_with_retrain_repeats_and_export_rule(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'nas.db'}"
    code, out = _run("nas", "search", "--space", "mlp", "--data", "iris", "--sampler", "random",
                     "--epochs", "1", "--budget", "2", "--storage", url, "--repeats",
                     "retrain", "--rule", "mean", "--json")
    assert code == 0, out
    assert json.loads(out)["best"]["rule"] == "mean"
    code, out = _run("nas", "export", "--storage", url, "--rule", "best_trial", "--json")
    assert code == 0, out
    assert json.loads(out)["rule"] == "best_trial"
    code, out = _run("nas", "export", "--storage", url, "--rule", "luckiest")
    assert code != 0 and "luckiest" in out


def test_search_confirm_top_reports_the_confirmed_pick(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'nas.db'}"
    common = ["nas", "search", "--space", "mlp", "--data", "iris", "--sampler", "random",
              "--epochs", "1", "--budget", "5", "--storage", url, "--json"]
    code, out = _run(*common, "--repeats", "retrain", "--confirm-top", "1",
                     "--confirm-trainings", "2")
    assert code == 0, out
    best = json.loads(out)["best"]
    # the last 2 trainings re-trained the best of the first 3 children; it is reported by
    # the mean of its 3 trainings
    assert best["rule"] == "mean" and best["n_trainings"] == 3
    from autolearn import load_study
    from autolearn.nas import export_best

    study = load_study(study_name="nas-mlp-iris", storage=url)
    assert [t.number for t in study.trials if t.user_attrs.get("nas:confirm")] == [3, 4]
    assert best == export_best(study, rule="mean", min_trainings=3)
    # confirming needs re-training with fresh seeds: a typed error, exit 1
    code, out = _run(*common[:-3], "--storage", f"sqlite:///{tmp_path / 'b.db'}",
                     "--confirm-top", "1")
    assert code == 1 and "repeats='retrain'" in out
