import math

import pytest

import autolearn
from autolearn import TrialState, create_trial
from autolearn.exceptions import ConfigError, TrialPruned
from autolearn.pruners import (
    HyperbandPruner,
    MedianPruner,
    NopPruner,
    PatientPruner,
    PercentilePruner,
    SuccessiveHalvingPruner,
    ThresholdPruner,
    fit_partial,
    report_and_prune,
    run_epochs,
)
from autolearn.testing.pruners import PrunerConformance


class TestNop(PrunerConformance):
    @staticmethod
    def make_pruner():
        return NopPruner()


class TestMedian(PrunerConformance):
    @staticmethod
    def make_pruner():
        return MedianPruner(n_startup_trials=2)


class TestPercentile(PrunerConformance):
    @staticmethod
    def make_pruner():
        return PercentilePruner(25.0, n_startup_trials=2, n_warmup_steps=1)


class TestPatient(PrunerConformance):
    @staticmethod
    def make_pruner():
        return PatientPruner(MedianPruner(n_startup_trials=2), patience=1)


class TestThreshold(PrunerConformance):
    @staticmethod
    def make_pruner():
        return ThresholdPruner(upper=1.6)


class TestASHA(PrunerConformance):
    @staticmethod
    def make_pruner():
        return SuccessiveHalvingPruner(min_resource=1, reduction_factor=2)


class TestHyperband(PrunerConformance):
    @staticmethod
    def make_pruner():
        return HyperbandPruner(min_resource=1, max_resource=9, reduction_factor=3)


def _history(study, curves):
    for c in curves:
        study.add_trial(create_trial(value=c[-1], intermediate_values=dict(enumerate(c))))


def _live(study, values):
    """Report ``values`` step by step; return the decisions after each report."""
    t = study.ask()
    out = []
    for step, v in enumerate(values):
        t.report(v, step)
        out.append(t.should_prune())
    study.tell(t, state=TrialState.PRUNED)
    return out


def test_median_exact_decisions():
    study = autolearn.create_study(pruner=MedianPruner(n_startup_trials=3, n_warmup_steps=1))
    _history(study, [[5, 4, 3], [6, 5, 4], [7, 6, 5]])  # medians per step: 6, 5, 4
    # step 0 is warm-up; at step 1 best-so-far 5 == median -> keep; at step 2 best 4.5 > 4.
    assert _live(study, [9, 5, 4.5]) == [False, False, True]
    assert _live(study, [9, 4.9, 3.9]) == [False, False, False]
    # Best so far counts: a trial that was good earlier is not pruned for one bad step.
    assert _live(study, [1, 9, 9]) == [False, False, False]


def test_median_respects_startup_and_direction():
    study = autolearn.create_study(pruner=MedianPruner(n_startup_trials=4))
    _history(study, [[5, 4, 3], [6, 5, 4], [7, 6, 5]])
    assert _live(study, [99, 99, 99]) == [False, False, False]  # only 3 complete trials
    up = autolearn.create_study(direction="maximize", pruner=MedianPruner(n_startup_trials=1))
    _history(up, [[1, 2], [3, 4]])
    assert _live(up, [1.5, 2.9]) == [True, True]
    assert _live(up, [2.5, 3.1]) == [False, False]


def test_percentile_and_interval():
    study = autolearn.create_study(pruner=PercentilePruner(
        25.0, n_startup_trials=1, interval_steps=2))
    _history(study, [[float(i)] * 5 for i in range(1, 9)])  # values 1..8 at every step
    # 25th percentile of 1..8 is 2.75; checks only at steps 0, 2, 4.
    assert _live(study, [3, 3, 3, 2, 2]) == [True, False, True, False, False]


def test_nan_is_pruned_by_percentile():
    study = autolearn.create_study(pruner=MedianPruner(n_startup_trials=0))
    assert _live(study, [math.nan]) == [True]


def test_threshold_exact():
    study = autolearn.create_study(pruner=ThresholdPruner(lower=0.0, upper=1.0,
                                                          n_warmup_steps=1))
    assert _live(study, [5.0, 0.5, -1.0]) == [False, False, True]
    assert _live(study, [0.5, math.nan]) == [False, True]
    with pytest.raises(ConfigError):
        ThresholdPruner()
    with pytest.raises(ConfigError):
        ThresholdPruner(lower=2, upper=1)


def test_patient_exact():
    study = autolearn.create_study(pruner=PatientPruner(None, patience=2, min_delta=0.1))
    # Improvements of 0.05 do not count: after 2 steps without real improvement, prune.
    assert _live(study, [1.0, 0.95, 0.92, 0.9]) == [False, False, False, True]
    assert _live(study, [1.0, 0.95, 0.85, 0.84]) == [False, False, False, False]


def test_asha_rungs_and_promotion():
    # Rungs at steps 1, 2, 4, 8 (min_resource 1, eta 2): a trial continues at a rung only
    # if it is in the top half of the trials that reached it (or the best, below 2 trials).
    pruner = SuccessiveHalvingPruner(min_resource=1, reduction_factor=2)
    study = autolearn.create_study(pruner=pruner)
    assert _live(study, [9, 5, 5, 5, 4]) == [False, False, False, False, False]
    first = study.trials[0]
    assert first.system_attrs["asha_rung_0"] == 5 and first.system_attrs["asha_rung_1"] == 5
    assert first.system_attrs["asha_rung_2"] == 4
    # Worse at rung 0 (step 1): 6 vs {5, 6} -> top 1 of 2 is 5 -> pruned.
    assert _live(study, [0, 6]) == [False, True]
    # Better: 3 at rung 0 -> top 1 of 3 is 3 -> continues; at rung 1 (step 2) 4 vs {5, 4}.
    assert _live(study, [0, 3, 4]) == [False, False, False]
    # Third rung-0 competitor of 4: {5, 6, 3, 4.5} -> top 2 = {3, 4.5} -> continues.
    assert _live(study, [0, 4.5]) == [False, False]
    assert _live(study, [0, 5.5]) == [False, True]


def test_asha_auto_min_resource_and_validation():
    study = autolearn.create_study(pruner=SuccessiveHalvingPruner())
    assert _live(study, [1, 2, 3]) == [False, False, False]  # nothing complete: no pruning
    with pytest.raises(ConfigError):
        SuccessiveHalvingPruner(reduction_factor=1)


def test_hyperband_brackets_deterministic_and_separate():
    pruner = HyperbandPruner(min_resource=1, max_resource=27, reduction_factor=3)
    assert pruner.n_brackets(27) == 4
    assert pruner.bracket_weights(27) == [27, 12, 6, 4]
    seq = [pruner.bracket_of(i, 27) for i in range(49)]
    assert [seq.count(b) for b in range(4)] == [27, 12, 6, 4]
    assert seq[:6] == [0, 1, 0, 2, 0, 3]
    assert [pruner.bracket_of(i, 27) for i in range(49, 98)] == seq
    study = autolearn.create_study(pruner=pruner)
    # Trial 0: bracket 0 (rungs at 1, 3, 9); trial 1: bracket 1 (rungs at 3, 9, 27).
    assert _live(study, [5, 5, 5, 5]) == [False] * 4
    assert _live(study, [9, 9, 9, 9]) == [False] * 4  # alone in bracket 1: the best there
    assert study.trials[0].system_attrs["hyperband_bracket"] == 0
    assert study.trials[1].system_attrs["hyperband_bracket"] == 1
    assert "hyperband_b1_rung_0" in study.trials[1].system_attrs
    # Trial 2 is in bracket 0 again and competes with trial 0 only.
    assert _live(study, [6, 6]) == [False, True]


def test_hyperband_validation():
    with pytest.raises(ConfigError):
        HyperbandPruner(min_resource=10, max_resource=5)


def test_report_and_prune_and_run_epochs():
    study = autolearn.create_study(pruner=ThresholdPruner(upper=1.0))
    trial = study.ask()
    report_and_prune(trial, 0.5, 0)
    with pytest.raises(TrialPruned):
        report_and_prune(trial, 2.0, 1)
    study.tell(trial, state=TrialState.PRUNED)

    def objective(trial):
        x = trial.suggest_float("x", 0, 2)
        return run_epochs(trial, 5, lambda i: x / (i + 1))

    study.optimize(objective, n_trials=10)
    for t in study.trials[1:]:
        if t.params["x"] > 1.0:
            assert t.state == TrialState.PRUNED and t.last_step == 0
        else:
            assert t.state == TrialState.COMPLETE and t.last_step == 4
    with pytest.raises(ConfigError):
        run_epochs(study.ask(), 0, lambda i: 0.0)


def test_fit_partial_with_sklearn():
    pytest.importorskip("sklearn")
    from sklearn.datasets import load_digits
    from sklearn.linear_model import SGDClassifier

    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    study = autolearn.create_study(direction="maximize",
                                   pruner=MedianPruner(n_startup_trials=2))

    def objective(trial):
        clf = SGDClassifier(alpha=trial.suggest_float("alpha", 1e-6, 10, log=True),
                            random_state=0)
        return fit_partial(trial, clf, X[:1200], y[:1200], X[1200:], y[1200:],
                           n_epochs=5, classes=list(range(10)))

    study.optimize(objective, n_trials=8, catch=())
    assert study.best_value > 0.8
    assert all(len(t.intermediate_values) >= 1 for t in study.trials)
    with pytest.raises(ConfigError, match="partial_fit"):
        fit_partial(study.ask(), object(), X, y, X, y, n_epochs=1)


def test_median_compare_best_or_value_at_the_step():
    def decisions(compare):
        study = autolearn.create_study(direction="maximize", pruner=MedianPruner(
            n_startup_trials=3, compare=compare))
        _history(study, [[10, 1, 1], [10, 2, 2], [10, 3, 3]])  # noisy: early peaks
        return _live(study, [5, 5, 5])

    # at step 1 the others' best so far is 10 each, their values there 1, 2, 3
    assert decisions("best") == [True, True, True]
    assert decisions("value") == [True, False, False]
    with pytest.raises(ConfigError, match="`compare` must be 'best' or 'value'"):
        MedianPruner(compare="mean")
