"""Every RL agent through the shared conformance suite."""

import pytest

pytest.importorskip("torch")
pytest.importorskip("gymnasium")

from autolearn.rl import (  # noqa: E402
    A2C,
    PPO,
    REINFORCE,
    A2CConfig,
    PPOConfig,
    REINFORCEConfig,
)
from autolearn.testing.rl import RLAgentConformance  # noqa: E402


class TestPPO(RLAgentConformance):
    config_cls = PPOConfig
    bad_values = {"gamma": 1.5, "n_steps": 0, "clip_range": -0.1, "batch_size": 0,
                  "target_kl": 0.0}
    bandit_steps, chain_steps = 512, 2048

    @staticmethod
    def make_agent(env_fn, seed, n_envs=1):
        cfg = PPOConfig(n_envs=n_envs, n_steps=32, batch_size=64, n_epochs=4,
                        learning_rate=3e-3, hidden=(32,), gamma=0.95)
        return PPO(env_fn, cfg, seed=seed)


class TestA2C(RLAgentConformance):
    config_cls = A2CConfig
    bad_values = {"gamma": 1.5, "n_steps": 0, "optimizer": "sgd", "rms_alpha": 1.0}
    bandit_steps, chain_steps = 512, 3072

    @staticmethod
    def make_agent(env_fn, seed, n_envs=1):
        cfg = A2CConfig(n_envs=n_envs, n_steps=8, learning_rate=3e-3, hidden=(32,),
                        gamma=0.95)
        return A2C(env_fn, cfg, seed=seed)


class TestREINFORCEMovingAverage(RLAgentConformance):
    config_cls = REINFORCEConfig
    bad_values = {"gamma": 0.0, "n_steps": 0, "baseline": "median", "baseline_decay": 1.0}
    bandit_steps, chain_steps = 512, 3072

    @staticmethod
    def make_agent(env_fn, seed, n_envs=1):
        cfg = REINFORCEConfig(n_envs=n_envs, n_steps=32, learning_rate=1e-2, hidden=(32,),
                              gamma=0.95, baseline="moving_average")
        return REINFORCE(env_fn, cfg, seed=seed)


class TestREINFORCEValueBaseline(TestREINFORCEMovingAverage):
    @staticmethod
    def make_agent(env_fn, seed, n_envs=1):
        cfg = REINFORCEConfig(n_envs=n_envs, n_steps=32, learning_rate=1e-2, hidden=(32,),
                              gamma=0.95, baseline="value", ent_coef=0.01)
        return REINFORCE(env_fn, cfg, seed=seed)
