"""Finite-value checks shared by the torch-based trainers (RL agents, meta-learning).

A NaN or infinite gradient applied once turns every parameter (and Adam's or RMSProp's
running statistics) into NaN for good, while training goes on. The trainers measure the
gradient's norm before each optimiser step (:func:`clipped_norm`, which clips as well where
asked) and refuse a non-finite one (:func:`refuse_non_finite_gradient`) with
:class:`~autolearn.exceptions.NonFiniteError`, leaving the parameters as they were.
Needs torch: import it only from modules that do.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from autolearn.exceptions import NonFiniteError

__all__ = ["all_finite", "clipped_norm", "refuse_non_finite_gradient"]


def all_finite(x: Any) -> bool:
    """Whether every element of ``x`` (a numpy array or a tensor) is finite; integer and
    boolean arrays always are. One sum in the common case (a NaN or inf makes the sum
    non-finite); each element is tested only when the sum is not finite, since a sum of
    finite values may overflow."""
    if isinstance(x, torch.Tensor):
        if not x.is_floating_point():
            return True
        if x.device.type != "cpu":
            return bool(torch.isfinite(x).all())
        x = x.detach().numpy()
    if x.dtype.kind != "f":
        return True
    if math.isfinite(float(np.add.reduce(x, axis=None, dtype=np.float64))):
        return True
    return bool(np.isfinite(x).all())


def clipped_norm(params: Any, max_norm: float | None) -> float:
    """The global norm of ``params``' gradients before clipping, clipping them to ``max_norm``
    (``torch.nn.utils.clip_grad_norm_``) where it is not None."""
    params = list(params)
    if max_norm is not None:
        return float(torch.nn.utils.clip_grad_norm_(params, max_norm))
    grads = [p.grad for p in params if p.grad is not None]
    return float(torch.nn.utils.get_total_norm(grads)) if grads else 0.0


def refuse_non_finite_gradient(norm: float, owner: str, after: str, advice: str) -> None:
    """Raise :class:`~autolearn.exceptions.NonFiniteError` if a gradient's norm (before
    clipping) is not finite: the update must not be applied. ``after`` says when (e.g.
    ``"120 env steps"``), ``advice`` what to change."""
    if not math.isfinite(norm):
        raise NonFiniteError(
            f"{owner}: an update produced a non-finite gradient (norm {norm}) after {after}; "
            "it was not applied, so the parameters and the optimiser state are those of the "
            f"last finite update. {advice}")
