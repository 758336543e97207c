import json
import math

import numpy as np
import pytest

from autolearn.exceptions import SearchSpaceError
from autolearn.space import (
    CategoricalDistribution,
    Conditional,
    FloatDistribution,
    IntDistribution,
    SearchSpace,
    UnitCubeTransform,
    distribution_from_json,
    distribution_to_json,
    sample_distribution,
)


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: FloatDistribution(3, 1), "low <= high` must hold, but got low=3.0, high=1.0"),
        (lambda: FloatDistribution(0, 1, log=True), "low > 0"),
        (lambda: FloatDistribution(1, 2, log=True, step=0.1), "cannot be used together"),
        (lambda: FloatDistribution(0, 1, step=0), "step > 0"),
        (lambda: FloatDistribution(0, math.inf), "finite"),
        (lambda: IntDistribution(5, 1), "low <= high` must hold, but got low=5, high=1"),
        (lambda: IntDistribution(0, 10, log=True), "low >= 1"),
        (lambda: IntDistribution(1, 10, log=True, step=2), "step == 1"),
        (lambda: IntDistribution(1.5, 3), "must be an integer"),
        (lambda: CategoricalDistribution([]), "at least one"),
        (lambda: CategoricalDistribution("abc"), "sequence"),
        (lambda: CategoricalDistribution([object()]), "JSON-serialisable"),
        (lambda: CategoricalDistribution([1, 1]), "distinct"),
    ],
)
def test_invalid_distributions_say_the_rule_and_values(make, message):
    with pytest.raises(SearchSpaceError, match=message.replace("(", r"\(").replace("`", ".")):
        make()


def test_errors_are_value_errors():
    with pytest.raises(ValueError):
        FloatDistribution(2, 1)


def test_step_shrinks_high_onto_grid():
    assert FloatDistribution(0, 1, step=0.3).high == pytest.approx(0.9)
    assert IntDistribution(0, 10, step=3).high == 9


@pytest.mark.parametrize(
    "dist",
    [
        FloatDistribution(-1, 1),
        FloatDistribution(1e-4, 1, log=True),
        FloatDistribution(0, 1, step=0.1),
        IntDistribution(-5, 5),
        IntDistribution(1, 1024, log=True),
        IntDistribution(0, 12, step=4),
        CategoricalDistribution(["a", 2, 3.5, None, True, [1, "x"], {"k": 1}]),
    ],
)
def test_json_round_trip_and_sampling(dist):
    again = distribution_from_json(distribution_to_json(dist))
    assert again == dist and hash(again) == hash(dist)
    rng = np.random.default_rng(0)
    for _ in range(200):
        v = sample_distribution(dist, rng)
        assert dist.contains(dist.to_internal(v))
        assert dist.to_external(dist.to_internal(v)) == v


def test_categorical_internal_is_index_and_type_strict():
    d = CategoricalDistribution([1, True, "1", None])
    assert [d.to_internal(c) for c in [1, True, "1", None]] == [0.0, 1.0, 2.0, 3.0]
    with pytest.raises(SearchSpaceError, match="not one of the choices"):
        d.to_internal("nope")


def test_out_of_range_values_rejected():
    with pytest.raises(SearchSpaceError):
        FloatDistribution(0, 1).to_internal(1.5)
    with pytest.raises(SearchSpaceError):
        FloatDistribution(0, 1, step=0.25).to_internal(0.3)
    with pytest.raises(SearchSpaceError):
        IntDistribution(0, 10, step=2).to_internal(3)
    with pytest.raises(SearchSpaceError):
        IntDistribution(0, 10).to_internal("3x")


def test_bad_json():
    with pytest.raises(SearchSpaceError, match="not a serialised distribution"):
        distribution_from_json('{"type": "gaussian"}')


def test_log_sampling_is_log_uniform():
    rng = np.random.default_rng(1)
    d = FloatDistribution(1e-4, 1.0, log=True)
    xs = np.array([sample_distribution(d, rng) for _ in range(4000)])
    # A quarter of log-space is below 1e-3.
    assert 0.2 < np.mean(xs < 1e-3) < 0.3


def _cond_space():
    return SearchSpace({
        "model": CategoricalDistribution(["svm", "tree", "knn"]),
        "kernel": Conditional(CategoricalDistribution(["rbf", "poly"]), parent="model",
                              values=["svm"]),
        "degree": Conditional(IntDistribution(2, 4), parent="kernel", values=["poly"]),
        "depth": Conditional(IntDistribution(1, 3), parent="model", values=["tree", "knn"]),
        "lr": FloatDistribution(0.0, 1.0, step=0.5),
    })


def test_tree_space_active_names_and_grid():
    space = _cond_space()
    assert space.active_names({"model": "svm", "kernel": "rbf"}) == ["model", "kernel", "lr"]
    assert space.active_names({"model": "svm", "kernel": "poly"}) == [
        "model", "kernel", "degree", "lr"]
    assert space.active_names({"model": "tree"}) == ["model", "depth", "lr"]
    grid = list(space.grid())
    # svm: (1 rbf + 3 poly) * 3 lr; tree, knn: 3 depth * 3 lr each.
    assert len(grid) == 4 * 3 + 2 * 3 * 3 == space.grid_size()
    assert len({json.dumps(p, sort_keys=True) for p in grid}) == len(grid)
    for p in grid:
        space.validate(p)


def test_tree_space_json_round_trip_and_sample():
    space = _cond_space()
    again = SearchSpace.from_json(space.to_json())
    assert again == space
    for seed in range(30):
        p = space.sample(seed)
        space.validate(p)


def test_tree_space_errors():
    with pytest.raises(SearchSpaceError, match="declared before"):
        SearchSpace({"a": Conditional(IntDistribution(0, 1), parent="b", values=[1])})
    with pytest.raises(SearchSpaceError, match="can never take"):
        SearchSpace({"b": IntDistribution(0, 1),
                     "a": Conditional(IntDistribution(0, 1), parent="b", values=[7])})
    with pytest.raises(SearchSpaceError, match="cannot be enumerated"):
        list(SearchSpace({"x": FloatDistribution(0, 1)}).grid())
    with pytest.raises(SearchSpaceError, match="missing"):
        _cond_space().validate({"model": "svm"})


def test_unit_cube_round_trip():
    space = {
        "f": FloatDistribution(-2, 3),
        "flog": FloatDistribution(1e-3, 10, log=True),
        "fstep": FloatDistribution(0, 1, step=0.25),
        "i": IntDistribution(-3, 7),
        "ilog": IntDistribution(1, 100, log=True),
        "c": CategoricalDistribution(["a", "b", "c"]),
    }
    tf = UnitCubeTransform(space)
    assert tf.dim == 5 + 3
    assert tf.categorical_mask.tolist() == [False] * 5 + [True] * 3
    rng = np.random.default_rng(0)
    for _ in range(100):
        p = {k: sample_distribution(d, rng) for k, d in space.items()}
        x = tf.encode(p)
        assert np.all((x >= 0) & (x <= 1))
        q = tf.decode(x)
        assert q["fstep"] == p["fstep"] and q["i"] == p["i"] and q["ilog"] == p["ilog"]
        assert q["c"] == p["c"]
        assert q["f"] == pytest.approx(p["f"]) and q["flog"] == pytest.approx(p["flog"])
    # Any point of the cube decodes to valid parameters.
    for x in rng.uniform(-0.5, 1.5, size=(200, tf.dim)):
        q = tf.decode(x)
        for k, d in space.items():
            assert d.contains(d.to_internal(q[k]))


def test_bounds_that_are_not_numbers_are_search_space_errors():
    from autolearn.exceptions import SearchSpaceError
    from autolearn.space import FloatDistribution, IntDistribution

    for make, name in ((lambda: FloatDistribution("a", 1), "low"),
                       (lambda: FloatDistribution(0, [1]), "high"),
                       (lambda: FloatDistribution(0, 1, step="s"), "step"),
                       (lambda: IntDistribution(None, 3), "low"),
                       (lambda: IntDistribution(0, "x"), "high")):
        with pytest.raises(SearchSpaceError, match=f"`{name}` must be a number"):
            make()
