"""Discrete, MultiDiscrete and MultiBinary observations: encoded for the networks by every
agent, raw or encoded observations accepted by ``predict``, kept through save/load."""

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
    AsyncQConfig,
    DQNConfig,
    EncodeObservation,
    NormalizeObservation,
    PPOConfig,
    REINFORCEConfig,
    evaluate,
    make_vec_env,
)
from autolearn.rl.common.env import SpaceSpec, encode_observations, obs_encoding

torch.set_num_threads(1)


def frozen_lake(max_steps: int = 100) -> gym.Env:
    return gym.make("FrozenLake-v1", is_slippery=False, max_episode_steps=max_steps)


class BitsEnv(gym.Env):  # type: ignore[type-arg]
    """MultiBinary(3) observations; reward 1 for action == the first bit; 5 steps."""

    observation_space = gym.spaces.MultiBinary(3)
    action_space = gym.spaces.Discrete(2)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        self.obs = self.np_random.integers(0, 2, 3).astype(np.int8)
        return self.obs, {}

    def step(self, action):
        reward = float(int(action) == int(self.obs[0]))
        self.t += 1
        self.obs = self.np_random.integers(0, 2, 3).astype(np.int8)
        return self.obs, reward, self.t >= 5, False, {}


def test_discrete_with_start_is_one_hot():
    enc = obs_encoding(gym.spaces.Discrete(3, start=-1))
    assert enc.kind == "one_hot" and enc.dim == 3 and enc.raw_shape == ()
    np.testing.assert_array_equal(encode_observations(enc, -1), [1, 0, 0])
    np.testing.assert_array_equal(encode_observations(enc, np.array([1, 0])),
                                  [[0, 0, 1], [0, 1, 0]])
    assert encode_observations(enc, 0).dtype == np.float32


def test_multi_discrete_is_one_hot_per_component():
    enc = obs_encoding(gym.spaces.MultiDiscrete([2, 3]))
    assert enc.sizes == (2, 3) and enc.dim == 5 and enc.raw_shape == (2,)
    np.testing.assert_array_equal(encode_observations(enc, [1, 2]), [0, 1, 0, 0, 1])
    np.testing.assert_array_equal(encode_observations(enc, [[0, 0], [1, 1]]),
                                  [[1, 0, 1, 0, 0], [0, 1, 0, 1, 0]])


def test_multi_binary_becomes_floats():
    enc = obs_encoding(gym.spaces.MultiBinary(3))
    assert enc.kind == "binary" and enc.dim == 3
    np.testing.assert_array_equal(encode_observations(enc, np.array([1, 0, 1], np.int8)),
                                  [1.0, 0.0, 1.0])


def test_box_needs_no_encoding_and_other_spaces_get_a_clear_error():
    assert obs_encoding(gym.spaces.Box(-1, 1, (2,))) is None
    with pytest.raises(ConfigError, match="Dict / Tuple of those"):
        obs_encoding(gym.spaces.Text(5))
    with pytest.raises(ConfigError, match="Text"):  # names the offending component
        obs_encoding(gym.spaces.Dict({"a": gym.spaces.Discrete(2), "b": gym.spaces.Text(5)}))


def test_dict_and_tuple_concatenate_their_components_in_gymnasium_order():
    space = gym.spaces.Dict({"pos": gym.spaces.Box(-1, 1, (2, 2)), "id": gym.spaces.Discrete(3),
                             "nested": gym.spaces.Tuple((gym.spaces.MultiBinary(2),
                                                         gym.spaces.Discrete(2, start=1)))})
    enc = obs_encoding(space)
    assert enc.kind == "dict" and enc.keys == ("id", "nested", "pos") and enc.dim == 3 + 4 + 4
    obs = {"pos": np.arange(4.0).reshape(2, 2), "id": 2, "nested": (np.array([1, 0]), 2)}
    expected = [0, 0, 1, 1, 0, 0, 1, 0, 1, 2, 3]
    np.testing.assert_array_equal(encode_observations(enc, obs), expected)
    # gymnasium's own flattening gives the same vector (its documented one-hot order)
    np.testing.assert_array_equal(gym.spaces.flatten(space, obs), expected)
    batch = {"pos": np.stack([obs["pos"]] * 2), "id": np.array([2, 0]),
             "nested": (np.array([[1, 0], [0, 1]]), np.array([2, 1]))}
    out = encode_observations(enc, batch)
    assert out.shape == (2, 11)
    np.testing.assert_array_equal(out[0], expected)
    with pytest.raises(ConfigError, match="keys"):
        encode_observations(enc, {"pos": obs["pos"]})
    with pytest.raises(ConfigError, match="all be one observation or all batches"):
        encode_observations(enc, {**batch, "id": 2})


@pytest.mark.parametrize("bad, match", [(4, "outside the space"), (-1, "outside the space"),
                                        (np.array([[0, 1]]), "shape"), (1.5, "whole numbers")])
def test_values_outside_the_space_are_typed_errors(bad, match):
    enc = obs_encoding(gym.spaces.Discrete(4))
    with pytest.raises(ConfigError, match=match):
        encode_observations(enc, bad)


def test_binary_values_must_be_zero_or_one():
    enc = obs_encoding(gym.spaces.MultiBinary(2))
    with pytest.raises(ConfigError, match="0 or 1"):
        encode_observations(enc, [0, 2])


def test_wrapper_encodes_observations_and_final_observations_in_lockstep_with_the_raw_env():
    raw = make_vec_env(lambda: frozen_lake(max_steps=3), 2)
    wrapped = EncodeObservation(make_vec_env(lambda: frozen_lake(max_steps=3), 2))
    assert wrapped.single_observation_space == gym.spaces.Box(0.0, 1.0, (16,), np.float32)
    enc = wrapped.encoding
    o_raw, _ = raw.reset(seed=3)
    o_enc, _ = wrapped.reset(seed=3)
    np.testing.assert_array_equal(o_enc, encode_observations(enc, o_raw))
    rng = np.random.default_rng(0)
    truncated_seen = 0
    for _ in range(12):
        a = rng.integers(0, 4, 2)
        o_raw, r_raw, term, trunc, info_raw = raw.step(a)
        o_enc, r_enc, term2, trunc2, info_enc = wrapped.step(a)
        np.testing.assert_array_equal(o_enc, encode_observations(enc, o_raw))
        np.testing.assert_array_equal(r_enc, r_raw)
        np.testing.assert_array_equal(term2, term)
        np.testing.assert_array_equal(trunc2, trunc)
        for i in np.flatnonzero(info_raw.get("_final_obs", np.zeros(2, bool))):
            np.testing.assert_array_equal(info_enc["final_obs"][i],
                                          encode_observations(enc, info_raw["final_obs"][i]))
            truncated_seen += int(trunc[i])
    assert truncated_seen > 0  # the bootstrap reads encoded final observations


AGENTS = [
    (A2C, A2CConfig(n_envs=4)),
    (PPO, PPOConfig(n_envs=4, n_steps=32, batch_size=64)),
    (DQN, DQNConfig(learning_starts=64, buffer_size=1_000, train_freq=4)),
    (REINFORCE, REINFORCEConfig(n_envs=4, n_steps=16)),
    (A3C, A3CConfig(n_workers=2, n_envs=2)),
    (AsyncQ, AsyncQConfig(n_workers=2, n_envs=2)),
]


@pytest.mark.parametrize("cls, config", AGENTS, ids=lambda x: getattr(x, "__name__", ""))
def test_every_agent_trains_on_discrete_observations_and_predicts_from_raw_ones(
        cls, config, tmp_path):
    agent = cls(frozen_lake, config, seed=0).learn(400)
    assert agent.spec.encoding == obs_encoding(gym.spaces.Discrete(16))
    assert agent.spec.obs_shape == (16,)
    states = np.array([0, 5, 14])
    actions = agent.predict(states)
    assert actions.shape == (3,)
    np.testing.assert_array_equal(actions, agent.predict(np.eye(16, dtype=np.float32)[states]))
    assert agent.predict(int(states[2])) == actions[2]
    evaluate(agent, frozen_lake, n_episodes=2)  # raw observations from a raw env
    path = tmp_path / "agent.pt"
    agent.save(path)
    loaded = cls.load(path)  # no env: the encoding comes from the checkpoint
    assert loaded.spec == agent.spec
    np.testing.assert_array_equal(loaded.predict(states), actions)


@pytest.mark.parametrize("cls, config", [AGENTS[0], AGENTS[1]], ids=["A2C", "PPO"])
def test_learns_frozen_lake(cls, config):
    agent = cls(frozen_lake, config, seed=0).learn(8_000)
    assert evaluate(agent, frozen_lake, n_episodes=1)[0] == 1.0


class GoalEnv(gym.Env):  # type: ignore[type-arg]
    """Dict observations; reward 1 for the action equal to the observed goal; 10 steps."""

    observation_space = gym.spaces.Dict({"pos": gym.spaces.Box(-1, 1, (2,), np.float32),
                                         "goal": gym.spaces.Discrete(2)})
    action_space = gym.spaces.Discrete(2)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return self._obs(), {}

    def _obs(self):
        self.goal = int(self.np_random.integers(2))
        return {"pos": self.np_random.uniform(-1, 1, 2).astype(np.float32), "goal": self.goal}

    def step(self, action):
        reward = float(int(action) == self.goal)
        self.t += 1
        return self._obs(), reward, False, self.t >= 10, {}


def test_dict_observations_learn_and_predict_from_raw_dicts(tmp_path):
    agent = PPO(GoalEnv, PPOConfig(n_envs=4, n_steps=32, batch_size=64), seed=0).learn(6_000)
    assert agent.spec.encoding.kind == "dict"
    assert evaluate(agent, GoalEnv, n_episodes=3)[0] == 10.0
    venv = make_vec_env(GoalEnv, 3)
    batch, _ = venv.reset(seed=0)
    np.testing.assert_array_equal(agent.predict(batch), batch["goal"])
    one, _ = GoalEnv().reset(seed=1)
    assert agent.predict(one) == one["goal"]
    agent.save(tmp_path / "goal.pt")
    loaded = PPO.load(tmp_path / "goal.pt")
    assert loaded.spec == agent.spec
    np.testing.assert_array_equal(loaded.predict(batch), batch["goal"])


def test_tuple_observations_blackjack():
    agent = DQN("Blackjack-v1", DQNConfig(learning_starts=64, buffer_size=1_000), seed=0)
    agent.learn(300)
    assert agent.spec.encoding.kind == "tuple" and agent.spec.obs_shape == (32 + 11 + 2,)
    assert agent.predict((14, 10, 0)) in (0, 1)
    evaluate(agent, "Blackjack-v1", n_episodes=3)


def test_multi_binary_observations_train_and_predict():
    agent = PPO(BitsEnv, PPOConfig(n_envs=2, n_steps=32, batch_size=32), seed=0).learn(256)
    assert agent.spec.encoding.kind == "binary"
    raw = np.array([[1, 0, 0], [0, 1, 1]], np.int8)
    np.testing.assert_array_equal(agent.predict(raw), agent.predict(raw.astype(np.float32)))


def test_checkpoint_spec_without_encoding_still_loads():
    spec = SpaceSpec((4,), 2)
    d = spec.to_dict()
    del d["encoding"]  # as written before encodings existed
    assert SpaceSpec.from_dict(d) == spec


def test_normalising_discrete_observations_is_a_typed_error():
    with pytest.raises(ConfigError, match="EncodeObservation"):
        NormalizeObservation(make_vec_env(frozen_lake, 2))
    normed = NormalizeObservation(EncodeObservation(make_vec_env(frozen_lake, 2)))
    assert normed.reset(seed=0)[0].shape == (2, 16)


def test_cli_refuses_observation_normalisation_of_discrete_observations():
    from autolearn.rl.configs import make_train_env, resolve

    spec = resolve("ppo", "FrozenLake-v1", overrides=["normalize=obs"])
    with pytest.raises(ConfigError, match="'none' or 'reward'"):
        make_train_env(spec)
    spec = resolve("ppo", "FrozenLake-v1", overrides=["normalize=reward"])
    PPO(make_train_env(spec), spec.config, seed=0).learn(256)
