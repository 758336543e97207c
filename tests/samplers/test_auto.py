import autolearn
from autolearn.samplers import AutoSampler
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
