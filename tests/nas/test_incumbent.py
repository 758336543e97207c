"""Noise-aware incumbents: grouping trainings by architecture, the three rules."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import autolearn
from autolearn.exceptions import ConfigError
from autolearn.nas import architecture_estimates, best_architecture, confirm_top, shrunk_means
from autolearn.nas._incumbent import CONFIRM_ATTR

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


def test_min_trainings_restricts_the_candidates() -> None:
    study = _study(TRAININGS)
    # "lucky" (one training) has the best mean; with three trainings or more, "steady".
    assert best_architecture(study, rule="mean").decisions == {"op": "lucky"}
    best = best_architecture(study, rule="mean", min_trainings=3)
    assert best.decisions == {"op": "steady"} and best.n_trainings >= 3
    ranked = architecture_estimates(study, rule="mean", min_trainings=3)
    assert {e.decisions["op"] for e in ranked} == {"steady", "c"}
    with pytest.raises(ValueError, match="7 completed trainings"):
        best_architecture(study, min_trainings=7)


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "2"])
def test_bad_min_trainings_is_a_config_error(bad: Any) -> None:
    with pytest.raises(ConfigError, match="`min_trainings` must be an int >= 1"):
        best_architecture(_study(TRAININGS[:2]), min_trainings=bad)


class _NoisyObjective:
    """Each architecture's k-th training gives ``scores[arch][k]`` (a fresh draw per
    repeat, like ``ChildObjective(repeats="retrain")``)."""

    repeats = "retrain"

    def __init__(self, study: autolearn.Study, scores: dict[str, list[float]]) -> None:
        self.study, self.scores, self.calls = study, scores, 0

    def __call__(self, trial: Any) -> float:
        arch = trial.suggest_categorical("op", sorted(self.scores))
        k = sum(t.params.get("op") == arch for t in self.study.trials[:trial.number])
        self.calls += 1
        return self.scores[arch][k]


def _searched(scores: dict[str, list[float]], order: str, *,
              direction: str = "maximize") -> tuple[autolearn.Study, _NoisyObjective]:
    study = autolearn.create_study(direction=direction)
    objective = _NoisyObjective(study, scores)
    for arch in order:
        study.enqueue_trial({"op": arch})
    study.optimize(objective, n_trials=len(order))
    return study, objective


#: "lucky" scored highest once and is poor on re-training; "good" is steadily high.
SCORES = {"lucky": [0.95, 0.80, 0.82], "good": [0.93, 0.92, 0.93], "fair": [0.90, 0.89, 0.90],
          "poor": [0.70, 0.71, 0.70]}


def test_confirm_top_retrains_the_best_and_returns_the_best_mean() -> None:
    study, objective = _searched(SCORES, ["lucky", "poor", "fair", "good"])
    assert best_architecture(study).decisions == {"op": "lucky"}  # the winner's curse
    best = confirm_top(study, objective, top=2, trainings=2)
    assert best.decisions == {"op": "good"} and best.values == (0.93, 0.92, 0.93)
    confirm = [t for t in study.trials if t.user_attrs.get(CONFIRM_ATTR)]
    # the two best single trainings are re-trained twice each; "fair" and "poor" are not
    assert sorted(t.params["op"] for t in confirm) == ["good", "good", "lucky", "lucky"]
    assert best_architecture(study, rule="mean", min_trainings=3).decisions == {"op": "good"}
    # a finished confirmation queues nothing more (what a resumed study relies on)
    calls = objective.calls
    assert confirm_top(study, objective, top=2, trainings=2).decisions == {"op": "good"}
    assert objective.calls == calls


def test_confirm_top_in_a_minimised_study_confirms_the_lowest() -> None:
    errors = {arch: [1.0 - v for v in vs] for arch, vs in SCORES.items()}
    study, objective = _searched(errors, ["lucky", "poor", "fair", "good"], direction="minimize")
    best = confirm_top(study, objective, top=2, trainings=1)
    assert best.decisions == {"op": "good"}
    assert sorted(t.params["op"] for t in study.trials
                  if t.user_attrs.get(CONFIRM_ATTR)) == ["good", "lucky"]


def test_confirm_top_errors() -> None:
    study, objective = _searched(SCORES, ["good"])
    with pytest.raises(ConfigError, match="`top` must be an int >= 1"):
        confirm_top(study, objective, top=0)
    with pytest.raises(ConfigError, match="`trainings` must be an int >= 1"):
        confirm_top(study, objective, trainings=True)
    objective.repeats = "cache"  # type: ignore[misc]
    with pytest.raises(ConfigError, match="repeats='retrain'"):
        confirm_top(study, objective)
    empty = autolearn.create_study(direction="maximize")
    with pytest.raises(ValueError, match="no completed training"):
        confirm_top(empty, _NoisyObjective(empty, SCORES))
