"""A2C, PPO and DQN build a LeanSyncVectorEnv; training on it is bitwise the same as
training on gymnasium's same-step SyncVectorEnv (actions, losses, parameters)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch

from autolearn.rl import (
    A2C,
    DQN,
    PPO,
    A2CConfig,
    DQNConfig,
    NormalizeObservation,
    NormalizeReward,
    PPOConfig,
    make_vec_env,
)
from autolearn.rl.common.env import LeanSyncVectorEnv


def _env(env_id: str, n: int, lean: bool, normalize: bool) -> Any:
    venv = make_vec_env(env_id, n, lean=lean)
    return NormalizeReward(NormalizeObservation(venv)) if normalize else venv


def _run(cls: Any, config: Any, env: Any, steps: int) -> tuple[Any, list[np.ndarray]]:
    actions: list[np.ndarray] = []
    inner = env
    while not hasattr(inner, "envs"):
        inner = inner.env
    step = inner.step

    def recording_step(a: Any) -> Any:
        actions.append(np.array(a, copy=True))
        return step(a)

    inner.step = recording_step
    return cls(env, config, seed=3).learn(steps), actions


CASES = [
    (A2C, A2CConfig(n_envs=8, ent_coef=0.0), "CartPole-v1", False, 3_000),
    (A2C, A2CConfig(n_envs=16, ent_coef=0.0), "Acrobot-v1", True, 3_200),
    (PPO, PPOConfig(n_envs=8, n_steps=32, batch_size=64, n_epochs=2), "CartPole-v1", False,
     2_048),
    (PPO, PPOConfig(n_envs=4, n_steps=128, batch_size=64, n_epochs=2), "Acrobot-v1", True,
     2_048),
    (PPO, PPOConfig(n_envs=2, n_steps=256, batch_size=64, n_epochs=2, use_sde=True,
                    sde_sample_freq=4), "Pendulum-v1", False, 1_024),
    (DQN, DQNConfig(learning_starts=200, train_freq=4, gradient_steps=1, batch_size=32,
                    buffer_size=2_000, hidden=(32, 32)), "CartPole-v1", False, 1_200),
]


@pytest.mark.parametrize(("cls", "config", "env_id", "normalize", "steps"), CASES,
                         ids=[f"{c[0].__name__}-{c[2]}" for c in CASES])
def test_lean_env_training_is_identical(cls: Any, config: Any, env_id: str, normalize: bool,
                                        steps: int) -> None:
    n = config.n_envs
    ref, ref_actions = _run(cls, config, _env(env_id, n, False, normalize), steps)
    lean, lean_actions = _run(cls, config, _env(env_id, n, True, normalize), steps)
    assert len(ref_actions) == len(lean_actions) > 0
    for a, b in zip(ref_actions, lean_actions, strict=True):
        assert a.dtype == b.dtype and np.array_equal(a, b)
    assert len(ref.history) == len(lean.history)
    for row_a, row_b in zip(ref.history, lean.history, strict=True):
        assert row_a.keys() == row_b.keys()
        for key, value in row_a.items():
            assert value == row_b[key] or (value != value and row_b[key] != row_b[key]), key
    net = "policy" if hasattr(ref, "policy") else "q_net"
    for p, q in zip(getattr(ref, net).parameters(), getattr(lean, net).parameters(),
                    strict=True):
        assert torch.equal(p, q)


@pytest.mark.parametrize("cls", [A2C, PPO, DQN])
def test_agents_build_the_lean_env(cls: Any) -> None:
    assert isinstance(cls("CartPole-v1", seed=0).env, LeanSyncVectorEnv)
