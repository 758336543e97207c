"""Typed batches (NamedTuples) passed between rollout collection and the updates."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, NamedTuple

import torch

__all__ = ["PolicyBatch", "RolloutBatch", "flatten", "minibatches", "normalize_advantages"]


class RolloutBatch(NamedTuple):
    """``n_steps x n_envs`` transitions as collected; leading axes ``(T, N)``.

    Attributes:
        obs: ``(T, N, *obs_shape)`` float32 observations the actions were taken in.
        actions: ``(T, N)`` int64 or ``(T, N, D)`` float32 (unclipped) actions.
        log_probs: ``(T, N)`` log pi_old(a|s) at collection time.
        values: ``(T, N)`` V_old(s) at collection time.
        rewards: ``(T, N)`` rewards, with ``gamma * V(final_obs)`` already added where an
            episode was truncated (see :func:`~autolearn.rl.common.returns.bootstrap_truncated`).
        dones: ``(T, N)`` 1.0 where the episode ended after the step (terminated or truncated).
        masks: ``(T, N, K)`` bool allowed actions, or ``None`` when the env has no masks.
        last_value: ``(N,)`` V(s_T) of the observation after the last step.
    """

    obs: torch.Tensor
    actions: torch.Tensor
    log_probs: torch.Tensor
    values: torch.Tensor
    rewards: torch.Tensor
    dones: torch.Tensor
    masks: torch.Tensor | None
    last_value: torch.Tensor

    def return_inputs(self) -> tuple[Any, Any, Any, Any]:
        """``(rewards, values, dones, last_value)`` for the return functions: numpy views on
        CPU (a T-step loop of numpy operations costs a fraction of the same loop of torch
        calls), the tensors themselves on another device."""
        return tuple(x.numpy() if x.device.type == "cpu" else x  # type: ignore[return-value]
                     for x in (self.rewards, self.values, self.dones, self.last_value))


class PolicyBatch(NamedTuple):
    """Flat ``(B, ...)`` samples for a policy-gradient update."""

    obs: torch.Tensor
    actions: torch.Tensor
    old_log_probs: torch.Tensor
    old_values: torch.Tensor
    advantages: torch.Tensor
    returns: torch.Tensor
    masks: torch.Tensor | None


def flatten(rollout: RolloutBatch, advantages: torch.Tensor, returns: torch.Tensor) -> PolicyBatch:
    """Merge the time and env axes of a rollout plus its ``(T, N)`` advantages/returns."""

    def f(x: torch.Tensor) -> torch.Tensor:
        return x.reshape(-1, *x.shape[2:])

    return PolicyBatch(f(rollout.obs), f(rollout.actions), f(rollout.log_probs),
                       f(rollout.values), f(advantages), f(returns),
                       None if rollout.masks is None else f(rollout.masks))


def minibatches(batch: PolicyBatch, batch_size: int, generator: torch.Generator, *,
                normalize_advantage: bool = False) -> Iterator[PolicyBatch]:
    """Shuffled minibatches of ``batch_size`` (the last one may be smaller) covering ``batch``.

    The batch is permuted once (one gather per field) and the minibatches are slices of
    it. ``normalize_advantage``: each minibatch's advantages come normalised over that
    minibatch (:func:`normalize_advantages`; a minibatch of one is left as is), computed
    for all equal-sized minibatches in one pass.
    """
    n = batch.obs.shape[0]
    if batch_size >= n:
        yield batch
        return
    perm = torch.randperm(n, generator=generator)  # drawn on the generator's (CPU) device
    if perm.device != batch.obs.device:
        perm = perm.to(batch.obs.device)
    shuffled = PolicyBatch._make(None if x is None else x[perm] for x in batch)
    if normalize_advantage:
        adv = shuffled.advantages
        m = n - n % batch_size
        parts = [normalize_advantages(adv[:m].view(-1, batch_size), dim=1).view(-1)]
        if m < n:
            rest = adv[m:]
            parts.append(normalize_advantages(rest) if rest.numel() > 1 else rest)
        shuffled = shuffled._replace(advantages=torch.cat(parts))
    for start in range(0, n, batch_size):
        yield PolicyBatch._make(None if x is None else x[start:start + batch_size]
                                for x in shuffled)


def normalize_advantages(adv: torch.Tensor, dim: int | None = None) -> torch.Tensor:
    """``(adv - mean) / (std + 1e-8)`` over all entries, or along ``dim`` (unbiased std)."""
    if dim is None:
        std, mean = torch.std_mean(adv)
    else:
        std, mean = torch.std_mean(adv, dim=dim, keepdim=True)
    return (adv - mean) / (std + 1e-8)
