import math

import numpy as np
import pytest

import autolearn
from autolearn import TrialState
from autolearn.exceptions import ConfigError
from autolearn.samplers import RandomSampler
from autolearn.samplers._gp import GPSampler
from autolearn.samplers.bo import CubeSpace
from autolearn.samplers.bo.acquisition import ei, log_ei, log_h, ucb
from autolearn.samplers.bo.gp import (
    GaussianProcess,
    GPPosterior,
    HyperPrior,
    _log_marginal_likelihood_grad,
    _Pairs,
    log_marginal_likelihood,
    map_hyperparameters,
    matern52,
    slice_sample,
)
from autolearn.samplers.bo.maximize import AcquisitionMaximizer
from autolearn.space import (
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
    UnitCubeTransform,
)
from autolearn.testing.samplers import SamplerConformance


class TestGPSampler(SamplerConformance):
    @staticmethod
    def make_sampler(space, seed):
        return GPSampler(seed=seed, n_startup_trials=4, hyperparameters="slice",
                         n_hyper_samples=4)


class TestGPSamplerMLL(SamplerConformance):
    @staticmethod
    def make_sampler(space, seed):
        return GPSampler(seed=seed, n_startup_trials=4, hyperparameters="mll",
                         acquisition="ucb")


# --- GP math -----------------------------------------------------------------------------


def test_kernel_is_symmetric_positive_semidefinite():
    rng = np.random.default_rng(0)
    X = rng.random((40, 3))
    X[5] = X[6]  # a duplicate
    K = matern52(X, X, np.array([[0.2, 1.0, 5.0], [0.05, 0.05, 0.05]]), np.array([1.0, 2.5]))
    assert K.shape == (2, 40, 40)
    np.testing.assert_allclose(K, K.transpose(0, 2, 1), atol=1e-12)
    np.testing.assert_allclose(K[:, np.arange(40), np.arange(40)], [[1.0] * 40, [2.5] * 40])
    assert np.linalg.eigvalsh(K).min() > -1e-9


def test_posterior_interpolates_noise_free_data():
    rng = np.random.default_rng(1)
    X = rng.random((15, 2))
    y = np.sin(6 * X[:, 0]) + X[:, 1] ** 2
    theta = np.array([[math.log(0.3), math.log(0.3), 0.0, math.log(1e-6), 0.0]])
    post = GPPosterior(X, y, theta)
    mean, var = post.predict(X)
    np.testing.assert_allclose(mean[0], y, atol=1e-3)
    assert var.max() < 1e-4
    far_mean, far_var = post.predict(np.array([[5.0, 5.0]]))
    assert far_var[0, 0] == pytest.approx(1.0, rel=1e-3)  # back to the prior
    assert far_mean[0, 0] == pytest.approx(0.0, abs=1e-3)


def test_likelihood_gradient_matches_finite_differences():
    rng = np.random.default_rng(2)
    X = rng.random((20, 3))
    y = rng.standard_normal(20)
    theta = np.array([-0.5, 0.2, 0.1, 0.3, -3.0, 0.2])
    pairs = _Pairs(X)
    value, grad = _log_marginal_likelihood_grad(pairs, y, theta)
    assert value == pytest.approx(log_marginal_likelihood(X, y, theta[None])[0])
    h = 1e-6
    numeric = [(_log_marginal_likelihood_grad(pairs, y, theta + h * e)[0] - value) / h
               for e in np.eye(len(theta))]
    np.testing.assert_allclose(grad, numeric, rtol=1e-4, atol=1e-4)


def test_map_recovers_a_long_and_a_short_lengthscale():
    rng = np.random.default_rng(3)
    X = rng.random((60, 2))
    y = np.sin(8 * X[:, 0])  # the second coordinate is irrelevant
    y = (y - y.mean()) / y.std()
    prior = HyperPrior()
    theta = map_hyperparameters(X, y, prior, prior.initial(2)[None])
    assert theta[1] - theta[0] > 1.0
    assert theta[3] < math.log(1e-3)  # the fit is near noise-free


def test_fit_resolves_tiny_differences_near_a_deterministic_minimum():
    # Values spread over ~50 units, but the points around the minimum differ by 1e-4: a
    # noise floor of 1e-6 of the variance (sd ~0.03) blurred them, and the search stopped
    # converging near the optimum.
    X = np.r_[np.linspace(0, 1, 12), 0.3 + 1e-3 * np.arange(-3, 4)][:, None]

    def f(x):
        return 100.0 * (x[:, 0] - 0.3) ** 2

    Xt = np.array([[0.3005], [0.2985]])
    for mode in ("mll", "slice"):
        post = GaussianProcess(hyperparameters=mode, n_samples=4).fit(
            X, f(X), None, np.random.default_rng(0))
        mean, var = post.predict(Xt)
        np.testing.assert_allclose(mean, np.tile(f(Xt), (len(mean), 1)), atol=1e-6)
        assert np.sqrt(var).max() < 1e-3


def test_slice_sampler_follows_a_known_density():
    rng = np.random.default_rng(4)

    def log_density(x):  # N(1, 0.5^2), truncated to [-3, 3]
        return -0.5 * ((x[:, 0] - 1.0) / 0.5) ** 2

    x, _ = slice_sample(log_density, np.full((400, 1), -2.5), rng, n_sweeps=20,
                        widths=np.array([1.0]), lower=np.array([-3.0]), upper=np.array([3.0]))
    assert x.mean() == pytest.approx(1.0, abs=0.1)
    assert x.std() == pytest.approx(0.5, abs=0.07)
    assert (x >= -3.0).all() and (x <= 3.0).all()


def test_duplicate_points_and_constant_targets_fit():
    rng = np.random.default_rng(5)
    X = np.repeat(rng.random((3, 2)), 4, axis=0)
    space = CubeSpace.build(UnitCubeTransform({"a": FloatDistribution(0, 1),
                                               "b": FloatDistribution(0, 1)}))
    for y in (np.arange(12.0) % 3, np.full(12, 7.0)):
        for mode in ("slice", "mll"):
            post = GaussianProcess(hyperparameters=mode).fit(X, y, space, rng)
            mean, var = post.predict(rng.random((5, 2)))
            assert np.isfinite(mean).all() and np.isfinite(var).all() and (var > 0).all()


# --- acquisition --------------------------------------------------------------------------


def test_log_ei_equals_log_of_direct_ei_where_ei_is_not_tiny():
    rng = np.random.default_rng(6)
    mean = rng.normal(0.0, 1.0, (3, 50))
    var = rng.uniform(0.01, 2.0, (3, 50))
    np.testing.assert_allclose(log_ei(mean, var, 0.2), np.log(ei(mean, var, 0.2)), rtol=1e-9)


def test_log_ei_stays_finite_and_ordered_where_ei_underflows():
    mean = np.array([[40.0, 60.0, 1e4, 1e12]])
    var = np.ones((1, 4))
    assert (ei(mean, var, 0.0) == 0.0).all()
    values = log_ei(mean, var, 0.0)
    assert np.isfinite(values).all()
    assert (np.diff(values) < 0).all()  # still prefers the less hopeless point
    z = -np.logspace(-3, 3, 200)
    assert (np.diff(log_h(z)) < 0).all()


def test_log_ei_integrates_over_samples():
    mean = np.array([[0.0], [1.0]])
    var = np.array([[1.0], [0.25]])
    want = np.log(0.5 * (ei(mean[:1], var[:1], 0.5) + ei(mean[1:], var[1:], 0.5)))
    np.testing.assert_allclose(log_ei(mean, var, 0.5), want)


def test_ucb_prefers_low_mean_and_high_variance():
    s = ucb(np.array([[0.0, 0.0, 1.0]]), np.array([[1.0, 4.0, 1.0]]), kappa=2.0)
    np.testing.assert_allclose(s, [2.0, 4.0, 1.0])


# --- maximiser ----------------------------------------------------------------------------


def _mixed_space():
    return CubeSpace.build(UnitCubeTransform({
        "f": FloatDistribution(-1.0, 1.0),
        "i": IntDistribution(-5, 5),
        "ilog": IntDistribution(1, 1000, log=True),
        "c": CategoricalDistribution(["a", "b", "c"]),
    }))


def test_shift_levels_reaches_the_neighbouring_log_int():
    space = _mixed_space()
    x = space.transform.encode({"f": 0.0, "i": 0, "ilog": 10, "c": "a"})
    for delta, want in ((1, 11), (-1, 9), (5000, 1000), (-5000, 1)):
        y = space.shift_levels(x[None], 2, delta)[0]
        assert space.transform.decode(y)["ilog"] == want


def test_maximizer_finds_the_optimum_of_a_mixed_score_and_returns_a_valid_point():
    space = _mixed_space()
    target = space.transform.encode({"f": 0.3, "i": 2, "ilog": 37, "c": "b"})

    def score(X):
        return -np.sum((X - target) ** 2, axis=1)

    rng = np.random.default_rng(7)
    x = AcquisitionMaximizer()(score, space, space.round(rng.random((5, space.dim))), rng)
    np.testing.assert_array_equal(space.round(x[None])[0], x)
    got = space.transform.decode(x)
    assert got["i"] == 2 and got["ilog"] == 37 and got["c"] == "b"
    assert got["f"] == pytest.approx(0.3, abs=1e-4)


# --- the sampler --------------------------------------------------------------------------


def _branin(trial):
    x1 = trial.suggest_float("x1", -5.0, 10.0)
    x2 = trial.suggest_float("x2", 0.0, 15.0)
    b, c, t = 5.1 / (4 * math.pi**2), 5 / math.pi, 1 / (8 * math.pi)
    return (x2 - b * x1**2 + c * x1 - 6) ** 2 + 10 * (1 - t) * math.cos(x1) + 10 - 0.397887


def _quadratic4(trial):
    return sum((trial.suggest_float(f"x{i}", -3.0, 3.0) - 0.5 * i) ** 2 for i in range(4))


@pytest.mark.parametrize("objective", [_branin, _quadratic4])
def test_beats_random_search_within_30_trials(objective):
    def median_regret(make):
        best = []
        for seed in range(5):
            study = autolearn.create_study(sampler=make(seed))
            study.optimize(objective, n_trials=30)
            best.append(study.best_value)
        return float(np.median(best))

    gp = median_regret(lambda s: GPSampler(seed=s))
    rnd = median_regret(lambda s: RandomSampler(seed=s))
    assert gp * 5 < rnd, (gp, rnd)


def test_failed_and_nan_trials_in_the_history_are_skipped():
    def objective(trial):
        x = trial.suggest_float("x", -2, 2)
        if trial.number % 4 == 1:
            return float("nan")
        if trial.number % 4 == 2:
            raise RuntimeError("boom")
        return x**2

    study = autolearn.create_study(sampler=GPSampler(seed=0, n_startup_trials=3))
    study.optimize(objective, n_trials=14, catch=(RuntimeError,))
    assert {t.state for t in study.trials} == {TrialState.COMPLETE, TrialState.FAIL}
    assert study.best_value < 0.1


def test_constant_objective_and_a_single_distinct_point():
    study = autolearn.create_study(sampler=GPSampler(seed=0, n_startup_trials=3))
    study.optimize(lambda t: 1.0 + 0 * t.suggest_float("x", 0, 1) * t.suggest_int("n", 1, 9),
                   n_trials=6)
    assert len({(t.params["x"], t.params["n"]) for t in study.trials}) > 1

    study = autolearn.create_study(sampler=GPSampler(seed=0, n_startup_trials=3))
    for _ in range(4):
        study.enqueue_trial({"x": 0.5, "n": 3})
    study.optimize(lambda t: t.suggest_float("x", 0, 1) + t.suggest_int("n", 1, 9), n_trials=7)
    assert all(t.state == TrialState.COMPLETE for t in study.trials)
    assert len({(t.params["x"], t.params["n"]) for t in study.trials}) > 1


def test_ints_log_ints_and_categoricals_are_optimised():
    def objective(trial):
        n = trial.suggest_int("n", 0, 20)
        m = trial.suggest_int("m", 1, 1000, log=True)
        kind = trial.suggest_categorical("kind", ["bad", "good", "ok"])
        x = trial.suggest_float("x", -1.0, 1.0)
        return ((n - 13) ** 2 + (math.log(m) - math.log(50)) ** 2 + x**2
                + {"bad": 5.0, "good": 0.0, "ok": 2.0}[kind])

    study = autolearn.create_study(sampler=GPSampler(seed=1, n_startup_trials=8))
    study.optimize(objective, n_trials=30)
    for t in study.trials:
        assert type(t.params["n"]) is int and 0 <= t.params["n"] <= 20
        assert type(t.params["m"]) is int and 1 <= t.params["m"] <= 1000
    best = study.best_params
    assert best["kind"] == "good" and abs(best["n"] - 13) <= 1, best
    assert study.best_value < 1.0


def test_maximisation_and_reproducibility():
    def run():
        study = autolearn.create_study(direction="maximize",
                                       sampler=GPSampler(seed=3, n_startup_trials=4))
        study.optimize(lambda t: -((t.suggest_float("x", -3, 3) - 1) ** 2), n_trials=10)
        return study

    a, b = run(), run()
    assert [t.params for t in a.trials] == [t.params for t in b.trials]
    assert a.best_value > -0.05


@pytest.mark.parametrize("kwargs", [
    {"hyperparameters": "map"}, {"acquisition": "pi"}, {"n_hyper_samples": 0},
    {"n_startup_trials": 0}, {"seed": "x"}, {"output_warp": "log"},
])
def test_invalid_options_raise_config_error(kwargs):
    with pytest.raises(ConfigError):
        GPSampler(**kwargs)


def test_suggestions_run_with_single_threaded_blas():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    from autolearn.samplers.bo import _loop

    def blas_threads():
        return [p["num_threads"] for p in threadpoolctl.threadpool_info()
                if p["user_api"] == "blas"]

    before = blas_threads()
    seen = []
    sampler = GPSampler(seed=0, n_startup_trials=3)
    inner = sampler.acquisition

    def spy(posterior, X, y_best):
        seen.extend(blas_threads())
        return inner(posterior, X, y_best)

    sampler.acquisition = spy
    study = autolearn.create_study(sampler=sampler)
    study.optimize(lambda t: (t.suggest_float("x", -2, 2) - 1) ** 2, n_trials=5)
    assert seen and set(seen) == {1}
    assert blas_threads() == before  # restored afterwards
    with _loop.single_threaded_blas():  # reusable, and a no-op where nothing is loaded
        pass


# --- output warp ----------------------------------------------------------------------------


def test_median_log_warp_is_monotone_and_invariant_to_shift_and_scale():
    from autolearn.samplers.bo.warp import median_log_warp

    y = np.array([3.0, 1.0, 2.0, 50.0, 1e4, 1.5])
    w = median_log_warp(y)
    v = np.sort(np.r_[y, 0.5, 7.0])
    assert np.all(np.diff(w(v)) > 0)
    assert w(np.array([1.0]))[0] == 0.0
    np.testing.assert_allclose(median_log_warp(5 * y - 2)(5 * v - 2), w(v))
    assert w(np.array([1e4]))[0] < 10  # far above the median: logarithmic
    assert median_log_warp(np.array([1.0, 1.0, 4.0])) is None  # no spread below the median
    assert median_log_warp(np.array([])) is None


def test_warp_log_jacobian_matches_finite_differences():
    from autolearn.samplers.bo.warp import median_log_warp

    y = np.array([0.3, 1.0, 2.0, 40.0, 900.0])
    w = median_log_warp(y)
    h = 1e-6 * np.maximum(1.0, np.abs(y))
    fd = (w(y + h) - w(y - h)) / (2 * h)
    assert w.log_jacobian(y) == pytest.approx(float(np.log(fd).sum()), rel=1e-6)


def test_log_evidence_is_the_marginal_likelihood_in_original_units():
    rng = np.random.default_rng(0)
    X = rng.random((15, 2))
    y = 100.0 * X[:, 0] + np.sin(6 * X[:, 1])
    space = CubeSpace.build(UnitCubeTransform({"a": FloatDistribution(0, 1),
                                               "b": FloatDistribution(0, 1)}))
    post = GaussianProcess(hyperparameters="mll").fit(X, y, space, rng)
    z = (y - y.mean()) / y.std()
    want = log_marginal_likelihood(X, z, post.theta)[0] - len(y) * math.log(y.std())
    assert post.log_evidence() == pytest.approx(want, rel=1e-9)


def test_evidence_prefers_the_warp_on_a_steep_objective_and_not_on_a_plane():
    from autolearn.samplers.bo.warp import median_log_warp

    rng = np.random.default_rng(1)
    X = rng.random((25, 2))
    space = CubeSpace.build(UnitCubeTransform({"a": FloatDistribution(0, 1),
                                               "b": FloatDistribution(0, 1)}))

    def margin(y):  # warped evidence (with the Jacobian) minus raw evidence
        w = median_log_warp(y)
        warped = GaussianProcess(hyperparameters="mll").fit(X, w(y), space, rng)
        raw = GaussianProcess(hyperparameters="mll").fit(X, y, space, rng)
        return warped.log_evidence() + w.log_jacobian(y) - raw.log_evidence()

    assert margin(10.0 ** (5 * X[:, 0]) + X[:, 1]) > 0
    assert margin(3.0 * X[:, 0] - X[:, 1]) < 0


def test_output_warp_fits_the_model_to_warped_values():
    from autolearn.samplers.bo.warp import median_log_warp

    seen = []

    class Recording(GaussianProcess):
        def fit(self, X, y, space, rng):
            seen.append(np.array(y))
            return super().fit(X, y, space, rng)

    sampler = GPSampler(seed=0, n_startup_trials=4, output_warp=True, restarts=False)
    sampler.surrogate = Recording(hyperparameters="mll")
    study = autolearn.create_study(sampler=sampler)
    study.optimize(lambda t: 10.0 ** (4 * t.suggest_float("x", 0.0, 1.0)), n_trials=7)
    raw = np.array([t.value for t in study.trials])
    assert len(seen) == 3
    for y in seen:
        n = len(y)
        np.testing.assert_allclose(y, median_log_warp(raw[:n])(raw[:n]))


@pytest.mark.parametrize("output_warp", [False, True, "select"])
def test_output_warp_options_run_and_reproduce(output_warp):
    def run():
        study = autolearn.create_study(sampler=GPSampler(seed=2, n_startup_trials=4,
                                                         output_warp=output_warp))
        study.optimize(lambda t: (t.suggest_float("x", -3, 3) - 1) ** 2
                       + 100 * t.suggest_float("z", 0, 1) ** 4, n_trials=10)
        return study

    a, b = run(), run()
    assert [t.params for t in a.trials] == [t.params for t in b.trials]
    assert a.best_value < 1.0
