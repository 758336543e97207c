"""Pieces of a Bayesian-optimisation loop: surrogate, posterior, acquisition, maximiser.

All work on points of the unit cube ``[0, 1]^D`` (see
:class:`autolearn.space.UnitCubeTransform`) and on objective values ``y`` to be
*minimised* (the loop flips the sign for maximisation). They never see a Study.
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from autolearn.space import UnitCubeTransform

__all__ = ["Acquisition", "CubeSpace", "Maximizer", "Posterior", "Surrogate"]


@dataclass(frozen=True)
class CubeSpace:
    """What a maximiser needs to know about the cube's coordinates.

    Attributes:
        transform: Encoder/decoder between parameter dicts and points.
        continuous: ``(D,)`` True for coordinates of continuous floats.
        discrete_levels: ``(D,)`` number of distinct values of an int / stepped float
            coordinate (0 for continuous and categorical coordinates).
        onehot_groups: Index arrays, one per categorical parameter (its one-hot block).
    """

    transform: UnitCubeTransform
    continuous: np.ndarray
    discrete_levels: np.ndarray
    onehot_groups: tuple[np.ndarray, ...]

    @property
    def dim(self) -> int:
        return self.transform.dim

    def round(self, X: np.ndarray) -> np.ndarray:
        """Snap ``(m, D)`` points onto valid encodings (see ``UnitCubeTransform.snap``)."""
        return self.transform.snap(X)

    def shift_levels(self, X: np.ndarray, j: int, delta: int) -> np.ndarray:
        """Move int / stepped-float coordinate ``j`` of ``(m, D)`` valid points by ``delta``
        levels (clipped to the first and last level); other coordinates are kept.

        Levels of a ``log`` int are not evenly spaced on the cube, so this is the way for
        a local search to reach a point's neighbours.
        """
        from autolearn.space import FloatDistribution, IntDistribution

        name = next(k for k, sl in self.transform.slices.items() if sl.start == j)
        dist = self.transform.space[name]
        assert isinstance(dist, FloatDistribution | IntDistribution) and dist.step is not None
        lo, hi = self.transform._bounds(dist)
        X = np.array(X, dtype=float, ndmin=2)
        v = lo + X[:, j] * (hi - lo)
        if dist.log:
            v = np.exp(v)
        k = np.round((v - dist.low) / dist.step) + delta
        v = dist.low + np.clip(k, 0, self.discrete_levels[j] - 1) * dist.step
        if dist.log:
            v = np.log(v)
        X[:, j] = (v - lo) / (hi - lo)
        return X

    @classmethod
    def build(cls, transform: UnitCubeTransform) -> CubeSpace:
        """Describe the coordinates of ``transform``."""
        from autolearn.space import CategoricalDistribution, FloatDistribution

        d = transform.dim
        continuous = np.zeros(d, dtype=bool)
        levels = np.zeros(d, dtype=int)
        groups = []
        for name, dist in transform.space.items():
            sl = transform.slices[name]
            if isinstance(dist, CategoricalDistribution):
                groups.append(np.arange(sl.start, sl.stop))
            elif isinstance(dist, FloatDistribution) and dist.step is None:
                continuous[sl.start] = True
            else:
                levels[sl.start] = int(round((dist.high - dist.low) / dist.step)) + 1  # type: ignore
        return cls(transform, continuous, levels, tuple(groups))


class Posterior(abc.ABC):
    """A fitted surrogate: predictive distribution of y at new points."""

    @abc.abstractmethod
    def predict(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mean and variance at ``X: (m, D)``, each of shape ``(s, m)``.

        ``s`` is the number of posterior samples of the surrogate's hyperparameters
        (1 for a point estimate); acquisitions average over them.
        """

    def log_evidence(self) -> float:
        """``log p(y | X)`` of the training values in their original units, for models
        that have a likelihood (used to choose an output warp); others raise."""
        raise NotImplementedError(f"{type(self).__name__} has no marginal likelihood, so "
                                  "it cannot choose an output warp; use warp_select=False")


class Surrogate(abc.ABC):
    """Fits a model of ``y`` (to minimise) given ``X``."""

    @abc.abstractmethod
    def fit(self, X: np.ndarray, y: np.ndarray, space: CubeSpace,
            rng: np.random.Generator) -> Posterior:
        """Fit on ``X: (n, D)``, ``y: (n,)``; ``n >= 1`` and all ``y`` finite."""


#: ``acquisition(posterior, X (m, D), y_best) -> (m,)`` scores, higher is better.
Acquisition = Callable[[Posterior, np.ndarray, float], np.ndarray]

#: ``maximizer(score, space, X_observed, rng) -> (D,)`` the best point found, where
#: ``score(X (m, D)) -> (m,)`` is the acquisition at valid (rounded) points and
#: ``X_observed: (n, D)`` are the points of the history, best observed value first.
Maximizer = Callable[[Callable[[np.ndarray], np.ndarray], CubeSpace, np.ndarray,
                      np.random.Generator], np.ndarray]
