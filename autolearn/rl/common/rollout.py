"""Collect ``n_steps x n_envs`` on-policy transitions into preallocated buffers.

One batched policy forward per vector step under ``torch.inference_mode``, one
numpy -> torch conversion of the observations per step, no per-step Python objects.
Terminated episodes are not bootstrapped; truncated ones (time limits) are, from the value
of their final observation, folded into the reward (Pardo et al. 2018, "Time Limits in
Reinforcement Learning").
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np
import torch
from gymnasium.vector import VectorEnv

from autolearn.rl.common.buffers import RolloutBatch
from autolearn.rl.common.env import SpaceSpec
from autolearn.rl.common.policies import ActorCritic

__all__ = ["RolloutBuffer", "RolloutState", "collect_rollout", "start_rollouts"]


def _obs_tensor(obs: np.ndarray) -> torch.Tensor:
    return torch.tensor(np.asarray(obs, dtype=np.float32))


def _mask_tensor(info: dict, n_envs: int) -> torch.Tensor | None:  # type: ignore[type-arg]
    mask = info.get("action_mask")
    return None if mask is None else torch.as_tensor(np.asarray(mask, dtype=bool))


@dataclass
class RolloutState:
    """What carries over between rollouts: the current observations and episode tallies."""

    obs: torch.Tensor
    mask: torch.Tensor | None
    ep_return: np.ndarray
    ep_length: np.ndarray
    episodes: deque[tuple[float, int]] = field(default_factory=lambda: deque(maxlen=100))


def start_rollouts(env: VectorEnv, seed: int | None) -> RolloutState:
    """Reset ``env`` (sub-env ``i`` seeded ``seed + i``) and start the episode tallies."""
    obs, info = env.reset(seed=seed)
    n = env.num_envs
    return RolloutState(_obs_tensor(obs), _mask_tensor(info, n), np.zeros(n), np.zeros(n, int))


class RolloutBuffer:
    """Preallocated storage for one rollout, reused across rollouts."""

    def __init__(self, n_steps: int, n_envs: int, spec: SpaceSpec, *,
                 n_mask: int | None = None) -> None:
        T, N = n_steps, n_envs
        self.n_steps, self.n_envs, self.spec = T, N, spec
        self.obs = torch.zeros((T, N, *spec.obs_shape))
        if spec.n_actions is not None:
            self.actions = torch.zeros((T, N), dtype=torch.long)
        else:
            self.actions = torch.zeros((T, N, spec.action_dim))
        self.log_probs = torch.zeros((T, N))
        self.values = torch.zeros((T, N))
        self.rewards = np.zeros((T, N), np.float32)
        self.dones = np.zeros((T, N), np.float32)
        self.masks = None if n_mask is None else torch.ones((T, N, n_mask), dtype=torch.bool)


def collect_rollout(env: VectorEnv, policy: ActorCritic, buf: RolloutBuffer,
                    state: RolloutState, *, gamma: float, generator: torch.Generator,
                    bootstrap_truncated: bool = True) -> RolloutBatch:
    """Fill ``buf`` with ``n_steps`` vector steps from ``state`` (updated in place).

    Args:
        bootstrap_truncated: add ``gamma * V(final_obs)`` to the reward of truncated steps;
            turn off for agents without a learned value (it would add noise).
    """
    spec = buf.spec
    low = None if spec.low is None else np.asarray(spec.low, np.float32)
    high = None if spec.high is None else np.asarray(spec.high, np.float32)
    if state.mask is not None and buf.masks is None:
        buf.masks = torch.ones((buf.n_steps, buf.n_envs, state.mask.shape[-1]), dtype=torch.bool)
    with torch.inference_mode():
        for t in range(buf.n_steps):
            buf.obs[t] = state.obs
            if state.mask is not None:
                buf.masks[t] = state.mask  # type: ignore[index]
            actions, log_probs, values = policy.act(state.obs, state.mask, generator)
            buf.actions[t] = actions
            buf.log_probs[t] = log_probs
            buf.values[t] = values
            env_actions = actions.numpy()
            if low is not None:
                env_actions = np.clip(env_actions, low, high)
            obs, rewards, terminated, truncated, info = env.step(env_actions)
            rewards = np.asarray(rewards, np.float32)
            dones = np.logical_or(terminated, truncated)
            state.ep_return += rewards
            state.ep_length += 1
            if dones.any():
                cut = np.flatnonzero(np.logical_and(truncated, np.logical_not(terminated)))
                if bootstrap_truncated and cut.size:
                    final = _obs_tensor(np.stack([info["final_obs"][i] for i in cut]))
                    rewards = rewards.copy()
                    rewards[cut] += gamma * policy.value(final).numpy()
                for i in np.flatnonzero(dones):
                    state.episodes.append((float(state.ep_return[i]), int(state.ep_length[i])))
                    state.ep_return[i] = 0.0
                    state.ep_length[i] = 0
            buf.rewards[t] = rewards
            buf.dones[t] = dones
            state.obs = _obs_tensor(obs)
            state.mask = _mask_tensor(info, buf.n_envs) if state.mask is not None else None
    with torch.no_grad():  # not inference_mode: the update reads it next to autograd tensors
        last_value = policy.value(state.obs)
    return RolloutBatch(buf.obs, buf.actions, buf.log_probs, buf.values,
                        torch.from_numpy(buf.rewards), torch.from_numpy(buf.dones),
                        buf.masks, last_value)
