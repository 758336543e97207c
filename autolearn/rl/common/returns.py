"""Returns and advantages as pure functions over ``(T, n_envs)`` arrays.

Conventions shared by every function here:

* ``rewards[t]``, ``values[t]``, ``dones[t]`` have shape ``(T, N)`` (time, environment);
  ``last_value`` has shape ``(N,)`` and is ``V(s_T)``, the value of the observation after
  the last stored step.
* ``dones[t] = 1`` when the episode ended *after* step ``t`` (terminated **or** truncated);
  nothing is bootstrapped across it. A truncated episode (time limit) should still be
  bootstrapped from the value of its final observation: fold that in first with
  :func:`bootstrap_truncated`, which adds ``gamma * V(final_obs)`` to the reward.

Works on numpy arrays and on torch tensors alike (only indexing and arithmetic are used).
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["bootstrap_truncated", "discounted_returns", "gae", "nstep_returns"]

Array = Any  # a numpy array or a torch tensor; shapes as documented


def bootstrap_truncated(rewards: Array, truncated: Array, final_values: Array,
                        gamma: float) -> Array:
    """``rewards + gamma * final_values * truncated`` — the time-limit fix (Pardo et al. 2018).

    Args:
        rewards: ``(T, N)`` rewards.
        truncated: ``(T, N)`` 1 where the episode was cut by a time limit (not terminated).
        final_values: ``(T, N)`` ``V(final observation)`` where truncated (anything elsewhere).
    """
    return rewards + gamma * final_values * truncated


def gae(rewards: Array, values: Array, dones: Array, last_value: Array, gamma: float,
        lam: float) -> tuple[Array, Array]:
    """Generalized advantage estimation (Schulman et al. 2016).

    ``delta_t = r_t + gamma * V(s_{t+1}) * (1 - d_t) - V(s_t)`` and
    ``A_t = delta_t + gamma * lam * (1 - d_t) * A_{t+1}``.

    Returns:
        ``(advantages, returns)``, each ``(T, N)``, with ``returns = advantages + values``
        (the TD(lambda) value targets).
    """
    adv = rewards * 0.0
    last_adv = last_value * 0.0
    nonterminal = 1.0 - dones  # (T, N) at once: the same numbers as step by step
    trace = gamma * lam * nonterminal
    next_values = values * 0.0  # V(s_{t+1}): values shifted by one step, then V(s_T)
    next_values[:-1] = values[1:]
    next_values[-1] = last_value
    # every step's TD error at once: per element the same operations in the same order
    delta = rewards + gamma * next_values * nonterminal - values
    for t in range(len(rewards) - 1, -1, -1):
        last_adv = delta[t] + trace[t] * last_adv
        adv[t] = last_adv
    return adv, adv + values


def nstep_returns(rewards: Array, dones: Array, last_value: Array, gamma: float) -> Array:
    """Bootstrapped returns up to the end of the rollout (A3C/A2C's n-step targets).

    ``R_t = r_t + gamma * (1 - d_t) * R_{t+1}`` with ``R_T = last_value``: each step looks
    ahead to the end of the rollout (between 1 and T steps) or the end of its episode.
    Equal to :func:`gae` with ``lam = 1``.
    """
    out = rewards * 0.0
    running = last_value
    discount = gamma * (1.0 - dones)  # (T, N) at once: the same numbers as step by step
    for t in range(len(rewards) - 1, -1, -1):
        running = rewards[t] + discount[t] * running
        out[t] = running
    return out


def discounted_returns(rewards: Array, dones: Array, gamma: float) -> tuple[Array, Array]:
    """Monte Carlo returns ``G_t = sum_k gamma^k r_{t+k}`` to the end of each episode.

    Returns:
        ``(returns, complete)``: ``complete[t]`` is 1 where the episode of step ``t`` ended
        inside the rollout, so ``G_t`` is exact; 0 for the unfinished tail, whose return
        is unknown (REINFORCE drops those steps rather than guess).
    """
    out = rewards * 0.0
    complete = rewards * 0.0
    running = rewards[0] * 0.0
    seen_end = rewards[0] * 0.0
    for t in range(len(rewards) - 1, -1, -1):
        d = dones[t]
        running = rewards[t] + gamma * (1.0 - d) * running
        seen_end = np.maximum(seen_end, d) if isinstance(d, np.ndarray) else seen_end.maximum(d)
        out[t] = running
        complete[t] = seen_end
    return out, complete
