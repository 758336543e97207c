"""Parzen estimators for TPE: pure functions over arrays (they never see a Study).

A parameter is modelled on one real coordinate (``ParamSpec``): floats and ints on their
own scale or in log space, categoricals as choice indices. A :class:`ParzenEstimator` is a
weighted mixture with one component per observation plus a broad *prior* component; each
component is a product kernel over the coordinates, so a multivariate estimator draws
the component once and every coordinate from that component (Falkner et al. 2018), and a
univariate one is the same object with one coordinate.

Kernels per kind of coordinate:

* continuous float: a Gaussian truncated to ``[low, high]`` (renormalised there);
* int / stepped float: the truncated Gaussian's mass over the value's bin
  ``[v - step/2, v + step/2]`` (for log ints the bin ``[log(v - 1/2), log(v + 1/2)]``),
  so sampling is "draw continuous, round to the grid" and the pmf sums to one;
* categorical: Optuna's Aitchison-Aitken-style row ``onehot(c) + prior_weight / K``,
  normalised (mass on the observed choice, the rest spread evenly).

The TPE pieces are small functions: :func:`default_gamma` / :func:`hyperopt_gamma` (size
of the good set), :func:`default_weights` (Optuna's old-trial ramp),
:func:`fit_parzen` (the surrogate), :func:`log_density_ratio` (the acquisition
``log l(x) - log g(x)``) and :func:`propose` (the maximiser: draw candidates from ``l``,
keep the best). The normal CDF and its inverse are implemented in numpy (no SciPy).

References:
    Bergstra, Bardenet, Bengio & Kégl (2011). Algorithms for hyper-parameter
    optimization. NeurIPS.
    Falkner, Klein & Hutter (2018). BOHB: robust and efficient hyperparameter
    optimization at scale. ICML.
    Watanabe (2023). Tree-structured Parzen estimator: understanding its algorithm
    components and their roles for better empirical performance. arXiv:2304.11127.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from autolearn._rng import as_generator
from autolearn.space import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)
from autolearn.space._distributions import _round_step

__all__ = [
    "CATEGORICAL",
    "CONTINUOUS",
    "DISCRETE",
    "ParamSpec",
    "ParzenEstimator",
    "default_gamma",
    "default_weights",
    "fit_parzen",
    "hyperopt_gamma",
    "log_density_ratio",
    "propose",
]

CONTINUOUS, DISCRETE, CATEGORICAL = 0, 1, 2

Bandwidth = Literal["scott", "neighbor"]

_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)
_LOG_HALF = math.log(0.5)
_SQRT_HALF = math.sqrt(0.5)


# --- the standard normal, in numpy ------------------------------------------------------
def _log_erfc_pos(x: np.ndarray) -> np.ndarray:
    """``log(erfc(x))`` for ``x >= 0``, relative error of erfc below 1.2e-7 (no underflow).

    Numerical Recipes' Chebyshev fit ``erfc(x) = t exp(-x^2 + P(t))``, ``t = 1/(1 + x/2)``,
    evaluated in log space so far tails stay finite.
    """
    t = 1.0 / (1.0 + 0.5 * x)
    p = -1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (
        -0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (
            -0.82215223 + t * 0.17087277))))))))
    return np.log(t) - x * x + p


def _erfc_pos(x: np.ndarray) -> np.ndarray:
    """``erfc(x)`` for ``x >= 0`` (same fit as :func:`_log_erfc_pos`, one exp)."""
    t = 1.0 / (1.0 + 0.5 * x)
    p = -1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (
        -0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (
            -0.82215223 + t * 0.17087277))))))))
    return t * np.exp(p - x * x)


def log_ndtr(z: np.ndarray) -> np.ndarray:
    """``log Phi(z)``, elementwise, accurate in both tails."""
    z = np.asarray(z, dtype=float)
    le = _log_erfc_pos(np.abs(z) * _SQRT_HALF) + _LOG_HALF  # log of the smaller tail
    return np.where(z < 0, le, np.log1p(-np.exp(le)))


def ndtr(z: np.ndarray) -> np.ndarray:
    """``Phi(z)``, elementwise."""
    z = np.asarray(z, dtype=float)
    tail = 0.5 * np.exp(_log_erfc_pos(np.abs(z) * _SQRT_HALF))
    return np.where(z < 0, tail, 1.0 - tail)


_A = (-3.969683028665376e01, 2.209460984245205e02, -2.759285104469687e02,
      1.383577518672690e02, -3.066479806614716e01, 2.506628277459239e00)
_B = (-5.447609879822406e01, 1.615858368580409e02, -1.556989798598866e02,
      6.680131188771972e01, -1.328068155288572e01)
_C = (-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e00,
      -2.549732539343734e00, 4.374664141464968e00, 2.938163982698783e00)
_D = (7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e00,
      3.754408661907416e00)


def ndtri(p: np.ndarray) -> np.ndarray:
    """Inverse of ``Phi`` on ``(0, 1)`` (Acklam's rational fit, relative error < 1.2e-9)."""
    p = np.clip(np.asarray(p, dtype=float), 1e-300, 1.0 - 1e-16)
    q = np.minimum(p, 1.0 - p)  # the tail the value lies in
    # central region
    r = p - 0.5
    s = r * r
    central = (((((_A[0] * s + _A[1]) * s + _A[2]) * s + _A[3]) * s + _A[4]) * s + _A[5]) * r / (
        ((((_B[0] * s + _B[1]) * s + _B[2]) * s + _B[3]) * s + _B[4]) * s + 1.0)
    # tails, computed for the lower tail and mirrored
    u = np.sqrt(-2.0 * np.log(q))
    tail = (((((_C[0] * u + _C[1]) * u + _C[2]) * u + _C[3]) * u + _C[4]) * u + _C[5]) / (
        (((_D[0] * u + _D[1]) * u + _D[2]) * u + _D[3]) * u + 1.0)
    tail = np.where(p < 0.5, tail, -tail)
    return np.where(q < 0.02425, tail, central)


def _log_mass(zl: np.ndarray, zh: np.ndarray) -> np.ndarray:
    """``log(Phi(zh) - Phi(zl))`` for ``zl <= zh``, stable in both tails."""
    # Work in the lower tail: for intervals right of 0 use Phi(zh)-Phi(zl) = Phi(-zl)-Phi(-zh).
    flip = zl > 0
    lo = np.where(flip, -zh, zl)
    hi = np.where(flip, -zl, zh)
    lh, ll = log_ndtr(hi), log_ndtr(lo)
    return lh + np.log1p(-np.minimum(np.exp(ll - lh), 1.0 - 1e-16))


# --- parameters on the model's coordinates -------------------------------------------
@dataclass(frozen=True)
class ParamSpec:
    """How one coordinate is modelled.

    Attributes:
        kind: ``CONTINUOUS``, ``DISCRETE`` or ``CATEGORICAL``.
        low, high: Smallest and largest value on the model's coordinate (log for ``log``).
        a, b: Edges of the kernels' domain (``low``/``high`` widened by half a bin for
            discrete coordinates).
        step: Grid step of a linear discrete coordinate (0 otherwise).
        log: A discrete coordinate in log space (log ints): bins are
            ``[log(v - 1/2), log(v + 1/2)]``.
        n_choices: Number of choices of a categorical coordinate.
    """

    kind: int
    low: float = 0.0
    high: float = 0.0
    a: float = 0.0
    b: float = 0.0
    step: float = 0.0
    log: bool = False
    n_choices: int = 0

    @classmethod
    def of(cls, dist: BaseDistribution) -> ParamSpec:
        """The spec of a (non-single) distribution."""
        if isinstance(dist, CategoricalDistribution):
            return cls(CATEGORICAL, n_choices=len(dist.choices))
        assert isinstance(dist, FloatDistribution | IntDistribution)
        lo, hi = float(dist.low), float(dist.high)
        if isinstance(dist, FloatDistribution) and dist.step is None:
            if dist.log:
                lo, hi = math.log(lo), math.log(hi)
            return cls(CONTINUOUS, lo, hi, lo, hi)
        if dist.log:  # log ints (step 1)
            return cls(DISCRETE, math.log(lo), math.log(hi), math.log(lo - 0.5),
                       math.log(hi + 0.5), log=True)
        step = float(dist.step)  # type: ignore[arg-type]
        return cls(DISCRETE, lo, hi, lo - 0.5 * step, hi + 0.5 * step, step=step)

    def encode(self, dist: BaseDistribution, value: Any) -> float:
        """Coordinate of an external ``value`` of ``dist``."""
        if self.kind == CATEGORICAL:
            return dist.to_internal(value)
        v = float(value)
        return math.log(v) if (self.log or getattr(dist, "log", False)) else v

    def decode(self, dist: BaseDistribution, x: float) -> Any:
        """External value of ``dist`` at coordinate ``x`` (snapped, clipped, valid)."""
        if isinstance(dist, CategoricalDistribution):
            return dist.choices[int(min(max(round(x), 0), len(dist.choices) - 1))]
        assert isinstance(dist, FloatDistribution | IntDistribution)
        if isinstance(dist, IntDistribution):
            v = math.exp(x) if dist.log else x
            k = round((v - dist.low) / dist.step)
            return int(min(max(dist.low + k * dist.step, dist.low), dist.high))
        if dist.step is not None:
            k = round((x - dist.low) / dist.step)
            v = _round_step(dist.low + k * dist.step, dist.step)
            return float(min(max(v, dist.low), dist.high))
        v = math.exp(x) if dist.log else x
        return float(min(max(v, dist.low), dist.high))


def _snap(specs: Sequence[ParamSpec], X: np.ndarray) -> None:
    """Round discrete and categorical columns of ``X: (m, d)`` onto their values, in place."""
    for j, s in enumerate(specs):
        if s.kind == DISCRETE:
            if s.log:
                v = np.clip(np.round(np.exp(X[:, j])), round(math.exp(s.low)),
                            round(math.exp(s.high)))
                X[:, j] = np.log(v)
            else:
                k = np.clip(np.round((X[:, j] - s.low) / s.step), 0,
                            round((s.high - s.low) / s.step))
                X[:, j] = s.low + k * s.step
        elif s.kind == CATEGORICAL:
            X[:, j] = np.clip(np.round(X[:, j]), 0, s.n_choices - 1)


# --- TPE's split and weights ---------------------------------------------------------
def default_gamma(n: int) -> int:
    """Optuna's size of the good set: ``min(ceil(0.1 n), 25)``."""
    return min(math.ceil(0.1 * n), 25)


def hyperopt_gamma(n: int) -> int:
    """Hyperopt's size of the good set: ``ceil(0.25 sqrt(n))``."""
    return math.ceil(0.25 * math.sqrt(n))


def default_weights(n: int) -> np.ndarray:
    """Optuna's observation weights, oldest first: the 25 newest get 1, older ones a ramp
    from ``1/n`` up to 1 (old trials matter less). Shape ``(n,)``."""
    if n < 25:
        return np.ones(n)
    return np.concatenate([np.linspace(1.0 / n, 1.0, num=n - 25), np.ones(25)])


# --- the estimator -----------------------------------------------------------------------
@dataclass(frozen=True)
class ParzenEstimator:
    """A fitted mixture of product kernels over ``d`` coordinates with ``K`` components.

    Attributes:
        specs: ``d`` coordinate specs.
        log_w: ``(K,)`` log mixture weights (sum of weights 1).
        num: Indices of the numeric (continuous or discrete) coordinates, ``(dn,)``.
        mu, sigma: ``(K, dn)`` kernel centres and bandwidths of numeric coordinates.
        log_z: ``(K, dn)`` log mass of each kernel on its domain (truncation).
        cat: Indices of the categorical coordinates.
        cat_logp: Per categorical coordinate, ``(K, n_choices)`` log probabilities.
    """

    specs: tuple[ParamSpec, ...]
    log_w: np.ndarray
    num: np.ndarray
    mu: np.ndarray
    sigma: np.ndarray
    log_z: np.ndarray
    cat: np.ndarray
    cat_logp: tuple[np.ndarray, ...]

    @property
    def n_components(self) -> int:
        return len(self.log_w)

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``(n, d)`` draws (discrete and categorical columns on their grid)."""
        w = np.exp(self.log_w)
        k = np.minimum(np.searchsorted(np.cumsum(w), rng.random(n) * w.sum(), side="right"),
                       len(w) - 1)
        X = np.empty((n, len(self.specs)))
        if len(self.num):
            mu, sd = self.mu[k], self.sigma[k]
            a = np.array([self.specs[j].a for j in self.num])
            b = np.array([self.specs[j].b for j in self.num])
            # Inverse-CDF draw of the truncated normal; centres lie inside [a, b], so
            # Phi((a-mu)/sd) <= 1/2 <= Phi((b-mu)/sd) and nothing underflows.
            pa, pb = ndtr((a - mu) / sd), ndtr((b - mu) / sd)
            u = pa + rng.random(mu.shape) * (pb - pa)
            X[:, self.num] = np.clip(mu + sd * ndtri(u), a, b)
        for j, logp in zip(self.cat, self.cat_logp, strict=True):
            cdf = np.cumsum(np.exp(logp[k]), axis=1)
            X[:, j] = (cdf < rng.random((n, 1)) * cdf[:, -1:]).sum(axis=1)
        _snap(self.specs, X)
        return X

    def log_pdf(self, X: np.ndarray) -> np.ndarray:
        """``(m,)`` log density (log pmf for discrete and categorical parts) at ``X: (m, d)``.

        ``X`` must hold valid values: discrete columns on their grid, categorical columns
        as choice indices.
        """
        X = np.asarray(X, dtype=float)
        total = np.broadcast_to(self.log_w, (len(X), self.n_components)).copy()
        if len(self.num):
            specs = [self.specs[j] for j in self.num]
            disc = np.array([s.kind == DISCRETE for s in specs])
            x = X[:, self.num]
            if not disc.all():
                c = ~disc
                total += _gauss_log_kernels(x[:, c], self.mu[:, c], self.sigma[:, c],
                                            self.log_z[:, c])
            if disc.any():
                lo, hi = _bins([s for s in specs if s.kind == DISCRETE], x[:, disc])
                mu, sd = self.mu[None, :, disc], self.sigma[None, :, disc]
                lm = _log_mass((lo[:, None, :] - mu) / sd, (hi[:, None, :] - mu) / sd)
                total += (lm - self.log_z[None, :, disc]).sum(-1)
        for j, logp in zip(self.cat, self.cat_logp, strict=True):
            total += logp[:, X[:, j].astype(int)].T
        mx = total.max(axis=1, keepdims=True)
        return (mx + np.log(np.exp(total - mx).sum(axis=1, keepdims=True)))[:, 0]


def _gauss_log_kernels(x: np.ndarray, mu: np.ndarray, sigma: np.ndarray,
                       log_z: np.ndarray) -> np.ndarray:
    """``(m, K)`` sums over coordinates of truncated-Gaussian log densities.

    ``x: (m, dc)``; ``mu``, ``sigma``, ``log_z``: ``(K, dc)``. The squared distances are
    expanded into two matrix products (no ``(m, K, dc)`` temporary); coordinates are
    centred first so the expansion loses no precision while bandwidths are not tiny.
    """
    const = -(np.log(sigma) + log_z).sum(axis=1) - _LOG_SQRT_2PI * mu.shape[1]
    centre = mu[-1:]  # any point of the domain will do; the last kernel's centre is one
    xc, mc = x - centre, mu - centre
    if sigma.min() >= 1e-4 * max(float(np.abs(mc).max()), float(np.abs(xc).max()), 1e-300):
        p = 1.0 / (sigma * sigma)
        sq = (xc * xc) @ p.T - 2.0 * xc @ (mc * p).T + (mc * mc * p).sum(axis=1)
    else:
        z = (xc[:, None, :] - mc[None]) / sigma[None]
        sq = (z * z).sum(-1)
    return const - 0.5 * sq


def _bins(specs: Sequence[ParamSpec], x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper edges ``(m, dd)`` of the bins of discrete values ``x``."""
    lo, hi = np.empty_like(x), np.empty_like(x)
    for j, s in enumerate(specs):
        if s.log:
            v = np.round(np.exp(x[:, j]))
            lo[:, j], hi[:, j] = np.log(v - 0.5), np.log(v + 0.5)
        else:
            lo[:, j], hi[:, j] = x[:, j] - 0.5 * s.step, x[:, j] + 0.5 * s.step
    return lo, hi


def fit_parzen(
    X: np.ndarray,
    specs: Sequence[ParamSpec],
    weights: np.ndarray,
    *,
    prior_weight: float = 1.0,
    bandwidth: Bandwidth = "neighbor",
    magic_clip: bool = True,
    consider_endpoints: bool = False,
    seed: int | np.random.Generator = 0,
) -> ParzenEstimator:
    """Fit the mixture on observations ``X: (n, d)`` with ``weights: (n,)``.

    Args:
        X: Observations on the model's coordinates (valid values, see ``ParamSpec``).
        specs: One spec per column.
        weights: Non-negative weight of each observation.
        prior_weight: Weight of the prior component (a Gaussian at the centre of the
            domain with the domain's width; uniform over categorical choices). 0 leaves
            it out, which needs ``n >= 1``.
        bandwidth: ``"scott"``: every kernel of a coordinate gets
            ``0.2 n^(-1/(d+4)) (b - a)`` (Optuna's multivariate rule, Scott-like);
            ``"neighbor"``: each kernel gets the larger distance to its neighbouring
            centres (Bergstra et al. 2011; the prior's centre and the domain's ends count).
        magic_clip: Clip bandwidths below at ``(b - a) / min(100, 1 + K)`` (Bergstra et
            al.'s "magic clip"); above they are always clipped at ``b - a``.
        consider_endpoints: With ``"neighbor"``, let the domain's ends bound the extreme
            kernels' bandwidths.
        seed: Breaks ties in the ``"neighbor"`` rule (see :func:`_neighbor_bandwidth`);
            the fit is a deterministic function of its arguments.

    Returns:
        The fitted :class:`ParzenEstimator` (``K = n + 1`` with a prior, else ``n``).
    """
    X = np.asarray(X, dtype=float).reshape(-1, len(specs))
    n, d = X.shape
    weights = np.asarray(weights, dtype=float)
    has_prior = prior_weight > 0
    if n == 0 and not has_prior:
        raise ValueError("a Parzen estimator without prior needs at least one observation")
    w = np.append(weights, prior_weight) if has_prior else weights
    w = w / w.sum() if w.sum() > 0 else np.full(len(w), 1.0 / len(w))
    with np.errstate(divide="ignore"):
        log_w = np.log(w)
    K = len(w)
    num = np.array([j for j, s in enumerate(specs) if s.kind != CATEGORICAL], dtype=int)
    cat = np.array([j for j, s in enumerate(specs) if s.kind == CATEGORICAL], dtype=int)
    a = np.array([specs[j].a for j in num])
    b = np.array([specs[j].b for j in num])
    width = np.where(b > a, b - a, 1.0)
    mid = 0.5 * np.array([specs[j].low + specs[j].high for j in num])
    m = X[:, num]
    if bandwidth == "scott":
        sg = np.broadcast_to(0.2 * max(n, 1) ** (-1.0 / (d + 4)) * width, m.shape)
    else:
        sg = _neighbor_bandwidth(m, a, b, consider_endpoints, seed)
    lo_sigma = width / min(100.0, 1.0 + K) if magic_clip else 1e-12 * width
    sg = np.clip(sg, lo_sigma, width)
    if has_prior:
        m, sg = np.vstack([m, mid]), np.vstack([sg, width])
    mu, sigma = m, sg
    # Centres lie inside [a, b], so each kernel's mass there is 1 minus two tails.
    tails = _erfc_pos((mu - a) / (sigma * math.sqrt(2.0))) + _erfc_pos(
        (b - mu) / (sigma * math.sqrt(2.0)))
    log_z = np.log1p(-0.5 * np.minimum(tails, 2.0 - 1e-15))
    cat_logp = []
    for j in cat:
        c = specs[j].n_choices
        rows = np.full((K, c), prior_weight / K)
        rows[np.arange(n), X[:, j].astype(int)] += 1.0
        if has_prior:
            rows[n] = 1.0
        rows /= rows.sum(axis=1, keepdims=True)
        with np.errstate(divide="ignore"):
            cat_logp.append(np.log(rows))
    return ParzenEstimator(tuple(specs), log_w, num, mu, sigma, log_z, cat, tuple(cat_logp))


def _neighbor_bandwidth(m: np.ndarray, a: np.ndarray, b: np.ndarray,
                        consider_endpoints: bool,
                        seed: int | np.random.Generator = 0) -> np.ndarray:
    """``(n, dn)`` bandwidths: per column, each centre's larger gap to its sorted
    neighbours (the domain's ends ``a``, ``b``: ``(dn,)`` count as neighbours).

    Equal centres (the rule for ints, steps and categoricals-as-numbers: a value observed
    ``k`` times) leave the sort order, and so the rule, undefined: of the ``k`` copies the
    first and last in the order get the gaps to the next distinct values, the others a
    zero gap (the clip's minimum). Ties are broken by an independent random order per
    column, drawn from ``seed``. A stable sort would instead give the *same* observations
    (the oldest and newest copy) the wide kernels in every coordinate, so in a
    multivariate product kernel a few components would be wide everywhere and the rest
    narrow everywhere; on grid-valued tables that made our TPE explore where Optuna's
    (whose numpy quicksort breaks ties arbitrarily) exploits, and lose to it (measured in
    ``docs/samplers_tpe.md``). Without ties the result does not depend on ``seed``.
    """
    n = len(m)
    if n == 0:
        return m.copy()
    order = np.argsort(m, axis=0, kind="stable")
    sorted_m = np.take_along_axis(m, order, axis=0)
    if n > 1 and (sorted_m[1:] == sorted_m[:-1]).any():
        # Shuffle each column first, then sort stably: ties end up in random order.
        perm = np.argsort(as_generator(seed).random(m.shape), axis=0)
        order = np.take_along_axis(
            perm, np.argsort(np.take_along_axis(m, perm, axis=0), axis=0, kind="stable"),
            axis=0)
        sorted_m = np.take_along_axis(m, order, axis=0)
    ends = np.vstack([a, sorted_m, b])
    gaps = np.diff(ends, axis=0)
    sg = np.maximum(gaps[:-1], gaps[1:])
    if not consider_endpoints and n >= 2:
        sg[0] = gaps[1]
        sg[-1] = gaps[-2]
    out = np.empty_like(sg)
    np.put_along_axis(out, order, sg, axis=0)
    return out


def log_density_ratio(l_est: ParzenEstimator, g_est: ParzenEstimator,
                      X: np.ndarray) -> np.ndarray:
    """TPE's acquisition ``log l(x) - log g(x)`` at ``X: (m, d)``, shape ``(m,)``.

    It ranks candidates as expected improvement does under the TPE model (Bergstra et
    al. 2011, eq. 4)."""
    return l_est.log_pdf(X) - g_est.log_pdf(X)


def propose(l_est: ParzenEstimator, g_est: ParzenEstimator, n_candidates: int,
            rng: np.random.Generator, *, exclude: np.ndarray | None = None) -> np.ndarray:
    """TPE's maximiser: draw ``n_candidates`` from ``l`` and return the one ``(d,)`` with
    the largest :func:`log_density_ratio`.

    ``exclude: (r, d)`` are points already evaluated: a candidate equal to one of them is
    passed over while another candidate is new (if none is, the best is returned anyway).
    """
    C = l_est.sample(n_candidates, rng)
    acq = log_density_ratio(l_est, g_est, C)
    if exclude is not None and len(exclude):
        known = (C[:, None, :] == exclude[None, :, :]).all(axis=-1).any(axis=1)
        if not known.all():
            acq[known] = -np.inf
    return C[int(np.argmax(acq))]
