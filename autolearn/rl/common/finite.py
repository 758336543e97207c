"""Refuse NaN and infinite values before they reach what training builds.

One NaN reward or observation from an environment used to spread silently: through the
returns into the gradient, and from there into every parameter, the optimiser's running
statistics, the normalisation statistics or the replay buffer, while ``learn`` went on
training a network of NaNs. The agents and wrappers check instead, and raise
:class:`~autolearn.exceptions.NonFiniteError` before such values are used:

* the normalisation wrappers check each vector step before folding it into their running
  statistics (which stay unchanged);
* the on-policy collectors (A2C, PPO, A3C, REINFORCE) and asynchronous Q-learning check a
  rollout's observations and rewards before any update reads them; DQN checks each
  transition before it enters the replay buffer;
* every agent checks the gradient's norm before applying an update, so a diverging update
  (e.g. a learning rate too high) is refused and the parameters stay those of the last
  finite update.

The common case costs one sum per array (a non-finite element makes the sum non-finite;
only then is each element tested, so a sum that merely overflows raises nothing). Image
observations (uint8 pixels) are never NaN and are not checked. The generic pieces
(:func:`all_finite`, :func:`clipped_norm`) live in :mod:`autolearn._finite`, shared with
meta-learning; this module adds the environment-facing checks and messages.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from autolearn._finite import all_finite, clipped_norm, refuse_non_finite_gradient
from autolearn.exceptions import NonFiniteError

__all__ = ["all_finite", "check_env_values", "check_gradient", "clipped_norm", "env_values_error"]

#: How to go on after an environment produced a non-finite value.
ENV_FIX = ("Fix the environment (or wrap it to replace or clip such values); to continue "
           "training, save the agent (agent.save(path)) and load it with the fixed env "
           "(Agent.load(path, env=...)).")


def _places(x: Any, axes: tuple[str, ...]) -> str:
    """Where ``x`` holds non-finite values, by its leading ``axes`` (at most 5 named)."""
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    bad = np.atleast_1d(~np.isfinite(np.asarray(x, np.float64)))
    lead = len(axes)
    if bad.ndim > lead:
        bad = np.any(bad.reshape(*bad.shape[:lead], -1), axis=-1)
    idx = np.argwhere(bad)
    if lead == 1:
        names = [f"{int(i[0])}" for i in idx[:5]]
        where = f"{axes[0]} {', '.join(names)}"
    else:
        where = "; ".join(", ".join(f"{a} {int(v)}" for a, v in zip(axes, i, strict=True))
                          for i in idx[:5])
    return where + (f" and {len(idx) - 5} more" if len(idx) > 5 else "")


def env_values_error(owner: str, what: str, x: Any, *, axes: tuple[str, ...],
                     unchanged: str) -> NonFiniteError:
    """The error for an environment's non-finite ``what`` (e.g. ``"rewards"``) in ``x``,
    whose leading ``axes`` (e.g. ``("rollout step", "sub-env")``) locate them."""
    return NonFiniteError(
        f"{owner}: the environment returned {what} that are not finite (NaN or inf), at "
        f"{_places(x, axes)}; {unchanged}. {ENV_FIX}")


def check_env_values(owner: str, unchanged: str, axes: tuple[str, ...],
                     **arrays: Any) -> None:
    """Raise :func:`env_values_error` for the first of ``arrays`` (name -> array, e.g.
    ``rewards=...``; ``None`` skipped) holding a non-finite value."""
    for what, x in arrays.items():
        if x is not None and not all_finite(x):
            raise env_values_error(owner, what.replace("_", " "), x, axes=axes,
                                   unchanged=unchanged)


def check_gradient(norm: float, owner: str, timesteps: int) -> None:
    """Raise :class:`~autolearn.exceptions.NonFiniteError` if a gradient's norm (computed
    before clipping) is not finite: the update must not be applied."""
    refuse_non_finite_gradient(
        norm, owner, f"{timesteps} env steps", "Training diverged: lower `learning_rate`, "
        "set `max_grad_norm`, or scale the rewards down (NormalizeReward)")
