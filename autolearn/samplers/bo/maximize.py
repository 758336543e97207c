"""Maximising an acquisition function over a mixed unit cube.

:class:`AcquisitionMaximizer` is a :data:`~autolearn.samplers.bo.Maximizer`:

1. score a scrambled Sobol sample of the cube and perturbations of the best observed
   points (the loop passes ``X_observed`` best first), all snapped to valid encodings;
2. refine the best few with L-BFGS-B on the continuous coordinates, the int, stepped and
   categorical ones held fixed (all starts in one L-BFGS-B run, gradients by forward
   differences: one score call of ``starts * (k + 1)`` points per step for ``k``
   continuous coordinates);
3. hill-climb on the discrete coordinates: every int / stepped coordinate one level up
   or down, every categorical switched to each other choice; the best improving move is
   taken until none improves, then the continuous coordinates are refined once more.

It returns the best valid point it scored.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import scipy.optimize
from scipy.stats import qmc

from autolearn.samplers.bo._base import CubeSpace

__all__ = ["AcquisitionMaximizer"]

Score = Callable[[np.ndarray], np.ndarray]


def _safe(values: np.ndarray) -> np.ndarray:
    return np.where(np.isnan(values), -np.inf, values)


def _refine_continuous(score: Score, X0: np.ndarray, cont: np.ndarray, max_iter: int,
                       step: float = 1e-6) -> tuple[np.ndarray, np.ndarray]:
    """L-BFGS-B on the coordinates ``cont`` of the rows of ``X0: (B, D)``, all at once.

    The rows are independent, so maximising the sum of their scores maximises each one
    (as BoTorch does); one score call of ``B (k + 1)`` points per step gives all values
    and forward-difference gradients. Returns the points and their scores.
    """
    B, k = len(X0), cont.size
    base = np.repeat(X0, k + 1, axis=0)  # row b*(k+1) is start b, then its k shifts
    shift_rows = (np.arange(B)[:, None] * (k + 1) + 1 + np.arange(k)[None, :]).ravel()
    shift_cols = np.tile(cont, B)

    def evaluate(z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        Z = z.reshape(B, k)
        P = base.copy()
        P[:, cont] = np.repeat(Z, k + 1, axis=0)
        h = np.where(Z + step <= 1.0, step, -step)
        P[shift_rows, shift_cols] += h.ravel()
        v = _safe(score(P)).reshape(B, k + 1)
        g = np.where(np.isfinite(v[:, 1:]), (v[:, 1:] - v[:, :1]) / h, 0.0)
        return v[:, 0], g

    def negative(z: np.ndarray) -> tuple[float, np.ndarray]:
        v, g = evaluate(z)
        finite = np.isfinite(v)
        return -float(np.sum(v[finite])) + 1e10 * float(np.sum(~finite)), -g.ravel()

    res = scipy.optimize.minimize(negative, X0[:, cont].ravel(), jac=True, method="L-BFGS-B",
                                  bounds=[(0.0, 1.0)] * (B * k),
                                  options={"maxiter": max_iter, "maxfun": 2 * max_iter})
    X = X0.copy()
    X[:, cont] = np.clip(res.x, 0.0, 1.0).reshape(B, k)
    return X, evaluate(X[:, cont].ravel())[0]


def _neighbours(space: CubeSpace, x: np.ndarray) -> np.ndarray:
    """``(q, D)`` valid points one discrete move away from valid ``x: (D,)``."""
    out = []
    for j in np.flatnonzero(space.discrete_levels > 1):
        for delta in (-1, 1):
            y = space.shift_levels(x[None, :], int(j), delta)
            if y[0, j] != x[j]:
                out.append(y[0])
    for group in space.onehot_groups:
        for c in group:
            if x[c] != 1.0:
                y = x.copy()
                y[group] = 0.0
                y[c] = 1.0
                out.append(y)
    return np.stack(out) if out else np.zeros((0, x.size))


class AcquisitionMaximizer:
    """Candidates, then gradient refinement and a discrete local search (see module doc).

    Args:
        n_candidates: Scrambled Sobol points scored (rounded up to a power of 2).
        n_local: Perturbations scored around each of the ``n_centres`` best observed
            points.
        n_centres: Observed points to perturb.
        n_starts: Best candidates refined by L-BFGS-B and local search.
        max_iter: L-BFGS-B iterations (all starts move together: each iteration is one
            score call of ``n_starts * (k + 1)`` points).
        max_moves: Discrete hill-climbing steps per start.

    The work is bounded by these numbers: about ``n_candidates + n_centres * n_local``
    points scored in one call, at most ``2 * max_iter`` calls of ``n_starts * (k + 1)``
    points, plus ``max_moves`` discrete neighbourhoods per start.
    """

    def __init__(self, *, n_candidates: int = 1024, n_local: int = 64, n_centres: int = 5,
                 n_starts: int = 5, max_iter: int = 50, max_moves: int = 10) -> None:
        from autolearn.exceptions import ConfigError

        for name, value in (("n_candidates", n_candidates), ("n_starts", n_starts),
                            ("max_iter", max_iter)):
            if value < 1:
                raise ConfigError(f"`{name} >= 1` must hold, but got {name}={value}")
        for name, value in (("n_local", n_local), ("n_centres", n_centres),
                            ("max_moves", max_moves)):
            if value < 0:
                raise ConfigError(f"`{name} >= 0` must hold, but got {name}={value}")
        self.n_candidates = n_candidates
        self.n_local = n_local
        self.n_centres = n_centres
        self.n_starts = n_starts
        self.max_iter = max_iter
        self.max_moves = max_moves

    def candidates(self, space: CubeSpace, X_observed: np.ndarray,
                   rng: np.random.Generator) -> np.ndarray:
        """``(m, D)`` valid points: Sobol plus perturbations of the best observed points."""
        d = space.dim
        m = max(1, int(np.ceil(np.log2(self.n_candidates))))
        parts = [qmc.Sobol(d, scramble=True, seed=rng).random_base2(m)]
        centres = X_observed[: self.n_centres]
        if len(centres) and self.n_local:
            local = np.repeat(centres, self.n_local, axis=0)
            # Half of the perturbations are small (refining), half large (nearby basins).
            scale = np.where(rng.random(len(local)) < 0.5, 0.02, 0.15)[:, None]
            local = local + scale * rng.standard_normal(local.shape)
            for group in space.onehot_groups:
                switch = rng.random(len(local)) < 0.25
                if switch.any():
                    pick = group[rng.integers(len(group), size=int(switch.sum()))]
                    local[np.ix_(np.flatnonzero(switch), group)] = 0.0
                    local[np.flatnonzero(switch), pick] = 1.0
            parts.append(local)
        return space.round(np.vstack(parts))

    def __call__(self, score: Score, space: CubeSpace, X_observed: np.ndarray,
                 rng: np.random.Generator) -> np.ndarray:
        X = self.candidates(space, np.asarray(X_observed, dtype=float), rng)
        values = _safe(score(X))
        order = np.argsort(-values, kind="stable")
        # Refine the best Sobol points as well as the best local ones: local perturbations
        # of the incumbent would otherwise take every start and the search stop exploring.
        n_global = 2 ** max(1, int(np.ceil(np.log2(self.n_candidates))))
        n_local_starts = min(self.n_starts // 2, len(X) - n_global)
        glob = order[order < n_global]
        loc = order[order >= n_global]
        picks = np.r_[loc[:n_local_starts], glob]
        _, first = np.unique(X[picks], axis=0, return_index=True)
        starts = picks[np.sort(first)][: self.n_starts]
        S, v = X[starts], values[starts]
        cont = np.flatnonzero(space.continuous)
        if cont.size:
            S, v = self._keep_better(S, v, *_refine_continuous(score, S, cont, self.max_iter))
        moved = np.zeros(len(S), dtype=bool)
        for b in range(len(S)):
            for _ in range(self.max_moves):
                nb = _neighbours(space, S[b])
                if not len(nb):
                    break
                nv = _safe(score(nb))
                i = int(np.argmax(nv))
                if not nv[i] > v[b]:
                    break
                S[b], v[b], moved[b] = nb[i], nv[i], True
        if moved.any() and cont.size:
            S[moved], v[moved] = self._keep_better(
                S[moved], v[moved], *_refine_continuous(score, S[moved], cont, self.max_iter))
        i = int(np.argmax(v))
        best = S[i] if v[i] > values[order[0]] else X[order[0]]
        return space.round(best[None, :])[0]

    @staticmethod
    def _keep_better(X: np.ndarray, v: np.ndarray, X2: np.ndarray, v2: np.ndarray
                     ) -> tuple[np.ndarray, np.ndarray]:
        better = v2 > v
        return np.where(better[:, None], X2, X), np.where(better, v2, v)
