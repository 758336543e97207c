"""Acting-path forwards of the small MLPs in numpy, on views of the torch weights.

An acting forward of a 64x64 network on a handful of observations is a few microseconds
of arithmetic and tens of microseconds of torch dispatch per operator. The agents keep
every parameter in the flat buffer of :mod:`~autolearn.rl.common.optim`, updated in
place, so numpy arrays that share that memory stay valid across updates: evaluating the
same layers with numpy's matmul costs a fraction of the torch calls. Used only for CPU
parameters and inference (no gradients); the training forward stays in torch.

:class:`ParamViews` hands out the numpy views and rebuilds them if a parameter's storage
was replaced (``module.to``, a new optimiser flattening it again).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

__all__ = ["ParamViews", "activation_", "categorical_sample", "gaussian_log_prob",
           "log_softmax"]

_LOG_2PI = float(np.log(2.0 * np.pi))


class ParamViews:
    """Numpy arrays sharing memory with ``params`` (CPU tensors).

    Args:
        params: the tensors to view, in the order :meth:`get` returns them (kept as
            ``params``).
    """

    def __init__(self, params: Sequence[torch.Tensor]) -> None:
        self.params = list(params)
        self._ptrs: list[int] = []
        self._arrays: list[np.ndarray] = []

    def get(self) -> list[np.ndarray]:
        """The views; rebuilt when a parameter now lives in other memory."""
        ptrs = [p.data_ptr() for p in self.params]
        if ptrs != self._ptrs:
            self._arrays = [p.detach().numpy() for p in self.params]
            self._ptrs = ptrs
        return self._arrays


def activation_(h: np.ndarray, name: str) -> np.ndarray:
    """``tanh`` or ``relu`` of ``h``, in place."""
    if name == "tanh":
        return np.tanh(h, out=h)
    return np.maximum(h, 0.0, out=h)


def log_softmax(logits: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """``(B, K)`` log-probabilities (``-inf`` where ``mask`` is False), as torch computes
    ``log_softmax``: ``x - max - log(sum(exp(x - max)))``."""
    if mask is not None:
        logits = np.where(mask, logits, -np.inf)
    z = logits - logits.max(axis=-1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


def categorical_sample(log_probs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``(B,)`` int64 draws from ``(B, K)`` log-probabilities by inverse CDF: one uniform
    per row, the first index whose cumulative probability exceeds it (zero-probability
    choices are never drawn)."""
    cdf = np.exp(log_probs, dtype=np.float64)  # exp of the float64 values: as astype first
    np.add.accumulate(cdf, axis=-1, out=cdf)  # cumsum's ufunc
    total = cdf[:, -1:]
    u = rng.random((cdf.shape[0], 1))
    u *= total
    idx = np.add.reduce(np.less_equal(cdf, u), axis=-1, dtype=np.int64)
    k = cdf.shape[-1]
    if np.maximum.reduce(idx) >= k:  # u rounded up to the total: the last choice with p > 0
        idx = np.where(idx >= k, (cdf >= total).argmax(axis=-1), idx)
    return idx


def gaussian_log_prob(mean: np.ndarray, log_std: np.ndarray, actions: np.ndarray
                      ) -> np.ndarray:
    """``(B,)`` log-density of independent Gaussians summed over the last axis."""
    z = (actions - mean) * np.exp(-log_std)
    return (-0.5 * z * z - log_std - 0.5 * _LOG_2PI).sum(axis=-1)
