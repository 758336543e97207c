"""Noise-aware incumbents: grouping trainings by architecture, the three rules."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import autolearn
from autolearn.exceptions import ConfigError
from autolearn.nas import architecture_estimates, best_architecture, shrunk_means

#: One architecture scored high once, one scored a little lower but steadily over six
#: trainings, and two weaker ones measured a few times: the noise (sd ~1 point) is
#: estimated from the repeats.
TRAININGS = [("lucky", 0.93), ("steady", 0.92), ("steady", 0.93), ("steady", 0.91),
             ("steady", 0.935), ("steady", 0.925), ("steady", 0.93), ("c", 0.90), ("c", 0.88),
             ("c", 0.92), ("d", 0.91), ("d", 0.89)]


def _study(trainings: list[tuple[str, float]], cached: tuple[int, ...] = (), *,
           direction: str = "maximize") -> autolearn.Study:
    study = autolearn.create_study(direction=direction)
    for i, (arch, value) in enumerate(trainings):
        study.enqueue_trial({"op": arch})

        def objective(trial: Any, value: float = value, i: int = i) -> float:
            trial.suggest_categorical("op", ["lucky", "steady", "c", "d"])
            if i in cached:
                trial.set_user_attr("nas:cached_from", 0)
            return value

        study.optimize(objective, n_trials=1)
    return study


def test_shrunk_rule_prefers_many_good_trainings_to_one_lucky_one() -> None:
    study = _study(TRAININGS)
    assert best_architecture(study, rule="mean").decisions == {"op": "lucky"}
    top = best_architecture(study, rule="best_trial")  # the single highest training: 0.935
    assert top.decisions == {"op": "steady"} and top.estimate == 0.935
    best = best_architecture(study, rule="shrunk")
    assert best.decisions == {"op": "steady"} and best.rule == "shrunk"
    assert best.n_trainings == 6 and best.mean == pytest.approx(0.925)
    assert best.trials == (1, 2, 3, 4, 5, 6) and best.best_trial == 4
    assert best_architecture(study).rule == "best_trial"  # the default
    ranked = architecture_estimates(study, rule="shrunk")
    lucky = next(e for e in ranked if e.decisions == {"op": "lucky"})
    assert lucky.estimate < lucky.mean  # a single high value is pulled toward the mean
    assert [e.estimate for e in ranked] == sorted((e.estimate for e in ranked), reverse=True)


@pytest.mark.parametrize("rule", ["best_trial", "mean", "shrunk"])
def test_minimised_study_returns_the_lowest(rule: str) -> None:
    # The same trainings as errors (1 - accuracy): every rule must pick what it picks on
    # the accuracies, and best_trial must agree with the study's own best trial.
    errors = [(arch, 1.0 - value) for arch, value in TRAININGS]
    maxed = best_architecture(_study(TRAININGS), rule=rule)
    study = _study(errors, direction="minimize")
    best = best_architecture(study, rule=rule)
    assert best.decisions == maxed.decisions
    assert best.estimate == pytest.approx(1.0 - maxed.estimate)
    estimates = [e.estimate for e in architecture_estimates(study, rule=rule)]
    assert estimates == sorted(estimates)
    if rule == "best_trial":
        assert best.decisions == study.best_trial.params
        assert best.estimate == pytest.approx(study.best_value)


def test_without_repeats_rules_agree() -> None:
    study = _study([("lucky", 0.93), ("steady", 0.92), ("c", 0.90)])
    picks = {rule: best_architecture(study, rule=rule) for rule in ("shrunk", "mean",
                                                                   "best_trial")}
    assert {p.decisions["op"] for p in picks.values()} == {"lucky"}
    assert picks["shrunk"].estimate == pytest.approx(0.93)  # no noise estimate: no shrinking


def test_cached_trials_are_not_counted_as_trainings() -> None:
    study = _study([("steady", 0.92), ("steady", 0.92), ("c", 0.90)], cached=(1,))
    best = best_architecture(study, rule="mean")
    assert best.n_trainings == 1 and best.trials == (0,)


@pytest.mark.parametrize("rule", ["best", "", None, 3])
def test_bad_rule_is_a_config_error(rule: Any) -> None:
    with pytest.raises(ConfigError, match="`rule` must be one of 'best_trial', 'mean', 'shrunk'"):
        best_architecture(_study([("c", 0.9)]), rule=rule)


def test_empty_study_has_no_best_architecture() -> None:
    with pytest.raises(ValueError, match="no completed training"):
        best_architecture(autolearn.create_study(direction="maximize"))


def test_shrunk_means_moves_fewer_trainings_further() -> None:
    groups = [[0.9, 0.92, 0.91, 0.93], [0.93], [0.85, 0.86], [0.80, 0.84, 0.82]]
    est = shrunk_means(groups)
    means = np.array([np.mean(g) for g in groups])
    mu = means.mean()
    assert np.all(np.abs(est - mu) <= np.abs(means - mu) + 1e-12)
    moved = np.abs(est - means) / np.abs(means - mu)
    assert moved[1] > moved[0]  # one training is shrunk more than four
    assert np.allclose(shrunk_means([[0.5], [0.7], [0.6]]), [0.5, 0.7, 0.6])
    with pytest.raises(ConfigError):
        shrunk_means([[0.5], []])
