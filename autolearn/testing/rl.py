"""Conformance suite every RL agent passes.

Subclass :class:`RLAgentConformance` and provide ``make_agent(env_fn, seed, n_envs)``
returning an agent built on ``n_envs`` copies of ``env_fn()`` (the suite's tiny envs) with
a configuration small enough to learn them within the class's step budgets::

    class TestPPO(RLAgentConformance):
        config_cls = PPOConfig
        bandit_steps, chain_steps = 512, 4096

        @staticmethod
        def make_agent(env_fn, seed, n_envs=1):
            return PPO(env_fn, PPOConfig(n_envs=n_envs, n_steps=32), seed=seed)

An agent has ``learn(total_timesteps, callback=None)`` returning itself,
``predict(obs, deterministic=True, mask=None)`` (batched), ``save(path)``, a classmethod
``load(path, env=None)``, ``num_timesteps`` and a ``history`` list of diagnostics rows.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np
import pytest

from autolearn.exceptions import ConfigError
from autolearn.testing.envs import Chain, TwoArmedBandit, copy_sequence_env

__all__ = ["RLAgentConformance"]


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    return bool(a == b)


def _chain_obs() -> np.ndarray:
    return np.eye(Chain().length + 1, dtype=np.float32)


class RLAgentConformance:
    """Behaviour shared by every RL agent (REINFORCE, A2C, PPO, ...)."""

    config_cls: ClassVar[type]
    bad_values: ClassVar[dict[str, Any]] = {"gamma": 1.5, "n_steps": 0}
    bandit_steps: ClassVar[int] = 1_000
    chain_steps: ClassVar[int] = 5_000
    n_envs_learn: ClassVar[int] = 4

    @staticmethod
    def make_agent(env_fn: Callable[[], Any], seed: int | None, n_envs: int = 1
                   ) -> Any:  # pragma: no cover
        raise NotImplementedError

    def test_learns_bandit(self) -> None:
        from autolearn.rl import evaluate

        agent = self.make_agent(TwoArmedBandit, 0, self.n_envs_learn).learn(self.bandit_steps)
        mean, _ = evaluate(agent, TwoArmedBandit, n_episodes=2)
        assert mean == 1.0

    def test_learns_chain(self) -> None:
        from autolearn.rl import evaluate

        agent = self.make_agent(Chain, 0, self.n_envs_learn).learn(self.chain_steps)
        mean, _ = evaluate(agent, Chain, n_episodes=2)
        assert mean == 1.0, agent.predict(_chain_obs())

    def test_same_seed_same_actions_and_losses(self) -> None:
        runs = []
        for _ in range(2):
            agent = self.make_agent(Chain, 7, 2).learn(300)
            actions = agent.predict(np.tile(_chain_obs(), (8, 1)), deterministic=False)
            runs.append((agent.history, actions))
        (h1, a1), (h2, a2) = runs
        np.testing.assert_array_equal(a1, a2)
        assert len(h1) == len(h2) > 0
        for r1, r2 in zip(h1, h2, strict=True):
            assert r1.keys() == r2.keys()
            assert all(_same(r1[k], r2[k]) for k in r1), (r1, r2)

    def test_different_seeds_differ(self) -> None:
        a = self.make_agent(Chain, 1, 2).learn(300)
        b = self.make_agent(Chain, 2, 2).learn(300)
        assert [r for r in a.history] != [r for r in b.history]

    def test_save_load_round_trip(self, tmp_path: Any) -> None:
        agent = self.make_agent(Chain, 0, 2).learn(300)
        path = tmp_path / "agent.pt"
        agent.save(path)
        loaded = type(agent).load(path)
        assert loaded.config == agent.config
        assert loaded.num_timesteps == agent.num_timesteps
        obs = _chain_obs()
        np.testing.assert_array_equal(loaded.predict(obs), agent.predict(obs))
        resumed = type(agent).load(path, env=Chain, seed=0).learn(100)
        assert resumed.num_timesteps > agent.num_timesteps

    def test_bad_config_names_the_field(self) -> None:
        for field, value in self.bad_values.items():
            with pytest.raises(ConfigError, match=f"`{field}`"):
                self.config_cls(**{field: value})

    @pytest.mark.parametrize("n_envs", [1, 3])
    def test_vector_sizes(self, n_envs: int) -> None:
        agent = self.make_agent(Chain, 0, n_envs).learn(200)
        assert agent.env.num_envs == n_envs
        assert agent.num_timesteps >= 200
        rows = agent.history
        assert rows and all(r["timesteps"] % n_envs == 0 for r in rows)
        assert agent.predict(_chain_obs()).shape == (Chain().length + 1,)
        assert np.ndim(agent.predict(_chain_obs()[0])) == 0

    def test_masked_actions_are_respected(self) -> None:
        def env_fn() -> Any:
            return copy_sequence_env(forbid_repeat=True)

        agent = self.make_agent(env_fn, 0, 2).learn(200)
        obs, info = env_fn().reset()
        only = np.array([False, False, True])
        acts = agent.predict(np.tile(obs, (64, 1)), deterministic=False,
                             mask=np.tile(only, (64, 1)))
        assert (acts == 2).all()
        buf = agent._buffer  # every stored action was allowed by its stored mask
        assert buf.masks is not None
        taken = buf.masks.gather(-1, buf.actions.unsqueeze(-1))
        assert bool(taken.all())

    def test_callback_stops_learning(self) -> None:
        seen: list[int] = []

        def stop_after_two(agent: Any, row: dict[str, Any]) -> bool:
            seen.append(row["timesteps"])
            return len(seen) < 2

        agent = self.make_agent(Chain, 0, 1).learn(100_000, callback=stop_after_two)
        assert len(seen) == 2 and len(agent.history) == 2
        assert agent.num_timesteps == seen[-1]
