import json

import pytest

import autolearn
from autolearn import TrialState
from autolearn.exceptions import SearchSpaceError
from autolearn.samplers import GridSampler, RandomSampler
from autolearn.space import (
    CategoricalDistribution,
    Conditional,
    FloatDistribution,
    IntDistribution,
    SearchSpace,
)


def _key(params):
    return json.dumps(dict(params), sort_keys=True)


def test_value_lists_work_with_suggest_int_and_float():
    sampler = GridSampler({"x": [-1, 0, 1], "lr": [0.1, 0.01]})
    study = autolearn.create_study(sampler=sampler)
    study.optimize(lambda t: t.suggest_int("x", -1, 1) + t.suggest_float("lr", 0.001, 1.0))
    got = sorted(_key(t.params) for t in study.trials)
    want = sorted(_key(p) for p in sampler.points)
    assert got == want and len(got) == 6


def test_conditional_space_covered_exactly_once_by_two_processes(tmp_path):
    space = SearchSpace({
        "model": CategoricalDistribution(["svm", "tree"]),
        "C": Conditional(FloatDistribution(0.5, 2.0, step=0.5), parent="model", values=["svm"]),
        "depth": Conditional(IntDistribution(1, 5), parent="model", values=["tree"]),
    })
    assert space.grid_size() == 4 + 5
    study = autolearn.create_study(f"sqlite:///{tmp_path / 'g.db'}",
                                   sampler=GridSampler(space, seed=1))
    study.optimize(lambda t: float(len(space.suggest(t))), n_jobs=2)
    done = [t for t in study.trials if t.state == TrialState.COMPLETE]
    assert sorted(_key(t.params) for t in done) == sorted(_key(p) for p in space.grid())
    # The only other trial a race can leave is a FAIL that names the exhausted grid.
    for t in study.trials:
        if t.state != TrialState.COMPLETE:
            assert t.state == TrialState.FAIL
            assert "grid points are taken" in t.system_attrs["fail_reason"]


def test_seed_shuffles_order_reproducibly():
    grid = {"x": list(range(10))}

    def order(seed):
        study = autolearn.create_study(sampler=GridSampler(grid, seed=seed))
        study.optimize(lambda t: t.suggest_categorical("x", list(range(10))))
        return [t.params["x"] for t in study.trials]

    assert order(None) == list(range(10))
    assert order(3) == order(3) != list(range(10))
    assert sorted(order(4)) == list(range(10))


def test_enqueued_point_is_claimed_not_repeated():
    study = autolearn.create_study(sampler=GridSampler({"x": [1, 2, 3]}))
    study.enqueue_trial({"x": 2})
    study.optimize(lambda t: t.suggest_categorical("x", [1, 2, 3]))
    assert [t.params["x"] for t in study.trials][0] == 2
    assert sorted(t.params["x"] for t in study.trials) == [1, 2, 3]


def test_continuous_float_is_rejected():
    with pytest.raises(SearchSpaceError, match="step"):
        GridSampler(SearchSpace({"x": FloatDistribution(0, 1)}))
    with pytest.raises(SearchSpaceError, match="non-empty list"):
        GridSampler({"x": []})


def test_random_sampler_seed_validation():
    with pytest.raises(ValueError, match="seed"):
        RandomSampler(seed="abc")
