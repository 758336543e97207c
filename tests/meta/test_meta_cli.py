"""``autolearn meta train / eval`` and the meta-learning example, with tiny budgets."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch")

from typer.testing import CliRunner  # noqa: E402

from autolearn.cli import app  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]


def test_meta_train_then_eval(tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "run"
    res = runner.invoke(app, ["meta", "train", "--algo", "fomaml", "--tasks", "sinusoid",
                              "--steps", "3", "--out", str(out), "--set", "meta_batch_size=2",
                              "--eval-tasks", "3", "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    assert data["meta_steps"] == 3 and len(data["eval"]["loss"]) == 11
    assert (out / "learner.pt").exists()
    assert len(json.loads((out / "history.json").read_text())) == 3
    res = runner.invoke(app, ["meta", "eval", str(out), "--n-tasks", "2", "--inner-steps", "2",
                              "--json"])
    assert res.exit_code == 0, res.output
    assert len(json.loads(res.output)["loss"]) == 3


def test_meta_train_classification_prints_accuracy(tmp_path: Path) -> None:
    pytest.importorskip("sklearn")
    res = CliRunner().invoke(app, ["meta", "train", "--tasks", "digits", "--ways", "3",
                                   "--shots", "1", "--steps", "2", "--out", str(tmp_path),
                                   "--eval-tasks", "2"])
    assert res.exit_code == 0, res.output
    assert "test query accuracy" in res.output


@pytest.mark.parametrize("sets, message", [
    (["--set", "inner_lr=-1"], "`inner_lr` must"),
    (["--set", "colour=3"], "unknown MetaConfig field"),
    (["--set", "novalue"], "key=value"),
])
def test_meta_train_rejects_bad_settings(tmp_path: Path, sets: list[str], message: str) -> None:
    res = CliRunner().invoke(app, ["meta", "train", "--steps", "1", "--out", str(tmp_path),
                                   *sets])
    assert res.exit_code == 1
    assert message in res.output


def test_meta_eval_of_a_missing_run_fails(tmp_path: Path) -> None:
    res = CliRunner().invoke(app, ["meta", "eval", str(tmp_path)])
    assert res.exit_code == 1 and "no learner.pt" in res.output


def test_meta_sinusoid_example_runs(tmp_path: Path) -> None:
    cmd = [sys.executable, str(ROOT / "examples" / "meta_sinusoid.py"), "--steps", "3",
           "--eval-tasks", "3", "--save", str(tmp_path / "l.pt")]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False)
    assert out.returncode == 0, out.stderr
    assert "pretrained" in out.stdout and (tmp_path / "l.pt").exists()


def test_meta_fewshot_mnist1d_example_runs() -> None:
    cmd = [sys.executable, str(ROOT / "examples" / "meta_fewshot_mnist1d.py"), "--steps", "2",
           "--n-classes", "8", "--eval-tasks", "3"]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False)
    assert out.returncode == 0, out.stderr
    assert "pretrained" in out.stdout and "scratch" in out.stdout


def test_eval_of_a_file_that_is_not_a_learner_is_an_error(tmp_path):
    from typer.testing import CliRunner

    from autolearn.cli import app

    run = tmp_path / "bad"
    run.mkdir()
    (run / "learner.pt").write_text("junk")
    result = CliRunner().invoke(app, ["meta", "eval", str(run)])
    assert result.exit_code == 1 and "is not a learner saved by MetaLearner.save" in (
        result.output), result.output


def test_train_refuses_an_out_that_is_a_file_before_training(tmp_path):
    from typer.testing import CliRunner

    from autolearn.cli import app

    afile = tmp_path / "afile"
    afile.write_text("mine")
    result = CliRunner().invoke(app, ["meta", "train", "--tasks", "sinusoid", "--steps",
                                      "100000", "--out", str(afile)])  # would take minutes
    assert result.exit_code == 1 and "is a file; it must be a directory" in result.output
    assert afile.read_text() == "mine"


def test_options_that_do_not_apply_to_sinusoid_are_errors_and_zero_steps_reads_right(tmp_path):
    from typer.testing import CliRunner

    from autolearn.cli import app

    run = CliRunner().invoke
    out = tmp_path / "sin"
    bad = run(app, ["meta", "train", "--tasks", "sinusoid", "--steps", "2", "--ways", "3",
                    "--out", str(out)])
    assert bad.exit_code == 1 and "--ways is for classification" in bad.output
    ok = run(app, ["meta", "train", "--tasks", "sinusoid", "--steps", "2", "--eval-tasks", "0",
                   "--out", str(out)])
    assert ok.exit_code == 0, ok.output
    bad = run(app, ["meta", "eval", str(out), "--split", "val", "--n-tasks", "2"])
    assert bad.exit_code == 1 and "--split is for classification" in bad.output
    zero = run(app, ["meta", "eval", str(out), "--inner-steps", "0", "--n-tasks", "2"])
    assert zero.exit_code == 0 and "(no adaptation steps)" in zero.output
    assert "after 1 step" not in zero.output
