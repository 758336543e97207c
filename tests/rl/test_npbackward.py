"""The numpy actor-critic gradient equals torch autograd's for every head and loss option.

In float64 the two agree to 1e-6 and beyond (the mathematics); in float32, the agents'
dtype, they differ by float32 rounding (different summation orders; numpy's and torch's
``exp`` differ by an ulp), which a log-probability of -10 turns into relative differences
of ~1e-5 in the gradient."""

import itertools

import numpy as np
import pytest
import torch

from autolearn.rl.a2c import a2c_loss
from autolearn.rl.common.buffers import PolicyBatch, normalize_advantages
from autolearn.rl.common.npbackward import (
    ActorCriticGrad,
    a2c_loss_grad,
    mean1d,
    ppo_loss_grad,
)
from autolearn.rl.common.optim import FlatAdam, FlatRMSprop
from autolearn.rl.common.policies import ActorCritic
from autolearn.rl.ppo import ppo_loss

B, OBS = 37, 5


def _setup(discrete, shared, activation, hidden, seed=0, n_actions=3, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    policy = ActorCritic(OBS, n_actions if discrete else None, 2, hidden=hidden, shared=shared,
                         activation=activation, log_std_init=-0.3, generator=g).to(dtype)
    # heads away from their tiny initial scale, so every term of the gradient matters
    with torch.no_grad():
        for p in policy.parameters():
            p.add_(0.3 * torch.randn(p.shape, generator=g))
    opt = FlatRMSprop(policy.parameters(), lr=1e-3)
    obs = torch.randn(B, OBS, generator=g).to(dtype)
    mask = None
    if discrete:
        actions = torch.randint(0, n_actions, (B,), generator=g)
    else:
        actions = torch.randn(B, 2, generator=g).to(dtype)
    with torch.no_grad():
        head, values = policy(obs)

    def noise(scale):
        return scale * torch.randn(B, generator=g).to(dtype)

    batch = PolicyBatch(obs, actions, old_log_probs=-1.0 + noise(0.4),
                        old_values=values + noise(0.5), advantages=noise(1.0),
                        returns=values + noise(1.0), masks=mask)
    return policy, opt, batch, g


def _with_mask(batch, g, n_actions=3):
    mask = torch.rand(B, n_actions, generator=g) < 0.6
    mask[torch.arange(B), batch.actions] = True
    return batch._replace(masks=mask)


def _torch_grad(policy, opt, batch, loss_fn, ent_coef):
    opt.zero_grad()
    log_prob, entropy, values = policy.evaluate(batch.obs, batch.actions, batch.masks,
                                                entropy_grad=ent_coef > 0)
    loss, _ = loss_fn(log_prob, entropy, values)
    loss.backward()
    return opt._gather_grads().clone()


def _numpy_grad(policy, opt, batch, loss_grad):
    grad = ActorCriticGrad(policy, opt.trainable_params())
    opt._flat_grad.fill_(float("nan"))  # every entry must be written
    masks = None if batch.masks is None else batch.masks.numpy()
    stats = grad(batch.obs.numpy(), batch.actions.numpy(), masks, loss_grad,
                 opt.numpy_grad_views())
    return opt._gather_grads().clone(), stats


NETS = [(True, False, "tanh", (16, 16)), (True, True, "relu", (16, 8)),
        (True, True, "tanh", ()), (False, False, "tanh", (16, 16)),
        (False, True, "relu", (8,)), (False, False, "relu", (8, 8, 8))]
#: (dtype, rtol, atol): float64 shows the mathematics, float32 the agents' precision
PRECISION = [(torch.float64, 0.0, 1e-6), (torch.float32, 1e-4, 1e-5)]
#: (net, masked): masks are for discrete actions only
NET_MASKS = [(net, masked) for net in NETS for masked in (False, True) if net[0] or not masked]


@pytest.mark.parametrize("net, masked", NET_MASKS)
@pytest.mark.parametrize("precision", PRECISION, ids=["float64", "float32"])
@pytest.mark.parametrize("ent_coef, normalize", list(itertools.product([0.0, 0.05], [False, True])))
def test_a2c_gradient_matches_autograd(net, precision, ent_coef, normalize, masked):
    dtype, rtol, atol = precision
    policy, opt, batch, g = _setup(*net, dtype=dtype)
    if masked:
        batch = _with_mask(batch, g)
    adv = normalize_advantages(batch.advantages) if normalize else batch.advantages

    def loss_fn(lp, ent, v):
        return a2c_loss(lp, ent, v, batch, ent_coef=ent_coef, vf_coef=0.5,
                        normalize_advantage=normalize)

    def loss_grad(lp, ent, v):
        return a2c_loss_grad(lp, ent, v, adv.numpy(), batch.returns.numpy(),
                             ent_coef=ent_coef, vf_coef=0.5)

    expected = _torch_grad(policy, opt, batch, loss_fn, ent_coef)
    got, stats = _numpy_grad(policy, opt, batch, loss_grad)
    torch.testing.assert_close(got, expected, rtol=rtol, atol=atol)
    with torch.no_grad():
        lp, ent, v = policy.evaluate(batch.obs, batch.actions, batch.masks)
        _, ref = loss_fn(lp, ent, v)
    for k in ("policy_loss", "value_loss", "entropy"):
        assert stats[k] == pytest.approx(float(ref[k]), rel=10 * rtol, abs=atol), k


@pytest.mark.parametrize("net, masked", NET_MASKS)
@pytest.mark.parametrize("precision", PRECISION, ids=["float64", "float32"])
@pytest.mark.parametrize("ent_coef, clip_range_vf",
                         list(itertools.product([0.0, 0.05], [None, 0.2])))
def test_ppo_gradient_matches_autograd(net, precision, ent_coef, clip_range_vf, masked):
    dtype, rtol, atol = precision
    policy, opt, batch, g = _setup(*net, dtype=dtype)
    if masked:
        batch = _with_mask(batch, g)
    with torch.no_grad():  # old log-probs near the current ones: ratios on both sides of the clip
        lp, _, _ = policy.evaluate(batch.obs, batch.actions, batch.masks)
        batch = batch._replace(old_log_probs=lp + 0.3 * torch.randn(B, generator=g).to(dtype))
    batch = batch._replace(advantages=normalize_advantages(batch.advantages))
    kw = {"clip_range": 0.2, "clip_range_vf": clip_range_vf, "ent_coef": ent_coef,
          "vf_coef": 0.5}

    def loss_fn(lp, ent, v):
        return ppo_loss(lp, ent, v, batch, normalize_advantage=False, **kw)

    def loss_grad(lp, ent, v):
        return ppo_loss_grad(lp, ent, v, batch.old_log_probs.numpy(),
                             batch.old_values.numpy(), batch.advantages.numpy(),
                             batch.returns.numpy(), **kw)

    expected = _torch_grad(policy, opt, batch, loss_fn, ent_coef)
    got, stats = _numpy_grad(policy, opt, batch, loss_grad)
    torch.testing.assert_close(got, expected, rtol=rtol, atol=atol)
    with torch.no_grad():
        lp, ent, v = policy.evaluate(batch.obs, batch.actions, batch.masks)
        _, ref = loss_fn(lp, ent, v)
    for k in ("policy_loss", "value_loss", "entropy"):
        assert stats[k] == pytest.approx(float(ref[k]), rel=10 * rtol, abs=atol), k
    ratio = np.exp(stats["log_ratio"])
    assert ((ratio < 0.8) | (ratio > 1.2)).any() and (np.abs(ratio - 1) < 0.2).any()


def test_ppo_ties_follow_torch():
    """At a ratio of exactly 1 +- clip, and where clipped and unclipped values tie, the
    gradient is torch's (half to each side of a tie, clamp bounds included)."""
    lp = np.log(np.array([1.0, 1.5, 0.5, 0.75, 1.5], np.float32))
    assert (np.exp(lp) == torch.exp(torch.tensor(lp)).numpy()).all()  # ratios exact in both
    adv = np.array([1.0, 1.0, -1.0, 0.0, -1.0], np.float32)
    v = np.array([0.0, 1.0, 2.0, 3.0, 1.0], np.float32)
    old_v = np.array([0.0, 0.5, 2.5, 3.0, 2.0], np.float32)  # |v - old| = 0.5 = clip twice
    ret = np.array([1.0, 0.0, 2.0, 2.0, 1.5], np.float32)
    zeros = np.zeros(5, np.float32)
    kw = {"clip_range": 0.5, "clip_range_vf": 0.5, "ent_coef": 0.0, "vf_coef": 0.5}
    got = ppo_loss_grad(lp, zeros, v, zeros, old_v, adv, ret, **kw)
    tlp, tv = torch.tensor(lp, requires_grad=True), torch.tensor(v, requires_grad=True)
    batch = PolicyBatch(None, None, torch.tensor(zeros), torch.tensor(old_v), torch.tensor(adv),
                        torch.tensor(ret), None)
    loss, _ = ppo_loss(tlp, torch.tensor(zeros), tv, batch, normalize_advantage=False, **kw)
    loss.backward()
    np.testing.assert_allclose(got.d_log_prob, tlp.grad.numpy(), rtol=0, atol=1e-7)
    np.testing.assert_allclose(got.d_values, tv.grad.numpy(), rtol=0, atol=1e-7)


def test_adam_and_several_steps_stay_equal():
    """Ten Adam steps with clipping: the numpy path's weights track torch's."""
    nets = []
    for _ in range(2):
        policy, _, batch, _ = _setup(True, False, "tanh", (16, 16), dtype=torch.float32)
        nets.append((policy, FlatAdam(policy.parameters(), lr=1e-2)))
    (p_t, o_t), (p_n, o_n) = nets
    grad = ActorCriticGrad(p_n, o_n.trainable_params())
    adv = batch.advantages
    for _ in range(10):
        o_t.zero_grad()
        lp, ent, v = p_t.evaluate(batch.obs, batch.actions, None)
        a2c_loss(lp, ent, v, batch, ent_coef=0.01, vf_coef=0.5,
                 normalize_advantage=False)[0].backward()
        o_t.clip_grad_norm_(0.5)
        o_t.flat_step()
        grad(batch.obs.numpy(), batch.actions.numpy(), None,
             lambda lp, ent, v: a2c_loss_grad(lp, ent, v, adv.numpy(), batch.returns.numpy(),
                                              ent_coef=0.01, vf_coef=0.5),
             o_n.numpy_grad_views())
        o_n.clip_grad_norm_(0.5)
        o_n.flat_step()
    torch.testing.assert_close(o_n._flat, o_t._flat, rtol=0, atol=1e-5)


def test_unsupported_policies_are_refused():
    g = torch.Generator().manual_seed(0)
    sde = ActorCritic(3, None, 1, use_sde=True, generator=g)
    assert not ActorCriticGrad.supports(sde)
    with pytest.raises(ValueError, match="gSDE"):
        ActorCriticGrad(sde, list(sde.parameters()))
    assert ActorCriticGrad.supports(ActorCritic(3, 2, generator=g))
    assert ActorCriticGrad.supports(ActorCritic(3, 2, generator=g).double())
    assert not ActorCriticGrad.supports(ActorCritic(3, 2, generator=g).half())


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_mean1d_is_numpys_mean(dtype):
    rng = np.random.default_rng(0)
    for n in [1, 2, 3, 7, 8, 9, 40, 64, 255, 1000]:
        for scale in (1e-3, 1.0, 1e6):
            x = (rng.standard_normal(n) * scale + rng.standard_normal()).astype(dtype)
            got, ref = mean1d(x), x.mean()
            assert type(got) is type(ref) and got == ref
    for other in (np.arange(5), np.ones((2, 3), np.float32), np.ones(3, np.float16)):
        assert mean1d(other) == other.mean()
