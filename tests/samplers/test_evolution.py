"""RegularizedEvolutionSampler (Real et al. 2019)."""

from __future__ import annotations

import statistics

import pytest

import autolearn
from autolearn.exceptions import ConfigError
from autolearn.samplers import RandomSampler, RegularizedEvolutionSampler
from autolearn.study import TrialState
from autolearn.testing.samplers import SamplerConformance


class TestEvolution(SamplerConformance):
    @staticmethod
    def make_sampler(space, seed):
        return RegularizedEvolutionSampler(population_size=4, sample_size=2, seed=seed)


CHOICES = ["a", "b", "c", "d"]
TARGET = ["b", "d", "a", "c", "b", "a", "d", "c"]


def _matches(trial):
    return float(sum(trial.suggest_categorical(f"op{i}", CHOICES) == t
                     for i, t in enumerate(TARGET)))


def test_children_differ_from_their_parent_in_exactly_one_decision():
    sampler = RegularizedEvolutionSampler(population_size=10, sample_size=3, seed=0)
    study = autolearn.create_study(direction="maximize", sampler=sampler)
    study.optimize(_matches, n_trials=60)
    children = [t for t in study.trials if "evolution:parent" in t.system_attrs]
    assert [t.number for t in children] == list(range(10, 60))
    for child in children:
        parent = study.trials[child.system_attrs["evolution:parent"]]
        diff = [k for k in child.params if child.params[k] != parent.params[k]]
        assert diff == [child.system_attrs["evolution:mutated"]]
        # the parent belonged to the population: the 10 most recent completed trials
        assert child.number - 10 <= parent.number < child.number


def test_parent_is_the_best_of_its_tournament_and_old_models_die():
    sampler = RegularizedEvolutionSampler(population_size=5, sample_size=5, seed=0)
    study = autolearn.create_study(direction="maximize", sampler=sampler)
    study.optimize(_matches, n_trials=40)
    for child in study.trials[5:]:
        window = study.trials[child.number - 5: child.number]
        parent = study.trials[child.system_attrs["evolution:parent"]]
        # sample_size == population_size: the parent is the best of the last 5 trials
        assert parent.values[0] == max(t.values[0] for t in window)


def test_failed_trials_do_not_join_the_population():
    def objective(trial):
        v = _matches(trial)
        if trial.suggest_categorical("ok", [True, False]) is False:
            raise RuntimeError("child failed")
        return v

    sampler = RegularizedEvolutionSampler(population_size=4, sample_size=2, seed=1)
    study = autolearn.create_study(direction="maximize", sampler=sampler)
    study.optimize(objective, n_trials=40, catch=(RuntimeError,))
    failed = {t.number for t in study.trials if t.state == TrialState.FAIL}
    assert failed
    parents = {t.system_attrs["evolution:parent"] for t in study.trials
               if "evolution:parent" in t.system_attrs}
    assert parents and not parents & failed


def test_evolution_beats_random_search_on_a_decision_sequence():
    def best(sampler):
        study = autolearn.create_study(direction="maximize", sampler=sampler)
        study.optimize(_matches, n_trials=150)
        return study.best_value

    evo = [best(RegularizedEvolutionSampler(population_size=20, sample_size=5, seed=s))
           for s in range(5)]
    rnd = [best(RandomSampler(seed=s)) for s in range(5)]
    assert statistics.median(evo) >= statistics.median(rnd) + 2


def test_numeric_parameters_mutate_to_a_different_value():
    sampler = RegularizedEvolutionSampler(population_size=3, sample_size=2, seed=0)
    study = autolearn.create_study(sampler=sampler)
    study.optimize(lambda t: (t.suggest_float("x", -5, 5) - 1) ** 2
                   + t.suggest_int("n", 0, 3), n_trials=30)
    for child in study.trials[3:]:
        parent = study.trials[child.system_attrs["evolution:parent"]]
        name = child.system_attrs["evolution:mutated"]
        assert child.params[name] != parent.params[name]


@pytest.mark.parametrize("kwargs, field", [
    ({"population_size": 0}, "population_size"),
    ({"sample_size": 0}, "sample_size"),
    ({"population_size": 3, "sample_size": 4}, "sample_size"),
])
def test_config_errors(kwargs, field):
    with pytest.raises(ConfigError, match=field):
        RegularizedEvolutionSampler(**kwargs)
