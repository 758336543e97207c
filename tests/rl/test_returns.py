"""GAE, n-step and Monte Carlo returns against hand-computed values."""

import numpy as np
import pytest
import torch

from autolearn.rl.common.returns import (
    bootstrap_truncated,
    discounted_returns,
    gae,
    nstep_returns,
)


def col(*xs):
    return np.array(xs, dtype=np.float64)[:, None]


def test_gae_by_hand_with_termination():
    g, lam = 0.9, 0.5
    r, v, d = col(1, 2, 3), col(0.5, 1.0, 1.5), col(0, 1, 0)
    last = np.array([2.0])
    adv, ret = gae(r, v, d, last, g, lam)
    # t=2: delta = 3 + .9*2 - 1.5 = 3.3; t=1 (episode ends): delta = 2 - 1 = 1, A = 1
    # t=0: delta = 1 + .9*1 - .5 = 1.4; A = 1.4 + .9*.5*1 = 1.85
    np.testing.assert_allclose(adv[:, 0], [1.85, 1.0, 3.3])
    np.testing.assert_allclose(ret, adv + v)


def test_gae_lambda_one_is_nstep_and_lambda_zero_is_td():
    rng = np.random.default_rng(0)
    r, v = rng.normal(size=(6, 3)), rng.normal(size=(6, 3))
    d = (rng.random((6, 3)) < 0.3).astype(float)
    last = rng.normal(size=3)
    _, ret1 = gae(r, v, d, last, 0.97, 1.0)
    np.testing.assert_allclose(ret1, nstep_returns(r, d, last, 0.97))
    adv0, _ = gae(r, v, d, last, 0.97, 0.0)
    next_v = np.vstack([v[1:], last[None]])
    np.testing.assert_allclose(adv0, r + 0.97 * next_v * (1 - d) - v)


def test_nstep_returns_by_hand():
    out = nstep_returns(col(1, 1, 1), col(0, 0, 0), np.array([10.0]), 0.5)
    # R2 = 1 + .5*10 = 6, R1 = 1 + 3 = 4, R0 = 1 + 2 = 3
    np.testing.assert_allclose(out[:, 0], [3, 4, 6])


def test_truncation_bootstraps_from_final_observation_value():
    # Episode truncated after t=1 with V(final_obs) = 4; a new episode starts at t=2.
    g = 0.5
    r, trunc, d = col(1, 1, 1), col(0, 1, 0), col(0, 1, 0)
    final_v = col(0, 4, 0)
    r_fixed = bootstrap_truncated(r, trunc, final_v, g)
    np.testing.assert_allclose(r_fixed[:, 0], [1, 3, 1])
    ret = nstep_returns(r_fixed, d, np.array([2.0]), g)
    # R2 = 1 + .5*2 = 2 (new episode); R1 = 1 + .5*4 = 3 (not 1: bootstrapped); R0 = 1 + 1.5
    np.testing.assert_allclose(ret[:, 0], [2.5, 3, 2])
    adv, _ = gae(r_fixed, col(0, 0, 0), d, np.array([2.0]), g, 1.0)
    np.testing.assert_allclose(adv[:, 0], [2.5, 3, 2])


def test_terminated_is_not_bootstrapped():
    ret = nstep_returns(col(1, 1), col(1, 0), np.array([100.0]), 0.9)
    np.testing.assert_allclose(ret[:, 0], [1, 1 + 90])


def test_discounted_returns_marks_unfinished_tail():
    r, d = col(1, 1, 1, 1), col(0, 1, 0, 0)
    ret, complete = discounted_returns(r, d, 0.5)
    np.testing.assert_allclose(ret[:, 0], [1.5, 1, 1.5, 1])
    np.testing.assert_array_equal(complete[:, 0], [1, 1, 0, 0])


def test_torch_and_numpy_agree():
    rng = np.random.default_rng(1)
    r, v = rng.normal(size=(5, 2)), rng.normal(size=(5, 2))
    d = (rng.random((5, 2)) < 0.3).astype(float)
    last = rng.normal(size=2)
    a_np, _ = gae(r, v, d, last, 0.9, 0.8)
    a_t, _ = gae(*(torch.tensor(x) for x in (r, v, d, last)), 0.9, 0.8)
    np.testing.assert_allclose(a_t.numpy(), a_np)
    g_np, c_np = discounted_returns(r, d, 0.9)
    g_t, c_t = discounted_returns(torch.tensor(r), torch.tensor(d), 0.9)
    np.testing.assert_allclose(g_t.numpy(), g_np)
    np.testing.assert_array_equal(c_t.numpy(), c_np)


@pytest.mark.parametrize("lam", [0.0, 0.8, 1.0])
def test_gae_single_step(lam):
    adv, ret = gae(col(1.0), col(0.25), col(0), np.array([2.0]), 0.5, lam)
    np.testing.assert_allclose(adv[0], [1.75])
    np.testing.assert_allclose(ret[0], [2.0])


def test_minibatches_normalise_each_minibatch_and_ratio_diagnostics():
    from autolearn.rl.common.buffers import PolicyBatch, minibatches, normalize_advantages
    from autolearn.rl.ppo import ratio_diagnostics

    n = 70
    g = torch.Generator().manual_seed(0)
    batch = PolicyBatch(torch.arange(n, dtype=torch.float32)[:, None], torch.arange(n),
                        torch.zeros(n), torch.zeros(n), torch.randn(n, generator=g) * 3 + 1,
                        torch.zeros(n), None)
    plain = list(minibatches(batch, 16, torch.Generator().manual_seed(1)))
    normed = list(minibatches(batch, 16, torch.Generator().manual_seed(1),
                              normalize_advantage=True))
    assert [len(mb.obs) for mb in normed] == [16, 16, 16, 16, 6]
    assert torch.equal(torch.cat([mb.obs for mb in plain]).flatten().sort().values,
                       torch.arange(n, dtype=torch.float32))  # a permutation of the batch
    for a, b in zip(plain, normed, strict=True):
        assert torch.equal(a.obs, b.obs)
        torch.testing.assert_close(b.advantages, normalize_advantages(a.advantages))
    log_ratios = [torch.randn(16, generator=g) * 0.3 for _ in range(3)]
    for lrs in (log_ratios, [*log_ratios, torch.randn(5, generator=g)]):
        kl, frac = ratio_diagnostics(lrs, 0.2)
        r = [x.exp() for x in lrs]
        torch.testing.assert_close(kl, torch.stack([(q - 1 - x).mean() for q, x in
                                                    zip(r, lrs, strict=True)]).mean())
        torch.testing.assert_close(frac, torch.stack([((q - 1).abs() > 0.2).float().mean()
                                                      for q in r]).mean())


def _gae_stepwise(rewards, values, dones, last_value, gamma, lam):  # type: ignore[no-untyped-def]
    adv = rewards * 0.0
    last_adv = last_value * 0.0
    next_value = last_value
    for t in range(len(rewards) - 1, -1, -1):
        nonterminal = 1.0 - dones[t]
        delta = rewards[t] + gamma * next_value * nonterminal - values[t]
        last_adv = delta + gamma * lam * nonterminal * last_adv
        adv[t] = last_adv
        next_value = values[t]
    return adv, adv + values


def _nstep_stepwise(rewards, dones, last_value, gamma):  # type: ignore[no-untyped-def]
    out = rewards * 0.0
    running = last_value
    for t in range(len(rewards) - 1, -1, -1):
        running = rewards[t] + gamma * (1.0 - dones[t]) * running
        out[t] = running
    return out


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_precomputed_discounts_are_bitwise_the_stepwise_loop(backend: str) -> None:
    """The discount factors and GAE's TD errors for the whole rollout at once: the same
    numbers as the plain step-by-step recurrence."""
    rng = np.random.default_rng(0)
    for T, N in [(5, 8), (32, 8), (256, 16), (1, 1)]:
        r = rng.standard_normal((T, N)).astype(np.float32)
        v = rng.standard_normal((T, N)).astype(np.float32)
        d = (rng.random((T, N)) < 0.1).astype(np.float32)
        last = rng.standard_normal(N).astype(np.float32)
        if backend == "torch":
            r, v, d, last = (torch.from_numpy(a) for a in (r, v, d, last))
        for gamma, lam in [(0.99, 0.95), (0.98, 0.8), (0.9, 1.0)]:
            a1, ret1 = gae(r, v, d, last, gamma, lam)
            a2, ret2 = _gae_stepwise(r, v, d, last, gamma, lam)
            n1, n2 = nstep_returns(r, d, last, gamma), _nstep_stepwise(r, d, last, gamma)
            for x, y in ((a1, a2), (ret1, ret2), (n1, n2)):
                assert x.dtype == y.dtype and (x == y).all()
