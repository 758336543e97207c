"""SMAC's acquisition maximiser: local search in the one-exchange neighbourhood.

An acquisition computed from a random forest is piecewise constant, so gradients are of
no use; SMAC instead climbs from good configurations by changing one parameter at a time
and keeps a batch of random configurations besides (Hutter, Hoos & Leyton-Brown 2011,
section 4.3). A neighbour of a point changes exactly one parameter:

- a continuous float moves by a Gaussian step (``sigma`` of the unit cube, clipped);
- an int or stepped float moves to another level near the current one: a Gaussian step
  of ``sigma`` times the number of levels, at least one level (so short ranges and log
  scales move by ±1 and long ranges move as far as a float would, as ConfigSpace does);
- a categorical switches to another category, uniformly.

Works on any :class:`~autolearn.samplers.bo.CubeSpace`; vectorised over all walks, so
each step makes one call of the acquisition.

References:
    Hutter, Hoos & Leyton-Brown (2011). Sequential model-based optimization for general
    algorithm configuration. LION 5.
    Lindauer et al. (2022). SMAC3: a versatile Bayesian optimization package for
    hyperparameter optimization. JMLR 23(54).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

import numpy as np

from autolearn.samplers.bo._base import CubeSpace
from autolearn.space import BaseDistribution, IntDistribution, UnitCubeTransform

__all__ = ["LocalSearch", "one_exchange_neighbours", "random_points"]


class _Params(NamedTuple):
    """A cube's parameters: per parameter its kind and where it lives."""

    kind: np.ndarray   # (P,) 0 continuous, 1 discrete, 2 categorical
    coord: np.ndarray  # (P,) first coordinate
    size: np.ndarray   # (P,) levels (discrete) or categories (categorical), else 0


def _params(space: CubeSpace) -> _Params:
    rows: list[tuple[int, int, int]] = []
    rows += [(0, int(j), 0) for j in np.flatnonzero(space.continuous)]
    rows += [(1, int(j), int(space.discrete_levels[j]))
             for j in np.flatnonzero(space.discrete_levels > 1)]
    rows += [(2, int(g[0]), len(g)) for g in space.onehot_groups if len(g) > 1]
    table = np.asarray(rows, dtype=int).reshape(-1, 3)
    return _Params(table[:, 0], table[:, 1], table[:, 2])


_MAX_LISTED_LEVELS = 4096


@lru_cache(maxsize=256)
def _levels_of(dist: BaseDistribution) -> np.ndarray | None:
    """Sorted cube encodings of every value of a stepped distribution (None if too many)."""
    n = int(round((dist.high - dist.low) / dist.step)) + 1  # type: ignore[attr-defined]
    if n > _MAX_LISTED_LEVELS:
        return None
    transform = UnitCubeTransform({"v": dist})
    values = dist.low + dist.step * np.arange(n)  # type: ignore[attr-defined]
    if isinstance(dist, IntDistribution):
        values = values.astype(int)
    encoded = np.array([transform.encode({"v": v})[0] for v in values.tolist()])
    return np.sort(transform.snap(encoded[:, None])[:, 0])


def _level_grids(space: CubeSpace) -> dict[int, np.ndarray | None]:
    """Per discrete coordinate, the encodings of its levels (see :func:`_levels_of`)."""
    t = space.transform
    return {t.slices[name].start: _levels_of(dist) for name, dist in t.space.items()
            if space.discrete_levels[t.slices[name].start] > 1}


def random_points(space: CubeSpace, n: int, rng: np.random.Generator) -> np.ndarray:
    """``(n, D)`` valid points drawn uniformly on the cube (uniform categories)."""
    return space.round(rng.random((n, space.dim)))


def one_exchange_neighbours(X: np.ndarray, space: CubeSpace, n_per_point: int,
                            rng: np.random.Generator, *, sigma: float = 0.2) -> np.ndarray:
    """``(m * n_per_point, D)`` neighbours of the valid points ``X: (m, D)``.

    Rows ``i * n_per_point ... (i + 1) * n_per_point - 1`` are neighbours of ``X[i]``;
    each changes one parameter drawn uniformly (see the module docstring). Returned
    points are valid (rounded). With no parameter to change, returns copies of ``X``.
    """
    params = _params(space)
    N = np.repeat(np.asarray(X, dtype=float), n_per_point, axis=0)
    if len(params.kind) == 0 or len(N) == 0:
        return N
    rows = np.arange(len(N))
    which = rng.integers(len(params.kind), size=len(N))
    kind, coord, size = params.kind[which], params.coord[which], params.size[which]

    cont = kind == 0
    r, c = rows[cont], coord[cont]
    N[r, c] = np.clip(N[r, c] + sigma * rng.standard_normal(len(r)), 0.0, 1.0)

    disc = kind == 1
    r, c = rows[disc], coord[disc]
    if len(r):
        grids = _level_grids(space)
        for j in np.unique(c):
            rj = r[c == j]
            grid = grids[j]
            L = len(grid) if grid is not None else int(space.discrete_levels[j])
            if grid is None:  # too many levels to list: a Gaussian step on the cube
                N[rj, j] = np.clip(N[rj, j] + sigma * rng.standard_normal(len(rj)), 0, 1)
                N[rj] = space.round(N[rj])
                continue
            k = np.clip(np.searchsorted(grid, N[rj, j] - 1e-9), 0, L - 1)
            move = np.rint(sigma * L * rng.standard_normal(len(rj))).astype(int)
            move = np.where(move == 0, rng.choice([-1, 1], size=len(rj)), move)
            # Reflect off the ends so the level always changes.
            new = k + move
            new = np.where((new < 0) | (new >= L), k - move, new)
            N[rj, j] = grid[np.clip(new, 0, L - 1)]

    cat = kind == 2
    r, c, K = rows[cat], coord[cat], size[cat]
    if len(r):
        block = np.arange(K.max())[None, :] < K[:, None]
        cols = c[:, None] + np.arange(K.max())[None, :]
        current = np.argmax(np.where(block, N[r[:, None], np.minimum(cols, space.dim - 1)],
                                     -1.0), axis=1)
        new = (current + rng.integers(1, K)) % K
        for k in range(int(K.max())):
            sel = block[:, k]
            N[r[sel], c[sel] + k] = 0.0
        N[r, c + new] = 1.0
    return N


@dataclass(frozen=True)
class LocalSearch:
    """SMAC's maximiser: local searches plus random configurations.

    Calling it scores ``n_random`` random points, starts ``n_local_starts`` walks from the
    observed points with the highest acquisition and ``n_random_starts`` from the best
    random points, and lets each walk move to its best of ``n_neighbours`` one-exchange
    neighbours while that is at least as good (sideways moves on the acquisition's
    plateaus are allowed, at most ``plateau_steps`` in a row). It returns the best point
    scored, ties broken at random.

    Args:
        n_local_starts: Walks started from the best observed points.
        n_random_starts: Walks started from the best random points.
        n_random: Random points scored.
        n_neighbours: Neighbours scored per walk and step.
        max_steps: Steps per walk at most.
        plateau_steps: Sideways (equal-score) steps in a row before a walk stops.
        sigma: Standard deviation of a continuous step, in units of the cube.

    The result is reproducible from the ``rng`` passed in.

    Example:
        >>> import numpy as np
        >>> from autolearn.space import FloatDistribution, UnitCubeTransform
        >>> from autolearn.samplers.bo import CubeSpace
        >>> space = CubeSpace.build(UnitCubeTransform({"x": FloatDistribution(0, 1)}))
        >>> x = LocalSearch()(lambda X: -(X[:, 0] - 0.7) ** 2, space,
        ...                   np.zeros((0, 1)), np.random.default_rng(0))
        >>> bool(abs(x[0] - 0.7) < 0.01)
        True

    References:
        Hutter, Hoos & Leyton-Brown (2011). Sequential model-based optimization for
        general algorithm configuration. LION 5.
    """

    n_local_starts: int = 10
    n_random_starts: int = 5
    n_random: int = 500
    n_neighbours: int = 16
    max_steps: int = 40
    plateau_steps: int = 5
    sigma: float = 0.2

    def __post_init__(self) -> None:
        from autolearn.exceptions import ConfigError

        for name in ("n_local_starts", "n_random_starts", "n_random", "max_steps",
                     "plateau_steps"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int | np.integer) or v < 0:
                raise ConfigError(f"`{name}` must be an int >= 0, but got {v!r}")
        if self.n_neighbours < 1:
            raise ConfigError(f"`n_neighbours >= 1` must hold, but got {self.n_neighbours}")
        if self.n_random + self.n_local_starts + self.n_random_starts < 1:
            raise ConfigError("at least one of `n_random`, `n_local_starts`, "
                              "`n_random_starts` must be positive, but all are 0")
        if not self.sigma > 0:
            raise ConfigError(f"`sigma > 0` must hold, but got {self.sigma}")

    def __call__(self, score: Callable[[np.ndarray], np.ndarray], space: CubeSpace,
                 X_observed: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        seen_X: list[np.ndarray] = []
        seen_s: list[np.ndarray] = []

        def evaluate(X: np.ndarray) -> np.ndarray:
            s = np.asarray(score(X), dtype=float)
            s = np.where(np.isfinite(s), s, -np.inf)
            seen_X.append(X)
            seen_s.append(s)
            return s

        n_rand = max(self.n_random, self.n_random_starts)
        if len(X_observed) == 0:
            n_rand = max(n_rand, self.n_local_starts + self.n_random_starts, 1)
        R = random_points(space, n_rand, rng)
        s_R = evaluate(R) if len(R) else np.zeros(0)
        starts = [R[np.argsort(-s_R, kind="stable")[: self.n_random_starts]]]
        if len(X_observed) and self.n_local_starts:
            obs = np.unique(space.round(X_observed), axis=0)
            s_obs = evaluate(obs)
            starts.append(obs[np.argsort(-s_obs, kind="stable")[: self.n_local_starts]])
        cur = np.vstack(starts)
        cur_s = score(cur) if len(cur) else np.zeros(0)
        plateau = np.zeros(len(cur), dtype=int)
        for _ in range(self.max_steps):
            if not len(cur):
                break
            nb = one_exchange_neighbours(cur, space, self.n_neighbours, rng, sigma=self.sigma)
            s_nb = evaluate(nb).reshape(len(cur), self.n_neighbours)
            best = np.argmax(s_nb, axis=1)
            best_s = s_nb[np.arange(len(cur)), best]
            better = best_s > cur_s
            sideways = best_s == cur_s
            plateau = np.where(better, 0, plateau + 1)
            move = better | sideways
            idx = np.arange(len(cur)) * self.n_neighbours + best
            cur = np.where(move[:, None], nb[idx], cur)
            cur_s = np.where(move, best_s, cur_s)
            alive = move & (plateau < self.plateau_steps)
            cur, cur_s, plateau = cur[alive], cur_s[alive], plateau[alive]

        X_all = np.vstack(seen_X)
        s_all = np.concatenate(seen_s)
        top = s_all.max()
        ties = np.flatnonzero(s_all >= top - 1e-12 * max(1.0, abs(top)))
        return X_all[ties[rng.integers(len(ties))]]
