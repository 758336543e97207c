"""Acquisition functions for minimisation, integrated over hyperparameter samples.

The pure functions take a posterior's ``mean`` and ``var``, both ``(s, m)`` for ``s``
hyperparameter samples and ``m`` points, and return ``(m,)`` scores, higher is better.
:class:`LogExpectedImprovement` and :class:`UpperConfidenceBound` wrap them into the
:data:`~autolearn.samplers.bo.Acquisition` signature of the BO loop.

Expected improvement underflows to zero far from the incumbent, leaving a maximiser on a
flat landscape; ``log_ei`` computes its logarithm without ever forming it (Ament et al.
2023) and averages over hyperparameter samples in log space (Snoek et al. 2012's
integrated acquisition).

References:
    Jones, Schonlau & Welch (1998). Efficient global optimization of expensive black-box
    functions. Journal of Global Optimization 13.
    Snoek, Larochelle & Adams (2012). Practical Bayesian optimization of machine learning
    algorithms. NeurIPS.
    Ament, Daulton, Eriksson, Balandat & Bakshy (2023). Unexpected improvements to
    expected improvement for Bayesian optimization. NeurIPS.
    Srinivas, Krause, Kakade & Seeger (2010). Gaussian process optimization in the bandit
    setting. ICML.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import erfcx, logsumexp, ndtr

from autolearn.samplers.bo._base import Posterior

__all__ = ["LogExpectedImprovement", "UpperConfidenceBound", "ei", "log_ei", "log_h", "ucb"]

_C1 = 0.5 * math.log(2.0 * math.pi)
_C2 = 0.5 * math.log(0.5 * math.pi)
_INV_SQRT_EPS = 1.0 / math.sqrt(np.finfo(float).eps)


def _log1mexp(x: np.ndarray) -> np.ndarray:
    """``log(1 - exp(x))`` for ``x < 0``, accurate on both sides of ``-log 2``."""
    return np.where(x > -math.log(2.0), np.log(-np.expm1(np.minimum(x, -1e-300))),
                    np.log1p(-np.exp(np.minimum(x, 0.0))))


def log_h(z: np.ndarray) -> np.ndarray:
    """``log(phi(z) + z Phi(z))``, finite for every finite ``z`` (Ament et al. 2023, eq. 9).

    ``sigma * h((y_best - mean) / sigma)`` is the expected improvement of a Gaussian.
    """
    z = np.asarray(z, dtype=float)
    out = np.empty_like(z)
    big = z > -1.0
    zb = z[big]
    out[big] = np.log(np.exp(-0.5 * zb * zb - _C1) + zb * ndtr(zb))
    mid = ~big & (z > -_INV_SQRT_EPS)
    zm = z[mid]
    out[mid] = (-0.5 * zm * zm - _C1
                + _log1mexp(np.log(erfcx(-zm / math.sqrt(2.0)) * np.abs(zm)) + _C2))
    tail = ~big & ~mid
    zt = z[tail]
    out[tail] = -0.5 * zt * zt - _C1 - 2.0 * np.log(np.abs(zt))
    return out


def log_ei(mean: np.ndarray, var: np.ndarray, y_best: float) -> np.ndarray:
    """Log of the expected improvement below ``y_best``, averaged over samples.

    Args:
        mean: ``(s, m)`` predictive means.
        var: ``(s, m)`` predictive variances (positive).
        y_best: Best (lowest) value observed.

    Returns:
        ``(m,)``: ``log(mean_s EI_s)``.
    """
    sigma = np.sqrt(np.maximum(np.atleast_2d(var), 1e-300))
    z = (y_best - np.atleast_2d(mean)) / sigma
    per_sample = np.log(sigma) + log_h(z)
    return logsumexp(per_sample, axis=0) - math.log(per_sample.shape[0])


def ei(mean: np.ndarray, var: np.ndarray, y_best: float) -> np.ndarray:
    """Expected improvement below ``y_best``, ``(m,)``, averaged over the ``s`` samples.

    Direct formula; it underflows to 0 where ``log_ei`` stays informative.
    """
    sigma = np.sqrt(np.maximum(np.atleast_2d(var), 1e-300))
    z = (y_best - np.atleast_2d(mean)) / sigma
    pdf = np.exp(-0.5 * z * z - _C1)
    return np.mean(sigma * (pdf + z * ndtr(z)), axis=0)


def ucb(mean: np.ndarray, var: np.ndarray, kappa: float = 2.0) -> np.ndarray:
    """Optimistic bound for minimisation, ``-(mean - kappa * sd)``, averaged, ``(m,)``."""
    return np.mean(kappa * np.sqrt(np.maximum(var, 0.0)) - mean, axis=0)


class LogExpectedImprovement:
    """``log_ei`` of a posterior at ``X: (m, D)`` (an ``Acquisition``)."""

    def __call__(self, posterior: Posterior, X: np.ndarray, y_best: float) -> np.ndarray:
        mean, var = posterior.predict(X)
        return log_ei(mean, var, y_best)


class UpperConfidenceBound:
    """``ucb`` of a posterior at ``X: (m, D)`` (an ``Acquisition``).

    Args:
        kappa: Standard deviations of optimism; larger explores more.
    """

    def __init__(self, *, kappa: float = 2.0) -> None:
        from autolearn.exceptions import ConfigError

        if not kappa >= 0.0:
            raise ConfigError(f"`kappa >= 0` must hold, but got kappa={kappa}")
        self.kappa = float(kappa)

    def __call__(self, posterior: Posterior, X: np.ndarray, y_best: float) -> np.ndarray:
        mean, var = posterior.predict(X)
        return ucb(mean, var, self.kappa)
