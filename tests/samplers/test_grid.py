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


def _ask_point(study):
    trial = study.ask()
    return trial, (trial.suggest_int("x", 0, 3), trial.suggest_int("y", 0, 2))


def test_two_workers_interleaved_never_share_a_point(tmp_path):
    # Two samplers on one storage, as two processes would have: each one's incremental view
    # of the claims must see the other's trials, also one created and finished between two
    # of its own suggestions, and the points it still holds while running.
    url = f"sqlite:///{tmp_path / 'g.db'}"
    grid = {"x": [0, 1, 2, 3], "y": [0, 1, 2]}
    a = autolearn.create_study(url, study_name="g", sampler=GridSampler(grid, seed=0))
    b = autolearn.load_study(study_name="g", storage=url, sampler=GridSampler(grid, seed=0))
    seen = []
    ta, pa = _ask_point(a)  # a holds a point while b works
    for _ in range(3):  # b runs and finishes three trials a never sees open
        tb, pb = _ask_point(b)
        b.tell(tb, 0.0)
        seen.append(pb)
    tc, pc = _ask_point(a)
    a.tell(ta, 0.0)
    a.tell(tc, 0.0)
    seen += [pa, pc]
    while not a.sampler.is_exhausted(a):
        study = a if len(seen) % 2 else b
        t, p = _ask_point(study)
        study.tell(t, 0.0)
        seen.append(p)
    assert len(seen) == 12 and len(set(seen)) == 12
    assert b.sampler.is_exhausted(b)


def test_one_sampler_on_two_studies_keeps_their_claims_apart():
    sampler = GridSampler({"x": [0, 1, 2]}, seed=3)
    for _ in range(2):  # a fresh study must not inherit the first one's claims
        study = autolearn.create_study(sampler=sampler)
        study.optimize(lambda t: float(t.suggest_int("x", 0, 2)))
        assert sorted(t.params["x"] for t in study.trials) == [0, 1, 2]


def test_grid_sampler_pickles_mid_study():
    import pickle

    sampler = GridSampler({"x": [0, 1, 2, 3]}, seed=1)
    study = autolearn.create_study(sampler=sampler)
    study.optimize(lambda t: float(t.suggest_int("x", 0, 3)), n_trials=2)
    clone = pickle.loads(pickle.dumps(sampler))
    rest = autolearn.create_study(sampler=clone)
    rest.optimize(lambda t: float(t.suggest_int("x", 0, 3)))
    assert sorted(t.params["x"] for t in rest.trials) == [0, 1, 2, 3]


def test_resuming_with_another_grid_evaluates_each_new_point_once(tmp_path):
    """Claims are indices into a grid: another grid's must not hide this grid's points
    (they did: a resumed study skipped points, or stopped before running any)."""
    storage = f"sqlite:///{tmp_path / 'g.db'}"

    def objective(t):
        return t.suggest_float("x", 0.0, 1.0)

    def run(values, n_trials=None):
        study = autolearn.create_study(storage, study_name="g", load_if_exists=True,
                                       sampler=GridSampler({"x": values}))
        study.optimize(objective, n_trials=n_trials)
        return sorted(t.params["x"] for t in study.trials)

    assert run([0.1, 0.2]) == [0.1, 0.2]
    assert run([0.5, 0.7]) == [0.1, 0.2, 0.5, 0.7]  # both new points, none skipped
    # a point both grids share is not evaluated again
    assert run([0.1, 0.5, 0.9]) == [0.1, 0.2, 0.5, 0.7, 0.9]
    # a failed trial keeps its point in its own grid only
    study = autolearn.create_study(storage, study_name="f", sampler=GridSampler({"x": [1, 2]}))

    def fails(t):
        t.suggest_int("x", 1, 2)
        raise RuntimeError("boom")

    study.optimize(fails, n_trials=2, catch=(RuntimeError,))
    assert [t.state for t in study.trials] == [TrialState.FAIL] * 2
    again = autolearn.create_study(storage, study_name="f", load_if_exists=True,
                                   sampler=GridSampler({"x": [1, 2]}))
    assert again.sampler.is_exhausted(again)
    other = autolearn.create_study(storage, study_name="f", load_if_exists=True,
                                   sampler=GridSampler({"x": [3, 4]}))
    assert not other.sampler.is_exhausted(other)
    other.optimize(lambda t: t.suggest_int("x", 1, 4))
    assert sorted(t.params["x"] for t in other.trials if t.state == TrialState.COMPLETE) == [3, 4]


def test_a_claim_from_before_fingerprints_counts_where_its_parameters_agree():
    from autolearn.samplers._grid import GRID_KEY

    study = autolearn.create_study(sampler=GridSampler({"x": [1, 2]}))

    def fails(t):
        t.suggest_int("x", 1, 4)
        raise RuntimeError("boom")

    study.optimize(fails, n_trials=2, catch=(RuntimeError,))  # claims 0 (x=1), 1 (x=2)
    for t in study.trials:  # as an older autolearn wrote them: no fingerprint
        study._storage.set_trial_attr(t.trial_id, GRID_KEY, None, system=True)
    assert sorted(GridSampler({"x": [1, 2]})._taken(study, -1)[0]) == [0, 1]
    # another grid: index 0 is x=1 there too (counts), index 1 is x=3 (the trial had x=2)
    assert sorted(GridSampler({"x": [1, 3]})._taken(study, -1)[0]) == [0]


def test_a_grid_value_the_objective_cannot_take_fails_its_trial_visibly():
    """It was replaced by a random value and the point counted as done."""
    study = autolearn.create_study(sampler=GridSampler({"x": [5.0, 0.5]}))
    study.optimize(lambda t: t.suggest_float("x", 0.0, 1.0))
    bad, good = sorted(study.trials, key=lambda t: t.state != TrialState.FAIL)
    assert bad.state == TrialState.FAIL and "the grid's value 5.0 for 'x'" in (
        bad.system_attrs["fail_reason"])
    assert good.state == TrialState.COMPLETE and good.params == {"x": 0.5}
