"""Collect ``n_steps x n_envs`` on-policy transitions into preallocated buffers.

One batched policy forward per vector step, no per-step Python objects. Given a numpy
``rng`` and a CPU policy (gSDE included), that forward and the sampling run in numpy on views
of the weights (:meth:`ActorCritic.act_numpy`; about half the CPU time of the torch act
for a 64x64 net at 8 envs) and the buffers are written through numpy views; otherwise
through torch under ``torch.inference_mode``, with one numpy -> torch conversion of the
observations per step.
Terminated episodes are not bootstrapped; truncated ones (time limits) are, from the value
of their final observation, folded into the reward (Pardo et al. 2018, "Time Limits in
Reinforcement Learning").
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from gymnasium.vector import VectorEnv

from autolearn.rl.common.buffers import RolloutBatch
from autolearn.rl.common.env import SpaceSpec
from autolearn.rl.common.finite import check_env_values
from autolearn.rl.common.policies import ActorCritic

__all__ = ["RolloutBuffer", "RolloutState", "check_rollout", "collect_rollout",
           "final_observations", "start_rollouts", "step_envs"]

#: What a refused rollout leaves (see :func:`check_rollout`).
UNTRAINED = "nothing was trained on them: the networks and the optimiser state are unchanged"


def _obs_tensor(obs: np.ndarray, device: torch.device | None = None) -> torch.Tensor:
    x = torch.tensor(np.asarray(obs, dtype=np.float32))
    return x if device is None or device.type == "cpu" else x.to(device)


def _mask_tensor(info: dict, n_envs: int,  # type: ignore[type-arg]
                 device: torch.device | None = None) -> torch.Tensor | None:
    mask = info.get("action_mask")
    return None if mask is None else torch.as_tensor(np.asarray(mask, dtype=bool),
                                                     device=device)


@dataclass
class RolloutState:
    """What carries over between rollouts: the current observations and episode tallies."""

    obs: torch.Tensor
    mask: torch.Tensor | None
    ep_return: np.ndarray
    ep_length: np.ndarray
    episodes: deque[tuple[float, int]] = field(default_factory=lambda: deque(maxlen=100))
    n_episodes: int = 0  # episodes finished so far (``episodes`` keeps the last 100)


def start_rollouts(env: VectorEnv, seed: int | None,
                   device: torch.device | None = None) -> RolloutState:
    """Reset ``env`` (sub-env ``i`` seeded ``seed + i``) and start the episode tallies.

    The observations (and action masks) are kept as tensors on ``device`` (default CPU).
    """
    obs, info = env.reset(seed=seed)
    n = env.num_envs
    return RolloutState(_obs_tensor(obs, device), _mask_tensor(info, n, device), np.zeros(n),
                        np.zeros(n, int))


class RolloutBuffer:
    """Preallocated storage for one rollout, reused across rollouts.

    Tensors live on ``device`` (default CPU); rewards and dones are filled as numpy arrays
    and moved there once per rollout.
    """

    def __init__(self, n_steps: int, n_envs: int, spec: SpaceSpec, *,
                 n_mask: int | None = None, device: torch.device | None = None) -> None:
        T, N = n_steps, n_envs
        self.n_steps, self.n_envs, self.spec = T, N, spec
        self.device = dev = torch.device("cpu") if device is None else device
        self.obs = torch.zeros((T, N, *spec.obs_shape), device=dev)
        if spec.n_actions is not None:
            self.actions = torch.zeros((T, N), dtype=torch.long, device=dev)
        elif spec.action_nvec is not None:  # MultiDiscrete: one index per component
            self.actions = torch.zeros((T, N, len(spec.action_nvec)), dtype=torch.long,
                                       device=dev)
        else:
            self.actions = torch.zeros((T, N, spec.action_dim), device=dev)
        self.log_probs = torch.zeros((T, N), device=dev)
        self.values = torch.zeros((T, N), device=dev)
        self.rewards = np.zeros((T, N), np.float32)
        self.dones = np.zeros((T, N), np.float32)
        self.masks = None if n_mask is None else torch.ones((T, N, n_mask), dtype=torch.bool,
                                                            device=dev)


def check_rollout(owner: str, obs: Any, rewards: Any, last_obs: Any) -> None:
    """:class:`~autolearn.exceptions.NonFiniteError` (naming ``owner``, the rollout steps and
    sub-envs) if a rollout's ``(T, N, ...)`` observations, ``(T, N)`` rewards or ``(N, ...)``
    observations after its last step hold NaN or inf: an update must not read them."""
    axes = ("rollout step", "sub-env")
    check_env_values(owner, UNTRAINED, axes, rewards=rewards, observations=obs)
    check_env_values(owner, UNTRAINED, ("sub-env",), observations_after_the_last_step=last_obs)


def final_observations(info: dict[str, Any], cut: np.ndarray, owner: str) -> np.ndarray:
    """The final observations of the truncated sub-envs ``cut`` (checked: finite)."""
    final = np.stack([np.asarray(info["final_obs"][i], np.float32) for i in cut])
    check_env_values(owner, UNTRAINED, ("truncated sub-env",), final_observations=final)
    return final


def collect_rollout(env: VectorEnv, policy: ActorCritic, buf: RolloutBuffer,
                    state: RolloutState, *, gamma: float, generator: torch.Generator,
                    bootstrap_truncated: bool = True, sde_sample_freq: int = -1,
                    rng: np.random.Generator | None = None,
                    owner: str = "collect_rollout") -> RolloutBatch:
    """Fill ``buf`` with ``n_steps`` vector steps from ``state`` (updated in place).

    Observations and rewards are checked (:func:`check_rollout`, ``owner`` naming the agent
    in the error): NaN or inf raise :class:`~autolearn.exceptions.NonFiniteError` before
    anything is trained on them.

    Args:
        sde_sample_freq: for a gSDE policy (``policy.use_sde``), draw new noise matrices
            (one per env) every this many steps; ``-1``: only at the start of the rollout.
        bootstrap_truncated: add ``gamma * V(final_obs)`` to the reward of truncated steps;
            turn off for agents without a learned value (it would add noise).
        rng: with a CPU policy, act in numpy (:meth:`ActorCritic.act_numpy`, sampling from
            ``rng``) instead of through torch (sampling from ``generator``): the same
            distributions, a different random stream (gSDE: the same noise matrices, drawn
            from ``generator`` either way).
    """
    if (rng is not None and buf.device.type == "cpu" and policy.log_std.device.type == "cpu"
            and policy.numpy_ok):
        return _collect_numpy(env, policy, buf, state, gamma=gamma, rng=rng,
                              generator=generator, sde_sample_freq=sde_sample_freq,
                              bootstrap_truncated=bootstrap_truncated, owner=owner)
    spec, dev = buf.spec, buf.device
    low = None if spec.low is None else np.asarray(spec.low, np.float32)
    high = None if spec.high is None else np.asarray(spec.high, np.float32)
    start = None if spec.action_start is None else np.asarray(spec.action_start, np.int64)
    if state.mask is not None and buf.masks is None:
        buf.masks = torch.ones((buf.n_steps, buf.n_envs, state.mask.shape[-1]), dtype=torch.bool,
                               device=dev)
    sde = policy.use_sde
    check_obs = not spec.image  # images come as uint8 pixels: never NaN
    with torch.inference_mode():
        for t in range(buf.n_steps):
            if sde and (t == 0 or (sde_sample_freq > 0 and t % sde_sample_freq == 0)):
                policy.reset_noise(buf.n_envs, generator)
            buf.obs[t] = state.obs
            if state.mask is not None:
                buf.masks[t] = state.mask  # type: ignore[index]
            if check_obs:  # before acting: torch's samplers raise their own errors on NaN
                check_env_values(owner, UNTRAINED, ("sub-env",), observations=state.obs)
            actions, log_probs, values = policy.act(state.obs, state.mask, generator)
            buf.actions[t] = actions
            buf.log_probs[t] = log_probs
            buf.values[t] = values
            env_actions = actions.cpu().numpy()
            if low is not None:
                env_actions = np.clip(env_actions, low, high)
            elif start is not None:  # MultiDiscrete indices -> the space's values
                env_actions = env_actions + start
            obs, rewards, dones, cut, info = step_envs(env, env_actions, state)
            if bootstrap_truncated and cut.size:
                final = _obs_tensor(final_observations(info, cut, owner), dev)
                rewards = rewards.copy()
                rewards[cut] += gamma * policy.value(final).cpu().numpy()
            buf.rewards[t] = rewards
            buf.dones[t] = dones
            state.obs = _obs_tensor(obs, dev)
            state.mask = _mask_tensor(info, buf.n_envs, dev) if state.mask is not None else None
    check_rollout(owner, None, buf.rewards, state.obs if check_obs else None)
    with torch.no_grad():  # not inference_mode: the update reads it next to autograd tensors
        last_value = policy.value(state.obs)
    return RolloutBatch(buf.obs, buf.actions, buf.log_probs, buf.values,
                        torch.from_numpy(buf.rewards).to(dev), torch.from_numpy(buf.dones).to(dev),
                        buf.masks, last_value)


_NO_CUT = np.zeros(0, np.int64)


def step_envs(env: VectorEnv, actions: Any, state: RolloutState
              ) -> tuple[Any, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
    """One vector step with the episode bookkeeping every collector shares.

    Returns ``(obs, rewards, dones, cut, info)``: ``rewards`` as float32 (possibly the
    env's own array: copy it before changing it), ``dones`` = terminated or truncated,
    ``cut`` the indices of envs truncated but not terminated (whose reward a collector may
    bootstrap from ``info["final_obs"]``). Finished episodes' returns (without any
    bootstrap) and lengths are appended to ``state.episodes`` and their counters reset.
    """
    obs, rewards, terminated, truncated, info = env.step(actions)
    rewards = np.asarray(rewards, np.float32)
    dones = np.logical_or(terminated, truncated)
    state.ep_return += rewards
    state.ep_length += 1
    if not np.count_nonzero(dones):  # dones.any(), without its Python dispatch
        return obs, rewards, dones, _NO_CUT, info
    for i in np.flatnonzero(dones):
        state.episodes.append((float(state.ep_return[i]), int(state.ep_length[i])))
        state.n_episodes += 1
        state.ep_return[i] = 0.0
        state.ep_length[i] = 0
    cut = np.flatnonzero(np.logical_and(truncated, np.logical_not(terminated)))
    return obs, rewards, dones, cut, info


def _collect_numpy(env: VectorEnv, policy: ActorCritic, buf: RolloutBuffer,
                   state: RolloutState, *, gamma: float, rng: np.random.Generator,
                   generator: torch.Generator, sde_sample_freq: int,
                   bootstrap_truncated: bool, owner: str) -> RolloutBatch:
    """:func:`collect_rollout`'s loop with the policy evaluated in numpy (CPU buffers): the
    buffers are written through numpy views, no torch call per step."""
    spec = buf.spec
    low = None if spec.low is None else np.asarray(spec.low, np.float32)
    high = None if spec.high is None else np.asarray(spec.high, np.float32)
    if state.mask is not None and buf.masks is None:
        buf.masks = torch.ones((buf.n_steps, buf.n_envs, state.mask.shape[-1]), dtype=torch.bool)
    b_obs, b_actions = buf.obs.numpy(), buf.actions.numpy()
    b_log_probs, b_values = buf.log_probs.numpy(), buf.values.numpy()
    b_masks = None if buf.masks is None else buf.masks.numpy()
    obs_np = state.obs.numpy()
    mask_np = None if state.mask is None else state.mask.numpy()
    sde = policy.use_sde
    n_steps = buf.n_steps
    b_obs[0] = obs_np
    for t in range(n_steps):
        if sde and (t == 0 or (sde_sample_freq > 0 and t % sde_sample_freq == 0)):
            policy.reset_noise(buf.n_envs, generator)
        if mask_np is not None:
            b_masks[t] = mask_np  # type: ignore[index]
        actions, log_probs, values = policy.act_numpy(obs_np, mask_np, rng)
        b_actions[t] = actions
        b_log_probs[t] = log_probs
        b_values[t] = values
        env_actions = actions if low is None else np.clip(actions, low, high)
        obs, rewards, dones, cut, info = step_envs(env, env_actions, state)
        if bootstrap_truncated and cut.size:
            final = final_observations(info, cut, owner)
            rewards = rewards.copy()
            rewards[cut] += gamma * policy.numpy_forward(final)[1]
        buf.rewards[t] = rewards
        buf.dones[t] = dones
        if t + 1 < n_steps:  # the next step acts on its buffer row (the env reuses its array)
            b_obs[t + 1] = obs
            obs_np = b_obs[t + 1]
        else:
            obs_np = np.array(obs, np.float32)  # a copy, kept for the next rollout
        if mask_np is not None:
            mask_np = np.array(info["action_mask"], bool)
    # (NaN observations are acted on until here without error: numpy's sampling draws a
    # valid index from NaN probabilities)
    check_rollout(owner, b_obs, buf.rewards, obs_np)
    state.obs = torch.from_numpy(obs_np)
    state.mask = None if mask_np is None else torch.from_numpy(mask_np)
    last_value = torch.from_numpy(policy.numpy_forward(obs_np)[1])
    return RolloutBatch(buf.obs, buf.actions, buf.log_probs, buf.values,
                        torch.from_numpy(buf.rewards), torch.from_numpy(buf.dones),
                        buf.masks, last_value)
