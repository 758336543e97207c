import logging
import math

import numpy as np
import pytest

import autolearn
from autolearn import TrialState
from autolearn.exceptions import ConfigError
from autolearn.samplers import RandomSampler
from autolearn.samplers._smac import (
    INACTIVE,
    SMACSampler,
    activation_rules,
    impute_inactive,
    union_search_space,
)
from autolearn.samplers.bo import CubeSpace
from autolearn.samplers.bo.forest import RandomForestSurrogate, log_scale_costs
from autolearn.samplers.bo.local_search import LocalSearch, one_exchange_neighbours
from autolearn.space import (
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
    UnitCubeTransform,
)
from autolearn.testing.samplers import SamplerConformance


class TestSMACSampler(SamplerConformance):
    @staticmethod
    def make_sampler(space, seed):
        return SMACSampler(seed=seed, n_startup_trials=4)


def _cube(space):
    return CubeSpace.build(UnitCubeTransform(space))


_MIXED = {
    "c": CategoricalDistribution(["a", "b", "c"]),
    "f": FloatDistribution(-1.0, 1.0),
    "i": IntDistribution(0, 9),
    "ilog": IntDistribution(1, 64, log=True),
    "s": FloatDistribution(0.0, 1.0, step=0.25),
}


# ---- forest posterior -------------------------------------------------------------------

def test_forest_mean_near_data_and_variance_positive_away_from_it():
    space = _cube({"x": FloatDistribution(0, 1), "z": FloatDistribution(0, 1)})
    rng = np.random.default_rng(0)
    X = rng.random((60, 2)) * [0.5, 1.0]          # no data for x > 0.5
    y = np.sin(6 * X[:, 0]) + X[:, 1]
    post = RandomForestSurrogate().fit(X, y, space, np.random.default_rng(1))
    mean, var = post.predict(X)
    assert mean.shape == var.shape == (1, 60)
    assert np.corrcoef(mean[0], y)[0, 1] > 0.95
    assert np.median(np.abs(mean[0] - y)) < 0.15
    far = np.column_stack([np.full(20, 0.95), np.linspace(0, 1, 20)])
    _, var_far = post.predict(far)
    assert np.all(var_far > 0)
    assert var_far.mean() > var.mean()


def test_forest_fit_is_reproducible_from_rng():
    space = _cube({"x": FloatDistribution(0, 1)})
    X = np.linspace(0, 1, 30)[:, None]
    y = (X[:, 0] - 0.3) ** 2
    grid = np.linspace(0, 1, 50)[:, None]
    a = RandomForestSurrogate().fit(X, y, space, np.random.default_rng(3)).predict(grid)
    b = RandomForestSurrogate().fit(X, y, space, np.random.default_rng(3)).predict(grid)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])


def test_log_y_transform_is_monotone_and_finite():
    y = np.array([3.0, -2.0, 10.0, 0.5, -2.0, 1e6])
    z, low, high = log_scale_costs(y)
    assert np.all(np.isfinite(z))
    order = np.argsort(y, kind="stable")
    assert np.all(np.diff(z[order]) >= 0)
    assert np.all(np.diff(z[order])[np.diff(y[order]) > 0] > 0)
    assert low < y.min() and high == y.max()

    space = _cube({"x": FloatDistribution(0, 1)})
    X = np.linspace(0, 1, 40)[:, None]
    cost = np.exp(8 * X[:, 0])                  # spans three orders of magnitude
    post = RandomForestSurrogate(log_y=True).fit(X, cost, space, np.random.default_rng(0))
    mean, _ = post.predict(X)
    assert np.corrcoef(mean[0], np.log(cost))[0, 1] > 0.98
    mapped = post.to_model_scale(np.sort(cost))
    assert np.all(np.diff(mapped) > 0) and np.all(np.isfinite(mapped))


def test_forest_rejects_bad_configuration():
    with pytest.raises(ConfigError, match="max_features"):
        RandomForestSurrogate(max_features=0.0)
    with pytest.raises(ConfigError, match="n_trees"):
        RandomForestSurrogate(n_trees=0)
    with pytest.raises(ConfigError, match="random_interleave_prob"):
        SMACSampler(random_interleave_prob=1.5)


# ---- local search -----------------------------------------------------------------------

def test_neighbours_change_exactly_one_parameter_and_are_valid():
    space = _cube(_MIXED)
    t = space.transform
    rng = np.random.default_rng(0)
    X = space.round(rng.random((20, space.dim)))
    N = one_exchange_neighbours(X, space, 8, rng)
    np.testing.assert_array_equal(space.round(N), N)
    moves = []
    for i, row in enumerate(N):
        before, after = t.decode(X[i // 8]), t.decode(row)
        changed = [k for k in before if before[k] != after[k]]
        assert len(changed) == 1, (before, after)
        if changed[0] == "i":
            moves.append(abs(after["i"] - before["i"]))
    # Ints move to a nearby level: mostly one or two steps (a Gaussian of 0.2 of the range).
    assert moves and min(moves) == 1 and np.median(moves) <= 2


def test_local_search_returns_a_valid_point_and_finds_the_optimum():
    space = _cube(_MIXED)
    t = space.transform
    target = t.encode({"c": "b", "f": 0.3, "i": 7, "ilog": 16, "s": 0.75})

    def score(X):
        return -np.sum((X - target) ** 2, axis=1)

    rng = np.random.default_rng(1)
    observed = space.round(rng.random((10, space.dim)))
    maximizer = LocalSearch(n_random=50)
    x = maximizer(score, space, observed, np.random.default_rng(2))
    np.testing.assert_array_equal(space.round(x[None, :])[0], x)
    random_best = score(space.round(np.random.default_rng(3).random((2000, space.dim)))).max()
    assert score(x[None, :])[0] > max(score(observed).max(), random_best)
    got = t.decode(x)
    assert got["c"] == "b" and got["i"] == 7 and got["ilog"] == 16 and got["s"] == 0.75
    assert abs(got["f"] - 0.3) < 0.1


# ---- conditional spaces -----------------------------------------------------------------

def _conditional_objective(trial):
    model = trial.suggest_categorical("model", ["a", "b"])
    if model == "a":
        return 1.0 + trial.suggest_float("x_a", 0.0, 1.0)
    return (trial.suggest_float("x_b", 0.0, 1.0) - 0.7) ** 2


class _CountingSMAC(SMACSampler):
    def __init__(self, **kw):
        super().__init__(**kw)
        self.independent = []

    def sample_independent(self, study, trial, param_name, distribution):
        self.independent.append((trial.number, param_name))
        return super().sample_independent(study, trial, param_name, distribution)


def test_conditional_parameters_are_modelled(caplog):
    sampler = _CountingSMAC(seed=0, n_startup_trials=6, random_interleave_prob=0.0)
    study = autolearn.create_study(sampler=sampler)
    with caplog.at_level(logging.WARNING):
        study.optimize(_conditional_objective, n_trials=30)
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    trials = study.trials
    assert {t.params["model"] for t in trials[:6]} == {"a", "b"}
    # Once both branches were seen, every parameter comes from the joint proposal.
    assert [n for n, _ in sampler.independent if n >= 6] == []
    later = trials[10:]
    assert sum(t.params["model"] == "b" for t in later) >= 0.8 * len(later)
    assert study.best_value < 1e-3


def test_activation_rules_and_imputation():
    study = autolearn.create_study(sampler=RandomSampler(seed=0))
    study.optimize(_conditional_objective, n_trials=12)
    trials = study.get_trials(states=(TrialState.COMPLETE,))
    space = union_search_space(trials)
    assert list(space) == ["model", "x_a", "x_b"]
    rules = activation_rules(trials, space)
    assert rules == {"x_a": ("model", frozenset({0})), "x_b": ("model", frozenset({1}))}
    t = UnitCubeTransform(space)
    X = np.array([[1.0, 0.0, 0.2, 0.9], [0.0, 1.0, 0.2, 0.9]])
    imputed = impute_inactive(X, t, rules)
    np.testing.assert_array_equal(imputed, [[1, 0, 0.2, INACTIVE], [0, 1, INACTIVE, 0.9]])


# ---- behaviour on objectives ------------------------------------------------------------

def _branin(trial):
    x1, x2 = trial.suggest_float("x1", -5, 10), trial.suggest_float("x2", 0, 15)
    b, c = 5.1 / (4 * math.pi**2), 5 / math.pi
    return (x2 - b * x1**2 + c * x1 - 6) ** 2 + 10 * (1 - 1 / (8 * math.pi)) * math.cos(x1) + 10


def test_beats_random_search_on_branin():
    def regret(make):
        out = []
        for seed in range(5):
            study = autolearn.create_study(sampler=make(seed))
            study.optimize(_branin, n_trials=40)
            out.append(study.best_value - 0.397887)
        return float(np.median(out))

    smac = regret(lambda s: SMACSampler(seed=s))
    rand = regret(lambda s: RandomSampler(seed=s))
    # Measured at 40 trials: SMAC ~0.13, random ~2.5.
    assert smac < 0.5
    assert smac < rand / 5


def test_failed_and_nan_trials_in_history():
    sampler = SMACSampler(seed=1, n_startup_trials=4)
    study = autolearn.create_study(sampler=sampler)

    def objective(trial):
        x = trial.suggest_float("x", -3, 3)
        if trial.number % 4 == 1:
            return float("nan")
        if trial.number % 4 == 2:
            raise RuntimeError("boom")
        return (x - 1) ** 2

    study.optimize(objective, n_trials=24)
    states = [t.state for t in study.trials]
    assert TrialState.FAIL in states and TrialState.COMPLETE in states
    assert study.best_value < 0.1


def test_reproducible_without_log_y_on_a_conditional_space():
    runs = []
    for _ in range(2):
        study = autolearn.create_study(sampler=SMACSampler(seed=5, n_startup_trials=4,
                                                           log_y=False))
        study.optimize(_conditional_objective, n_trials=14)
        runs.append([dict(t.params) for t in study.trials])
    assert runs[0] == runs[1]


def test_maximisation_direction():
    study = autolearn.create_study(direction="maximize",
                                   sampler=SMACSampler(seed=0, n_startup_trials=5))
    study.optimize(lambda t: -abs(t.suggest_int("k", 0, 50) - 37), n_trials=25)
    assert study.best_value >= -1
