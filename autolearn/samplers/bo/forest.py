"""Random-forest surrogate for Bayesian optimisation (SMAC).

A forest of regression trees, each grown on a bootstrap sample of the observations with a
random subset of the coordinates tried at each split, predicts the objective by the mean
of its trees and its uncertainty by their spread (Hutter, Hoos & Leyton-Brown 2011). Trees
split on one coordinate at a time, so one-hot blocks, integer grids and imputed inactive
parameters need no kernel design, and fitting costs ``O(T n log n)`` instead of a GP's
``O(n^3)``.

Everything here is a pure function of arrays: ``X: (n, D)`` points of the unit cube (see
:class:`autolearn.space.UnitCubeTransform`), ``y: (n,)`` values to minimise.

References:
    Breiman (2001). Random forests. Machine Learning 45.
    Hutter, Hoos & Leyton-Brown (2011). Sequential model-based optimization for general
    algorithm configuration. LION 5.
    Hutter, Xu, Hoos & Leyton-Brown (2014). Algorithm runtime prediction: methods &
    evaluation. Artificial Intelligence 206 (the forest's variance and log costs).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from autolearn.samplers.bo._base import Posterior, Surrogate

if TYPE_CHECKING:
    from sklearn.ensemble import RandomForestRegressor

    from autolearn.samplers.bo._base import CubeSpace

__all__ = ["ForestPosterior", "RandomForestSurrogate", "log_scale_costs"]

#: Floor of the predictive variance, relative to the variance of the training targets:
#: where every tree agrees, an acquisition still needs a non-degenerate distribution.
_VAR_FLOOR = 1e-10


def log_scale_costs(y: np.ndarray, percentile: float = 5.0) -> tuple[np.ndarray, float, float]:
    """SMAC's log transform of costs: ``log((y - low) / (high - low))``.

    ``low`` lies below the minimum by the distance from the minimum to the
    ``percentile``-th percentile (plus a tiny constant), so the best observation maps to a
    finite value and a few very good points do not stretch the scale; ``high`` is the
    maximum. The transform is strictly increasing.

    Args:
        y: ``(n,)`` finite costs (to minimise).
        percentile: Percentile that sets the offset below the minimum.

    Returns:
        The transformed ``(n,)`` costs and ``(low, high)`` to map other values with
        ``log((v - low) / (high - low))``.
    """
    y = np.asarray(y, dtype=float)
    y_min, y_max = float(y.min()), float(y.max())
    low = y_min - (float(np.percentile(y, percentile)) - y_min) - 1e-10 * max(1.0, abs(y_min))
    high = y_max if y_max > low else low + 1.0
    return np.log((y - low) / (high - low)), low, high


class ForestPosterior(Posterior):
    """Predictions of a fitted forest: mean and variance across its trees (``s = 1``).

    With ``log_y`` the forest models transformed costs (see :func:`log_scale_costs`) and
    predictions are on that scale; :meth:`to_model_scale` maps observed values (e.g. the
    incumbent passed to an acquisition) onto it.
    """

    def __init__(self, forest: RandomForestRegressor, y_var: float,
                 scale: tuple[float, float] | None) -> None:
        self.forest = forest
        self._floor = _VAR_FLOOR * max(y_var, 1e-12)
        self._scale = scale

    def tree_predictions(self, X: np.ndarray) -> np.ndarray:
        """``(T, m)`` prediction of every tree at ``X: (m, D)``."""
        Xf = np.ascontiguousarray(X, dtype=np.float32)
        # Calling the trees directly skips the ensemble's thread pool, which costs more
        # than the prediction itself at the sizes a BO loop uses.
        return np.stack([t.predict(Xf, check_input=False) for t in self.forest.estimators_])

    def predict(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        preds = self.tree_predictions(np.atleast_2d(X))
        mean = preds.mean(axis=0)
        var = np.maximum(preds.var(axis=0), self._floor)
        return mean[None, :], var[None, :]

    def to_model_scale(self, y: float | np.ndarray) -> float | np.ndarray:
        """Map objective values (to minimise) onto the scale the forest predicts."""
        if self._scale is None:
            return y
        low, high = self._scale
        return np.log(np.maximum(np.asarray(y, dtype=float) - low, 1e-300) / (high - low))


@dataclass(frozen=True)
class RandomForestSurrogate(Surrogate):
    """SMAC's random forest as a :class:`~autolearn.samplers.bo.Surrogate`.

    The defaults are SMAC3's for hyperparameter optimisation: fully grown trees that try
    every coordinate at each split. SMAC's algorithm-configuration setting (runtimes of
    many instances, noisier) is ``max_features=5/6, min_samples_split=3,
    min_samples_leaf=3``; on smooth benchmark functions it was clearly worse here.

    Args:
        n_trees: Number of trees.
        max_features: Fraction of the coordinates tried at each split.
        min_samples_split: Fewest points a node needs to be split.
        min_samples_leaf: Fewest points in a leaf.
        bootstrap: Grow each tree on a bootstrap sample (the source of the spread).
        log_y: Model ``log`` of the scaled costs (:func:`log_scale_costs`), as SMAC does
            for run times and other costs spanning orders of magnitude.

    The forest is seeded from the ``rng`` passed to :meth:`fit`, so a fit is
    reproducible from that generator.

    Example:
        >>> import numpy as np
        >>> from autolearn.space import FloatDistribution, UnitCubeTransform
        >>> from autolearn.samplers.bo import CubeSpace
        >>> space = CubeSpace.build(UnitCubeTransform({"x": FloatDistribution(0, 1)}))
        >>> X = np.linspace(0, 1, 20)[:, None]
        >>> post = RandomForestSurrogate().fit(X, (X[:, 0] - 0.3) ** 2, space,
        ...                                    np.random.default_rng(0))
        >>> mean, var = post.predict(np.array([[0.3], [0.9]]))
        >>> bool(mean[0, 0] < mean[0, 1])
        True

    References:
        Hutter, Hoos & Leyton-Brown (2011). Sequential model-based optimization for
        general algorithm configuration. LION 5.
    """

    n_trees: int = 10
    max_features: float = 1.0
    min_samples_split: int = 2
    min_samples_leaf: int = 1
    bootstrap: bool = True
    log_y: bool = False

    def __post_init__(self) -> None:
        from autolearn.exceptions import ConfigError

        for name in ("n_trees", "min_samples_split", "min_samples_leaf"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int | np.integer) or v < 1:
                raise ConfigError(f"`{name}` must be an int >= 1, but got {v!r}")
        if self.min_samples_split < 2:
            raise ConfigError(
                f"`min_samples_split >= 2` must hold, but got {self.min_samples_split}")
        if not 0.0 < self.max_features <= 1.0:
            raise ConfigError(f"`0 < max_features <= 1` must hold, but got {self.max_features}")

    def fit(self, X: np.ndarray, y: np.ndarray, space: CubeSpace,
            rng: np.random.Generator) -> ForestPosterior:
        from autolearn._imports import optional_import

        RandomForestRegressor = optional_import("sklearn.ensemble").RandomForestRegressor
        y = np.asarray(y, dtype=float)
        scale = None
        if self.log_y:
            y, low, high = log_scale_costs(y)
            scale = (low, high)
        forest = RandomForestRegressor(
            n_estimators=self.n_trees,
            max_features=self.max_features,
            min_samples_split=self.min_samples_split,
            min_samples_leaf=self.min_samples_leaf,
            bootstrap=self.bootstrap,
            random_state=int(rng.integers(2**31 - 1)),
        )
        forest.fit(np.asarray(X, dtype=np.float32), y)
        return ForestPosterior(forest, float(np.var(y)), scale)
