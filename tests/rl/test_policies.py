"""Distributions, policies and the decision-sequence plumbing."""

import math

import numpy as np
import pytest
import torch

from autolearn.rl import AutoregressivePolicy, MovingAverageBaseline
from autolearn.rl.common.distributions import DiagGaussian, MaskedCategorical
from autolearn.rl.common.npforward import categorical_sample, log_softmax
from autolearn.rl.common.policies import ActorCritic
from autolearn.rl.reinforce import reinforce_loss
from autolearn.testing.envs import CopySequence


def test_masked_categorical_never_samples_masked_actions():
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(4096, 5, generator=g) * 3
    mask = torch.rand(4096, 5, generator=g) < 0.5
    mask[torch.arange(4096), torch.randint(0, 5, (4096,), generator=g)] = True
    dist = MaskedCategorical(logits, mask)
    for _ in range(5):
        a = dist.sample(g)
        assert bool(mask.gather(1, a[:, None]).all())
    assert bool(mask.gather(1, dist.mode()[:, None]).all())
    assert torch.isfinite(dist.entropy()).all()
    assert torch.isfinite(dist.log_prob(dist.sample(g))).all()


def test_masked_categorical_matches_probabilities_and_entropy():
    logits = torch.tensor([[0.0, 1.0, 2.0]])
    mask = torch.tensor([[True, False, True]])
    dist = MaskedCategorical(logits.expand(20000, 3), mask.expand(20000, 3))
    a = dist.sample(torch.Generator().manual_seed(1))
    p2 = math.exp(2) / (1 + math.exp(2))
    assert abs(float((a == 2).float().mean()) - p2) < 0.02
    expected_h = -(p2 * math.log(p2) + (1 - p2) * math.log(1 - p2))
    assert abs(float(dist.entropy()[0]) - expected_h) < 1e-5
    masked = MaskedCategorical(logits, mask)
    ref = torch.distributions.Categorical(logits=torch.tensor([0.0, 2.0]))
    assert abs(float(masked.log_prob(torch.tensor([2]))) - float(ref.log_prob(torch.tensor(1)))) \
        < 1e-6


def test_diag_gaussian_matches_torch():
    mean, log_std = torch.randn(7, 3), torch.randn(3)
    ours = DiagGaussian(mean, log_std)
    ref = torch.distributions.Normal(mean, log_std.exp())
    x = torch.randn(7, 3)
    torch.testing.assert_close(ours.log_prob(x), ref.log_prob(x).sum(-1))
    torch.testing.assert_close(ours.entropy(), ref.entropy().sum(-1))


def test_actor_critic_seeded_init_and_shared_trunk():
    def make(seed, shared):
        return ActorCritic(4, 2, hidden=(8, 8), shared=shared,
                           generator=torch.Generator().manual_seed(seed))

    a, b = make(0, False), make(0, False)
    for pa, pb in zip(a.parameters(), b.parameters(), strict=True):
        torch.testing.assert_close(pa, pb)
    assert any(not torch.equal(pa, pb) for pa, pb in
               zip(a.parameters(), make(1, False).parameters(), strict=True))
    shared = make(0, True)
    assert sum(p.numel() for p in shared.parameters()) < sum(p.numel() for p in a.parameters())
    w = shared.trunk[0].weight
    torch.testing.assert_close(w.T @ w, 2.0 * torch.eye(4), atol=1e-5, rtol=0)  # orthogonal
    for half in a.trunk.first.weight.chunk(2):
        torch.testing.assert_close(half.T @ half, 2.0 * torch.eye(4), atol=1e-5, rtol=0)


def test_twin_trunks_equal_two_separate_mlps():
    """The batched twin trunk computes exactly two independent MLPs."""
    ac = ActorCritic(3, 2, hidden=(5, 4, 6), generator=torch.Generator().manual_seed(0))
    x = torch.randn(7, 3)
    twin = ac.trunk
    for i in range(2):
        w1 = twin.first.weight[i * 5:(i + 1) * 5]
        b1 = twin.first.bias[i * 5:(i + 1) * 5]
        h = torch.tanh(x @ w1.T + b1)
        for w, b in zip(twin.weights, twin.biases, strict=True):
            h = torch.tanh(h @ w[i] + b[i])
        torch.testing.assert_close(twin(x)[i], h)
    head, v = ac(x)
    torch.testing.assert_close(v, ac.vf_head(twin(x)[1]).squeeze(-1))
    # gradients stay separate: the value loss does not touch the policy half
    v.sum().backward()
    assert float(twin.first.weight.grad[:5].abs().sum()) == 0.0
    assert float(twin.first.weight.grad[5:].abs().sum()) > 0.0


def test_autoregressive_policy_masks_and_teacher_forcing():
    g = torch.Generator().manual_seed(0)
    policy = AutoregressivePolicy((4, 3, 2), hidden_size=16, generator=g)

    def no_repeat_zero(t, prefix):  # choice 0 allowed only at step 0
        mask = torch.ones(prefix.shape[0], policy.num_choices[t], dtype=torch.bool)
        if t > 0:
            mask[:, 0] = False
        return mask

    with torch.no_grad():
        s = policy.sample(512, generator=g, mask_fn=no_repeat_zero)
    assert s.actions.shape == (512, 3)
    assert (s.actions[:, 1:] != 0).all()
    assert (s.actions[:, 0] < 4).all() and (s.actions[:, 2] < 2).all()
    again = policy.evaluate(s.actions, s.masks)
    torch.testing.assert_close(again.log_prob, s.log_prob)
    torch.testing.assert_close(again.entropy, s.entropy)
    again.log_prob.sum().backward()
    assert policy.heads[0].weight.grad is not None


def test_reinforce_controller_learns_copy_sequence():
    """The NAS-controller loop: sample sequences, score them, REINFORCE with an EMA baseline."""
    env = CopySequence(target=(2, 0, 1), n_symbols=3, forbid_repeat=True)
    g = torch.Generator().manual_seed(0)
    policy = AutoregressivePolicy(env.num_choices, hidden_size=16, generator=g)
    opt = torch.optim.Adam(policy.parameters(), lr=0.05)
    baseline = MovingAverageBaseline(0.8)

    def mask_fn(t, prefix):
        rows = [env.action_mask(p.tolist()) for p in prefix]
        return None if rows[0] is None else torch.as_tensor(np.stack(rows))

    for _ in range(60):
        s = policy.sample(8, generator=g, mask_fn=mask_fn)
        rewards = torch.tensor([env.reward(a.tolist()) for a in s.actions])
        loss, _ = reinforce_loss(s.log_prob, rewards, baseline.update(rewards), s.entropy,
                                 ent_coef=0.01)
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        best = policy.sample(1, mask_fn=mask_fn, deterministic=True)
    assert best.actions[0].tolist() == [2, 0, 1]


def test_moving_average_baseline():
    b = MovingAverageBaseline(0.5)
    assert b.update(torch.tensor([2.0, 4.0])) == 3.0
    assert b.update(torch.tensor([5.0])) == 3.0
    assert b.value == 4.0


@pytest.mark.parametrize("shared", [False, True])
@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_numpy_acting_path_matches_torch(shared, activation):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(64, 4, generator=g)
    for n_actions in (3, None):
        policy = ActorCritic(4, n_actions, action_dim=2, hidden=(16, 8), shared=shared,
                             activation=activation, generator=g)
        with torch.no_grad():
            policy.log_std.fill_(-0.3)
            head, values = policy(x)
        mask = torch.rand(64, 3, generator=g) < 0.6
        mask[:, 0] = True
        head_np, values_np = policy.numpy_forward(x.numpy())
        np.testing.assert_allclose(head_np, head.numpy(), rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(values_np, values.numpy(), rtol=1e-6, atol=1e-6)
        rng = np.random.default_rng(0)
        m = mask if n_actions else None
        actions, log_probs, v = policy.act_numpy(x.numpy(), None if m is None else m.numpy(),
                                                 rng)
        dist = policy.distribution(head, m)
        expected = dist.log_prob(torch.from_numpy(actions)).detach().numpy()
        np.testing.assert_allclose(log_probs, expected, rtol=1e-6, atol=1e-6)
        if n_actions:  # probabilities equal torch's; masked actions never drawn
            np.testing.assert_allclose(np.exp(log_softmax(head_np, m.numpy())),
                                       dist.log_probs_all.exp().numpy(), atol=1e-6)
            assert m.numpy()[np.arange(64), actions].all()


def test_categorical_inverse_cdf_frequencies():
    log_p = np.log(np.array([[0.1, 0.0, 0.6, 0.3]] * 200_000, np.float32))
    draws = categorical_sample(log_p, np.random.default_rng(1))
    freq = np.bincount(draws, minlength=4) / len(draws)
    np.testing.assert_allclose(freq, [0.1, 0.0, 0.6, 0.3], atol=4e-3)
    assert freq[1] == 0.0


def test_gaussian_numpy_sampling_moments():
    policy = ActorCritic(3, None, action_dim=2, hidden=(8,), generator=torch.Generator())
    with torch.no_grad():
        policy.log_std.copy_(torch.tensor([-1.0, 0.5]))
    obs = np.zeros((100_000, 3), np.float32)
    actions, _, _ = policy.act_numpy(obs, None, np.random.default_rng(2))
    head, _ = policy.numpy_forward(obs[:1])
    np.testing.assert_allclose(actions.mean(0), head[0], atol=0.02)
    np.testing.assert_allclose(actions.std(0), np.exp([-1.0, 0.5]), rtol=0.02)


def _log_softmax_reference(logits, mask=None):
    if mask is not None:
        logits = np.where(mask, logits, -np.inf)
    z = logits - logits.max(axis=-1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


def _categorical_sample_reference(log_probs, rng):
    cdf = np.exp(log_probs.astype(np.float64)).cumsum(axis=-1)
    total = cdf[:, -1:]
    u = rng.random((cdf.shape[0], 1)) * total
    idx = (cdf <= u).sum(axis=-1)
    k = cdf.shape[-1]
    if (idx >= k).any():
        idx = np.where(idx >= k, (cdf >= total).argmax(axis=-1), idx)
    return idx.astype(np.int64)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_acting_softmax_and_sampler_are_bitwise_the_straightforward_ones(dtype):
    """The acting path's log-softmax and inverse-CDF sampler call numpy's ufuncs directly
    (no ``.max`` / ``.sum`` / ``.cumsum`` dispatch): the same numbers and the same draws."""
    rng = np.random.default_rng(0)
    for trial in range(300):
        b, k = int(rng.integers(1, 17)), int(rng.integers(1, 7))
        logits = (rng.standard_normal((b, k)) * 10 ** rng.uniform(-2, 2)).astype(dtype)
        mask = rng.random((b, k)) < 0.7 if trial % 3 == 0 else None
        if mask is not None:
            mask[:, 0] = True
        got, ref = log_softmax(logits, mask), _log_softmax_reference(logits, mask)
        assert got.dtype == ref.dtype and np.array_equal(got, ref)
        seed = int(rng.integers(2**32))
        a = categorical_sample(got, np.random.default_rng(seed))
        r = _categorical_sample_reference(ref, np.random.default_rng(seed))
        assert a.dtype == np.int64 and np.array_equal(a, r)
    # u rounded up to the total: the last choice with p > 0, as before
    class One:
        def random(self, shape):
            return np.full(shape, 1.0)
    with np.errstate(divide="ignore"):
        lp = np.log(np.array([[0.5, 0.5, 0.0], [0.2, 0.0, 0.8]], np.float32))
    np.testing.assert_array_equal(categorical_sample(lp, One()),
                                  _categorical_sample_reference(lp, One()))
