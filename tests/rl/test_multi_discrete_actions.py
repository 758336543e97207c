"""MultiDiscrete and MultiBinary actions for the actor-critic agents (PPO, A2C, A3C,
REINFORCE): independent categoricals per component, actions sent in the space's values."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch

from autolearn.exceptions import ConfigError
from autolearn.rl import (
    A2C,
    A3C,
    DQN,
    PPO,
    REINFORCE,
    A2CConfig,
    A3CConfig,
    AsyncQ,
    PPOConfig,
    REINFORCEConfig,
    evaluate,
    make_vec_env,
)
from autolearn.rl.common.distributions import MultiCategorical
from autolearn.rl.common.env import space_info

torch.set_num_threads(1)


class ComboBandit(gym.Env):  # type: ignore[type-arg]
    """One step; reward = number of components equal to ``target``. The env checks that
    every action it gets lies in its space."""

    observation_space = gym.spaces.Box(0, 1, (1,), np.float32)
    action_space: gym.Space = gym.spaces.MultiDiscrete([3, 2], start=[1, -1])
    target = np.array([3, -1])

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return np.ones(1, np.float32), {}

    def step(self, action):
        action = np.asarray(action)
        assert self.action_space.contains(action), action
        return np.ones(1, np.float32), float((action == self.target).sum()), True, False, {}


class BitsBandit(ComboBandit):
    action_space = gym.spaces.MultiBinary(3)
    target = np.array([1, 0, 1])


def test_multi_categorical_is_the_product_of_its_components():
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(5, 3 + 2, generator=g)
    dist = MultiCategorical(logits, (3, 2))
    actions = dist.sample(g)
    assert actions.shape == (5, 2) and actions.dtype == torch.long
    assert (actions[:, 0] < 3).all() and (actions[:, 1] < 2).all()
    lp0 = torch.log_softmax(logits[:, :3], -1).gather(1, actions[:, :1]).squeeze(1)
    lp1 = torch.log_softmax(logits[:, 3:], -1).gather(1, actions[:, 1:]).squeeze(1)
    torch.testing.assert_close(dist.log_prob(actions), lp0 + lp1)
    p0, p1 = torch.softmax(logits[:, :3], -1), torch.softmax(logits[:, 3:], -1)
    ent = -(p0 * p0.log()).sum(-1) - (p1 * p1.log()).sum(-1)
    torch.testing.assert_close(dist.entropy(), ent)
    torch.testing.assert_close(dist.mode(), torch.stack([p0.argmax(-1), p1.argmax(-1)], -1))


def test_spaces_record_choices_and_starts():
    spec = space_info(make_vec_env(ComboBandit, 1))
    assert spec.n_actions is None and spec.action_nvec == (3, 2)
    assert spec.action_start == (1, -1) and spec.action_dim == 2
    spec = space_info(make_vec_env(BitsBandit, 1))
    assert spec.action_nvec == (2, 2, 2) and spec.action_start == (0, 0, 0)


AGENTS = [
    (PPO, PPOConfig(n_envs=4, n_steps=16, batch_size=32)),
    (A2C, A2CConfig(n_envs=4, learning_rate=3e-3)),
    (REINFORCE, REINFORCEConfig(n_envs=4, n_steps=8)),
    (A3C, A3CConfig(n_workers=2, n_envs=2, learning_rate=3e-3)),
]


@pytest.mark.parametrize("env", [ComboBandit, BitsBandit], ids=["MultiDiscrete", "MultiBinary"])
@pytest.mark.parametrize("cls, config", AGENTS, ids=lambda x: getattr(x, "__name__", ""))
def test_agents_learn_multi_discrete_actions(cls, config, env, tmp_path):
    agent = cls(env, config, seed=0).learn(3_000)
    obs = np.ones(1, np.float32)
    np.testing.assert_array_equal(agent.predict(obs), env.target)  # the space's values
    assert evaluate(agent, env, n_episodes=2)[0] == len(env.target)
    agent.save(tmp_path / "agent.pt")
    loaded = cls.load(tmp_path / "agent.pt")
    assert loaded.spec == agent.spec
    np.testing.assert_array_equal(loaded.predict(np.ones((2, 1), np.float32)),
                                  [env.target, env.target])


def test_same_seed_same_training():
    runs = [PPO(ComboBandit, PPOConfig(n_envs=2, n_steps=8, batch_size=8), seed=3).learn(64)
            for _ in range(2)]
    assert runs[0].history == runs[1].history
    for a, b in zip(runs[0].policy.parameters(), runs[1].policy.parameters(), strict=True):
        assert torch.equal(a, b)


def test_q_learners_and_gsde_refuse_multi_discrete_actions():
    with pytest.raises(ConfigError, match="MultiDiscrete"):
        DQN(ComboBandit)
    with pytest.raises(ConfigError, match="MultiDiscrete"):
        AsyncQ(ComboBandit)
    with pytest.raises(ConfigError, match="use_sde"):
        PPO(ComboBandit, PPOConfig(use_sde=True))


def test_two_dimensional_multi_discrete_is_a_typed_error():
    class Grid(ComboBandit):
        action_space = gym.spaces.MultiDiscrete([[2, 2], [2, 2]])

    with pytest.raises(ConfigError, match="1-d MultiDiscrete"):
        PPO(Grid)


class MaskedCombo(ComboBandit):
    """``target`` (3, -1) is the best combination, but the mask forbids 3 in component 0:
    the agent must settle for (2, -1) and never send 3."""

    action_space = gym.spaces.MultiDiscrete([3, 2], start=[1, -1])
    mask = np.array([True, True, False, True, True])

    def reset(self, *, seed=None, options=None):
        obs, _ = super().reset(seed=seed)
        return obs, {"action_mask": self.mask}

    def step(self, action):
        action = np.asarray(action)
        assert action[0] != 3, "a masked choice was sent"
        reward = float(action[1] == -1) + 0.5 * float(action[0] == 2)
        return np.ones(1, np.float32), reward, True, False, {"action_mask": self.mask}


def test_masks_per_component():
    logits = torch.zeros(2, 5)
    mask = torch.tensor([[True, False, False, True, True], [False, True, True, True, False]])
    dist = MultiCategorical(logits, (3, 2), mask)
    for _ in range(20):
        a = dist.sample()
        assert a[0, 0] == 0 and a[1, 0] in (1, 2) and a[1, 1] == 0
    torch.testing.assert_close(dist.log_prob(torch.tensor([[0, 1], [2, 0]])),
                               torch.tensor([np.log(0.5), np.log(0.5)], dtype=torch.float32))
    agent = PPO(MaskedCombo, PPOConfig(n_envs=4, n_steps=16, batch_size=32), seed=0)
    agent.learn(3_000)
    np.testing.assert_array_equal(
        agent.predict(np.ones(1, np.float32), mask=MaskedCombo.mask), [2, -1])
