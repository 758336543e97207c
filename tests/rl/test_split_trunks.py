"""Separate policy and value layer sizes (``hidden_vf``; SB3's ``net_arch=dict(pi=, vf=)``)."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch

from autolearn.exceptions import ConfigError
from autolearn.rl import (
    A2C,
    A3C,
    PPO,
    REINFORCE,
    A2CConfig,
    A3CConfig,
    PPOConfig,
    REINFORCEConfig,
    evaluate,
)
from autolearn.rl.common.npbackward import ActorCriticGrad
from autolearn.rl.common.policies import SplitMLP
from autolearn.rl.configs import resolve


def test_split_trunk_shapes_and_no_numpy_paths() -> None:
    agent = PPO("CartPole-v1", PPOConfig(hidden=(64, 64), hidden_vf=(32,)), seed=0)
    policy = agent.policy
    assert isinstance(policy.trunk, SplitMLP) and not policy.numpy_ok
    assert not ActorCriticGrad.supports(policy)
    assert [m.out_features for m in policy.trunk.pi if isinstance(m, torch.nn.Linear)] == [64, 64]
    assert [m.out_features for m in policy.trunk.vf if isinstance(m, torch.nn.Linear)] == [32]
    assert policy.pi_head.in_features == 64 and policy.vf_head.in_features == 32
    same = PPO("CartPole-v1", PPOConfig(hidden=(64, 64), hidden_vf=(64, 64)), seed=0)
    assert same.policy.numpy_ok  # equal sizes: the usual TwinMLP


def test_linear_policy_with_an_mlp_value() -> None:
    policy = A2C("CartPole-v1", A2CConfig(hidden=(), hidden_vf=(16,)), seed=0).policy
    assert policy.pi_head.in_features == 4 and policy.vf_head.in_features == 16
    obs = torch.zeros(3, 4)
    head, values = policy(obs)
    assert head.shape == (3, 2) and values.shape == (3,)


def test_a2c_with_split_trunks_learns_cartpole() -> None:
    agent = A2C("CartPole-v1", A2CConfig(n_envs=8, hidden=(64, 64), hidden_vf=(128,)),
                seed=0).learn(30_000)
    assert evaluate(agent, "CartPole-v1", n_episodes=5, seed=1)[0] >= 150


def test_ppo_with_split_trunks_learns_frozen_lake() -> None:
    def lake() -> gym.Env:  # type: ignore[type-arg]
        return gym.make("FrozenLake-v1", is_slippery=False, max_episode_steps=100)

    config = PPOConfig(n_envs=4, n_steps=32, batch_size=64, hidden=(64, 64), hidden_vf=(16,))
    agent = PPO(lake, config, seed=0).learn(8_000)
    assert evaluate(agent, lake, n_episodes=1)[0] == 1.0


def test_split_trunks_deterministic_save_load_and_sde(tmp_path: object) -> None:
    cfg = PPOConfig(n_envs=2, n_steps=16, batch_size=16, hidden=(16,), hidden_vf=(8, 8),
                    use_sde=True)
    a = PPO("Pendulum-v1", cfg, seed=1).learn(64)
    b = PPO("Pendulum-v1", cfg, seed=1).learn(64)
    for pa, pb in zip(a.policy.parameters(), b.policy.parameters(), strict=True):
        assert torch.equal(pa, pb)
    path = tmp_path / "ppo.pt"  # type: ignore[operator]
    a.save(path)
    loaded = PPO.load(path)
    obs = np.random.default_rng(0).normal(size=(5, 3)).astype(np.float32)
    assert np.array_equal(loaded.predict(obs), a.predict(obs))
    REINFORCE("CartPole-v1", REINFORCEConfig(hidden_vf=(8,)), seed=0).learn(200)
    A3C("CartPole-v1", A3CConfig(n_workers=1, hidden_vf=(8,)), seed=0).learn(200)


def test_hidden_vf_errors_and_command_line() -> None:
    with pytest.raises(ConfigError, match="`hidden_vf` must .*shared=True"):
        A2CConfig(shared=True, hidden_vf=(32,))
    with pytest.raises(ConfigError, match="`hidden_vf` must be None"):
        PPOConfig(hidden_vf=(0,))
    assert A2CConfig(shared=True, hidden_vf=(64, 64)).hidden_vf == (64, 64)
    assert resolve("ppo", "CartPole-v1", overrides=["hidden_vf=32,16"]).config.hidden_vf == (32, 16)
    assert resolve("ppo", "CartPole-v1", overrides=["hidden_vf=none"]).config.hidden_vf is None
