"""Monotone output warps: fit the surrogate to a transformed objective.

A GP with a stationary kernel assumes the objective varies at one scale everywhere. Many
objectives do not: Rosenbrock's values span six orders of magnitude, and the model,
fitted to standardised values, spends its amplitude on the steep walls far from the
optimum and sees the valley floor as flat. A monotone transform of ``y`` keeps every
ordering (the incumbent, and which of two points is better) and lets the model fit the
region that matters.

:class:`MedianLogWarp` is parameter-free and invariant to shifting and scaling ``y``:
values within the lower half of the data are mapped almost linearly (so convergence near
the optimum keeps its resolution), values far above the median are compressed
logarithmically. Where the data have no long upper tail the warp is mild. Whether the
warped model explains the data better than the raw one is a comparison of marginal
likelihoods with the warp's Jacobian (as for warped GPs, Snelson et al. 2004):
:meth:`MedianLogWarp.log_jacobian`.

References:
    Snelson, Rasmussen & Ghahramani (2004). Warped Gaussian processes. NeurIPS.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["MedianLogWarp", "median_log_warp"]


@dataclass(frozen=True)
class MedianLogWarp:
    """``v -> log1p((v - lo) / scale)`` (values below ``lo`` continue linearly)."""

    lo: float
    scale: float

    def __call__(self, v: np.ndarray) -> np.ndarray:
        u = (np.asarray(v, dtype=float) - self.lo) / self.scale
        return np.where(u >= 0.0, np.log1p(np.maximum(u, 0.0)), u)

    def log_jacobian(self, v: np.ndarray) -> float:
        """``sum(log w'(v))``: add it to the warped data's log density to get the density
        of the raw values ``v``."""
        u = np.maximum((np.asarray(v, dtype=float) - self.lo) / self.scale, 0.0)
        return float(-np.sum(np.log(self.scale * (1.0 + u))))


def median_log_warp(y: np.ndarray) -> MedianLogWarp | None:
    """The warp ``v -> log1p((v - min(y)) / (median(y) - min(y)))`` fitted to ``y``.

    Args:
        y: ``(n,)`` observed values (to minimise), all finite.

    Returns:
        A monotone increasing map of arrays, or None (no warp) if ``y`` is empty or its
        median equals its minimum.

    >>> import numpy as np
    >>> w = median_log_warp(np.array([0.0, 1.0, 2.0, 1000.0]))
    >>> np.round(w(np.array([0.0, 1.5, 1000.0])), 3)
    array([0.   , 0.693, 6.504])
    """
    y = np.asarray(y, dtype=float)
    if len(y) == 0:
        return None
    lo = float(np.min(y))
    scale = float(np.median(y)) - lo
    if not scale > 1e-12 * max(1.0, abs(lo)):
        return None
    return MedianLogWarp(lo, scale)
