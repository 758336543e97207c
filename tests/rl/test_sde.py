"""Generalized state-dependent exploration (gSDE) in the Gaussian actor-critic, PPO and A2C."""

import math
import subprocess
import sys
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import torch

from autolearn.exceptions import ConfigError
from autolearn.rl import A2C, A3C, PPO, A2CConfig, A3CConfig, PPOConfig
from autolearn.rl.common.distributions import StateDependentGaussian, sde_std
from autolearn.rl.common.policies import ActorCritic
from autolearn.rl.common.rollout import RolloutBuffer, collect_rollout, start_rollouts

ROOT = Path(__file__).resolve().parents[2]


class Tracking(gym.Env):  # type: ignore[type-arg]
    """Contextual 1-D control: observe a target ``x ~ U(-1, 1)``, reward ``-|a - x|``.

    A fresh target every step, 8 steps per episode. The initial policy (mean ~ 0) scores
    about -0.5 per step; acting ``a = x`` scores 0.
    """

    def __init__(self) -> None:
        self.observation_space = gym.spaces.Box(-1.0, 1.0, (1,), np.float32)
        self.action_space = gym.spaces.Box(-1.5, 1.5, (1,), np.float32)
        self._x = np.zeros(1, np.float32)
        self._t = 0

    def _draw(self) -> np.ndarray:
        self._x = self.np_random.uniform(-1, 1, (1,)).astype(np.float32)
        return self._x.copy()

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self._t = 0
        return self._draw(), {}

    def step(self, action):
        reward = -float(abs(float(np.asarray(action).reshape(-1)[0]) - float(self._x[0])))
        self._t += 1
        return self._draw(), reward, False, self._t >= 8, {}


def _tracking_error(agent, n: int = 400) -> float:
    x = np.linspace(-1, 1, n, dtype=np.float32)[:, None]
    return float(np.abs(agent.predict(x, deterministic=True)[:, 0] - x[:, 0]).mean())


PPO_SDE = dict(n_envs=4, n_steps=64, batch_size=64, n_epochs=10, gamma=0.9, gae_lambda=0.95,
               learning_rate=3e-3, use_sde=True, sde_sample_freq=4)


# ---- distribution ------------------------------------------------------------------------
@pytest.mark.parametrize("full_std", [True, False])
def test_log_prob_and_entropy_match_a_direct_computation(full_std):
    g = torch.Generator().manual_seed(0)
    B, F, D = 7, 5, 3
    mean, z = torch.randn(B, D, generator=g), torch.randn(B, F, generator=g)
    log_std = torch.randn(F, D if full_std else 1, generator=g)
    std = sde_std(log_std, D)
    assert std.shape == (F, D)
    dist = StateDependentGaussian(mean, z, std)
    # var_j(s) = sum_i z_i(s)^2 sigma_ij^2 (+ 1e-6), written out as loops
    var = torch.zeros(B, D)
    for b in range(B):
        for j in range(D):
            for i in range(F):
                s_ij = math.exp(float(log_std[i, j if full_std else 0]))
                var[b, j] += float(z[b, i]) ** 2 * s_ij ** 2
    ref = torch.distributions.Normal(mean, (var + 1e-6).sqrt())
    a = torch.randn(B, D, generator=g)
    torch.testing.assert_close(dist.log_prob(a), ref.log_prob(a).sum(-1))
    torch.testing.assert_close(dist.entropy(), ref.entropy().sum(-1))
    torch.testing.assert_close(dist.mode(), mean)


def test_noise_from_random_matrices_has_the_state_dependent_variance():
    g = torch.Generator().manual_seed(1)
    z = torch.tensor([[0.5, -1.0, 2.0]])
    log_std = torch.tensor([[-1.0, 0.0], [0.5, -0.5], [0.0, -2.0]])
    std = sde_std(log_std, 2)
    w = torch.randn(20_000, 3, 2, generator=g) * std
    noise = StateDependentGaussian(torch.zeros(20_000, 2), z.expand(20_000, 3), std).noise(w)
    expected = (z.pow(2) @ std.pow(2))[0]
    torch.testing.assert_close(noise.var(0), expected, rtol=0.05, atol=0.0)
    torch.testing.assert_close(noise.mean(0), torch.zeros(2), rtol=0.0, atol=0.05)


def test_expln_is_exp_below_zero_and_logarithmic_above():
    log_std = torch.tensor([[-2.0], [0.0], [3.0]])
    std = sde_std(log_std, 2, use_expln=True)
    want = torch.tensor([math.exp(-2.0), 1.0, math.log1p(3.0) + 1.0])
    torch.testing.assert_close(std, want[:, None].expand(3, 2))
    torch.testing.assert_close(sde_std(log_std, 1), log_std.exp())


# ---- policy and rollout ------------------------------------------------------------------
def _sde_policy(**kw):
    return ActorCritic(3, None, 2, hidden=(8, 8), use_sde=True,
                       generator=torch.Generator().manual_seed(0), **kw)


def test_policy_shapes_and_deterministic_action_is_the_mean():
    pol = _sde_policy(full_std=False, log_std_init=-1.0)
    assert pol.log_std.shape == (8, 1) and _sde_policy().log_std.shape == (8, 2)
    obs = torch.randn(4, 3)
    pol.reset_noise(4, torch.Generator().manual_seed(2))
    assert pol.sde_matrices.shape == (4, 8, 2)
    g = torch.Generator()
    with torch.inference_mode():
        det, _, _ = pol.act(obs, None, g, deterministic=True)
        head, _ = pol(obs)
        a1, lp, _ = pol.act(obs, None, g)
        a2, _, _ = pol.act(obs, None, g)
    torch.testing.assert_close(det, head)
    torch.testing.assert_close(a1, a2)  # the noise lives in the matrices, not in the draw
    assert not torch.allclose(a1, det)
    lp2, _, _ = pol.evaluate(obs, a1)
    torch.testing.assert_close(lp, lp2.detach())
    # features are detached: the log-std gets gradients, the trunk only through the mean
    lp2.sum().backward()
    assert pol.log_std.grad is not None and float(pol.log_std.grad.abs().sum()) > 0


@pytest.mark.parametrize("freq", [4, -1])
def test_noise_is_constant_between_draws_and_per_env(freq):
    agent = PPO("Pendulum-v1", PPOConfig(n_envs=3, n_steps=16, batch_size=48, use_sde=True,
                                         sde_sample_freq=freq), seed=0)
    policy = agent.policy
    drawn = []
    reset = policy.reset_noise

    def recording(n, generator):
        reset(n, generator)
        drawn.append(policy.sde_matrices.clone())

    policy.reset_noise = recording
    env = agent.env
    state = start_rollouts(env, 0)
    buf = RolloutBuffer(16, 3, agent.spec)
    batch = collect_rollout(env, policy, buf, state, gamma=0.99, generator=agent.generator,
                            sde_sample_freq=freq)
    assert len(drawn) == (16 // 4 if freq == 4 else 1)
    with torch.no_grad():
        for t in range(16):
            w = drawn[t // 4 if freq == 4 else 0]
            dist, _ = policy._sde_forward(batch.obs[t])
            torch.testing.assert_close(batch.actions[t], dist.mean + dist.noise(w))
    assert not torch.allclose(drawn[0][0], drawn[0][1])  # one matrix per env
    if freq == 4:
        assert not torch.allclose(drawn[0], drawn[1])


def test_acting_stays_one_forward_per_vector_step():
    agent = PPO("Pendulum-v1", PPOConfig(n_envs=2, n_steps=12, batch_size=24, use_sde=True,
                                         sde_sample_freq=3), seed=0)
    calls, np_calls = [], []
    agent.policy.trunk.register_forward_hook(lambda *a: calls.append(1))
    numpy_forward = agent.policy._numpy_forward

    def counted(obs):
        np_calls.append(1)
        return numpy_forward(obs)

    agent.policy._numpy_forward = counted
    agent.learn(24, callback=lambda a, row: False)  # one rollout, then stop
    n_updates = agent.history[-1]["n_updates"]
    # numpy: 12 vector steps and the last value, then the values and last value again
    # before each of epochs 2-10 (recompute_advantages); torch: one forward per update
    assert n_updates == 10 and len(np_calls) == 12 + 1 + 9 * 2 and len(calls) == n_updates


# ---- agents ------------------------------------------------------------------------------
def test_ppo_with_gsde_learns_a_continuous_tracking_task():
    agent = PPO(Tracking, PPOConfig(**PPO_SDE), seed=0)
    before = _tracking_error(agent)
    agent.learn(6_144)
    after = _tracking_error(agent)
    assert before > 0.4 and after < 0.15, (before, after)


def test_a2c_with_gsde_learns_a_continuous_tracking_task():
    # log_std_init -2 as the zoo's A2C gSDE settings: at 0 the initial noise (std about
    # |z(s)|, several action ranges) saturates the clipped actions and plain A2C's small
    # steps push the mean out of range before the noise shrinks
    agent = A2C(Tracking, A2CConfig(n_envs=4, n_steps=8, gamma=0.9, use_sde=True,
                                    sde_sample_freq=4, log_std_init=-2.0), seed=0)
    before = _tracking_error(agent)
    agent.learn(6_000)
    after = _tracking_error(agent)
    assert before > 0.4 and after < 0.15, (before, after)


def test_a3c_with_gsde_learns_a_continuous_tracking_task():
    # one worker (reproducible); the A2C numbers above, gSDE per worker
    agent = A3C(Tracking, A3CConfig(n_workers=1, n_envs=4, n_steps=8, gamma=0.9, use_sde=True,
                                    sde_sample_freq=4, log_std_init=-2.0), seed=0)
    before = _tracking_error(agent)
    agent.learn(6_000)
    after = _tracking_error(agent)
    assert before > 0.4 and after < 0.15, (before, after)


def test_a3c_gsde_with_two_workers_trains_and_saves(tmp_path):
    agent = A3C("Pendulum-v1", A3CConfig(n_workers=2, n_envs=2, use_sde=True,
                                         sde_sample_freq=4), seed=0).learn(1_000)
    assert agent.num_timesteps >= 1_000
    agent.save(tmp_path / "a.pt")
    back = A3C.load(tmp_path / "a.pt")
    assert back.config.use_sde
    torch.testing.assert_close(back.policy.log_std, agent.policy.log_std, rtol=0, atol=0)


def test_same_seed_gives_identical_actions_and_losses():
    def run():
        a = PPO("Pendulum-v1", PPOConfig(n_envs=2, n_steps=32, batch_size=32, n_epochs=2,
                                         use_sde=True, sde_sample_freq=4), seed=3).learn(128)
        acts = a.predict(np.zeros((5, 3), np.float32), deterministic=False)
        return acts, [r["policy_loss"] for r in a.history], a.policy.sde_matrices.clone()

    (a1, l1, w1), (a2, l2, w2) = run(), run()
    np.testing.assert_array_equal(a1, a2)
    assert l1 == l2
    torch.testing.assert_close(w1, w2, rtol=0, atol=0)


@pytest.mark.parametrize("cls,cfg_cls", [(PPO, PPOConfig), (A2C, A2CConfig)])
def test_save_load_round_trips_the_noise_parameters(tmp_path, cls, cfg_cls):
    extra = {"batch_size": 32} if cls is PPO else {}
    agent = cls("Pendulum-v1", cfg_cls(n_envs=2, n_steps=16, use_sde=True, sde_sample_freq=4,
                                       full_std=False, use_expln=True, log_std_init=-0.5,
                                       **extra), seed=0).learn(64)
    agent.save(tmp_path / "a.pt")
    back = cls.load(tmp_path / "a.pt")
    assert back.config == agent.config and back.config.use_sde
    torch.testing.assert_close(back.policy.log_std, agent.policy.log_std, rtol=0, atol=0)
    torch.testing.assert_close(back.policy.sde_matrices, agent.policy.sde_matrices,
                               rtol=0, atol=0)
    assert back.policy.sde_matrices.shape[0] == 2
    obs = np.random.default_rng(0).normal(size=(2, 3)).astype(np.float32)
    np.testing.assert_array_equal(back.predict(obs), agent.predict(obs))
    # stochastic actions use the saved matrices (one per row): the same noise
    np.testing.assert_array_equal(back.predict(obs, deterministic=False),
                                  agent.predict(obs, deterministic=False))


# ---- configuration -----------------------------------------------------------------------
@pytest.mark.parametrize("cfg_cls", [PPOConfig, A2CConfig, A3CConfig])
@pytest.mark.parametrize(("field", "value"), [
    ("use_sde", "yes"), ("sde_sample_freq", 0), ("sde_sample_freq", -2),
    ("sde_sample_freq", 2.5), ("full_std", 1), ("use_expln", None),
    ("log_std_init", float("nan"))])
def test_bad_sde_fields_raise_config_error_naming_the_field(cfg_cls, field, value):
    with pytest.raises(ConfigError, match=field):
        cfg_cls(**{field: value})


@pytest.mark.parametrize(("cls", "cfg"), [(PPO, PPOConfig(use_sde=True)),
                                          (A2C, A2CConfig(use_sde=True)),
                                          (A3C, A3CConfig(use_sde=True))])
def test_gsde_with_discrete_actions_is_a_config_error(cls, cfg):
    with pytest.raises(ConfigError, match="use_sde.*continuous"):
        cls("CartPole-v1", cfg, seed=0)


def test_gsde_example_runs():
    cmd = [sys.executable, str(ROOT / "examples" / "rl_ppo_pendulum_gsde.py"),
           "--timesteps", "2048"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "evaluation return" in proc.stdout


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_gsde_on_cuda_draws_the_cpu_noise_and_loads_on_cpu(tmp_path):
    cfg = PPOConfig(n_envs=2, n_steps=16, batch_size=32, n_epochs=1, use_sde=True,
                    sde_sample_freq=4)
    cpu = PPO("Pendulum-v1", cfg, seed=0)
    gpu = PPO("Pendulum-v1", cfg, seed=0, device="cuda")
    torch.testing.assert_close(gpu.policy.sde_matrices.cpu(), cpu.policy.sde_matrices)
    gpu.learn(32)
    assert gpu.policy.sde_matrices.device.type == "cuda"
    gpu.save(tmp_path / "g.pt")
    back = PPO.load(tmp_path / "g.pt")
    obs = np.zeros((2, 3), np.float32)
    np.testing.assert_allclose(back.predict(obs), gpu.predict(obs), atol=1e-5)


@pytest.mark.parametrize("full_std", [True, False])
@pytest.mark.parametrize("use_expln", [False, True])
def test_numpy_gsde_act_matches_torch(full_std, use_expln):
    g = torch.Generator().manual_seed(0)
    policy = ActorCritic(3, None, action_dim=2, hidden=(16, 16), use_sde=True,
                         full_std=full_std, use_expln=use_expln, log_std_init=0.3,
                         generator=g)
    with torch.no_grad():
        policy.log_std.add_(torch.randn(policy.log_std.shape, generator=g))
    x = torch.randn(5, 3, generator=g)
    for n_noise in (5, 1):  # one matrix per row, or one shared
        policy.reset_noise(n_noise, g)
        with torch.inference_mode():
            actions, log_probs, values = policy.act(x, None, g)
        a, lp, v = policy.act_numpy(x.numpy(), None, np.random.default_rng(0))
        np.testing.assert_allclose(a, actions.numpy(), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(lp, log_probs.numpy(), rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(v, values.numpy(), rtol=1e-6, atol=1e-6)
