"""LeanSyncVectorEnv: step for step the same as gymnasium's same-step SyncVectorEnv."""

from __future__ import annotations

import numpy as np
import pytest

from autolearn.exceptions import ConfigError
from autolearn.rl.common.env import LeanSyncVectorEnv, make_vec_env


def _same_info(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for key, value in a.items():
        if key == "final_obs":
            assert value.dtype == object and b[key].dtype == object
            for x, y in zip(value, b[key], strict=True):
                assert (x is None and y is None) or np.array_equal(x, y)
        elif isinstance(value, dict):
            _same_info(value, b[key])
        else:
            assert value.dtype == b[key].dtype and np.array_equal(value, b[key])


@pytest.mark.parametrize(("env_id", "steps"), [("CartPole-v1", 3000), ("Acrobot-v1", 3000)])
def test_lean_vector_env_matches_sync(env_id: str, steps: int) -> None:
    ref = make_vec_env(env_id, 4)
    lean = make_vec_env(env_id, 4, lean=True)
    assert isinstance(lean, LeanSyncVectorEnv) and lean._lean
    obs_a, info_a = ref.reset(seed=11)
    obs_b, info_b = lean.reset(seed=11)
    assert np.array_equal(obs_a, obs_b)
    _same_info(info_a, info_b)
    rng = np.random.default_rng(0)
    ends = 0
    for _ in range(steps):
        actions = rng.integers(0, ref.single_action_space.n, 4)
        out_a, out_b = ref.step(actions), lean.step(actions)
        for x, y in zip(out_a[:4], out_b[:4], strict=True):
            assert x.dtype == y.dtype and x.shape == y.shape and np.array_equal(x, y)
        _same_info(out_a[4], out_b[4])
        ends += int(np.logical_or(out_a[2], out_a[3]).sum())
    assert ends >= 10  # resets (terminations on CartPole, truncations on Acrobot) covered
    # a reset in the middle, with new seeds, as well
    obs_a, _ = ref.reset(seed=99)
    obs_b, _ = lean.reset(seed=99)
    assert np.array_equal(obs_a, obs_b)
    assert np.array_equal(ref.step(np.ones(4, np.int64))[0], lean.step(np.ones(4, np.int64))[0])


def test_lean_vector_env_infos_and_truncation() -> None:
    """Non-empty infos and time-limit truncations go through gymnasium's own merging."""
    import gymnasium as gym

    class InfoEnv(gym.Env):  # type: ignore[type-arg]
        observation_space = gym.spaces.Box(-1.0, 1.0, (2,), np.float64)
        action_space = gym.spaces.Discrete(2)

        def reset(self, *, seed=None, options=None):  # type: ignore[no-untyped-def]
            super().reset(seed=seed)
            self.t = 0
            return self.np_random.uniform(-1, 1, 2), {"t": self.t}

        def step(self, action):  # type: ignore[no-untyped-def]
            self.t += 1
            info = {"t": self.t, "extra": np.array([self.t, int(action)])}
            return (self.np_random.uniform(-1, 1, 2), float(action), self.t % 7 == 0, False,
                    info)

    def factory() -> gym.Env:  # type: ignore[type-arg]
        return gym.wrappers.TimeLimit(InfoEnv(), 5)

    ref, lean = make_vec_env(factory, 3), make_vec_env(factory, 3, lean=True)
    assert np.array_equal(ref.reset(seed=1)[0], lean.reset(seed=1)[0])
    rng = np.random.default_rng(1)
    for _ in range(40):
        actions = rng.integers(0, 2, 3)
        out_a, out_b = ref.step(actions), lean.step(actions)
        for x, y in zip(out_a[:4], out_b[:4], strict=True):
            assert x.dtype == y.dtype and np.array_equal(x, y)
        _same_info(out_a[4], out_b[4])


def test_lean_vector_env_rejects_wrong_number_of_actions() -> None:
    env = make_vec_env("CartPole-v1", 3, lean=True)
    env.reset(seed=0)
    with pytest.raises(ConfigError, match="one action per sub-env"):
        env.step(np.zeros(2, np.int64))
