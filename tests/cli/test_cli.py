"""The ``autolearn`` command line, in process (CliRunner) and end to end (subprocesses)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

import autolearn
from autolearn.cli import app
from autolearn.cli._run import load_objective
from autolearn.study import TrialState

OBJECTIVES = '''
import os
import time


def quadratic(trial):
    x = trial.suggest_float("x", -3.0, 3.0)
    return (x - 1.0) ** 2


def two(trial):
    x = trial.suggest_float("x", 0.0, 1.0)
    return x, 1.0 - x


def grid(trial):
    return trial.suggest_int("a", 0, 2) + trial.suggest_categorical("b", [0, 10])


def slow(trial):
    time.sleep(0.05)
    return trial.suggest_float("x", 0.0, 1.0)


def hang(trial):
    x = trial.suggest_float("x", 0.0, 1.0)
    open(os.environ["HANG_MARKER"], "w").close()
    time.sleep(60)
    return x


def broken(trial):
    raise RuntimeError("always fails")


class Holder:
    @staticmethod
    def method(trial):
        return 0.0
'''


@pytest.fixture(params=["journal", "sqlite"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "journal":
        return f"journal://{tmp_path / 'store.jsonl'}"
    return f"sqlite:///{tmp_path / 'store.db'}"


@pytest.fixture
def objectives(tmp_path: Path) -> Path:
    path = tmp_path / f"objectives_{tmp_path.name.replace('-', '_')}.py"
    path.write_text(OBJECTIVES)
    return path


def run(*args: str, env: dict[str, str] | None = None, input: str | None = None) -> Result:
    return CliRunner().invoke(app, list(args), env=env, input=input)


def ok(*args: str, **kw: object) -> Result:
    result = run(*args, **kw)  # type: ignore[arg-type]
    assert result.exit_code == 0, (result.stdout, result.stderr)
    return result


def assert_error(result: Result, needle: str, *, after_logs: bool = False) -> None:
    """One ``error:`` line on stderr (after autolearn's log lines, if ``after_logs``)."""
    assert result.exit_code != 0
    lines = result.stderr.strip().splitlines()
    if after_logs:
        assert all(line.startswith("[autolearn]") for line in lines[:-1]), result.stderr
        lines = lines[-1:]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ") and needle in lines[0], lines[0]
    assert "Traceback" not in result.output


def sh(*args: str, cwd: Path | None = None, timeout: float = 30,
       env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "autolearn", *args], capture_output=True,
                          text=True, cwd=cwd, timeout=timeout, env={**os.environ, **(env or {})})


def popen(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    # A job started in the background by a non-interactive shell (as CI may do) inherits
    # an ignored SIGINT; give the worker the default disposition a terminal user has.
    return subprocess.Popen([sys.executable, "-m", "autolearn", *args], text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={**os.environ, **(env or {})},
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def wait_for(cond: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.05)


# ---- studies -------------------------------------------------------------------------------
def test_version_and_help() -> None:
    assert ok("--version").stdout.strip() == f"autolearn {autolearn.__version__}"
    out = ok().stdout
    for command in ("studies", "create-study", "optimize", "worker", "storage"):
        assert command in out


def test_create_list_delete(url: str) -> None:
    assert ok("create-study", "--storage", url, "--study", "a",
              "--direction", "maximize").stdout.strip() == "a"
    assert ok("create-study", "--storage", url, "--study", "m",
              "--directions", "minimize,maximize").stdout.strip() == "m"
    assert ok("create-study", "--storage", url, "--study", "m", "--directions", "minimize",
              "--directions", "maximize", "--skip-if-exists").stdout.strip() == "m"
    generated = ok("create-study", "--storage", url).stdout.strip()
    assert generated.startswith("study-")

    rows = json.loads(ok("studies", "--storage", url, "--json").stdout)
    assert [r["name"] for r in rows] == ["a", "m", generated]
    assert rows[0]["directions"] == ["maximize"] and rows[1]["directions"] == [
        "minimize", "maximize"]
    assert rows[0]["n_trials"] == 0 and rows[0]["best_value"] is None
    table = ok("studies", "--storage", url).stdout
    assert "a" in table and "minimize,maximize" in table

    assert_error(run("delete-study", "--storage", url, "--study", "a"), "--yes")
    ok("delete-study", "--storage", url, "--study", "a", "--yes")
    assert [r["name"] for r in json.loads(ok("studies", "--storage", url, "--json").stdout)] == [
        "m", generated]


def test_storage_from_environment(url: str) -> None:
    ok("create-study", "--study", "e", env={"AUTOLEARN_STORAGE": url})
    rows = json.loads(ok("studies", "--json", env={"AUTOLEARN_STORAGE": url}).stdout)
    assert [r["name"] for r in rows] == ["e"]


def test_errors(url: str, tmp_path: Path) -> None:
    ok("create-study", "--storage", url, "--study", "a")
    assert_error(run("create-study", "--storage", url, "--study", "a"), "--skip-if-exists")
    assert_error(run("trials", "--storage", url, "--study", "nope"), "nope")
    assert_error(run("studies", "--storage", "foo://bar"), "unsupported storage URL")
    missing = f"sqlite:///{tmp_path / 'missing.db'}"
    assert_error(run("studies", "--storage", missing), "does not exist")
    assert not (tmp_path / "missing.db").exists()
    assert_error(run("studies"), "--storage")
    assert_error(run("create-study", "--storage", url, "--direction", "up"), "direction")
    assert_error(run("create-study", "--storage", url, "--direction", "minimize",
                     "--directions", "maximize"), "not both")
    assert_error(run("create-study", "--storage", url, "--directions", ""), "at least one")
    assert_error(run("create-study", "--storage", url, "--study", "   "), "non-blank")
    assert_error(run("trials", "--storage", url, "--study", "a", "--state", "done"), "--state")
    assert_error(run("best-trial", "--storage", url, "--study", "a"), "no COMPLETE trial")
    assert_error(run("no-such-command"), "no-such-command")
    assert_error(run("storage", "upgrade", "journal:///x.jsonl"), "SQLite and PostgreSQL")


# ---- ask / tell ----------------------------------------------------------------------------
def test_ask_tell_round_trip(url: str) -> None:
    ok("create-study", "--storage", url, "--study", "s")
    space = json.dumps({
        "x": {"type": "float", "low": 0, "high": 1, "log": False, "step": None},
        "n": {"type": "int", "low": 1, "high": 4},
        "c": ["a", "b"],
    })
    asked = json.loads(ok("ask", "--storage", url, "--study", "s", "--params", space,
                          "--json").stdout)
    assert asked["number"] == 0
    assert 0 <= asked["params"]["x"] <= 1 and asked["params"]["n"] in range(1, 5)
    assert asked["params"]["c"] in ("a", "b")
    human = ok("ask", "--storage", url, "--study", "s", "--params", space).stdout
    assert human.startswith("trial 1: ")

    told = json.loads(ok("tell", "--storage", url, "--study", "s", "--trial-number", "0",
                         "--values", "0.25", "--json").stdout)
    assert told["state"] == "COMPLETE" and told["values"] == [0.25]
    assert ok("tell", "--storage", url, "--study", "s", "--trial-number", "1",
              "--state", "fail", "--reason", "script crashed").stdout.strip() == "trial 1: FAIL"
    assert_error(run("tell", "--storage", url, "--study", "s", "--trial-number", "1",
                     "--values", "1"), "FAIL")
    ok("tell", "--storage", url, "--study", "s", "--trial-number", "1", "--values", "1",
       "--skip-if-finished")

    trials = autolearn.load_study(study_name="s", storage=url).trials
    assert [t.state for t in trials] == [TrialState.COMPLETE, TrialState.FAIL]
    assert trials[0].params == asked["params"]
    assert trials[1].system_attrs["fail_reason"] == "script crashed"

    rows = json.loads(ok("trials", "--storage", url, "--study", "s", "--json").stdout)
    assert [(r["number"], r["state"]) for r in rows] == [(0, "COMPLETE"), (1, "FAIL")]
    assert rows[1]["fail_reason"] == "script crashed"
    best = json.loads(ok("best-trial", "--storage", url, "--study", "s", "--json").stdout)
    assert best["number"] == 0 and best["values"] == [0.25]


def test_asked_trial_holds_no_lease(tmp_path: Path) -> None:
    url = f"journal://{tmp_path / 'lease.jsonl'}"
    ok("create-study", "--storage", url, "--study", "s")
    ok("ask", "--storage", url, "--study", "s")
    store = autolearn.storages.get_storage(url, heartbeat_interval=0.01, grace_period=0.02)
    time.sleep(0.05)
    sid = store.get_study_id("s")
    assert store.fail_stale_trials(sid) == []
    assert store.get_all_trials(sid)[0].state == TrialState.RUNNING


def test_tell_and_ask_errors(url: str) -> None:
    ok("create-study", "--storage", url, "--study", "s", "--directions", "minimize,minimize")
    ok("ask", "--storage", url, "--study", "s")
    base = ("--storage", url, "--study", "s", "--trial-number", "0")
    assert_error(run("tell", *base), "--values")
    assert_error(run("tell", *base, "--values", "1"), "2 objective(s)")
    assert_error(run("tell", *base, "--values", "1,x"), "numbers")
    assert_error(run("tell", *base, "--state", "pruned", "--values", "1,2"), "no --values")
    assert_error(run("tell", *base, "--state", "done"), "--state")
    assert_error(run("tell", "--storage", url, "--study", "s", "--trial-number", "7",
                     "--values", "1,2"), "study 's' has no trial number 7")
    ok("tell", *base, "--values", "1", "--values", "2")
    ask = ("ask", "--storage", url, "--study", "s", "--params")
    assert_error(run(*ask, '{"x": '), "invalid JSON")
    assert_error(run(*ask, '{"x": {"type": "float", "low": 2, "high": 1}}'), "low <= high")
    assert_error(run(*ask, '{"x": 3}'), "'x'")
    assert_error(run(*ask, '{"x": {"type": "float", "low": "a", "high": 1}}'),
                 "`low` must be a number")
    assert_error(run(*ask, '{"x": []}'), "`choices` must contain")  # refused before asking
    assert_error(run(*ask, "@/no/such/file.json"), "cannot read")
    assert len(autolearn.load_study(study_name="s", storage=url).trials) == 1


def test_multi_objective_best(url: str) -> None:
    ok("create-study", "--storage", url, "--study", "m", "--directions", "minimize,minimize")
    study = autolearn.load_study(study_name="m", storage=url)
    for values in ([1.0, 3.0], [2.0, 2.0], [3.0, 3.0]):
        study.add_trial(autolearn.create_trial(values=values))
    front = json.loads(ok("best-trial", "--storage", url, "--study", "m", "--json").stdout)
    assert [t["number"] for t in front] == [0, 1]
    assert [t["number"] for t in json.loads(
        ok("best-trials", "--storage", url, "--study", "m", "--json").stdout)] == [0, 1]
    assert "Pareto front" in ok("best-trial", "--storage", url, "--study", "m").stdout
    rows = json.loads(ok("trials", "--storage", url, "--study", "m", "--limit", "1",
                         "--json").stdout)
    assert [r["number"] for r in rows] == [2]
    table = ok("trials", "--storage", url, "--study", "m").stdout
    assert "values[1]" in table


# ---- optimize ------------------------------------------------------------------------------
def test_optimize_file_objective(url: str, objectives: Path) -> None:
    result = ok("optimize", f"{objectives}:quadratic", "--storage", url, "--study", "q",
                "--n-trials", "12", "--seed", "0", "--json")
    best = json.loads(result.stdout)["best_trial"]
    assert best["state"] == "COMPLETE"
    assert "[autolearn] trials 12/12" in result.stderr  # plain progress lines off a TTY
    study = autolearn.load_study(study_name="q", storage=url)
    assert len(study.trials) == 12 and best["number"] == study.best_trial.number
    # A second run continues the study (its direction is read from the store).
    human = ok("optimize", f"{objectives}:quadratic", "--storage", url, "--study", "q",
               "--n-trials", "3", "--no-progress")
    assert "best trial of q" in human.stdout and human.stderr == ""
    assert len(study.trials) == 15


def test_optimize_dotted_module_grid_and_multi(tmp_path: Path, objectives: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(objectives.parent)
    monkeypatch.syspath_prepend(str(objectives.parent))
    url = f"journal://{tmp_path / 'g.jsonl'}"
    space = json.dumps({"a": {"type": "int", "low": 0, "high": 2}, "b": [0, 10]})
    out = json.loads(ok("optimize", f"{objectives.stem}:grid", "--storage", url, "--study",
                        "g", "--sampler", "grid", "--search-space", space,
                        "--direction", "maximize", "--json").stdout)
    assert out["best_trial"]["values"] == [12.0]
    trials = autolearn.load_study(study_name="g", storage=url).trials
    assert sorted((t.params["a"], t.params["b"]) for t in trials) == [
        (a, b) for a in range(3) for b in (0, 10)]
    multi = json.loads(ok("optimize", f"{objectives}:two", "--storage", url, "--study", "t",
                          "--directions", "minimize,minimize", "--n-trials", "5",
                          "--json").stdout)
    assert len(multi["best_trials"]) == 5  # x and 1 - x: every point is Pareto-optimal


def test_optimize_errors(url: str, objectives: Path) -> None:
    base = ("--storage", url, "--study", "s", "--n-trials", "1")
    assert_error(run("optimize", "no_colon", *base), "MODULE:FUNCTION")
    assert_error(run("optimize", "no_such_module_xyz:f", *base), "no module named")
    assert_error(run("optimize", "/no/such/file.py:f", *base), "does not exist")
    assert_error(run("optimize", f"{objectives}:missing", *base), "no attribute 'missing'")
    assert_error(run("optimize", f"{objectives}:os", *base), "not callable")
    assert_error(run("optimize", f"{objectives}:quadratic", *base, "--sampler", "grid"),
                 "--search-space")
    assert_error(run("optimize", f"{objectives}:quadratic", *base, "--sampler", "tpe2"),
                 "tpe2")
    assert_error(run("optimize", f"{objectives}:broken", *base, "--no-progress"),
                 "no trial of study 's' completed", after_logs=True)
    bad = objectives.parent / "bad_syntax.py"
    bad.write_text("def f(:\n")
    assert_error(run("optimize", f"{bad}:f", *base), "SyntaxError")


# ---- storage -------------------------------------------------------------------------------
def test_storage_info_and_upgrade(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'u.db'}"
    ok("create-study", "--storage", url, "--study", "s")
    info = json.loads(ok("storage", "info", url, "--json").stdout)
    assert info["kind"] == "rdb" and info["n_studies"] == 1
    up = json.loads(ok("storage", "upgrade", url, "--json").stdout)
    assert up["from_version"] == up["to_version"] == info["schema_version"]
    assert "nothing to do" in ok("storage", "upgrade", url).stdout
    (tmp_path / "other.db").write_bytes(b"not a database at all" * 10)
    assert_error(run("storage", "upgrade", f"sqlite:///{tmp_path / 'other.db'}"), "store")


# ---- workers (subprocesses) -------------------------------------------------------------------
def test_module_entry_point() -> None:
    proc = sh("--version")
    assert proc.returncode == 0 and proc.stdout.strip() == f"autolearn {autolearn.__version__}"
    proc = sh("trials", "--storage", "foo://x", "--study", "s")
    assert proc.returncode == 1 and proc.stderr.startswith("error: ")
    assert "Traceback" not in proc.stderr


def test_two_workers_share_a_study(url: str, objectives: Path) -> None:
    ok("create-study", "--storage", url, "--study", "w")
    args = ("worker", f"{objectives}:slow", "--storage", url, "--study", "w",
            "--n-trials", "5", "--json")
    procs = [popen(*args), popen(*args)]
    outs = [p.communicate(timeout=60) for p in procs]
    for p, (out, err) in zip(procs, outs, strict=True):
        assert p.returncode == 0, err
        assert json.loads(out) == {"study": "w", "trials_run": 5,
                                   "stopped_because": "n_trials reached"}
    trials = autolearn.load_study(study_name="w", storage=url).trials
    assert len(trials) == 10 and all(t.state == TrialState.COMPLETE for t in trials)
    assert sorted(t.number for t in trials) == list(range(10))


def test_stop_study_stops_workers(tmp_path: Path, objectives: Path) -> None:
    url = f"journal://{tmp_path / 'stop.jsonl'}"
    ok("create-study", "--storage", url, "--study", "w")
    worker = popen("worker", f"{objectives}:slow", "--storage", url, "--study", "w", "--json")
    study = autolearn.load_study(study_name="w", storage=url)
    try:
        wait_for(lambda: len(study.trials) >= 2)
        ok("stop-study", "--storage", url, "--study", "w")
        out, err = worker.communicate(timeout=20)
    finally:
        worker.kill()
    assert worker.returncode == 0, err
    assert json.loads(out)["stopped_because"] == "stop requested"
    assert ok("studies", "--storage", url).stdout.count("stop requested") == 1
    # A new worker refuses to start until the request is withdrawn.
    args = ("worker", f"{objectives}:slow", "--storage", url, "--study", "w",
            "--n-trials", "1", "--json")
    assert json.loads(ok(*args).stdout)["trials_run"] == 0
    ok("stop-study", "--storage", url, "--study", "w", "--clear")
    assert json.loads(ok(*args).stdout)["trials_run"] == 1


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGTERM, 0), (signal.SIGINT, 130)])
def test_signal_fails_running_trial(tmp_path: Path, objectives: Path, sig: int,
                                    code: int) -> None:
    url = f"journal://{tmp_path / 'sig.jsonl'}"
    marker = tmp_path / "started"
    ok("create-study", "--storage", url, "--study", "w")
    worker = popen("worker", f"{objectives}:hang", "--storage", url, "--study", "w",
                   env={"HANG_MARKER": str(marker)})
    try:
        wait_for(marker.exists)
        worker.send_signal(sig)
        _, err = worker.communicate(timeout=20)
    finally:
        worker.kill()
    assert worker.returncode == code, err
    assert "Traceback" not in err and "recorded as FAIL" in err
    (trial,) = autolearn.load_study(study_name="w", storage=url).trials
    assert trial.state == TrialState.FAIL
    assert "KeyboardInterrupt" in trial.system_attrs["fail_reason"]


def test_load_objective_resolves_dotted_attribute(objectives: Path) -> None:
    assert load_objective(f"{objectives}:Holder.method").__name__ == "method"
