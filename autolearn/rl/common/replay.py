"""An experience-replay ring buffer for off-policy agents (DQN).

Storage is allocated once (``capacity`` rows, tensors backed by zeroed numpy memory, so
untouched rows cost no RAM); :meth:`ReplayBuffer.add` writes a whole vector step of
``N`` transitions at once, wrapping around and overwriting the oldest rows, and
:meth:`ReplayBuffer.sample` draws uniformly, with replacement, from the filled rows only,
using the caller's ``numpy.random.Generator`` (no global RNG). :meth:`ReplayBuffer.arrays`
and :meth:`ReplayBuffer.load_arrays` move its transitions, oldest first, in and out (what
``DQN.save_replay_buffer`` / ``load_replay_buffer`` write and read).

``next_obs`` is the observation the transition really ended in: for a finished episode the
vector env's ``info["final_obs"]``, not the reset observation. ``terminated`` is 1 only for
true terminations; time-limit truncations are stored with 0 so the target bootstraps from
``next_obs`` (Pardo et al. 2018, "Time Limits in Reinforcement Learning").
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
import torch

from autolearn.exceptions import ConfigError

__all__ = ["ReplayBatch", "ReplayBuffer"]

ArrayLike = Any  # numpy arrays or CPU tensors (np.asarray reads either without a copy)


class ReplayBatch(NamedTuple):
    """``B`` sampled transitions.

    Attributes:
        obs: ``(B, *obs_shape)`` float32 (uint8 for images).
        actions: ``(B,)`` int64.
        rewards: ``(B,)`` float32.
        next_obs: ``(B, *obs_shape)`` as ``obs``, the true successor (final obs at episode end).
        terminated: ``(B,)`` float32, 1.0 where the episode terminated (no bootstrap).
        next_masks: ``(B, K)`` bool actions allowed in ``next_obs``, or ``None``.
    """

    obs: torch.Tensor
    actions: torch.Tensor
    rewards: torch.Tensor
    next_obs: torch.Tensor
    terminated: torch.Tensor
    next_masks: torch.Tensor | None


class ReplayBuffer:
    """Preallocated FIFO storage of the last ``capacity`` transitions.

    Args:
        capacity: rows kept; older transitions are overwritten.
        obs_shape: shape of one observation.
        n_mask: number of actions when the env provides action masks (``None``: no masks).
        obs_dtype: how observations are stored: ``np.uint8`` for images (a quarter of
            float32's memory; pixel values are integers 0-255, so nothing is lost).
    """

    def __init__(self, capacity: int, obs_shape: tuple[int, ...], *,
                 n_mask: int | None = None, obs_dtype: Any = np.float32) -> None:
        if capacity < 1:
            raise ConfigError(f"`capacity` must be >= 1, but got capacity={capacity}")
        C = self.capacity = int(capacity)
        self.obs = torch.from_numpy(np.zeros((C, *obs_shape), obs_dtype))
        self.next_obs = torch.from_numpy(np.zeros((C, *obs_shape), obs_dtype))
        self.actions = torch.from_numpy(np.zeros(C, np.int64))
        self.rewards = torch.from_numpy(np.zeros(C, np.float32))
        self.terminated = torch.from_numpy(np.zeros(C, np.float32))
        self.masks: torch.Tensor | None = None
        self.next_masks: torch.Tensor | None = None
        if n_mask is not None:
            self.masks = torch.from_numpy(np.ones((C, n_mask), bool))
            self.next_masks = torch.from_numpy(np.ones((C, n_mask), bool))
        self.pos = 0  # next row to write
        self.size = 0  # rows filled
        # numpy views of the same memory: sampling by numpy fancy indexing plus one
        # torch.from_numpy per field costs a fraction of torch's advanced indexing
        self._np = [None if x is None else x.numpy() for x in
                    (self.obs, self.actions, self.rewards, self.next_obs, self.terminated,
                     self.next_masks)]

    def __len__(self) -> int:
        return self.size

    def add(self, obs: ArrayLike, actions: ArrayLike, rewards: ArrayLike, next_obs: ArrayLike,
            terminated: ArrayLike, *, masks: ArrayLike | None = None,
            next_masks: ArrayLike | None = None) -> None:
        """Append ``N`` transitions (leading axis ``N`` on every argument; numpy arrays or
        CPU tensors, cast to the stored dtypes)."""
        n = len(actions)
        if n > self.capacity:
            raise ConfigError(f"cannot add {n} transitions at once to a buffer of capacity "
                              f"{self.capacity}; raise `buffer_size`")
        if self.pos + n <= self.capacity:
            idx: slice | np.ndarray = slice(self.pos, self.pos + n)
        else:
            idx = np.arange(self.pos, self.pos + n) % self.capacity
        # written through the numpy views: a numpy row assignment is cheaper than torch's
        self.obs.numpy()[idx] = obs
        self.actions.numpy()[idx] = actions
        self.rewards.numpy()[idx] = rewards
        self.next_obs.numpy()[idx] = next_obs
        self.terminated.numpy()[idx] = terminated
        if self.masks is not None and masks is not None:
            self.masks.numpy()[idx] = masks
        if self.next_masks is not None and next_masks is not None:
            self.next_masks.numpy()[idx] = next_masks
        self.pos = (self.pos + n) % self.capacity
        self.size = min(self.size + n, self.capacity)

    def sample(self, batch_size: int, rng: np.random.Generator) -> ReplayBatch:
        """``batch_size`` transitions drawn uniformly with replacement from the filled rows."""
        if self.size == 0:
            raise ConfigError("cannot sample from an empty replay buffer; add transitions first")
        idx = rng.integers(0, self.size, size=batch_size)
        return ReplayBatch._make(None if x is None else torch.from_numpy(x[idx])
                                 for x in self._np)

    _FIELDS = ("obs", "actions", "rewards", "next_obs", "terminated", "masks", "next_masks")

    def arrays(self) -> dict[str, np.ndarray]:
        """The stored transitions as numpy arrays, oldest first (copies; masks only when
        the buffer keeps them)."""
        order = (np.arange(self.size) if self.size < self.capacity
                 else (np.arange(self.capacity) + self.pos) % self.capacity)
        return {name: getattr(self, name).numpy()[order] for name in self._FIELDS
                if getattr(self, name) is not None}

    def load_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        """Replace the contents by transitions from :meth:`arrays` (oldest first); when
        they outnumber the capacity, the newest ``capacity`` of them are kept."""
        missing = [f for f in self._FIELDS[:5] if f not in arrays]
        if missing:
            raise ConfigError(f"replay data lacks the fields {missing}")
        n = len(arrays["actions"])
        if arrays["obs"].shape[1:] != tuple(self.obs.shape[1:]):
            raise ConfigError(f"replay data holds observations of shape "
                              f"{arrays['obs'].shape[1:]}, but this buffer's are "
                              f"{tuple(self.obs.shape[1:])}")
        if ("masks" in arrays) != (self.masks is not None):
            raise ConfigError("replay data and this buffer disagree about action masks ("
                              f"{'present' if 'masks' in arrays else 'absent'} in the data)")
        if any(len(arrays[f]) != n for f in arrays):
            raise ConfigError("replay data fields differ in length")
        keep = min(n, self.capacity)
        for name in self._FIELDS:
            if name in arrays and getattr(self, name) is not None:
                getattr(self, name).numpy()[:keep] = arrays[name][n - keep:]
        self.size, self.pos = keep, keep % self.capacity
