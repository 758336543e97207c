import math
import os
import signal
import subprocess
import sys
import time

import pytest

import autolearn
from autolearn import FixedTrial, TrialState, create_trial
from autolearn.exceptions import (
    ConfigError,
    DuplicatedStudyError,
    NoCompletedTrialsError,
    SearchSpaceError,
    StudyNotFoundError,
    TrialStateError,
)
from autolearn.pruners import BasePruner
from autolearn.samplers import RandomSampler
from autolearn.space import FloatDistribution, IntDistribution
from autolearn.storages import InMemoryStorage


def quad(trial):
    x = trial.suggest_float("x", -10, 10)
    y = trial.suggest_int("y", -3, 3)
    return (x - 2) ** 2 + y**2


def test_import_is_light():
    code = ("import sys, autolearn; "
            "print(any(m.split('.')[0] in ('torch', 'sqlalchemy', 'pandas') for m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_create_load_delete():
    storage = InMemoryStorage()
    s = autolearn.create_study(storage, study_name="s", direction="maximize")
    with pytest.raises(DuplicatedStudyError, match="load_if_exists=True"):
        autolearn.create_study(storage, study_name="s", direction="maximize")
    again = autolearn.create_study(storage, study_name="s", direction="maximize",
                                   load_if_exists=True)
    assert again.direction == autolearn.StudyDirection.MAXIMIZE
    with pytest.raises(ConfigError, match="directions"):
        autolearn.create_study(storage, study_name="s", load_if_exists=True)
    assert autolearn.load_study(study_name=None, storage=storage).study_name == "s"
    assert autolearn.get_all_study_names(storage) == ["s"]
    autolearn.delete_study(study_name="s", storage=storage)
    with pytest.raises(StudyNotFoundError):
        autolearn.load_study(study_name="s", storage=storage)
    assert s.study_name == "s"


def test_bad_arguments():
    with pytest.raises(ConfigError, match="'minimize' or 'maximize'"):
        autolearn.create_study(direction="up")
    with pytest.raises(ConfigError, match="either"):
        autolearn.create_study(direction="minimize", directions=["minimize"])
    with pytest.raises(ConfigError, match="seed"):
        autolearn.create_study(sampler=RandomSampler(seed=1), seed=2)
    with pytest.raises(ConfigError, match="unsupported storage URL"):
        autolearn.create_study("mysql://x")
    study = autolearn.create_study()
    with pytest.raises(ConfigError, match="n_jobs"):
        study.optimize(quad, n_trials=1, n_jobs=0)
    with pytest.raises(ConfigError, match="n_trials"):
        study.optimize(quad, n_trials=-1)
    with pytest.raises(ConfigError, match="callable"):
        study.optimize(3, n_trials=1)


def test_optimize_best_and_seed_reproducibility():
    a = autolearn.create_study(seed=3)
    a.optimize(quad, n_trials=30)
    b = autolearn.create_study(seed=3)
    b.optimize(quad, n_trials=30)
    assert [t.params for t in a.trials] == [t.params for t in b.trials]
    assert a.best_value == min(t.value for t in a.trials)
    assert a.best_params == a.best_trial.params
    assert len(a.trials) == 30 and [t.number for t in a.trials] == list(range(30))


def test_failures_are_stored_and_the_study_goes_on():
    def objective(trial):
        x = trial.suggest_int("x", 0, 4)
        if trial.number == 0:
            raise ValueError("bad config")
        if trial.number == 1:
            return float("nan")
        if trial.number == 2:
            return None
        if trial.number == 3:
            return (1.0, 2.0)
        if trial.number == 4:
            return "text"
        return float(x)

    study = autolearn.create_study(seed=0)
    study.optimize(objective, n_trials=7)
    t = study.trials
    assert [x.state for x in t[:5]] == [TrialState.FAIL] * 5
    assert "ValueError: bad config" in t[0].system_attrs["fail_reason"]
    assert "NaN" in t[1].system_attrs["fail_reason"]
    assert "None" in t[2].system_attrs["fail_reason"]
    assert "2 value(s)" in t[3].system_attrs["fail_reason"]
    assert "not a real number" in t[4].system_attrs["fail_reason"]
    assert t[5].state == t[6].state == TrialState.COMPLETE


def test_uncaught_exception_propagates_after_recording():
    study = autolearn.create_study()

    def objective(trial):
        trial.suggest_float("x", 0, 1)
        raise KeyError("oops")

    with pytest.raises(KeyError):
        study.optimize(objective, n_trials=3, catch=())
    assert len(study.trials) == 1 and study.trials[0].state == TrialState.FAIL


def test_ask_tell():
    study = autolearn.create_study(directions=["minimize", "maximize"])
    t = study.ask({"x": FloatDistribution(0, 1)})
    assert "x" in t.params
    frozen = study.tell(t, [1.0, 2.0])
    assert frozen.state == TrialState.COMPLETE and frozen.values == (1.0, 2.0)
    with pytest.raises(TrialStateError):
        study.tell(t, [1.0, 2.0])
    study.tell(t, [1.0, 2.0], skip_if_finished=True)
    t2 = study.ask()
    study.tell(t2.number, state=TrialState.PRUNED)
    t3 = study.ask()
    bad = study.tell(t3, [1.0])  # wrong count: stored as FAIL with the reason
    assert bad.state == TrialState.FAIL and "2 objective" in bad.system_attrs["fail_reason"]
    with pytest.raises(ConfigError, match="values"):
        study.tell(study.ask())
    with pytest.raises(ConfigError):
        study.tell(study.ask(), [1.0, 2.0], state=TrialState.RUNNING)


def test_pruned_trial_keeps_last_reported_value():
    study = autolearn.create_study()

    def objective(trial):
        for step in range(3):
            trial.report(10.0 - step, step)
        raise autolearn.TrialPruned()

    study.optimize(objective, n_trials=1)
    t = study.trials[0]
    assert t.state == TrialState.PRUNED and t.values == (8.0,) and t.last_step == 2
    with pytest.raises(NoCompletedTrialsError):
        _ = study.best_trial


def test_report_errors():
    study = autolearn.create_study()
    t = study.ask()
    t.report(1.0, 0)
    with pytest.raises(ConfigError, match="already reported"):
        t.report(2.0, 0)
    with pytest.raises(ConfigError, match="non-negative int"):
        t.report(1.0, -1)
    with pytest.raises(ConfigError, match="real number"):
        t.report("x", 1)
    study.tell(t, 1.0)
    with pytest.raises(TrialStateError, match="already finished"):
        t.report(1.0, 5)
    with pytest.raises(TrialStateError):
        t.suggest_float("new", 0, 1)


def test_same_name_different_distribution_is_an_error():
    study = autolearn.create_study()
    t = study.ask()
    x = t.suggest_float("x", 0, 1)
    assert t.suggest_float("x", 0, 1) == x
    with pytest.raises(SearchSpaceError, match="already suggested"):
        t.suggest_float("x", 0, 2)
    with pytest.raises(SearchSpaceError):
        t.suggest_int("x", 0, 1)


def test_pruner_is_consulted():
    class PruneAfterTwo(BasePruner):
        def prune(self, study, trial):
            return len(trial.intermediate_values) >= 2

    study = autolearn.create_study(pruner=PruneAfterTwo())

    def objective(trial):
        for step in range(10):
            trial.report(float(step), step)
            if trial.should_prune():
                raise autolearn.TrialPruned()
        return 0.0

    study.optimize(objective, n_trials=2)
    assert all(t.state == TrialState.PRUNED and t.last_step == 1 for t in study.trials)


def test_enqueue_and_add_trial():
    study = autolearn.create_study()
    study.enqueue_trial({"x": 1.5, "y": 2})
    study.enqueue_trial({"x": 1.5, "y": 2}, skip_if_exists=True)
    study.enqueue_trial({"x": 0.5}, user_attrs={"why": "hint"})
    study.add_trial(create_trial(params={"x": 2.0, "y": 0},
                                 distributions={"x": FloatDistribution(-10, 10),
                                                "y": IntDistribution(-3, 3)}, value=0.0))
    study.optimize(quad, n_trials=3)
    t = study.trials
    assert t[0].params == {"x": 1.5, "y": 2} and t[0].value == pytest.approx(0.25 + 4)
    assert t[1].params["x"] == 0.5 and t[1].user_attrs == {"why": "hint"}
    assert t[2].state == TrialState.COMPLETE and t[2].value == 0.0
    assert study.best_trial.number == 2
    with pytest.raises(ConfigError):
        study.add_trial(create_trial(values=[1.0, 2.0], params={}, distributions={}))
    with pytest.raises(ConfigError):
        create_trial(value=float("nan"))
    with pytest.raises(ConfigError, match="same keys"):
        create_trial(value=1.0, params={"x": 1.0}, distributions={})
    # An enqueued value outside the suggested range fails that trial with the reason.
    study.enqueue_trial({"x": 99.0})
    study.optimize(quad, n_trials=1)
    assert "does not fit" in study.trials[-1].system_attrs["fail_reason"]


def test_best_trials_pareto_front():
    study = autolearn.create_study(directions=["minimize", "maximize"])
    for v in [(1, 1), (2, 3), (3, 3), (0, 0), (2, 2)]:
        study.add_trial(create_trial(values=v))
    assert sorted(t.values for t in study.best_trials) == [(0.0, 0.0), (1.0, 1.0), (2.0, 3.0)]
    with pytest.raises(ConfigError, match="Pareto"):
        _ = study.best_trial


def test_user_attrs_and_dataframe():
    study = autolearn.create_study(seed=0)
    study.set_user_attr("dataset", "digits")

    def objective(trial):
        trial.set_user_attr("note", trial.number)
        return quad(trial)

    study.optimize(objective, n_trials=4)
    assert study.user_attrs == {"dataset": "digits"}
    df = study.trials_dataframe()
    assert list(df["number"]) == [0, 1, 2, 3]
    assert {"value", "params_x", "params_y", "user_attrs_note", "state"} <= set(df.columns)


def test_fixed_trial():
    assert quad(FixedTrial({"x": 2.0, "y": 1})) == 1.0
    with pytest.raises(SearchSpaceError, match="no value"):
        quad(FixedTrial({"x": 2.0}))
    with pytest.raises(SearchSpaceError):
        quad(FixedTrial({"x": 20.0, "y": 1}))


def test_callbacks_stop_and_timeout():
    seen = []

    def cb(study, frozen):
        seen.append(frozen.number)
        if frozen.number == 4:
            study.stop()

    study = autolearn.create_study()
    study.optimize(quad, callbacks=[cb])
    assert seen == [0, 1, 2, 3, 4]
    start = time.monotonic()
    study.optimize(lambda t: time.sleep(0.05) or quad(t), timeout=0.3)
    assert time.monotonic() - start < 2.0
    assert 5 + 2 <= len(study.trials) <= 5 + 8


def test_progress_bar_plain_lines(capsys):
    study = autolearn.create_study(seed=0)
    study.optimize(quad, n_trials=3, show_progress_bar=True)
    err = capsys.readouterr().err
    assert "[autolearn] trials 3/3" in err and "best=" in err


def test_n_jobs_uses_processes_and_runs_callbacks_here(tmp_path):
    pids = []
    study = autolearn.create_study(sampler=RandomSampler(seed=0))

    def objective(trial):
        trial.set_user_attr("pid", os.getpid())
        # Wait (at most 30 s) until both workers have started a trial: with an instant
        # objective a loaded machine can let the first worker take all 12 trials.
        (tmp_path / str(os.getpid())).touch()
        deadline = time.monotonic() + 30.0
        while len(list(tmp_path.iterdir())) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        return quad(trial)

    study.optimize(objective, n_trials=12, n_jobs=2,
                   callbacks=[lambda s, t: pids.append(os.getpid())])
    workers = {t.user_attrs["pid"] for t in study.trials}
    assert len(study.trials) == 12 and os.getpid() not in workers and len(workers) == 2
    assert pids == [os.getpid()] * 12
    serial = autolearn.create_study(sampler=RandomSampler(seed=0))
    serial.optimize(quad, n_trials=12)
    # Per-trial seeds: same parameters per trial number, whichever process ran it.
    assert {t.number: t.params for t in study.trials} == {
        t.number: t.params for t in serial.trials}


def test_n_jobs_error_propagates():
    study = autolearn.create_study()

    def objective(trial):
        raise ZeroDivisionError("in worker")

    with pytest.raises(ZeroDivisionError):
        study.optimize(objective, n_trials=6, n_jobs=2, catch=())
    assert all(t.state == TrialState.FAIL for t in study.trials)


def test_killed_worker_loses_only_its_trial():
    study = autolearn.create_study()

    def objective(trial):
        x = trial.suggest_float("x", 0, 1)
        if trial.number == 3:
            os.kill(os.getpid(), signal.SIGKILL)
        return x

    study.optimize(objective, n_trials=10, n_jobs=2)
    failed = [t for t in study.trials if t.state == TrialState.FAIL]
    assert len(failed) == 1 and failed[0].number == 3
    assert "died" in failed[0].system_attrs["fail_reason"]
    assert sum(t.state == TrialState.COMPLETE for t in study.trials) >= 8


def test_dead_asked_trial_is_reaped_and_requeued():
    storage = InMemoryStorage(heartbeat_interval=0.05, grace_period=0.2, failed_trial_retries=1)
    study = autolearn.create_study(storage)
    t = study.ask()
    t.suggest_float("x", 0, 1)
    # Simulate a dead worker: its lease stops being renewed.
    from autolearn.study import _heartbeat

    _heartbeat.unregister(storage, t.trial_id)
    time.sleep(0.4)
    study._last_reap = 0.0
    retry = study.ask()
    dead = study.trials[0]
    assert dead.state == TrialState.FAIL and "heartbeat" in dead.system_attrs["fail_reason"]
    assert retry.params == {} and retry.system_attrs["fixed_params"] == dead.params
    assert retry.suggest_float("x", 0, 1) == dead.params["x"]


def test_live_asked_trial_is_not_reaped():
    storage = InMemoryStorage(heartbeat_interval=0.05, grace_period=0.2)
    study = autolearn.create_study(storage)
    t = study.ask()
    time.sleep(0.5)
    study._last_reap = 0.0
    study.ask()
    assert study.trials[0].state == TrialState.RUNNING
    study.tell(t, 1.0)
    assert not math.isnan(study.trials[0].value)


@pytest.mark.parametrize("storage", ["memory", "sqlite"])
def test_many_short_trials_in_parallel(tmp_path, storage):
    url = None if storage == "memory" else f"sqlite:///{tmp_path / 'p.db'}"
    study = autolearn.create_study(url, seed=0)
    for _ in range(3):
        study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=60, n_jobs=3)
    trials = study.trials
    assert sorted(t.number for t in trials) == list(range(180))
    assert all(t.state == TrialState.COMPLETE for t in trials)


def test_values_float_cannot_hold_fail_the_trial_and_the_run_goes_on():
    """10**400 escaped optimize (OverflowError) and left its trial RUNNING."""
    study = autolearn.create_study()
    study.optimize(lambda t: 10**400, n_trials=3)
    assert [t.state for t in study.trials] == [TrialState.FAIL] * 3
    assert "OverflowError" in study.trials[0].system_attrs["fail_reason"]


def test_a_bad_ask_keeps_the_enqueued_trial_and_adds_none():
    from autolearn.exceptions import SearchSpaceError
    from autolearn.space import FloatDistribution

    study = autolearn.create_study()
    study.enqueue_trial({"x": 0.25})
    for bad in ({"x": (0, 1)}, [1]):
        with pytest.raises(SearchSpaceError):
            study.ask(bad)  # type: ignore[arg-type]
    assert len(study.trials) == 1  # the enqueued one, still waiting
    assert study.ask({"x": FloatDistribution(0, 1)}).params == {"x": 0.25}


def test_add_trials_checks_every_record_before_storing_any():
    study = autolearn.create_study()
    good = autolearn.create_trial(value=1.0)
    with pytest.raises(ConfigError, match="takes a FrozenTrial"):
        study.add_trials([good, good, "not a trial"])  # type: ignore[list-item]
    assert study.trials == []
    study.add_trials([good, good])
    assert len(study.trials) == 2
