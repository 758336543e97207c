"""Gaussian-process Bayesian optimisation in the style of Spearmint."""

from __future__ import annotations

from typing import Literal

from autolearn._rng import SeedLike
from autolearn.samplers.bo._loop import BOSampler
from autolearn.samplers.bo.acquisition import LogExpectedImprovement, UpperConfidenceBound
from autolearn.samplers.bo.gp import GaussianProcess
from autolearn.samplers.bo.maximize import AcquisitionMaximizer
from autolearn.samplers.bo.restart import TrustRegionRestarts
from autolearn.samplers.bo.warp import median_log_warp

__all__ = ["GPSampler"]


class GPSampler(BOSampler):
    """Bayesian optimisation with a Gaussian process (Snoek et al. 2012).

    A :class:`~autolearn.samplers.bo.BOSampler` composed of

    * :class:`~autolearn.samplers.bo.gp.GaussianProcess`: constant mean, ARD Matérn-5/2
      kernel on the unit cube (one lengthscale per coordinate, one-hot coordinates of
      categoricals included), noise bounded below by ``1e-12`` of the variance of ``y``;
      its hyperparameters slice-sampled (``"slice"``) or fitted by maximum marginal
      likelihood with priors (``"mll"``);
    * log expected improvement averaged over the hyperparameter samples, computed stably
      in log space (Ament et al. 2023), or an upper confidence bound;
    * :class:`~autolearn.samplers.bo.maximize.AcquisitionMaximizer`: Sobol and local
      candidates, L-BFGS-B on continuous coordinates, discrete hill-climbing on int,
      stepped and categorical ones, so every proposal is a valid point.

    Best for expensive, low-dimensional (up to ~20 coordinates), mostly continuous
    problems of up to a few hundred trials: a suggestion costs about 0.1 s at 100 trials
    and grows with the cube of the number of trials.

    Args:
        seed: Makes a run reproducible (with trials suggested in the same order).
        n_startup_trials: Trials taken from a scrambled Sobol sequence before the GP.
        hyperparameters: ``"mll"`` takes the posterior mode of the GP hyperparameters
            (maximum marginal likelihood with priors); ``"slice"`` marginalises them by
            slice sampling (Spearmint's default), at about four times the cost.
        n_hyper_samples: Hyperparameter samples (slice-sampling chains) for ``"slice"``.
        acquisition: ``"log_ei"`` (log expected improvement) or ``"ucb"``.
        constant_liar: Treat trials still running as observed at the worst value so far,
            so parallel workers spread out.
        restarts: Once the search has converged in a basin (the incumbent no longer
            improves and expected improvement is negligible everywhere), run restart
            phases: a space-filling design away from the basins found so far, then a
            trust-region search with a GP of the phase's own trials (see
            :mod:`autolearn.samplers.bo.restart`). ``True`` uses the default
            :class:`~autolearn.samplers.bo.restart.TrustRegionRestarts`, ``False`` turns
            them off. The restarts' stall test and phases use expected improvement
            whatever ``acquisition`` is.
        output_warp: ``True``: fit the GP to ``log1p((y - min y) / (median y - min y))``
            instead of ``y`` (:func:`~autolearn.samplers.bo.warp.median_log_warp`), a
            monotone map (the incumbent and every comparison are unchanged) that
            compresses values far above the median, so objectives whose values span orders
            of magnitude (Rosenbrock-like valleys) are modelled much better. ``"select"``
            (default): fit both models at every suggestion and keep the one with the
            larger marginal likelihood of the raw values (the warped model's includes the
            warp's log-Jacobian); about twice the fitting cost. ``False``: never warp.

    Example:
        >>> import autolearn
        >>> from autolearn.samplers._gp import GPSampler
        >>> study = autolearn.create_study(sampler=GPSampler(seed=0, n_startup_trials=4))
        >>> study.optimize(lambda t: (t.suggest_float("x", -2, 2) - 1) ** 2, n_trials=8)
        >>> len(study.trials)
        8

    References:
        Snoek, Larochelle & Adams (2012). Practical Bayesian optimization of machine
        learning algorithms. NeurIPS.
        Neal (2003). Slice sampling. Annals of Statistics 31(3).
        Ament, Daulton, Eriksson, Balandat & Bakshy (2023). Unexpected improvements to
        expected improvement for Bayesian optimization. NeurIPS.
    """

    def __init__(
        self,
        *,
        seed: SeedLike = None,
        n_startup_trials: int = 10,
        hyperparameters: Literal["slice", "mll"] = "mll",
        n_hyper_samples: int = 10,
        acquisition: Literal["log_ei", "ucb"] = "log_ei",
        constant_liar: bool = True,
        restarts: bool | TrustRegionRestarts = True,
        output_warp: bool | Literal["select"] = "select",
    ) -> None:
        from autolearn.exceptions import ConfigError

        if hyperparameters not in ("slice", "mll"):
            raise ConfigError("`hyperparameters` must be 'slice' or 'mll', but got "
                              f"{hyperparameters!r}")
        if acquisition not in ("log_ei", "ucb"):
            raise ConfigError(f"`acquisition` must be 'log_ei' or 'ucb', but got {acquisition!r}")
        if not isinstance(restarts, bool | TrustRegionRestarts):
            raise ConfigError("`restarts` must be a bool or a TrustRegionRestarts, but got "
                              f"{restarts!r}")
        if output_warp not in (True, False, "select"):
            raise ConfigError("`output_warp` must be True, False or 'select', but got "
                              f"{output_warp!r}")
        if isinstance(n_hyper_samples, bool) or n_hyper_samples < 1:
            raise ConfigError(f"`n_hyper_samples >= 1` must hold, but got {n_hyper_samples}")
        super().__init__(
            surrogate=GaussianProcess(hyperparameters=hyperparameters,
                                      n_samples=int(n_hyper_samples)),
            acquisition=(LogExpectedImprovement() if acquisition == "log_ei"
                         else UpperConfidenceBound()),
            maximizer=AcquisitionMaximizer(),
            n_startup_trials=n_startup_trials,
            constant_liar=constant_liar,
            restarts=(TrustRegionRestarts() if restarts is True else restarts or None),
            output_warp=median_log_warp if output_warp else None,
            warp_select=output_warp == "select",
            seed=seed,
        )
