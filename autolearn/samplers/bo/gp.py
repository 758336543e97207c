"""Gaussian-process regression for Bayesian optimisation, in numpy and scipy only.

The model is Spearmint's (Snoek et al. 2012): on the unit cube, a constant mean plus an
ARD Matérn-5/2 kernel with an amplitude, and Gaussian observation noise with a small
lower bound, fitted to standardised ``y``. Its hyperparameters are packed into one vector
``theta: (p,)`` with ``p = D + 3``::

    theta = [log lengthscale_1 .. log lengthscale_D, log amplitude, log noise, mean]

(amplitude and noise are variances in units of the standardised ``y``). They are either
marginalised by slice sampling (Neal 2003) of their posterior, giving ``s`` samples, or
set to the maximum of that posterior (type-II maximum likelihood with priors, ``s = 1``).
Everything here is a function of arrays, batched over hyperparameter samples; only
:class:`GaussianProcess` keeps state: the last samples, to warm-start the next fit.

References:
    Snoek, Larochelle & Adams (2012). Practical Bayesian optimization of machine learning
    algorithms. NeurIPS.
    Neal (2003). Slice sampling. Annals of Statistics 31(3).
    Rasmussen & Williams (2006). Gaussian Processes for Machine Learning, ch. 2 and 5.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np
import scipy.linalg
import scipy.optimize
from scipy.linalg.lapack import dtrtrs

from autolearn.samplers.bo._base import CubeSpace, Posterior, Surrogate

__all__ = [
    "GPPosterior",
    "GaussianProcess",
    "HyperPrior",
    "fit_posterior",
    "log_marginal_likelihood",
    "map_hyperparameters",
    "matern52",
    "slice_sample",
]

_SQRT5 = math.sqrt(5.0)
_LOG_2PI = math.log(2.0 * math.pi)


def _matern52_from_r2(r2: np.ndarray) -> np.ndarray:
    """``(1 + sqrt5 r + 5/3 r^2) exp(-sqrt5 r)``, with few temporaries (it is the hot loop)."""
    t = np.sqrt(r2)
    t *= -_SQRT5
    out = r2 * (5.0 / 3.0)
    out -= t
    out += 1.0
    np.exp(t, out=t)
    out *= t
    return out


def matern52(X1: np.ndarray, X2: np.ndarray, lengthscales: np.ndarray,
             amplitude: np.ndarray) -> np.ndarray:
    """ARD Matérn-5/2 covariances, one matrix per hyperparameter sample.

    Args:
        X1: ``(n, D)`` points.
        X2: ``(m, D)`` points.
        lengthscales: ``(s, D)``, positive.
        amplitude: ``(s,)`` kernel variances, positive.

    Returns:
        ``(s, n, m)``: ``amplitude * (1 + sqrt5 r + 5/3 r^2) exp(-sqrt5 r)`` where ``r`` is
        the lengthscale-weighted distance.
    """
    inv = 1.0 / np.asarray(lengthscales, dtype=float)
    Z1 = X1[None, :, :] * inv[:, None, :]
    Z2 = X2[None, :, :] * inv[:, None, :]
    r2 = (np.einsum("snd,snd->sn", Z1, Z1)[:, :, None]
          + np.einsum("smd,smd->sm", Z2, Z2)[:, None, :]
          - 2.0 * Z1 @ Z2.transpose(0, 2, 1))
    np.maximum(r2, 0.0, out=r2)
    return np.asarray(amplitude, dtype=float)[:, None, None] * _matern52_from_r2(r2)


class _Pairs:
    """The distinct pairs of training points, precomputed once per fit.

    Each matrix element is computed once, for ``i > j`` (the exponentials dominate the
    cost of a likelihood evaluation); duplicates give exact zero distances.
    """

    def __init__(self, X: np.ndarray) -> None:
        self.n, self.d = X.shape
        self.rows, self.cols = np.tril_indices(self.n, -1)
        diff = X[self.rows] - X[self.cols]
        self.sq = np.ascontiguousarray((diff * diff).T)  # (D, n(n-1)/2)

    def r2(self, lengthscales: np.ndarray) -> np.ndarray:
        """``(b, n(n-1)/2)`` squared scaled distances for ``lengthscales: (b, D)``."""
        return (1.0 / lengthscales**2) @ self.sq

    def kernel(self, theta: np.ndarray) -> np.ndarray:
        """``(b, n, n)`` noisy training covariances for packed ``theta: (b, p)``."""
        ls, amp, noise, _ = _unpack(theta, self.d)
        n = self.n
        K = np.zeros((len(theta), n, n))
        K[:, self.rows, self.cols] = amp[:, None] * _matern52_from_r2(self.r2(ls))
        K += K.transpose(0, 2, 1)
        K[:, np.arange(n), np.arange(n)] = (amp + noise)[:, None]
        return K


def _unpack(theta: np.ndarray, d: int) -> tuple[np.ndarray, ...]:
    return (np.exp(theta[:, :d]), np.exp(theta[:, d]), np.exp(theta[:, d + 1]),
            theta[:, d + 2])


def _cholesky(K: np.ndarray, retries: int = 4) -> np.ndarray | None:
    """Lower Cholesky factor of ``(n, n)`` ``K``, adding growing jitter if it fails."""
    jitter = 0.0
    scale = float(np.mean(np.diag(K)))
    for _ in range(retries + 1):
        try:
            return np.linalg.cholesky(K + jitter * np.eye(len(K)) if jitter else K)
        except np.linalg.LinAlgError:
            jitter = max(10.0 * jitter, 1e-8 * scale)
    return None


def _batched_cholesky(K: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cholesky factors of ``(b, n, n)`` and a ``(b,)`` mask of the ones that exist."""
    try:
        return np.linalg.cholesky(K), np.ones(len(K), dtype=bool)
    except np.linalg.LinAlgError:
        L = np.zeros_like(K)
        ok = np.zeros(len(K), dtype=bool)
        for i, Ki in enumerate(K):
            Li = _cholesky(Ki)
            if Li is not None:
                L[i], ok[i] = Li, True
        return L, ok


def log_marginal_likelihood(X: np.ndarray, y: np.ndarray, theta: np.ndarray) -> np.ndarray:
    """``log p(y | X, theta)`` for a batch of packed hyperparameters.

    Args:
        X: ``(n, D)`` inputs.
        y: ``(n,)`` targets.
        theta: ``(b, D + 3)`` packed hyperparameters (see the module docstring).

    Returns:
        ``(b,)``; ``-inf`` where the covariance cannot be factorised.
    """
    return _log_marginal_likelihood(_Pairs(np.asarray(X, dtype=float)), y,
                                    np.atleast_2d(theta))


def _log_marginal_likelihood(pairs: _Pairs, y: np.ndarray, theta: np.ndarray) -> np.ndarray:
    n, d = pairs.n, pairs.d
    L, ok = _batched_cholesky(pairs.kernel(theta))
    out = np.full(len(theta), -np.inf)
    for i in np.flatnonzero(ok):
        z, info = dtrtrs(L[i], y - theta[i, d + 2], lower=1)
        if info == 0:
            out[i] = (-0.5 * float(z @ z) - float(np.log(np.diagonal(L[i])).sum())
                      - 0.5 * n * _LOG_2PI)
    return out


def _log_marginal_likelihood_grad(pairs: _Pairs, y: np.ndarray, theta: np.ndarray
                                  ) -> tuple[float, np.ndarray]:
    """Value and ``(p,)`` gradient of the log marginal likelihood at one ``theta: (p,)``.

    ``d log p / d theta_k = 1/2 tr((a a^T - K^-1) dK/dtheta_k)`` with ``a = K^-1 (y - m)``.
    """
    n, d = pairs.n, pairs.d
    ls, amp, noise, mean = (v[0] for v in _unpack(theta[None], d))
    r2 = pairs.r2(ls[None])[0]
    r = np.sqrt(r2)
    e = np.exp(-_SQRT5 * r)
    k0 = amp * (1.0 + _SQRT5 * r + (5.0 / 3.0) * r2) * e
    K = np.zeros((n, n))
    K[pairs.rows, pairs.cols] = k0
    K += K.T
    K[np.arange(n), np.arange(n)] = amp + noise
    L = _cholesky(K, retries=0)
    if L is None:
        return -np.inf, np.zeros_like(theta)
    cf = (L, True)
    a = scipy.linalg.cho_solve(cf, y - mean, check_finite=False)
    value = (-0.5 * float((y - mean) @ a) - float(np.log(np.diagonal(L)).sum())
             - 0.5 * n * _LOG_2PI)
    W = np.outer(a, a) - scipy.linalg.cho_solve(cf, np.eye(n), check_finite=False)
    w = W[pairs.rows, pairs.cols]  # each off-diagonal pair stands for two entries
    trace = float(np.trace(W))
    grad = np.empty_like(theta)
    # dK/dlog(l_d) = amp * 5/3 (1 + sqrt5 r) exp(-sqrt5 r) * sq_d / l_d^2
    grad[:d] = pairs.sq @ (w * (amp * (5.0 / 3.0) * (1.0 + _SQRT5 * r) * e)) / ls**2
    grad[d] = float(w @ k0) + 0.5 * amp * trace
    grad[d + 1] = 0.5 * noise * trace
    grad[d + 2] = float(a.sum())
    return value, grad


@dataclass(frozen=True)
class HyperPrior:
    """Priors and box bounds of the packed hyperparameters (on standardised ``y``).

    * ``log lengthscale ~ N(log_lengthscale_loc, log_lengthscale_scale^2)`` on the unit
      cube, within ``lengthscale_bounds``;
    * ``log amplitude ~ N(0, log_amplitude_scale^2)`` within ``amplitude_bounds``;
    * noise: Spearmint's horseshoe density with scale ``noise_scale``, put on the log
      noise, so it leans towards the lower bound ``noise_bounds[0]`` (near-deterministic
      objectives) unless the data say otherwise. The bound is ``1e-12``: near an optimum a
      deterministic objective's last improvements are ``1e-8`` of the spread of ``y`` or
      less, and a noise floor of ``1e-6`` (standard deviation ``1e-3``) blurred them, so
      the search stopped converging there (Branin's median regret at 100 trials was 100
      times higher). Covariances too ill-conditioned to factorise get jitter instead;
    * ``mean ~ N(0, 1)`` within ``mean_bounds``.
    """

    log_lengthscale_loc: float = 0.0
    log_lengthscale_scale: float = 1.0
    lengthscale_bounds: tuple[float, float] = (1e-2, 1e2)
    log_amplitude_scale: float = 1.0
    amplitude_bounds: tuple[float, float] = (1e-2, 1e2)
    noise_scale: float = 0.1
    noise_bounds: tuple[float, float] = (1e-12, 1.0)
    mean_bounds: tuple[float, float] = (-3.0, 3.0)

    def bounds(self, d: int) -> tuple[np.ndarray, np.ndarray]:
        """``(p,)`` lower and upper bounds of packed ``theta`` for ``d`` inputs."""
        lo = np.r_[np.full(d, math.log(self.lengthscale_bounds[0])),
                   math.log(self.amplitude_bounds[0]), math.log(self.noise_bounds[0]),
                   self.mean_bounds[0]]
        hi = np.r_[np.full(d, math.log(self.lengthscale_bounds[1])),
                   math.log(self.amplitude_bounds[1]), math.log(self.noise_bounds[1]),
                   self.mean_bounds[1]]
        return lo, hi

    def initial(self, d: int) -> np.ndarray:
        """A central ``(p,)`` starting point."""
        return np.r_[np.full(d, self.log_lengthscale_loc), 0.0,
                     math.log(max(1e-3, self.noise_bounds[0])), 0.0]

    def log_density(self, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Log prior ``(b,)`` (``-inf`` outside the box) and its gradient ``(b, p)``."""
        theta = np.atleast_2d(theta)
        d = theta.shape[1] - 3
        lo, hi = self.bounds(d)
        u = theta[:, :d] - self.log_lengthscale_loc
        s2 = self.log_lengthscale_scale**2
        logp = -0.5 * np.sum(u * u, axis=1) / s2
        grad = np.zeros_like(theta)
        grad[:, :d] = -u / s2
        a2 = self.log_amplitude_scale**2
        logp -= 0.5 * theta[:, d] ** 2 / a2
        grad[:, d] = -theta[:, d] / a2
        c = 3.0 * self.noise_scale**2 * np.exp(-2.0 * theta[:, d + 1])
        inner = np.log1p(c)
        logp += np.log(inner)
        grad[:, d + 1] = -2.0 * c / ((1.0 + c) * inner)
        logp -= 0.5 * theta[:, d + 2] ** 2
        grad[:, d + 2] = -theta[:, d + 2]
        outside = np.any((theta < lo) | (theta > hi), axis=1)
        logp[outside] = -np.inf
        return logp, grad


def slice_sample(log_density: Callable[[np.ndarray], np.ndarray], x0: np.ndarray,
                 rng: np.random.Generator, *, n_sweeps: int, widths: np.ndarray,
                 lower: np.ndarray, upper: np.ndarray, logp0: np.ndarray | None = None,
                 max_steps_out: int = 4, max_shrinks: int = 24
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Coordinate-wise slice sampling with stepping out (Neal 2003, figs. 3 and 5).

    Runs ``c`` independent chains in lockstep, so each density call is batched.

    Args:
        log_density: ``(b, p) -> (b,)`` unnormalised log density, ``-inf`` off support.
        x0: ``(c, p)`` current states, with finite density.
        rng: Source of randomness.
        n_sweeps: Passes over all ``p`` coordinates.
        widths: ``(p,)`` initial bracket widths.
        lower, upper: ``(p,)`` support box; brackets are clipped to it.
        logp0: ``log_density(x0)`` if already known.
        max_steps_out: Neal's ``m``: the bracket grows by at most this many widths.
        max_shrinks: Shrinkage proposals before a chain keeps its state for the sweep.

    Returns:
        ``(c, p)`` states after the sweeps and their ``(c,)`` log densities.
    """
    x = np.array(x0, dtype=float, ndmin=2)
    logp = log_density(x) if logp0 is None else np.array(logp0, dtype=float)
    c, p = x.shape
    for _ in range(n_sweeps):
        for j in range(p):
            log_u = logp + np.log1p(-rng.random(c))
            left = x[:, j] - widths[j] * rng.random(c)
            right = left + widths[j]
            n_left = np.floor(max_steps_out * rng.random(c)).astype(int)
            n_right = max_steps_out - 1 - n_left
            for edge, budget, sign in ((left, n_left, -1.0), (right, n_right, 1.0)):
                active = np.flatnonzero((budget > 0) & (edge > lower[j]) & (edge < upper[j]))
                while active.size:
                    xe = x[active].copy()
                    xe[:, j] = edge[active]
                    grow = active[log_density(xe) > log_u[active]]
                    edge[grow] += sign * widths[j]
                    budget[grow] -= 1
                    active = grow[(budget[grow] > 0) & (edge[grow] > lower[j])
                                  & (edge[grow] < upper[j])]
            np.clip(left, lower[j], upper[j], out=left)
            np.clip(right, lower[j], upper[j], out=right)
            pending = np.arange(c)
            for _ in range(max_shrinks):
                prop = left[pending] + rng.random(pending.size) * (right - left)[pending]
                xp = x[pending].copy()
                xp[:, j] = prop
                lp = log_density(xp)
                acc = lp > log_u[pending]
                x[pending[acc], j] = prop[acc]
                logp[pending[acc]] = lp[acc]
                rej, prop = pending[~acc], prop[~acc]
                below = prop < x[rej, j]
                left[rej[below]] = prop[below]
                right[rej[~below]] = prop[~below]
                pending = rej
                if not pending.size:
                    break
    return x, logp


def map_hyperparameters(X: np.ndarray, y: np.ndarray, prior: HyperPrior,
                        starts: np.ndarray, *, max_iter: int = 200) -> np.ndarray:
    """Maximum of log likelihood + log prior, by L-BFGS-B from each row of ``starts``.

    Args:
        X: ``(n, D)`` inputs.
        y: ``(n,)`` targets (standardised).
        prior: Priors and bounds.
        starts: ``(k, p)`` starting points.
        max_iter: L-BFGS-B iterations per start.

    Returns:
        ``(p,)`` the best optimum found.
    """
    pairs = _Pairs(X)
    lo, hi = prior.bounds(X.shape[1])

    def neg(theta: np.ndarray) -> tuple[float, np.ndarray]:
        v, g = _log_marginal_likelihood_grad(pairs, y, theta)
        pv, pg = prior.log_density(theta[None])
        total = v + float(pv[0])
        if not np.isfinite(total):
            return 1e25, np.zeros_like(theta)
        return -total, -(g + pg[0])

    best, best_val = None, np.inf
    for t0 in np.atleast_2d(starts):
        res = scipy.optimize.minimize(neg, np.clip(t0, lo, hi), jac=True, method="L-BFGS-B",
                                      bounds=list(zip(lo, hi, strict=True)),
                                      options={"maxiter": max_iter})
        if res.fun < best_val:
            best, best_val = res.x, float(res.fun)
    return np.clip(np.atleast_2d(starts)[0] if best is None else best, lo, hi)


class GPPosterior(Posterior):
    """A Gaussian process conditioned on data, one per hyperparameter sample.

    Args:
        X: ``(n, D)`` training inputs.
        y: ``(n,)`` training targets (standardised).
        theta: ``(s, D + 3)`` packed hyperparameters.
        y_shift, y_scale: ``predict`` reports ``y_shift + y_scale * f`` in original units.
    """

    def __init__(self, X: np.ndarray, y: np.ndarray, theta: np.ndarray, *,
                 y_shift: float = 0.0, y_scale: float = 1.0) -> None:
        theta = np.atleast_2d(theta)
        d, n = X.shape[1], len(y)
        self.X, self.theta = X, theta
        self.lengthscales, self.amplitude, self.noise, self.mean = _unpack(theta, d)
        self.y_shift, self.y_scale = float(y_shift), float(y_scale)
        self._y = np.asarray(y, dtype=float)
        K = _Pairs(X).kernel(theta)
        self.L_inv = np.empty_like(K)
        self.alpha = np.empty((len(theta), n))
        eye = np.eye(n)
        for i, Ki in enumerate(K):
            Li = _cholesky(Ki, retries=8)
            if Li is None:  # pragma: no cover - needs a covariance beyond any jitter
                raise np.linalg.LinAlgError("the GP covariance is not positive definite")
            self.L_inv[i] = scipy.linalg.solve_triangular(Li, eye, lower=True,
                                                          check_finite=False)
            self.alpha[i] = self.L_inv[i].T @ (self.L_inv[i] @ (y - self.mean[i]))

    def log_evidence(self) -> float:
        """``log p(y | X, theta)`` of the training values in original units (the log
        marginal likelihood of the standardised values minus ``n log y_scale``), averaged
        over the hyperparameter samples."""
        n = len(self._y)
        r = self._y[None, :] - self.mean[:, None]
        logdet = np.log(np.abs(np.diagonal(self.L_inv, axis1=1, axis2=2))).sum(1)
        lml = -0.5 * np.einsum("sn,sn->s", r, self.alpha) + logdet - 0.5 * n * _LOG_2PI
        return float(np.mean(lml)) - n * math.log(self.y_scale)

    def predict(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Latent mean and variance ``(s, m)`` at ``X: (m, D)``, in original ``y`` units."""
        Ks = matern52(self.X, np.atleast_2d(X), self.lengthscales, self.amplitude)
        mean = self.mean[:, None] + np.einsum("sn,snm->sm", self.alpha, Ks)
        V = self.L_inv @ Ks
        var = self.amplitude[:, None] - np.einsum("snm,snm->sm", V, V)
        np.maximum(var, 1e-12 * self.amplitude[:, None], out=var)
        return self.y_shift + self.y_scale * mean, self.y_scale**2 * var


def fit_posterior(X: np.ndarray, y: np.ndarray, theta: np.ndarray) -> GPPosterior:
    """Condition the GP with hyperparameters ``theta: (s, D + 3)`` on ``X: (n, D)``, ``y``."""
    return GPPosterior(X, y, theta)


class GaussianProcess(Surrogate):
    """The GP surrogate of :class:`~autolearn.samplers.GPSampler`.

    Standardises ``y``, then either slice-samples the hyperparameters (``"slice"``:
    ``n_samples`` chains, burnt in from the maximum a posteriori point the first time,
    then continued for ``n_sweeps`` sweeps from the previous fit's samples) or fits them
    by maximum marginal likelihood with priors (``"mll"``, warm-started likewise).

    The warm start makes a fit depend on the fits this object made before; runs are still
    reproducible from the sampler's seed when trials are suggested in the same order.

    Args:
        hyperparameters: ``"slice"`` (marginalise) or ``"mll"`` (point estimate).
        n_samples: Hyperparameter samples (chains) for ``"slice"``.
        n_sweeps: Slice-sampling sweeps per fit once the chains are warm.
        n_burnin: Sweeps the first time (or when the search space changes).
        prior: Priors and bounds of the hyperparameters.
    """

    def __init__(self, *, hyperparameters: Literal["slice", "mll"] = "slice",
                 n_samples: int = 10, n_sweeps: int = 1, n_burnin: int = 5,
                 prior: HyperPrior | None = None) -> None:
        self.hyperparameters = hyperparameters
        self.n_samples = n_samples
        self.n_sweeps = n_sweeps
        self.n_burnin = n_burnin
        self.prior = prior or HyperPrior()
        self._warm: dict[int, np.ndarray] = {}
        self._lock = threading.Lock()

    def __getstate__(self) -> dict[str, object]:
        state = dict(self.__dict__)
        del state["_lock"]
        return state

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    def fit(self, X: np.ndarray, y: np.ndarray, space: CubeSpace,
            rng: np.random.Generator) -> GPPosterior:
        X = np.asarray(X, dtype=float)
        y = np.asarray(y, dtype=float)
        shift = float(np.mean(y))
        scale = float(np.std(y))
        if not scale > 1e-12 * max(1.0, abs(shift)):
            scale = 1.0
        z = (y - shift) / scale
        d = X.shape[1]
        with self._lock:
            warm = self._warm.get(d)
        if self.hyperparameters == "mll":
            start = self.prior.initial(d) if warm is None else warm[0]
            theta = map_hyperparameters(X, z, self.prior, start[None])[None]
        else:
            theta = self._sample(X, z, warm, rng)
        with self._lock:
            self._warm[d] = theta
        return GPPosterior(X, z, theta, y_shift=shift, y_scale=scale)

    def _sample(self, X: np.ndarray, z: np.ndarray, warm: np.ndarray | None,
                rng: np.random.Generator) -> np.ndarray:
        d = X.shape[1]
        pairs = _Pairs(X)
        lo, hi = self.prior.bounds(d)

        def log_post(theta: np.ndarray) -> np.ndarray:
            lp, _ = self.prior.log_density(theta)
            inside = np.isfinite(lp)
            if inside.any():
                lp[inside] += _log_marginal_likelihood(pairs, z, theta[inside])
            return lp

        sweeps = self.n_sweeps
        x0, logp0 = None, None
        if warm is not None and len(warm) == self.n_samples:
            logp0 = log_post(warm)
            if np.all(np.isfinite(logp0)):
                x0 = warm
        if x0 is None:
            theta_map = map_hyperparameters(X, z, self.prior, self.prior.initial(d)[None])
            x0 = np.clip(theta_map + 0.1 * rng.standard_normal((self.n_samples, d + 3)),
                         lo, hi)
            logp0 = log_post(x0)
            bad = ~np.isfinite(logp0)
            x0[bad], logp0[bad] = theta_map, log_post(theta_map[None])[0]
            sweeps = self.n_burnin
        widths = np.r_[np.full(d, 1.0), 1.0, 2.0, 0.5]
        theta, _ = slice_sample(log_post, x0, rng, n_sweeps=sweeps, widths=widths,
                                lower=lo, upper=hi, logp0=logp0)
        return theta
