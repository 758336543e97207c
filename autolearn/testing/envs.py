"""Tiny deterministic environments with the gymnasium API, for RL tests.

* :class:`TwoArmedBandit` — one step, arm ``best`` pays 1, the other 0.
* :class:`Chain` — go right ``length`` times to reach the goal (reward 1, terminated);
  left steps back; episodes are truncated after ``max_steps`` (a time limit, so
  truncation bootstrapping is exercised).
* :class:`CopySequence` / :func:`copy_sequence_env` — a decision sequence rewarded at the
  end by the fraction of positions that match a fixed target, optionally with a mask that
  forbids repeating the previous choice.

Importing this module imports gymnasium (an optional dependency).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import numpy as np

from autolearn.rl.common.env import SequenceGymEnv

__all__ = ["Chain", "CopySequence", "TwoArmedBandit", "copy_sequence_env"]


class TwoArmedBandit(gym.Env):  # type: ignore[type-arg]
    """A one-step episode: action ``best`` yields reward 1, the other action 0."""

    def __init__(self, best: int = 1) -> None:
        self.best = best
        self.observation_space = gym.spaces.Box(0.0, 1.0, (1,), np.float32)
        self.action_space = gym.spaces.Discrete(2)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None
              ) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        return np.ones(1, np.float32), {}

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        return np.ones(1, np.float32), float(int(action) == self.best), True, False, {}


class Chain(gym.Env):  # type: ignore[type-arg]
    """Positions ``0..length``; action 1 moves right, 0 moves left (not below 0).

    Observation: one-hot position. Reward 1 and termination on reaching ``length``;
    truncation after ``max_steps`` (default ``2 * length + 2``).
    """

    def __init__(self, length: int = 4, max_steps: int | None = None) -> None:
        self.length = length
        self.max_steps = max_steps if max_steps is not None else 2 * length + 2
        self.observation_space = gym.spaces.Box(0.0, 1.0, (length + 1,), np.float32)
        self.action_space = gym.spaces.Discrete(2)
        self._pos = 0
        self._t = 0

    def _obs(self) -> np.ndarray:
        obs = np.zeros(self.length + 1, np.float32)
        obs[self._pos] = 1.0
        return obs

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None
              ) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        self._pos, self._t = 0, 0
        return self._obs(), {}

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        self._t += 1
        self._pos = self._pos + 1 if int(action) == 1 else max(self._pos - 1, 0)
        terminated = self._pos == self.length
        truncated = not terminated and self._t >= self.max_steps
        return self._obs(), float(terminated), terminated, truncated, {}


class CopySequence:
    """A :class:`~autolearn.rl.SequenceEnv`: reward = fraction of decisions equal to ``target``.

    With ``forbid_repeat`` the previous decision is masked out at every step (``target``
    must then have no two equal neighbours).
    """

    def __init__(self, target: Sequence[int] = (0, 2, 1), n_symbols: int = 3, *,
                 forbid_repeat: bool = False) -> None:
        self.target = tuple(int(x) for x in target)
        self.num_choices = (n_symbols,) * len(self.target)
        self.forbid_repeat = forbid_repeat

    def action_mask(self, prefix: Sequence[int]) -> np.ndarray | None:
        if not self.forbid_repeat or not prefix:
            return None
        mask = np.ones(self.num_choices[len(prefix)], bool)
        mask[prefix[-1]] = False
        return mask

    def reward(self, decisions: Sequence[int]) -> float:
        return float(np.mean([d == t for d, t in zip(decisions, self.target, strict=True)]))


def copy_sequence_env(target: Sequence[int] = (0, 2, 1), n_symbols: int = 3, *,
                      forbid_repeat: bool = False) -> SequenceGymEnv:
    """:class:`CopySequence` as a gymnasium env (actions masked via ``info["action_mask"]``)."""
    return SequenceGymEnv(CopySequence(target, n_symbols, forbid_repeat=forbid_repeat))
