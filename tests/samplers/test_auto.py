import pytest

import autolearn
from autolearn.exceptions import ConfigError
from autolearn.samplers import AutoSampler, RandomSampler
from autolearn.testing.samplers import SamplerConformance


class TestAutoSampler(SamplerConformance):
    @staticmethod
    def make_sampler(space, seed):
        return AutoSampler(seed=seed)


def _choices(study):
    return [t.system_attrs["auto_sampler"] for t in study.trials]


def test_default_sampler_is_auto():
    assert isinstance(autolearn.create_study().sampler, AutoSampler)


def test_numeric_low_dimensional_space_gets_gp_then_tpe_after_the_budget():
    study = autolearn.create_study(sampler=AutoSampler(seed=0, gp_max_trials=15))
    study.optimize(lambda t: (t.suggest_float("x", -5, 5) - 1) ** 2
                   + t.suggest_int("n", 1, 8), n_trials=20)
    picks = _choices(study)
    assert set(picks[1:15]) == {"gp"} and set(picks[16:]) == {"tpe"}


def test_conditional_categorical_multiobjective_and_wide_spaces_get_tpe():
    def conditional(t):
        if t.suggest_categorical("model", ["a", "b"]) == "a":
            return t.suggest_float("xa", 0, 1)
        return t.suggest_float("xb", 0, 1) + 1

    study = autolearn.create_study(sampler=AutoSampler(seed=0))
    study.optimize(conditional, n_trials=12)
    assert _choices(study)[-1] == "tpe"

    wide = autolearn.create_study(sampler=AutoSampler(seed=0, gp_max_dim=3))
    wide.optimize(lambda t: sum(t.suggest_float(f"x{i}", 0, 1) for i in range(4)), n_trials=3)
    assert _choices(wide)[-1] == "tpe"

    multi = autolearn.create_study(directions=["minimize", "minimize"],
                                   sampler=AutoSampler(seed=0))
    multi.optimize(lambda t: (t.suggest_float("x", 0, 1), t.suggest_float("y", 0, 1)),
                   n_trials=3)
    assert set(_choices(multi)) == {"tpe"}


def _choice_after(objective, n_trials=4, **kwargs):
    """What the AutoSampler picks next for a study of ``n_trials`` random trials."""
    study = autolearn.create_study(sampler=RandomSampler(seed=0))
    study.optimize(objective, n_trials=n_trials)
    return AutoSampler(seed=0, **kwargs).choose(study)


def _ints(t, n=5):  # HPOBench-MLP's shape: 5 ordinal integer parameters
    return sum(t.suggest_int(f"i{k}", 0, 9) for k in range(n))


def _hpolib(t):  # HPOLib's shape: 6 integers and 3 binary categoricals (12 encoded dims)
    return (sum(t.suggest_int(f"i{k}", 0, 5) for k in range(6))
            + sum(t.suggest_categorical(f"c{k}", ["a", "b"]) == "a" for k in range(3)))


def _cats(t, n=6, k=5):  # NAS-Bench-201's shape: 6 categoricals of 5 choices (30 dims)
    return sum(t.suggest_categorical(f"op{j}", list(range(k))) for j in range(n))


def _sgd(t):  # sgd_digits' shape: 4 floats, 1 integer, 3 categoricals (17 encoded dims)
    return (t.suggest_float("alpha", 1e-7, 1.0, log=True) + t.suggest_float("eta0", 1e-5, 1.0)
            + t.suggest_float("power_t", 0.05, 1.0) + t.suggest_float("l1", 0.0, 1.0)
            + t.suggest_int("max_iter", 2, 20, log=True)
            + len(t.suggest_categorical("lr", ["a", "b", "c", "d"]))
            + len(t.suggest_categorical("loss", ["a", "b", "c", "d", "e"]))
            + len(t.suggest_categorical("penalty", ["l1", "l2", "none"])))


@pytest.mark.parametrize("objective", [_ints, _hpolib, _cats, _sgd],
                         ids=["all-integer", "integer+categorical", "all-categorical",
                              "float+integer+categorical"])
def test_fixed_spaces_of_the_benchmarks_shapes_get_gp(objective):
    assert _choice_after(objective) == "gp"


def test_more_parameters_or_encoded_dimensions_than_the_limits_get_tpe():
    # 13 parameters > gp_max_dim = 12
    assert _choice_after(lambda t: _ints(t, 13)) == "tpe"
    assert _choice_after(lambda t: _ints(t, 12)) == "gp"
    # 7 categoricals of 5 choices: 35 encoded dimensions > gp_max_onehot = 32
    assert _choice_after(lambda t: _cats(t, 7)) == "tpe"
    assert _choice_after(lambda t: _cats(t, 6)) == "gp"
    assert _choice_after(lambda t: _cats(t, 1, 40)) == "tpe"
    assert _choice_after(_cats, gp_max_onehot=29) == "tpe"
    assert _choice_after(_ints, gp_max_dim=4) == "tpe"


def test_budget_hand_over_and_no_history():
    assert _choice_after(_hpolib, n_trials=5, gp_max_trials=5) == "tpe"
    assert _choice_after(_hpolib, n_trials=4, gp_max_trials=5) == "gp"
    assert AutoSampler(seed=0).choose(autolearn.create_study()) == "gp"


@pytest.mark.parametrize("kwargs", [{"gp_max_dim": -1}, {"gp_max_onehot": 2.5},
                                    {"gp_max_trials": True}])
def test_invalid_limits_raise_config_error(kwargs):
    with pytest.raises(ConfigError, match="int >= 0"):
        AutoSampler(**kwargs)
