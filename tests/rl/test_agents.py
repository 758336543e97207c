"""Rollouts, env wrappers, callbacks, logging and continuous actions."""

import csv

import gymnasium as gym
import numpy as np
import pytest
import torch

from autolearn.exceptions import ConfigError
from autolearn.rl import (
    A2C,
    PPO,
    A2CConfig,
    CheckpointCallback,
    EvalCallback,
    Linear,
    NormalizeObservation,
    NormalizeReward,
    PPOConfig,
    StopOnRewardThreshold,
    evaluate,
    make_vec_env,
)
from autolearn.rl.common.env import space_info
from autolearn.rl.common.policies import ActorCritic
from autolearn.rl.common.rollout import RolloutBuffer, collect_rollout, start_rollouts
from autolearn.testing.envs import Chain, TwoArmedBandit


def test_rollout_bootstraps_truncation_but_not_termination():
    env = make_vec_env(lambda: Chain(length=4, max_steps=3), 2)
    spec = space_info(env)
    policy = ActorCritic(spec.obs_dim, 2, hidden=(8,), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        policy.vf_head.bias.fill_(5.0)  # V(s) > 0 everywhere
    buf = RolloutBuffer(6, 2, spec)
    state = start_rollouts(env, 0)
    g = torch.Generator().manual_seed(0)
    batch = collect_rollout(env, policy, buf, state, gamma=0.5, generator=g)
    # Chain of length 4 cannot be finished in 3 steps: every 3rd step is a truncation.
    np.testing.assert_array_equal(batch.dones[:, 0].numpy(), [0, 0, 1, 0, 0, 1])
    trunc_rewards = batch.rewards[batch.dones.bool()]
    assert (trunc_rewards > 1.0).all()  # 0 + 0.5 * V(final_obs), V ~ 5
    assert (batch.rewards[~batch.dones.bool()] == 0).all()
    assert len(state.episodes) == 4 and all(r == 0.0 for r, _ in state.episodes)
    # With termination (reach the goal) no bootstrap is added.
    env2 = make_vec_env(lambda: Chain(length=1, max_steps=5), 1)
    spec2 = space_info(env2)
    policy2 = ActorCritic(spec2.obs_dim, 2, hidden=(8,),
                          generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        policy2.vf_head.bias.fill_(5.0)
    buf2 = RolloutBuffer(16, 1, spec2)
    state2 = start_rollouts(env2, 0)
    b2 = collect_rollout(env2, policy2, buf2, state2, gamma=0.5, generator=g)
    assert b2.dones.sum() > 0
    assert set(b2.rewards[b2.dones.bool()].tolist()) <= {1.0}


def test_evaluate_is_deterministic_and_accepts_env_kinds():
    agent = PPO(TwoArmedBandit, PPOConfig(n_steps=8, batch_size=8), seed=0)
    m1 = evaluate(agent, TwoArmedBandit, n_episodes=3)
    assert m1 == evaluate(agent, TwoArmedBandit(), n_episodes=3)
    assert m1 == evaluate(agent, make_vec_env(TwoArmedBandit, 2), n_episodes=3)
    with pytest.raises(ConfigError, match="n_episodes"):
        evaluate(agent, TwoArmedBandit, n_episodes=0)


def test_callbacks_eval_checkpoint_threshold_and_csv(tmp_path):
    log = tmp_path / "log.csv"
    cfg = A2CConfig(n_envs=2, n_steps=8, learning_rate=3e-3, hidden=(16,))
    agent = A2C(TwoArmedBandit, cfg, seed=0, log_path=log)
    ev = EvalCallback(TwoArmedBandit, eval_every=64, n_episodes=2, stop_at=1.0)
    ck = CheckpointCallback(tmp_path / "ck", save_every=16, prefix="a2c")
    agent.learn(5_000, callback=[ck, ev])
    assert ev.evaluations and ev.evaluations[-1][1] == 1.0
    assert agent.num_timesteps < 5_000  # stopped early
    assert ck.paths and all(p.exists() for p in ck.paths)
    assert A2C.load(ck.paths[0]).num_timesteps == int(ck.paths[0].stem.split("_")[1])
    rows = list(csv.DictReader(log.open()))
    assert len(rows) == len(agent.history)
    assert {"timesteps", "policy_loss", "value_loss", "entropy",
            "explained_variance"} <= set(rows[0])
    stopper = StopOnRewardThreshold(0.9)
    agent2 = A2C(TwoArmedBandit, cfg, seed=0).learn(20_000, callback=stopper)
    assert agent2.history[-1]["ep_return_mean"] >= 0.9 and agent2.num_timesteps < 20_000


def test_ppo_logs_paper_diagnostics_and_schedules():
    cfg = PPOConfig(n_envs=2, n_steps=16, batch_size=16, n_epochs=2,
                    learning_rate=Linear(1e-3), clip_range=Linear(0.2, 0.1), target_kl=0.5,
                    clip_range_vf=0.2)
    agent = PPO(Chain, cfg, seed=0).learn(128)
    first, last = agent.history[0], agent.history[-1]
    for key in ("approx_kl", "clip_fraction", "explained_variance", "entropy"):
        assert key in last
    assert first["learning_rate"] == 1e-3 and last["learning_rate"] < 1e-3
    assert first["clip_range"] == 0.2 and 0.1 < last["clip_range"] < 0.2


def test_ppo_continuous_actions_pendulum():
    cfg = PPOConfig(n_envs=2, n_steps=32, batch_size=32, n_epochs=2, log_std_init=-0.5)
    agent = PPO("Pendulum-v1", cfg, seed=0).learn(128)
    obs = np.zeros((5, 3), np.float32)
    acts = agent.predict(obs, deterministic=False)
    assert acts.shape == (5, 1) and (np.abs(acts) <= 2.0).all()
    assert agent.policy.log_std.grad is not None
    assert np.isfinite(agent.history[-1]["policy_loss"])


def test_normalization_wrappers_and_async():
    env = NormalizeReward(NormalizeObservation(make_vec_env("CartPole-v1", 2)), gamma=0.9)
    obs, _ = env.reset(seed=0)
    for _ in range(200):
        obs, rew, term, trunc, info = env.step(np.zeros(2, dtype=np.int64))
        if "final_obs" in info:
            final = info["final_obs"][info["_final_obs"]][0]
            assert np.abs(final).max() <= 10.0
    assert np.abs(obs).max() <= 10.0 and rew.dtype == np.float32
    inner = env.env
    stats = inner.state_dict()
    assert stats["count"] > 100
    fresh = NormalizeObservation(make_vec_env("CartPole-v1", 1))
    fresh.load_state_dict(stats)
    fresh.training = False
    fresh.reset(seed=0)
    fresh.step(np.zeros(1, dtype=np.int64))
    assert fresh.rms.count == stats["count"]
    venv = make_vec_env("CartPole-v1", 2, vectorization="async")
    try:
        assert isinstance(venv, gym.vector.AsyncVectorEnv)
    finally:
        venv.close()
    with pytest.raises(ConfigError, match="vectorization"):
        make_vec_env("CartPole-v1", 2, vectorization="threads")


def test_normalize_observation_final_obs_uses_updated_statistics():
    # SB3's VecNormalize order: fold the step's observations into the statistics, then
    # normalise the step's final observations with them (what a truncation bootstraps from)
    raw = make_vec_env("CartPole-v1", 2)
    raw_infos = []
    raw_step = raw.step
    raw.step = lambda a: (out := raw_step(a), raw_infos.append(out[4]))[0]  # type: ignore
    env = NormalizeObservation(raw)
    env.reset(seed=0)
    seen = 0
    for _ in range(100):
        obs, _, _, _, info = env.step(np.zeros(2, dtype=np.int64))
        if "final_obs" not in info:
            continue
        for i in np.flatnonzero(info["_final_obs"]):
            raw_final = raw_infos[-1]["final_obs"][i]
            expected = np.clip((raw_final - env.rms.mean) / np.sqrt(env.rms.var + 1e-8),
                               -10, 10)
            np.testing.assert_allclose(info["final_obs"][i], expected, rtol=1e-5, atol=1e-6)
            seen += 1
    assert seen > 0


class _TextEnv(gym.Env):  # type: ignore[type-arg]
    observation_space = gym.spaces.Text(4)
    action_space = gym.spaces.Discrete(2)


def test_agent_needs_observations_it_can_encode():
    # Discrete, Dict, Tuple ... observations are encoded (tests/rl/test_obs_encoding.py);
    # a Text space is not, and the error names the spaces that work
    with pytest.raises(ConfigError, match="Box, Discrete, MultiDiscrete or MultiBinary"):
        PPO(_TextEnv, seed=0)


def test_global_rngs_untouched():
    torch_state, np_state = torch.random.get_rng_state(), np.random.get_state()[1].copy()
    agent = PPO(Chain, PPOConfig(n_envs=2, n_steps=16, batch_size=16, n_epochs=2), seed=0)
    agent.learn(64)
    evaluate(agent, Chain, n_episodes=2)
    from autolearn.rl import AutoregressivePolicy

    g = torch.Generator().manual_seed(0)
    AutoregressivePolicy((3, 2), generator=g).sample(4, generator=g)
    assert torch.equal(torch.random.get_rng_state(), torch_state)
    assert (np.random.get_state()[1] == np_state).all()


def test_import_autolearn_stays_light():
    import subprocess
    import sys

    code = "import sys, autolearn; print('torch' in sys.modules, 'gymnasium' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert out.stdout.split() == ["False", "False"], out.stderr


def test_ortho_init_false_draws_torch_default_ranges_from_the_seed():
    from autolearn.rl import A2C, A2CConfig

    a = PPO(Chain, PPOConfig(ortho_init=False, hidden=(16, 8)), seed=0)
    b = PPO(Chain, PPOConfig(ortho_init=False, hidden=(16, 8)), seed=0)
    for (name, p), q in zip(a.policy.named_parameters(), b.policy.parameters(), strict=True):
        assert torch.equal(p, q), name  # seeded
    tw = a.policy.trunk
    obs_dim = tw.first.weight.shape[1]
    for t, fan_in in ((tw.first.weight, obs_dim), (tw.first.bias, obs_dim),
                      (tw.weights[0], 16), (tw.biases[0], 16),
                      (a.policy.pi_head.weight, 8), (a.policy.vf_head.bias, 8)):
        bound, top = 1 / np.sqrt(fan_in), float(t.detach().abs().max())
        assert 0.5 * bound < top <= bound
    ortho = PPO(Chain, PPOConfig(hidden=(16, 8)), seed=0)
    assert not torch.equal(ortho.policy.trunk.first.weight, tw.first.weight)
    assert float(ortho.policy.trunk.first.bias.detach().abs().max()) == 0.0  # zero biases
    shared = A2C(Chain, A2CConfig(ortho_init=False, shared=True, hidden=(16,)), seed=0)
    first = shared.policy.trunk[0]
    assert 0 < float(first.bias.detach().abs().max()) <= 1 / np.sqrt(first.in_features)
    with pytest.raises(ConfigError, match="ortho_init"):
        PPOConfig(ortho_init="no")


def test_evaluate_episodes_gives_the_episodes_evaluate_summarises():
    from autolearn.rl import A2C, A2CConfig, evaluate_episodes

    agent = A2C("CartPole-v1", A2CConfig(n_envs=2), seed=0).learn(500)
    returns, lengths = evaluate_episodes(agent, "CartPole-v1", 4, seed=3)
    assert returns.shape == lengths.shape == (4,) and lengths.dtype == np.int64
    np.testing.assert_array_equal(returns, lengths)  # CartPole: +1 per step
    assert evaluate(agent, "CartPole-v1", 4, seed=3) == (returns.mean(), returns.std())
    one_env = evaluate_episodes(agent, gym.make("CartPole-v1"), 2, seed=3)[1]
    assert one_env[0] == lengths[0]  # the same first episode, run alone
    with pytest.raises(ConfigError, match="n_episodes"):
        evaluate_episodes(agent, "CartPole-v1", 0)
