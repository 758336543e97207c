"""The normalisers' fused update-and-read and exact batch statistics: bitwise the same
results as the straightforward ``x.mean(0)`` / ``x.var(0)``, update-then-read wrappers."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from autolearn.rl.common.env import (
    NormalizeObservation,
    NormalizeReward,
    RunningMeanStd,
    SharedRunningMeanStd,
    _batch_mean_var,
    _chan_update,
    _clip_,
    make_vec_env,
)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(1,), (5,), (8,), (16,), (1, 3), (8, 6), (16, 6), (7, 2, 3),
                                   (256, 4)])
def test_batch_mean_var_is_numpys(shape: tuple[int, ...], dtype: Any) -> None:
    rng = np.random.default_rng(0)
    for scale in (1e-3, 1.0, 1e4):
        for _ in range(50):
            x = (rng.standard_normal(shape) * scale + rng.standard_normal()).astype(dtype)
            mean, var = _batch_mean_var(x)
            ref_mean, ref_var = x.mean(0), x.var(0)
            assert np.asarray(mean).dtype == np.asarray(ref_mean).dtype
            assert np.asarray(var).dtype == np.asarray(ref_var).dtype
            assert np.shape(mean) == np.shape(ref_mean) and np.shape(var) == np.shape(ref_var)
            assert np.array_equal(mean, ref_mean) and np.array_equal(var, ref_var)


def _chan_reference(mean: Any, var: Any, count: float, x: np.ndarray) -> tuple[Any, Any, float]:
    b_mean, b_var, b_count = x.mean(0), x.var(0), x.shape[0]
    delta = b_mean - mean
    total = count + b_count
    m2 = var * count + b_var * b_count + delta**2 * count * b_count / total
    return mean + delta * b_count / total, m2 / total, total


@pytest.mark.parametrize("shared", [False, True])
def test_wrappers_match_update_then_read(shared: bool) -> None:
    """Acrobot (truncations at 500 steps, so final observations too) through both wrappers
    against the update-then-read formulas, step for step."""
    n, gamma, eps, clip = 4, 0.99, 1e-8, 10.0
    obs_rms = SharedRunningMeanStd((6,)) if shared else RunningMeanStd((6,))
    ret_rms = SharedRunningMeanStd(()) if shared else RunningMeanStd(())
    env = NormalizeReward(NormalizeObservation(make_vec_env("Acrobot-v1", n, lean=True),
                                               rms=obs_rms), gamma=gamma, rms=ret_rms)
    raw = make_vec_env("Acrobot-v1", n)
    o_mean, o_var, o_count = np.zeros(6), np.ones(6), 1e-4
    r_mean, r_var, r_count = np.zeros(()), np.ones(()), 1e-4
    returns = np.zeros(n)

    def norm(o: np.ndarray) -> np.ndarray:
        return np.clip((o - o_mean) / np.sqrt(o_var + eps), -clip, clip).astype(np.float32)

    obs, _ = env.reset(seed=5)
    raw_obs, _ = raw.reset(seed=5)
    o_mean, o_var, o_count = _chan_reference(o_mean, o_var, o_count, raw_obs)
    assert np.array_equal(obs, norm(raw_obs))
    rng = np.random.default_rng(1)
    finals = 0
    for _ in range(1100):
        actions = rng.integers(0, 3, n)
        obs, rew, term, trunc, info = env.step(actions)
        raw_obs, raw_rew, raw_term, raw_trunc, raw_info = raw.step(actions)
        o_mean, o_var, o_count = _chan_reference(o_mean, o_var, o_count, raw_obs)
        assert obs.dtype == np.float32 and np.array_equal(obs, norm(raw_obs))
        returns = returns * gamma + raw_rew
        r_mean, r_var, r_count = _chan_reference(r_mean, r_var, r_count, returns)
        returns[np.logical_or(raw_term, raw_trunc)] = 0.0
        expected = np.clip(raw_rew / np.sqrt(r_var + eps), -clip, clip).astype(np.float32)
        assert rew.dtype == np.float32 and np.array_equal(rew, expected)
        if "final_obs" in raw_info:
            for i in np.flatnonzero(raw_info["_final_obs"]):
                finals += 1
                got = info["final_obs"][i]
                assert got.dtype == np.float32
                assert np.array_equal(got, norm(np.asarray(raw_info["final_obs"][i])[None])[0])
    assert finals == 2 * n
    assert np.array_equal(obs_rms.mean, o_mean) and np.array_equal(obs_rms.var, o_var)
    assert obs_rms.count == o_count
    assert np.array_equal(ret_rms.var, r_var) and ret_rms.count == r_count


def test_scalar_statistics_update_in_floats_is_numpys() -> None:
    """The reward statistics' Python-float update: the same bits as numpy's float64 scalar
    arithmetic (``delta**2`` by ``pow``, which differs from ``delta * delta`` for some
    values), over many batches and scales."""
    rng = np.random.default_rng(3)
    for scale in (1e-6, 1.0, 1e3):
        mean, var, count = np.zeros(()), np.ones(()), 1e-4
        ref = (mean, var, count)
        for _ in range(400):
            x = rng.standard_normal(int(rng.integers(1, 17))) * scale + rng.standard_normal()
            mean, var, count = _chan_update(mean, var, count, x)
            ref = _chan_reference(*ref, x)
            assert isinstance(mean, np.float64) and isinstance(var, np.float64)
            assert mean == ref[0] and var == ref[1] and count == ref[2]


def test_clip_is_numpys() -> None:
    x = np.array([-np.inf, -11.0, -10.0, -0.0, 0.0, 3.5, 10.0, 10.5, np.inf, np.nan])
    got = x.copy()
    _clip_(got, 10.0)
    np.testing.assert_array_equal(got, np.clip(x, -10.0, 10.0))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("dim", [1, 4, 6, 32, 33])
def test_vector_statistics_update_is_numpys(dtype: Any, dim: int) -> None:
    """Small observation statistics updated element by element in Python floats (and larger
    ones in numpy): the same bits as the numpy array formulas, for batches of any size
    (``b_var * b_count`` rounded in the batch's dtype, as numpy does)."""
    rng = np.random.default_rng(dim)
    for scale in (1e-4, 1.0, 1e5):
        state = (np.zeros(dim), np.ones(dim), 1e-4)
        ref = state
        for _ in range(200):
            b = int(rng.integers(1, 20))
            x = (rng.standard_normal((b, dim)) * scale + rng.standard_normal(dim)).astype(dtype)
            state = _chan_update(*state, x)
            ref = _chan_reference(*ref, x)
            assert state[0].dtype == np.float64 and state[0].shape == (dim,)
            assert np.array_equal(state[0], ref[0]) and np.array_equal(state[1], ref[1])
            assert state[2] == ref[2]


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64])
def test_shared_update_with_batch_stats_outside_the_lock_is_the_plain_update(dtype: Any
                                                                             ) -> None:
    """SharedRunningMeanStd computes the batch's mean and variance before taking its lock;
    the statistics are bitwise those of RunningMeanStd (float fast paths and the generic
    one)."""
    rng = np.random.default_rng(3)
    plain, shared = RunningMeanStd((3,)), SharedRunningMeanStd((3,))
    for _ in range(5):
        x = (rng.normal(size=(4, 3)) * 7).astype(dtype)
        plain.update(x)
        mean, var = shared.update_mean_var(x)
        assert np.array_equal(mean, plain.mean) and np.array_equal(var, plain.var)
    assert shared.count == plain.count
